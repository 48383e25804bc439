/**
 * VP9 depacketizer (RFC 9628): RTP packets -> one VP9 frame or superframe per picture (RTP
 * timestamp), as decoders and containers take them; key pictures carry `config` (Vp9Config, from
 * the uncompressed header) when it changes.
 *
 * Own code rather than werift-rtp's `Vp9RtpPayload.deSerialize`, which was checked on the same
 * packets (a 720p 2.5 Mbit/s libvpx stream through GStreamer's rtpvp9pay, MTU 1200, and the
 * hand-made descriptors of test/vp9.test.ts):
 * - correctness: its descriptor layout is right (flexible and non-flexible mode, SS with Y/G/N_G),
 *   but it throws (TypeError on an empty payload or a truncated picture ID, RangeError on a
 *   truncated SS) instead of reporting malformed input, takes more than 3 P_DIFFs, and its frame
 *   path (dePacketizeRtpPackets) concatenates the spatial layers' frames without a superframe
 *   index, which decoders cannot split, and does no start or loss detection;
 * - speed: it allocates an object with 27 defineProperty fields plus arrays per packet and builds
 *   the 15-bit picture ID through binary strings: 10-13 us/packet, against ~20 ns for
 *   parseVp9Descriptor here and 290-390 ns/packet for the whole push(), most of it the one copy
 *   of the ~1.1 kB payload into the frame (medians on a shared 2-core machine).
 *
 * Rules:
 * - a layer frame runs from a packet with B=1 to one with E=1; a picture is the frames of one
 *   timestamp and ends with the marker bit or when the timestamp changes. A picture is emitted
 *   only whole: no lost packet (`reset()`), every frame begun and ended, spatial layer ids
 *   increasing. After `reset()`, and at the start of a stream, a picture must start with B=1 on a
 *   new timestamp in spatial layer 0, so that no lower layer can be missing;
 * - key picture: P=0 on the spatial-layer-0 frame that starts the picture, confirmed by its
 *   uncompressed header (frame_type KEY_FRAME, not show_existing_frame);
 * - spatial layers (SVC): the frames of a picture (SID 0..n) are emitted as ONE VP9 superframe
 *   (frames in decoding order followed by the superframe index of VP9 spec Annex B, with frame
 *   sizes as wide as libvpx makes them), which is byte for byte what libvpx's own SVC encoder
 *   outputs per picture (checked in test/vp9.test.ts). Why a superframe rather than keeping only
 *   some layers: each upper layer predicts from the layer below on key pictures (and in full SVC
 *   on every picture), so no single layer but the base decodes alone, and the base alone throws
 *   away the resolution being recorded. The reference decoder, libvpx, decodes all frames of a
 *   superframe and returns one picture per decode call, the last shown frame: the top layer
 *   (checked through ffmpeg's libvpx-vp9 wrapper); the container sample format (VP codec
 *   ISO-BMFF binding, WebM) is a frame or superframe. Caveat, measured in the test: ffmpeg's
 *   native vp9 decoder splits superframes and outputs every shown frame, so it shows each SVC
 *   picture once per layer (all sizes at the same time stamp); use `-c:v libvpx-vp9` to play or
 *   convert SVC recordings with ffmpeg.
 *   A layer frame that is itself a superframe (hidden frames) is flattened into the index.
 *   Single-layer pictures are emitted as sent (a libvpx superframe with a hidden alt-ref stays one);
 * - malformed descriptors and payloads are counted in `stats.packetsMalformed` and drop their
 *   picture; nothing is thrown.
 *
 * Memory: payload buffers are referenced (not copied) until their picture is emitted, then copied
 * once into the frame's buffer, carved from a shared slab (`frame.data` is a view).
 */
import type { DepacketizerStats, Vp9Config } from './frame.js';
import { FrameAssembler } from './frame-assembler.js';
import { FrameSlab } from './frame-slab.js';

// ---------- Payload descriptor (RFC 9628 section 4.2) ----------

/** Scalability structure (RFC 9628 section 4.2.1). */
export interface Vp9ScalabilityStructure {
  /** N_S + 1. */
  spatialLayers: number;
  /** Per spatial layer when Y=1, else empty. */
  widths: number[];
  heights: number[];
  /** The picture group description when G=1 (may be empty: N_G = 0), else undefined. */
  pictureGroup: { tid: number; switchingUp: boolean; pDiffs: number[] }[] | undefined;
}

export interface Vp9Descriptor {
  /** Offset of the VP9 data in the RTP payload (the descriptor's length). */
  payloadOffset: number;
  /** P: inter-picture predicted. */
  interPicturePredicted: boolean;
  /** L: layer indices present. */
  layerIndices: boolean;
  /** F: flexible mode. */
  flexible: boolean;
  /** B: start of a frame. */
  beginsFrame: boolean;
  /** E: end of a frame. */
  endsFrame: boolean;
  /** V: scalability structure present. */
  hasScalabilityStructure: boolean;
  /** Z: not used for inter-layer prediction by upper layers. */
  notUpperLayerReference: boolean;
  /** Picture ID, -1 when absent; pictureIdBits 7 or 15 (0 when absent). */
  pictureId: number;
  pictureIdBits: number;
  /** TID, U, SID, D (when L=1; else TID 0, SID 0). */
  tid: number;
  switchingUp: boolean;
  sid: number;
  interLayerDependency: boolean;
  /** TL0PICIDX in non-flexible mode with L=1, else -1. */
  tl0PicIdx: number;
  /** P_DIFFs in flexible mode with P=1 (at most 3). */
  pDiffs: number[];
  /** The SS when V=1 and the parse was asked for it. */
  ss: Vp9ScalabilityStructure | undefined;
}

export function newVp9Descriptor(): Vp9Descriptor {
  return {
    payloadOffset: 0,
    interPicturePredicted: false,
    layerIndices: false,
    flexible: false,
    beginsFrame: false,
    endsFrame: false,
    hasScalabilityStructure: false,
    notUpperLayerReference: false,
    pictureId: -1,
    pictureIdBits: 0,
    tid: 0,
    switchingUp: false,
    sid: 0,
    interLayerDependency: false,
    tl0PicIdx: -1,
    pDiffs: [],
    ss: undefined,
  };
}

/**
 * Parses a VP9 payload descriptor into `d` (reused, so that the per-packet path allocates
 * nothing). Returns false when it is truncated, has more than 3 P_DIFFs, or no VP9 data follows.
 * `withSs` builds `d.ss`; without it the SS is only checked and skipped.
 */
export function parseVp9Descriptor(p: Uint8Array, d: Vp9Descriptor, withSs = true): boolean {
  const len = p.length;
  if (len === 0) return false;
  const b0 = p[0]!;
  d.interPicturePredicted = (b0 & 0x40) !== 0;
  d.layerIndices = (b0 & 0x20) !== 0;
  d.flexible = (b0 & 0x10) !== 0;
  d.beginsFrame = (b0 & 0x08) !== 0;
  d.endsFrame = (b0 & 0x04) !== 0;
  d.hasScalabilityStructure = (b0 & 0x02) !== 0;
  d.notUpperLayerReference = (b0 & 0x01) !== 0;
  d.pictureId = -1;
  d.pictureIdBits = 0;
  d.tid = 0;
  d.switchingUp = false;
  d.sid = 0;
  d.interLayerDependency = false;
  d.tl0PicIdx = -1;
  if (d.pDiffs.length !== 0) d.pDiffs.length = 0; // (setting length unconditionally costs ~40 ns)
  d.ss = undefined;
  let off = 1;
  if (b0 & 0x80) {
    if (off >= len) return false;
    const m = p[off++]!;
    if (m & 0x80) {
      if (off >= len) return false;
      d.pictureId = ((m & 0x7f) << 8) | p[off++]!;
      d.pictureIdBits = 15;
    } else {
      d.pictureId = m;
      d.pictureIdBits = 7;
    }
  }
  if (b0 & 0x20) {
    if (off >= len) return false;
    const l = p[off++]!;
    d.tid = l >> 5;
    d.switchingUp = (l & 0x10) !== 0;
    d.sid = (l >> 1) & 7;
    d.interLayerDependency = (l & 1) !== 0;
    if (!(b0 & 0x10)) {
      if (off >= len) return false;
      d.tl0PicIdx = p[off++]!;
    }
  }
  if ((b0 & 0x50) === 0x50) {
    // Flexible mode, inter-picture predicted: 1 to 3 reference indices, N=1 when another follows.
    for (;;) {
      if (off >= len || d.pDiffs.length === 3) return false;
      const r = p[off++]!;
      d.pDiffs.push(r >> 1);
      if (!(r & 1)) break;
    }
  }
  if (b0 & 0x02) {
    if (off >= len) return false;
    const v = p[off++]!;
    const layers = (v >> 5) + 1;
    const ss: Vp9ScalabilityStructure | undefined = withSs
      ? { spatialLayers: layers, widths: [], heights: [], pictureGroup: undefined }
      : undefined;
    if (v & 0x10) {
      if (off + 4 * layers > len) return false;
      if (ss) {
        for (let i = 0; i < layers; i++) {
          ss.widths.push((p[off + 4 * i]! << 8) | p[off + 4 * i + 1]!);
          ss.heights.push((p[off + 4 * i + 2]! << 8) | p[off + 4 * i + 3]!);
        }
      }
      off += 4 * layers;
    }
    if (v & 0x08) {
      if (off >= len) return false;
      const groups = p[off++]!;
      if (ss) ss.pictureGroup = [];
      for (let g = 0; g < groups; g++) {
        if (off >= len) return false;
        const t = p[off++]!;
        const refs = (t >> 2) & 3;
        if (off + refs > len) return false;
        if (ss) {
          const pDiffs: number[] = [];
          for (let r = 0; r < refs; r++) pDiffs.push(p[off + r]!);
          ss.pictureGroup!.push({ tid: t >> 5, switchingUp: (t & 0x10) !== 0, pDiffs });
        }
        off += refs;
      }
    }
    d.ss = ss;
  }
  if (off >= len) return false; // no VP9 data after the descriptor
  d.payloadOffset = off;
  return true;
}

// ---------- VP9 bitstream: superframe index (Annex B) and uncompressed header (6.2) ----------

/**
 * The frames of a superframe (VP9 spec Annex B) as offsets and sizes, as libvpx reads them; a
 * single frame (no valid index) as [[0, length]]. Undefined when an index is there but its
 * frame sizes overrun the data.
 */
export function vp9SuperframeFrames(data: Uint8Array): [number, number][] | undefined {
  const len = data.length;
  if (len === 0) return undefined;
  const marker = data[len - 1]!;
  if ((marker & 0xe0) === 0xc0) {
    const count = (marker & 7) + 1;
    const bytes = ((marker >> 3) & 3) + 1;
    const indexSize = 2 + bytes * count;
    if (len >= indexSize && data[len - indexSize] === marker) {
      const frames: [number, number][] = [];
      let pos = len - indexSize + 1;
      let offset = 0;
      for (let i = 0; i < count; i++) {
        let size = 0;
        for (let b = 0; b < bytes; b++) size |= data[pos++]! << (8 * b);
        size >>>= 0;
        if (size === 0 || offset + size > len - indexSize) return undefined;
        frames.push([offset, size]);
        offset += size;
      }
      return frames;
    }
  }
  return [[0, len]];
}

/**
 * Bytes per frame size in a superframe index, chosen as libvpx's encoder does (so that our
 * superframes are byte for byte libvpx's): the fewest whose all-ones value exceeds the OR of the
 * sizes (a size of exactly 255 takes 2 bytes).
 */
function sizeBytes(sizes: ArrayLike<number>, count: number): number {
  let magnitude = 0;
  for (let i = 0; i < count; i++) magnitude |= sizes[i]!;
  magnitude >>>= 0;
  return magnitude < 0xff ? 1 : magnitude < 0xffff ? 2 : magnitude < 0xffffff ? 3 : 4;
}

const superframeIndexSize = (sizes: ArrayLike<number>, count: number): number => 2 + count * sizeBytes(sizes, count);

/** Writes the superframe index for `sizes` at out[pos]; returns its length. */
function writeSuperframeIndex(out: Uint8Array, pos: number, sizes: ArrayLike<number>, count: number): number {
  const bytes = sizeBytes(sizes, count);
  const marker = 0xc0 | ((bytes - 1) << 3) | (count - 1);
  out[pos] = marker;
  let p = pos + 1;
  for (let i = 0; i < count; i++) {
    const s = sizes[i]!;
    for (let b = 0; b < bytes; b++) out[p++] = (s >>> (8 * b)) & 0xff;
  }
  out[p++] = marker;
  return p - pos;
}

/** What the uncompressed header of a frame says (VP9 spec 6.2), as far as sizes and colour go. */
export interface Vp9FrameHeader {
  profile: number;
  showExistingFrame: boolean;
  /** frame_type == KEY_FRAME. */
  keyframe: boolean;
  showFrame: boolean;
  intraOnly: boolean;
  /** Colour config: from key frames and intra-only frames (profile 0 intra-only: the spec's defaults). */
  bitDepth: number;
  colorSpace: number;
  fullRange: boolean;
  subsamplingX: number;
  subsamplingY: number;
  /** Frame size (0 when it comes from a reference slot whose size is not known). */
  width: number;
  height: number;
  /** Reference slots the frame refreshes (0xff for key frames). */
  refreshFrameFlags: number;
  /** Slot shown, for show_existing_frame. */
  frameToShow: number;
}

/** Colour space codes of the uncompressed header (VP9 spec 7.2.2). */
const CS_RGB = 7;

/**
 * Parses the start of a frame's uncompressed header. `refWidths`/`refHeights` hold the sizes of
 * the 8 reference slots for inter frames that take their size from a reference (found_ref).
 * Undefined when the header is invalid (frame marker, sync code, reserved bits, RGB in profile 0
 * or 2, 4:2:0 in profile 1 or 3: what libvpx and ffmpeg refuse) or truncated.
 */
export function parseVp9FrameHeader(
  data: Uint8Array,
  start = 0,
  end = data.length,
  refWidths?: ArrayLike<number>,
  refHeights?: ArrayLike<number>,
): Vp9FrameHeader | undefined {
  let bit = start * 8;
  const endBit = end * 8;
  const read = (n: number): number => {
    if (bit + n > endBit) throw TRUNCATED;
    let v = 0;
    for (let i = 0; i < n; i++, bit++) v = (v << 1) | ((data[bit >> 3]! >> (7 - (bit & 7))) & 1);
    return v;
  };
  try {
    if (read(2) !== 2) return undefined; // frame_marker
    const profile = read(1) | (read(1) << 1);
    if (profile === 3 && read(1)) return undefined;
    const h: Vp9FrameHeader = {
      profile,
      showExistingFrame: false,
      keyframe: false,
      showFrame: false,
      intraOnly: false,
      bitDepth: 8,
      colorSpace: 0,
      fullRange: false,
      subsamplingX: 1,
      subsamplingY: 1,
      width: 0,
      height: 0,
      refreshFrameFlags: 0,
      frameToShow: -1,
    };
    if (read(1)) {
      h.showExistingFrame = true;
      h.showFrame = true;
      h.frameToShow = read(3);
      if (refWidths && refHeights) {
        h.width = refWidths[h.frameToShow]!;
        h.height = refHeights[h.frameToShow]!;
      }
      return h;
    }
    h.keyframe = read(1) === 0;
    h.showFrame = read(1) === 1;
    const errorResilient = read(1);
    const syncCode = (): boolean => read(8) === 0x49 && read(8) === 0x83 && read(8) === 0x42;
    const colorConfig = (): boolean => {
      if (profile >= 2) h.bitDepth = read(1) ? 12 : 10;
      h.colorSpace = read(3);
      if (h.colorSpace !== CS_RGB) {
        h.fullRange = read(1) === 1;
        if (profile === 1 || profile === 3) {
          h.subsamplingX = read(1);
          h.subsamplingY = read(1);
          if (h.subsamplingX && h.subsamplingY) return false; // 4:2:0 belongs to profiles 0 and 2
          if (read(1)) return false;
        }
      } else {
        if (profile === 0 || profile === 2) return false; // RGB needs profile 1 or 3
        h.fullRange = true;
        h.subsamplingX = 0;
        h.subsamplingY = 0;
        if (read(1)) return false;
      }
      return true;
    };
    const frameSize = (): void => {
      h.width = read(16) + 1;
      h.height = read(16) + 1;
    };
    if (h.keyframe) {
      if (!syncCode() || !colorConfig()) return undefined;
      frameSize();
      h.refreshFrameFlags = 0xff;
      return h;
    }
    h.intraOnly = h.showFrame ? false : read(1) === 1;
    if (!errorResilient) read(2); // reset_frame_context
    if (h.intraOnly) {
      if (!syncCode()) return undefined;
      if (profile > 0) {
        if (!colorConfig()) return undefined;
      } else {
        h.colorSpace = 1; // CS_BT_601
      }
      h.refreshFrameFlags = read(8);
      frameSize();
      return h;
    }
    h.refreshFrameFlags = read(8);
    const refIdx = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      refIdx[i] = read(3);
      read(1); // sign bias
    }
    for (let i = 0; i < 3; i++) {
      if (read(1)) {
        // found_ref: the size of that reference
        h.width = refWidths?.[refIdx[i]!] ?? 0;
        h.height = refHeights?.[refIdx[i]!] ?? 0;
        return h;
      }
    }
    frameSize();
    return h;
  } catch (e) {
    if (e === TRUNCATED) return undefined;
    throw e;
  }
}
const TRUNCATED = new Error('truncated VP9 header');

/**
 * VP9 color_space -> ISO/IEC 23091-2 MatrixCoefficients, as ffmpeg's VP9 decoder sets
 * AVCodecContext.colorspace and its vpcC writer copies it: 0 CS_UNKNOWN -> 2 (unspecified),
 * 1 CS_BT_601 -> 5 (BT.470BG), 2 CS_BT_709 -> 1, 3 CS_SMPTE_170 -> 6, 4 CS_SMPTE_240 -> 7,
 * 5 CS_BT_2020 -> 9 (BT.2020 non-constant), 7 CS_RGB -> 0 (identity). 6 (CS_RESERVED, which
 * ffmpeg passes on as the reserved code 3) -> 2: a player is better told "unspecified".
 */
const MATRIX_OF_COLOR_SPACE = [2, 5, 1, 6, 7, 9, 2, 0];

/**
 * vpcC chromaSubsampling from the header's subsampling, as ffmpeg's vpcC writer codes it: 4:2:0 is
 * 1 ("colocated with luma") since VP9 states no chroma siting and ffmpeg writes 0 (vertical) only
 * for a known left siting; 4:2:2 is 2, 4:4:4 is 3. 4:4:0 has no code (ffmpeg fails on it): 3, so
 * that the box never understates the chroma a decoder must handle.
 */
function vpccChromaSubsampling(x: number, y: number): number {
  if (x && y) return 1;
  if (x) return 2;
  return 3;
}

/** Pictures as frames; FrameAssembler draws their boundaries. */
export class Vp9Depacketizer extends FrameAssembler {
  override readonly stats: DepacketizerStats = { framesEmitted: 0, framesDroppedIncomplete: 0, packetsMalformed: 0 };

  private readonly d = newVp9Descriptor();

  // --- Picture being assembled.
  /** The first frame of the picture is spatial layer 0 with P=0: a key picture if its header agrees. */
  private picKeyCandidate = false;
  /** A layer frame is open (B seen, E not yet). */
  private frameOpen = false;
  private frameSid = 0;
  /** Layer frames of the picture: count, and for each its size and the segment after its last. */
  private frameCount = 0;
  private frameSize = new Uint32Array(8);
  private frameSegEnd = new Uint32Array(8);
  /** At the start and after a loss: a picture must begin in spatial layer 0. */
  private needBaseLayer = true;

  // --- Payload segments of the picture, as buffer + offsets (no allocation per packet).
  private segCount = 0;
  private segBuf: (Buffer | undefined)[] = [];
  private segStart = new Uint32Array(64);
  private segLen = new Uint32Array(64);

  private lastConfig: Vp9Config | undefined;
  private readonly slab = new FrameSlab();
  /** Reference slot sizes while parsing a key picture's frames. */
  private readonly refWidths = new Uint16Array(8);
  private readonly refHeights = new Uint16Array(8);

  override reset(): void {
    this.needBaseLayer = true;
    super.reset();
  }

  protected override addPacket(p: Buffer): void {
    const d = this.d;
    if (!parseVp9Descriptor(p, d, false)) return this.malformed();
    if (d.beginsFrame) {
      if (this.frameOpen) return this.malformed(); // a frame begins before the last one ended
      if (this.frameCount === 0) {
        // The picture provably starts here; after a loss, only in the base layer.
        if (this.needBaseLayer && d.sid !== 0) return this.breakFrame();
        this.picKeyCandidate = d.sid === 0 && !d.interPicturePredicted;
      } else if (!d.layerIndices || d.sid <= this.frameSid || this.frameCount === 8) {
        // A further frame of the picture must be a higher spatial layer (and fit a superframe).
        return this.malformed();
      }
      this.needBaseLayer = false;
      this.frameOpen = true;
      this.frameSid = d.sid;
      this.frameSize[this.frameCount] = 0;
      this.frameCount++;
    } else {
      // Continuation of a frame whose start was lost (or never sent).
      if (!this.frameOpen) return this.breakFrame();
      if (d.sid !== this.frameSid) return this.malformed();
    }
    this.addSegment(p, d.payloadOffset, p.length - d.payloadOffset);
    if (d.endsFrame) {
      this.frameOpen = false;
      this.frameSegEnd[this.frameCount - 1] = this.segCount;
    }
  }

  /** A layer frame still open at the end of the picture lost its end. */
  protected override frameComplete(): boolean {
    return !this.frameOpen;
  }

  protected override emitFrame(): void {
    const n = this.frameCount;
    // Every frame starts with frame_marker 2 (the top bits of its first byte).
    let seg = 0;
    let nested = false;
    for (let f = 0; f < n; f++) {
      if (this.segBuf[seg]![this.segStart[seg]!]! >> 6 !== 2) return this.dropMalformed();
      const last = this.frameSegEnd[f]! - 1;
      if (n > 1 && (this.segBuf[last]![this.segStart[last]! + this.segLen[last]! - 1]! & 0xe0) === 0xc0) nested = true;
      seg = this.frameSegEnd[f]!;
    }
    let out: Buffer | undefined;
    if (n === 1) {
      const frame = (out = this.slab.take(this.frameSize[0]!));
      this.copySegments(frame, 0, 0, this.segCount);
      // Passed on as sent, but decoders refuse a superframe index that overruns the frame or
      // lists a frame without frame_marker 2 (damage can leave the tail looking like an index).
      if ((frame[frame.length - 1]! & 0xe0) === 0xc0) {
        const frames = vp9SuperframeFrames(frame);
        if (!frames || frames.some(([offset]) => frame[offset]! >> 6 !== 2)) return this.dropMalformed();
      }
    } else if (!nested) {
      const indexSize = superframeIndexSize(this.frameSize, n);
      let total = indexSize;
      for (let f = 0; f < n; f++) total += this.frameSize[f]!;
      out = this.slab.take(total);
      const pos = this.copySegments(out, 0, 0, this.segCount);
      writeSuperframeIndex(out, pos, this.frameSize, n);
    } else {
      out = this.flattenedSuperframe();
      if (!out) return this.dropMalformed();
    }

    let keyframe = false;
    let config: Vp9Config | undefined;
    if (this.picKeyCandidate) {
      const frames = vp9SuperframeFrames(out);
      if (!frames) return this.dropMalformed();
      const first = parseVp9FrameHeader(out, frames[0]![0], frames[0]![0] + frames[0]![1]);
      if (!first) return this.dropMalformed();
      if (first.keyframe) {
        keyframe = true;
        const c = this.keyPictureConfig(out, frames, first);
        if (!c) return this.dropMalformed();
        config = this.configIfChanged(c);
      }
    }
    this.output(out, keyframe, config);
  }

  /**
   * Config of a key picture: colour from the key frame, size of the last frame shown (the top
   * spatial layer, which libvpx outputs), following the reference slots through the picture's
   * frames since upper layers may take their size from a reference.
   */
  private keyPictureConfig(out: Buffer, frames: [number, number][], key: Vp9FrameHeader): Vp9Config | undefined {
    let width = key.width;
    let height = key.height;
    this.refWidths.fill(key.width);
    this.refHeights.fill(key.height);
    for (let i = 1; i < frames.length; i++) {
      const [start, size] = frames[i]!;
      const h = parseVp9FrameHeader(out, start, start + size, this.refWidths, this.refHeights);
      if (!h) return undefined;
      if (h.width === 0 || h.height === 0) continue; // size not known (not shown in practice)
      for (let s = 0; s < 8; s++) {
        if (h.refreshFrameFlags & (1 << s)) {
          this.refWidths[s] = h.width;
          this.refHeights[s] = h.height;
        }
      }
      if (h.showFrame) {
        width = h.width;
        height = h.height;
      }
    }
    return {
      codec: 'vp9',
      width,
      height,
      profile: key.profile,
      bitDepth: key.bitDepth,
      chromaSubsampling: vpccChromaSubsampling(key.subsamplingX, key.subsamplingY),
      colourPrimaries: 2,
      transferCharacteristics: 2,
      matrixCoefficients: MATRIX_OF_COLOR_SPACE[key.colorSpace]!,
      fullRange: key.fullRange,
    };
  }

  private configIfChanged(c: Vp9Config): Vp9Config | undefined {
    const l = this.lastConfig;
    if (
      l &&
      l.width === c.width &&
      l.height === c.height &&
      l.profile === c.profile &&
      l.bitDepth === c.bitDepth &&
      l.chromaSubsampling === c.chromaSubsampling &&
      l.colourPrimaries === c.colourPrimaries &&
      l.transferCharacteristics === c.transferCharacteristics &&
      l.matrixCoefficients === c.matrixCoefficients &&
      l.fullRange === c.fullRange
    ) {
      return undefined;
    }
    this.lastConfig = c;
    return c;
  }

  /**
   * Superframe of the picture's layer frames when one of them is itself a superframe: its frames
   * go into the one index (a superframe inside a superframe decodes nowhere). Rare (real-time SVC
   * encoders make no hidden frames), so it may copy twice.
   */
  private flattenedSuperframe(): Buffer | undefined {
    const parts: Buffer[] = [];
    let seg = 0;
    for (let f = 0; f < this.frameCount; f++) {
      const frame = Buffer.allocUnsafe(this.frameSize[f]!);
      this.copySegments(frame, 0, seg, this.frameSegEnd[f]!);
      seg = this.frameSegEnd[f]!;
      const inner = vp9SuperframeFrames(frame);
      if (!inner) return undefined;
      for (const [start, size] of inner) parts.push(frame.subarray(start, start + size));
    }
    if (parts.length > 8) return undefined;
    const sizes = parts.map((b) => b.length);
    let total = superframeIndexSize(sizes, sizes.length);
    for (const s of sizes) total += s;
    const out = this.slab.take(total);
    let pos = 0;
    for (const b of parts) {
      out.set(b, pos);
      pos += b.length;
    }
    writeSuperframeIndex(out, pos, sizes, sizes.length);
    return out;
  }

  /** Copies segments [from, to) to out[pos]; returns the position after them. */
  private copySegments(out: Buffer, pos: number, from: number, to: number): number {
    for (let i = from; i < to; i++) {
      const b = this.segBuf[i]!;
      const len = this.segLen[i]!;
      // A plain Uint8Array view is the cheapest way to copy a range (Buffer#copy costs ~2x).
      out.set(new Uint8Array(b.buffer, b.byteOffset + this.segStart[i]!, len), pos);
      pos += len;
    }
    return pos;
  }

  /** Appends p[start, start + len) to the open frame. */
  private addSegment(p: Buffer, start: number, len: number): void {
    const i = this.segCount++;
    if (i === this.segStart.length) {
      const starts = new Uint32Array(i * 2);
      starts.set(this.segStart);
      this.segStart = starts;
      const lens = new Uint32Array(i * 2);
      lens.set(this.segLen);
      this.segLen = lens;
    }
    this.segBuf[i] = p;
    this.segStart[i] = start;
    this.segLen[i] = len;
    this.frameSize[this.frameCount - 1] += len;
  }

  protected override clearFrame(): void {
    // Drop the references so that emitted packets can be collected.
    for (let i = 0; i < this.segCount; i++) this.segBuf[i] = undefined;
    this.segCount = 0;
    this.picKeyCandidate = false;
    this.frameOpen = false;
    this.frameCount = 0;
    this.frameSid = 0;
  }
}
