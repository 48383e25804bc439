/**
 * VP8 depacketizer (RFC 7741): RTP packets -> VP8 frames as the encoder wrote them (payload
 * descriptors stripped), key frames carrying their size as `config` when it changes.
 *
 * Own code rather than werift-rtp's `Vp8RtpPayload.deSerialize`, which was checked on the same
 * packets (a 720p 2.5 Mbit/s libvpx stream through GStreamer's rtpvp8pay, MTU 1200, and the
 * hand-made descriptors of test/vp8.test.ts):
 * - correctness: it skips the TID/Y/KEYIDX byte when L is set instead of when T or K is, so a
 *   descriptor with T=1, L=0 leaves that byte in the frame (`90 20 40 aa` -> `40 aa`) and one
 *   with L=1, T=K=0 eats a byte of it (`90 40 05 aa bb` -> `bb`); it throws a TypeError on empty
 *   payloads and truncated descriptors (`90 80`); it does no frame assembly, start or loss
 *   detection (its dePacketizeRtpPackets concatenates whatever packets it is given);
 * - speed: it allocates an object with 17 defineProperty fields per packet and builds the 15-bit
 *   PictureID through binary strings: 8-11 us/packet (its frame path the same), against 10-20 ns
 *   for parseVp8Descriptor here and 240-300 ns/packet for the whole push(), most of it the one
 *   copy of the ~1.1 kB payload into the frame (medians on a shared 2-core machine).
 *
 * Rules:
 * - a frame starts with S=1 and PartID=0 on a new timestamp, ends with the marker bit or when the
 *   timestamp changes; a frame that does not provably start (its first packet lost, or a stream
 *   joined mid-frame) or that lost a packet (`reset()`) is dropped, never emitted;
 * - key frame: P bit (bit 0 of the first byte of the VP8 payload header) is 0 (RFC 7741 4.3,
 *   RFC 6386 9.1); its 10-byte header (tag, start code 9d 01 2a, 14-bit width and height with
 *   2-bit scale) must be whole and valid, and gives `config` when the size changes;
 * - PictureID continuity (see `checkPictureId`): a non-key frame whose PictureID does not follow
 *   the last emitted one is dropped, because the frame it depends on was lost;
 * - malformed descriptors and payloads are counted in `stats.packetsMalformed` and drop their
 *   frame; nothing is thrown.
 *
 * Memory: payload buffers are referenced (not copied) until their frame is emitted, then copied
 * once into the frame's buffer, carved from a shared slab (`frame.data` is a view).
 */
import type { DepacketizerStats, Vp8Config } from './frame.js';
import { FrameAssembler } from './frame-assembler.js';
import { FrameSlab } from './frame-slab.js';

export interface Vp8DepacketizerStats extends DepacketizerStats {
  /** Non-key frames dropped because their PictureID did not follow the last emitted frame's (also in framesDroppedIncomplete). */
  framesDroppedPictureIdJump: number;
}

/** What a VP8 payload descriptor says (RFC 7741 section 4.2). */
export interface Vp8Descriptor {
  /** Offset of the VP8 payload in the RTP payload (the descriptor's length). */
  payloadOffset: number;
  /** N: non-reference frame. */
  nonReference: boolean;
  /** S: start of a VP8 partition. */
  start: boolean;
  /** PID: partition index, 0-7. */
  partitionId: number;
  /** PictureID, or -1 when absent. */
  pictureId: number;
  /** 7 or 15 (M bit), 0 when absent. */
  pictureIdBits: number;
  /** TL0PICIDX, or -1 when absent. */
  tl0PicIdx: number;
  /** TID, or -1 when absent. */
  tid: number;
  /** Y (layer sync), false when absent. */
  layerSync: boolean;
  /** KEYIDX, or -1 when absent. */
  keyIdx: number;
}

export function newVp8Descriptor(): Vp8Descriptor {
  return {
    payloadOffset: 0,
    nonReference: false,
    start: false,
    partitionId: 0,
    pictureId: -1,
    pictureIdBits: 0,
    tl0PicIdx: -1,
    tid: -1,
    layerSync: false,
    keyIdx: -1,
  };
}

/**
 * Parses a VP8 payload descriptor into `d` (reused, so that the per-packet path allocates
 * nothing). Returns false when it is truncated or no VP8 data follows it. L=1 without T=1 is
 * against RFC 7741 but unambiguous, and accepted (as libwebrtc does).
 */
export function parseVp8Descriptor(p: Uint8Array, d: Vp8Descriptor): boolean {
  const len = p.length;
  if (len === 0) return false;
  const b0 = p[0]!;
  d.nonReference = (b0 & 0x20) !== 0;
  d.start = (b0 & 0x10) !== 0;
  d.partitionId = b0 & 0x07;
  d.pictureId = -1;
  d.pictureIdBits = 0;
  d.tl0PicIdx = -1;
  d.tid = -1;
  d.layerSync = false;
  d.keyIdx = -1;
  let off = 1;
  if (b0 & 0x80) {
    if (off >= len) return false;
    const x = p[off++]!;
    if (x & 0x80) {
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
    if (x & 0x40) {
      if (off >= len) return false;
      d.tl0PicIdx = p[off++]!;
    }
    if (x & 0x30) {
      if (off >= len) return false;
      const t = p[off++]!;
      if (x & 0x20) {
        d.tid = t >> 6;
        d.layerSync = (t & 0x20) !== 0;
      }
      if (x & 0x10) d.keyIdx = t & 0x1f;
    }
  }
  if (off >= len) return false; // a descriptor with no VP8 data after it
  d.payloadOffset = off;
  return true;
}

/** VP8 key frame header fields (RFC 6386 section 9.1). */
export interface Vp8KeyFrameHeader {
  width: number;
  height: number;
  /** 2-bit upscaling hints (decoders output the coded size and ignore them, as libvpx and ffmpeg do). */
  horizontalScale: number;
  verticalScale: number;
}

/**
 * Parses the 10-byte header of a key frame: 3-byte frame tag (P bit 0), start code 9d 01 2a,
 * 14-bit width and height each with 2 bits of scale. Undefined when it is not a valid key frame
 * header (short, wrong start code, zero size, or a first partition longer than the frame).
 */
export function parseVp8KeyFrameHeader(frame: Uint8Array): Vp8KeyFrameHeader | undefined {
  if (frame.length < 10) return undefined;
  const tag = frame[0]! | (frame[1]! << 8) | (frame[2]! << 16);
  if (tag & 1) return undefined;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  const firstPartitionSize = tag >>> 5;
  if (firstPartitionSize > frame.length - 10) return undefined;
  const w = frame[6]! | (frame[7]! << 8);
  const h = frame[8]! | (frame[9]! << 8);
  const width = w & 0x3fff;
  const height = h & 0x3fff;
  if (width === 0 || height === 0) return undefined;
  return { width, height, horizontalScale: w >> 14, verticalScale: h >> 14 };
}

export class Vp8Depacketizer extends FrameAssembler {
  override readonly stats: Vp8DepacketizerStats = {
    framesEmitted: 0,
    framesDroppedIncomplete: 0,
    packetsMalformed: 0,
    framesDroppedPictureIdJump: 0,
  };

  private readonly d = newVp8Descriptor();

  // --- Frame being assembled.
  /** PictureID of the frame (-1 when its packets carry none) and its width in bits (7 or 15). */
  private framePictureId = -1;
  private framePictureIdBits = 0;
  /** N bit of the frame's packets: nothing references it. */
  private frameNonReference = false;

  /**
   * PictureID the next non-key frame must follow (last emitted frame's, or a dropped frame's that
   * nothing references), -1 when unknown: before the first frame, or after a frame without one.
   */
  private chainPictureId = -1;

  // --- Payload segments of the frame, as buffer + offsets (no allocation per packet).
  private segCount = 0;
  private segBuf: (Buffer | undefined)[] = [];
  private segStart = new Uint32Array(64);
  private segLen = new Uint32Array(64);
  private size = 0;

  private lastConfig: Vp8Config | undefined;
  private readonly slab = new FrameSlab();

  protected override addPacket(p: Buffer, first: boolean): void {
    const d = this.d;
    if (!parseVp8Descriptor(p, d)) return this.malformed();
    const isStart = d.start && d.partitionId === 0;
    if (first) {
      // Only the first packet of partition 0 proves that the frame starts here.
      if (!isStart) return this.breakFrame();
      this.framePictureId = d.pictureId;
      this.framePictureIdBits = d.pictureIdBits;
      this.frameNonReference = d.nonReference;
    } else if (isStart || d.pictureId !== this.framePictureId) {
      // A second frame start, or another picture, under the same timestamp: the sender's stream is broken.
      return this.malformed();
    }
    this.addSegment(p, d.payloadOffset, p.length - d.payloadOffset);
  }

  protected override emitFrame(): void {
    const keyframe = (this.segBuf[0]![this.segStart[0]!]! & 1) === 0;
    if (!keyframe && !this.checkPictureId()) {
      this.stats.framesDroppedPictureIdJump++;
      this.stats.framesDroppedIncomplete++;
      return;
    }
    const out = this.slab.take(this.size);
    let pos = 0;
    for (let i = 0; i < this.segCount; i++) {
      const b = this.segBuf[i]!;
      const len = this.segLen[i]!;
      // A plain Uint8Array view is the cheapest way to copy a range (Buffer#copy costs ~2x).
      out.set(new Uint8Array(b.buffer, b.byteOffset + this.segStart[i]!, len), pos);
      pos += len;
    }
    // The frame tag's first partition size must fit in the frame (libvpx rejects it otherwise);
    // its version must be one of the four defined (4 to 7 are reserved: no decoder knows them);
    // key frames also need their start code and a size.
    const firstPartitionSize = (out[0]! | (out[1]! << 8) | (out[2]! << 16)) >>> 5;
    const header = keyframe ? parseVp8KeyFrameHeader(out) : undefined;
    if (this.size < 3 || (out[0]! >> 1) & 4) return this.dropMalformed();
    if (keyframe ? !header : firstPartitionSize > this.size - 3) return this.dropMalformed();
    let config: Vp8Config | undefined;
    const last = this.lastConfig;
    if (header && (!last || last.width !== header.width || last.height !== header.height)) {
      config = this.lastConfig = { codec: 'vp8', width: header.width, height: header.height };
    }
    this.chainPictureId = this.framePictureId;
    this.output(out, keyframe, config);
  }

  /**
   * PictureID continuity. The sequence numbers tell of lost packets (the jitter buffer calls
   * reset()), but not of a frame lost whole where no gap is visible: across a reset (the packets
   * lost were exactly one frame's, or the loss ended one frame before the next start), or from a
   * sender or SFU that drops frames and renumbers the packets. The PictureID (RFC 7741: +1 per
   * picture, wrapping at 7 or 15 bits; mediasoup rewrites it to stay contiguous when it drops
   * temporal layers) shows it: a non-key frame must carry the ID after the last emitted one, else
   * a frame in between is missing and this one may reference it, so it is dropped and counted.
   * The check goes on from the last emitted frame, so what follows is dropped too until a key
   * frame, which references nothing and restarts the chain. A frame dropped here as incomplete
   * whose packets had the N bit (non-reference: nothing predicts from it) and that itself followed
   * the chain advances it, so losing a non-reference frame does not cost the frames after it.
   * Frames without PictureID cannot be checked and leave the chain unknown.
   */
  private checkPictureId(): boolean {
    if (this.framePictureId < 0 || this.chainPictureId < 0) return true;
    const mask = this.framePictureIdBits === 15 ? 0x7fff : 0x7f;
    return this.framePictureId === ((this.chainPictureId + 1) & mask);
  }

  /** A frame dropped as incomplete: advances the PictureID chain if nothing can depend on it. */
  protected override noteDroppedFrame(): void {
    if (this.frameNonReference && this.framePictureId >= 0 && this.chainPictureId >= 0 && this.checkPictureId()) {
      this.chainPictureId = this.framePictureId;
    }
  }

  /** Appends p[start, start + len) to the frame. */
  private addSegment(p: Buffer, start: number, len: number): void {
    const i = this.segCount++;
    if (i === this.segStart.length) {
      this.segStart = grow(this.segStart, new Uint32Array(i * 2));
      this.segLen = grow(this.segLen, new Uint32Array(i * 2));
    }
    this.segBuf[i] = p;
    this.segStart[i] = start;
    this.segLen[i] = len;
    this.size += len;
  }

  protected override clearFrame(): void {
    // Drop the references so that emitted packets can be collected.
    for (let i = 0; i < this.segCount; i++) this.segBuf[i] = undefined;
    this.segCount = 0;
    this.size = 0;
    this.framePictureId = -1;
    this.framePictureIdBits = 0;
    this.frameNonReference = false;
  }
}

function grow<T extends Uint32Array>(old: T, bigger: T): T {
  bigger.set(old);
  return bigger;
}
