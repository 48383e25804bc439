/**
 * AV1 depacketizer ("RTP Payload Format For AV1", AOMedia, v1.0.0): RTP packets -> temporal units
 * in the form AV1-ISOBMFF (section 2.4) and Matroska's AV1 mapping store them: the TU's OBUs in
 * order, each with obu_has_size_field = 1 and a minimal leb128 obu_size; no temporal delimiters
 * (the RTP format says to drop them anyway), no tile lists (not allowed in either container), no
 * padding or reserved OBU types. Keyframes carry their sequence header.
 *
 * Own code rather than werift-rtp's `AV1RtpPayload` (0.8.9), which was checked against the rules
 * here:
 * - correctness: `deSerialize` throws a RangeError on every W = 0 packet (it builds
 *   `Array(W - 1)`), i.e. on any packet aggregating more than 3 OBUs (the 320x240 test clip has TUs
 *   of 4 frame OBUs); throws on a bad leb128 instead of counting it, and lets a length past the end
 *   through (subarray clamps). `getFrame` glues consecutive fragments into one OBU, so a packet
 *   that ends one fragmented OBU and starts another (Z = 1, Y = 1, W = 2) yields one merged,
 *   broken OBU; a TU whose middle fragment was lost comes out as one shortened OBU, undetected; a
 *   continuation without its start throws a TypeError. It writes obu_size between the OBU header
 *   and its extension byte, breaking every OBU with obu_extension_flag; keeps temporal delimiters;
 *   leaves the last OBU without obu_size; and its `isKeyframe` is the N bit, which is about coded
 *   video sequences, not key frames. There is no TU assembly, so no completeness at all.
 * - speed: over the two test clips repeated 200 times (packetized at MTU 1200 and 300, at most 3
 *   OBUs per packet since W = 0 throws), werift's frame path (deSerialize per packet, getFrame per
 *   TU) took 9-25 us/packet, deSerialize alone 3.7-5.8 us/packet, against 0.28-0.5 us/packet here
 *   (CPU time, medians; shared 2-core machine, noisy). Most of werift's cost is an object with
 *   defineProperty'd fields per packet and per OBU, Buffer.concat per fragment run and a BitWriter
 *   per OBU header. Here the time is mostly the one copy into the frame buffer, and per-TU costs
 *   at ~1.3 packets per TU.
 *
 * Completeness (the rules of src/codec/frame-assembler.ts): no TU that misses any part of any
 * OBU is emitted. A TU is accepted only when its first packet provably starts it: the packet
 * before it was received right before it (no reset() in between) and ended the previous TU
 * (marker bit or a different timestamp), or its aggregation header has N = 1 (first packet of a
 * coded video sequence, so of a TU). After a reset(), a new timestamp alone proves nothing: the
 * lost packets may have been the first ones of that very TU, and AV1 has no in-band marker of a
 * TU's first packet (unlike H264's first_mb_in_slice). A stream joined mid-way is treated like
 * one after a reset. Inside a TU, Z must match the previous packet's Y: a continuation without
 * its start, or a fragment left open by a marker, a new timestamp or a packet with Z = 0, drops
 * the TU.
 *
 * Keyframes follow AV1-ISOBMFF's sync sample rule: the TU's first frame (OBU_FRAME or
 * OBU_FRAME_HEADER) is a key frame with show_frame = 1, and a sequence header OBU comes before it.
 * A key TU without a sequence header gets the last one prepended, provided no TU was lost or
 * dropped since it was seen (the lost one might have changed it); else it is dropped and counted.
 *
 * Memory: payload buffers are referenced (not copied) until their TU is emitted, then copied once
 * into the frame's buffer; callers must not reuse them before that. Frame buffers are carved from
 * shared slabs (see FrameSlab): `frame.data` is a view, mind its byteOffset.
 */
import type { Av1Config, DepacketizerStats } from './frame.js';
import type { RtpPacket } from '../rtp/packet.js';
import { hasAv1TrailingBits, isShownAv1KeyFrame, parseAv1SequenceHeader, type Av1SequenceHeader } from './av1-sequence-header.js';
import { FrameAssembler } from './frame-assembler.js';
import { FrameSlab } from './frame-slab.js';

// OBU types (AV1 spec section 6.2.2).
const OBU_SEQUENCE_HEADER = 1;
const OBU_FRAME_HEADER = 3;
const OBU_FRAME = 6;
const OBU_REDUNDANT_FRAME_HEADER = 7;

/**
 * OBU types that go into a sample: sequence header, frame header, tile group, metadata, frame,
 * redundant frame header (3 to 7). Dropped: temporal delimiter (2), tile list (8), padding (15)
 * and the reserved types (0, 9 to 14), which decoders ignore.
 */
function keepObuType(type: number): boolean {
  return type === OBU_SEQUENCE_HEADER || (type >= OBU_FRAME_HEADER && type <= OBU_REDUNDANT_FRAME_HEADER);
}

// Aggregation header bits (RTP payload format section 4.4).
const AGG_Z = 0x80;
const AGG_Y = 0x40;
const AGG_N = 0x08;

/**
 * Segments up to this size are copied byte by byte rather than with a typed-array view + set(),
 * whose fixed cost dominates for the many tiny OBUs of inter TUs (~8% less time on the test clips).
 */
const SMALL_COPY = 64;

export interface Av1DepacketizerStats extends DepacketizerStats {
  /** Key TUs dropped because no usable sequence header was known for them (also in framesDroppedIncomplete). */
  keyframesWithoutSequenceHeader: number;
}

/** A sequence header OBU as it goes into samples and av1C, with its parsed fields. */
interface SequenceHeader {
  /** OBU header (obu_has_size_field = 1), obu_size, payload. */
  obu: Buffer;
  info: Av1SequenceHeader;
}

/** Temporal units as frames; FrameAssembler draws their boundaries. */
export class Av1Depacketizer extends FrameAssembler {
  override readonly stats: Av1DepacketizerStats = {
    framesEmitted: 0,
    framesDroppedIncomplete: 0,
    packetsMalformed: 0,
    keyframesWithoutSequenceHeader: 0,
  };

  // --- Temporal unit being assembled.
  /** The last packet ended with an OBU fragment (Y = 1) that the next packet must continue (Z = 1). */
  private fragOpen = false;
  /** First sequence header OBU of the TU, its index, and the index of the TU's first frame (header) OBU; -1 if none. */
  private tuSh: SequenceHeader | undefined;
  private tuShIndex = -1;
  private tuFirstFrame = -1;
  /** First payload byte of that frame (header) OBU: show_existing_frame, frame_type, show_frame. */
  private tuFirstFrameByte = 0;

  // --- OBUs of the TU as lists of segments (views given as buffer + offsets, so that assembling
  // costs no allocation per packet). OBU k owns segments [segEnd[k-1], segEnd[k]).
  private obuCount = 0;
  /** Bytes of the OBU as received: header, extension, obu_size if the sender kept it, payload. */
  private obuSize = new Uint32Array(16);
  private obuSegEnd = new Uint32Array(16);
  /** First OBU header byte as received. */
  private obuHeader = new Uint8Array(16);
  /** obu_extension_header byte, or -1 without one. */
  private obuExt = new Int16Array(16);
  /** Received bytes before the payload (header, extension, obu_size). */
  private obuSkip = new Uint8Array(16);
  private obuPayloadSize = new Uint32Array(16);
  private segCount = 0;
  private segBuf: (Buffer | undefined)[] = [];
  private segStart = new Uint32Array(64);
  private segLen = new Uint32Array(64);

  // --- Sequence header in force and config.
  /** The sequence header of the last TU emitted with one. */
  private activeSh: SequenceHeader | undefined;
  /** No TU was lost or dropped since activeSh was seen: it may be prepended to key TUs without one. */
  private shTrusted = false;
  private lastConfig: Av1Config | undefined;
  private readonly slab = new FrameSlab();

  override push(packet: RtpPacket, timestamp: number): void {
    // An empty payload carries no AV1 data (not even the aggregation header): an RTP padding-only
    // packet, which libwebrtc sends on the media SSRC when RTX is not negotiated. Ignored whole,
    // timestamp and marker included (its timestamp is that of an earlier frame).
    if (packet.payload.length !== 0) super.push(packet, timestamp);
  }

  override reset(): void {
    super.reset();
    this.shTrusted = false;
  }

  /** After a loss only N = 1 proves a TU start, not a new timestamp (see the top of the file). */
  protected override startsAfterLoss(p: Buffer): boolean {
    return (p[0]! & (AGG_N | AGG_Z)) === AGG_N;
  }

  protected override addPacket(p: Buffer): void {
    const len = p.length;
    const agg = p[0]!;
    const z = (agg & AGG_Z) !== 0;
    const w = (agg >>> 4) & 3;
    if (z && agg & AGG_N) return this.malformed(); // a coded video sequence cannot start with a fragment
    if (len === 1) return this.malformed(); // no OBU element
    // Z = 1 with nothing open: the fragment's start was lost or never sent. Z = 0 with a fragment
    // open: its end was lost or never sent.
    if (z !== this.fragOpen) return this.breakFrame();
    const y = (agg & AGG_Y) !== 0;
    let off = 1;
    for (let i = 1; off < len; i++) {
      let size: number;
      if (i === w) {
        size = len - off; // the last of W elements has no length field
      } else {
        let value = 0;
        let mul = 1;
        for (let k = 0; ; k++) {
          if (k === 8 || off >= len) return this.malformed();
          const b = p[off++]!;
          value += (b & 0x7f) * mul;
          mul *= 128;
          if ((b & 0x80) === 0) break;
        }
        // Empty elements carry nothing and no packetizer needs them: with W > 0 an empty last
        // element means W counts more elements than there are.
        if (value === 0 || value > len - off) return this.malformed();
        size = value;
      }
      if (i !== 1 || !z) this.newObu();
      this.addSegment(p, off, size);
      off += size;
      if (off === len) {
        if (w !== 0 && i !== w) return this.malformed(); // W counts more elements than there are
        if (y) break; // the last OBU continues in the next packet
      }
      if (!this.finishObu()) return;
    }
    this.fragOpen = y;
  }

  /** The last OBU is complete: checks its header and size, and drops it when it does not go into samples. */
  private finishObu(): boolean {
    const k = this.obuCount - 1;
    const size = this.obuSize[k]!;
    const firstSeg = k === 0 ? 0 : this.obuSegEnd[k - 1]!;
    const header = this.segBuf[firstSeg]![this.segStart[firstSeg]!]!; // elements are never empty
    if (header & 0x80) return this.obuMalformed(); // obu_forbidden_bit
    const type = (header >>> 3) & 0x0f;
    let skip = 1;
    let ext = -1;
    if (header & 0x04) {
      if (size < 2) return this.obuMalformed();
      ext = this.byteAt(k, 1);
      skip = 2;
    }
    let payloadSize = size - skip;
    if (header & 0x02) {
      // The sender kept obu_size (the format allows it): it must match the element.
      let value = 0;
      let mul = 1;
      for (let i = 0; ; i++) {
        if (i === 8 || skip >= size) return this.obuMalformed();
        const b = this.byteAt(k, skip++);
        value += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) break;
      }
      payloadSize = size - skip;
      if (value !== payloadSize) return this.obuMalformed();
    }
    if (!keepObuType(type)) {
      for (let s = firstSeg; s < this.segCount; s++) this.segBuf[s] = undefined;
      this.segCount = firstSeg;
      this.obuCount = k;
      return true;
    }
    // Every OBU type kept has a payload (a frame header has at least its first bits, metadata its type).
    if (payloadSize === 0) return this.obuMalformed();
    this.obuHeader[k] = header;
    this.obuExt[k] = ext;
    this.obuSkip[k] = skip;
    this.obuPayloadSize[k] = payloadSize;
    if (type === OBU_SEQUENCE_HEADER) {
      if (this.tuShIndex < 0) {
        const sh = this.sequenceHeader(k);
        if (!sh) return this.obuMalformed();
        this.tuSh = sh;
        this.tuShIndex = k;
      }
    } else if ((type === OBU_FRAME || type === OBU_FRAME_HEADER) && this.tuFirstFrame < 0) {
      this.tuFirstFrame = k;
      this.tuFirstFrameByte = this.byteAt(k, skip);
    }
    return true;
  }

  /** The sequence header OBU k in output form with its fields; undefined when it does not parse. */
  private sequenceHeader(k: number): SequenceHeader | undefined {
    const obu = Buffer.alloc(this.outputSize(k)); // not pooled: it may live as long as the stream
    this.writeObu(k, obu, 0);
    const active = this.activeSh;
    if (active && active.obu.equals(obu)) return active;
    const payload = obu.subarray(obu.length - this.obuPayloadSize[k]!);
    const info = parseAv1SequenceHeader(payload);
    return info && hasAv1TrailingBits(payload, info.bitLength) ? { obu, info } : undefined;
  }

  /** Byte i of OBU k as received (i < obuSize[k]). */
  private byteAt(k: number, i: number): number {
    const end = this.obuSegEnd[k]!;
    for (let s = k === 0 ? 0 : this.obuSegEnd[k - 1]!; s < end; s++) {
      const len = this.segLen[s]!;
      if (i < len) return this.segBuf[s]![this.segStart[s]! + i]!;
      i -= len;
    }
    return 0;
  }

  private obuMalformed(): false {
    this.malformed();
    return false;
  }

  /** An OBU fragment still open at the end of the TU lost its end. */
  protected override frameComplete(): boolean {
    return !this.fragOpen;
  }

  /** The dropped TU might have changed the sequence header. */
  protected override noteDroppedFrame(): void {
    this.shTrusted = false;
  }

  protected override emitFrame(): void {
    if (this.tuFirstFrame < 0) return; // no frame in it (a sender's stray metadata): not a sample
    const shBefore = this.tuShIndex >= 0 && this.tuShIndex < this.tuFirstFrame;
    const reduced = (shBefore ? this.tuSh : this.activeSh)?.info.reducedStillPictureHeader ?? false;
    const keyframe = isShownAv1KeyFrame(this.tuFirstFrameByte, reduced);
    let sh: SequenceHeader | undefined;
    let prepend: SequenceHeader | undefined;
    if (keyframe) {
      if (shBefore) {
        sh = this.tuSh;
      } else if (this.tuShIndex < 0 && this.shTrusted && this.activeSh) {
        sh = prepend = this.activeSh;
      } else {
        this.stats.keyframesWithoutSequenceHeader++;
        this.stats.framesDroppedIncomplete++;
        return;
      }
    }

    let size = prepend ? prepend.obu.length : 0;
    for (let k = 0; k < this.obuCount; k++) size += this.outputSize(k);
    const out = this.slab.take(size);
    let pos = 0;
    if (prepend) {
      out.set(prepend.obu, 0);
      pos = prepend.obu.length;
    }
    for (let k = 0; k < this.obuCount; k++) pos = this.writeObu(k, out, pos);

    if (this.tuSh) {
      this.activeSh = this.tuSh;
      this.shTrusted = true;
    }
    this.output(out, keyframe, sh ? this.configIfChanged(sh) : undefined);
  }

  /** The config to attach to a keyframe: set when its sequence header differs from the last one emitted. */
  private configIfChanged(sh: SequenceHeader): Av1Config | undefined {
    if (this.lastConfig && this.lastConfig.sequenceHeaderObu.equals(sh.obu)) return undefined;
    const i = sh.info;
    const op = i.operatingPoints[0]!;
    this.lastConfig = {
      codec: 'av1',
      width: i.maxFrameWidth,
      height: i.maxFrameHeight,
      seqProfile: i.seqProfile,
      seqLevelIdx0: op.seqLevelIdx,
      seqTier0: op.seqTier,
      highBitdepth: i.highBitdepth,
      twelveBit: i.twelveBit,
      monochrome: i.monochrome,
      chromaSubsamplingX: i.subsamplingX,
      chromaSubsamplingY: i.subsamplingY,
      chromaSamplePosition: i.chromaSamplePosition,
      sequenceHeaderObu: sh.obu,
    };
    return this.lastConfig;
  }

  /** Size of OBU k in a sample: header, extension, obu_size, payload. */
  private outputSize(k: number): number {
    const n = this.obuPayloadSize[k]!;
    return (this.obuExt[k]! >= 0 ? 2 : 1) + leb128Size(n) + n;
  }

  /** Writes OBU k in sample form at out[pos]; returns the position after it. */
  private writeObu(k: number, out: Buffer, pos: number): number {
    out[pos++] = this.obuHeader[k]! | 0x02; // obu_has_size_field
    const ext = this.obuExt[k]!;
    if (ext >= 0) out[pos++] = ext;
    let n = this.obuPayloadSize[k]!;
    while (n >= 0x80) {
      out[pos++] = (n & 0x7f) | 0x80;
      n >>>= 7; // sizes are under 2^32
    }
    out[pos++] = n;
    let skip = this.obuSkip[k]!;
    const end = this.obuSegEnd[k]!;
    for (let s = k === 0 ? 0 : this.obuSegEnd[k - 1]!; s < end; s++) {
      let start = this.segStart[s]!;
      let len = this.segLen[s]!;
      if (skip > 0) {
        const cut = Math.min(skip, len);
        skip -= cut;
        start += cut;
        len -= cut;
        if (len === 0) continue;
      }
      const b = this.segBuf[s]!;
      if (len <= SMALL_COPY) {
        for (let i = 0; i < len; i++) out[pos + i] = b[start + i]!;
      } else {
        // A plain Uint8Array view is the cheapest way to copy a range (Buffer#copy costs ~2x).
        out.set(new Uint8Array(b.buffer, b.byteOffset + start, len), pos);
      }
      pos += len;
    }
    return pos;
  }

  private newObu(): void {
    const k = this.obuCount++;
    if (k === this.obuSize.length) {
      this.obuSize = grow(this.obuSize, new Uint32Array(k * 2));
      this.obuSegEnd = grow(this.obuSegEnd, new Uint32Array(k * 2));
      this.obuHeader = grow(this.obuHeader, new Uint8Array(k * 2));
      this.obuExt = grow(this.obuExt, new Int16Array(k * 2));
      this.obuSkip = grow(this.obuSkip, new Uint8Array(k * 2));
      this.obuPayloadSize = grow(this.obuPayloadSize, new Uint32Array(k * 2));
    }
    this.obuSize[k] = 0;
    this.obuSegEnd[k] = this.segCount;
  }

  /** Appends p[start, start + len) to the last OBU. */
  private addSegment(p: Buffer, start: number, len: number): void {
    const i = this.segCount++;
    if (i === this.segStart.length) {
      this.segStart = grow(this.segStart, new Uint32Array(i * 2));
      this.segLen = grow(this.segLen, new Uint32Array(i * 2));
    }
    this.segBuf[i] = p;
    this.segStart[i] = start;
    this.segLen[i] = len;
    const k = this.obuCount - 1;
    this.obuSegEnd[k] = this.segCount;
    this.obuSize[k] += len;
  }

  protected override clearFrame(): void {
    // Drop the references so that emitted packets can be collected.
    for (let i = 0; i < this.segCount; i++) this.segBuf[i] = undefined;
    this.segCount = 0;
    this.obuCount = 0;
    this.fragOpen = false;
    this.tuSh = undefined;
    this.tuShIndex = -1;
    this.tuFirstFrame = -1;
  }
}

/** Bytes of the minimal leb128 coding of n. */
function leb128Size(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n >>>= 7;
    size++;
  }
  return size;
}

function grow<T extends Int16Array | Uint8Array | Uint32Array>(old: T, bigger: T): T {
  bigger.set(old);
  return bigger;
}
