/**
 * Opus depacketizer (RFC 7587): each RTP payload is one Opus packet, and every packet can be
 * decoded on its own, so each becomes a keyframe. The duration comes from the packet's TOC byte
 * (RFC 6716 section 3.1), validated like libopus' opus_packet_parse so that a packet counted
 * valid here is one a decoder accepts.
 */
import type { Depacketizer, DepacketizerStats, FrameCallback } from './frame.js';
import type { RtpPacket } from '../rtp/packet.js';

/**
 * Samples per frame at 48 kHz for each TOC config (RFC 6716 table 2): SILK NB/MB/WB 10/20/40/60 ms,
 * hybrid SWB/FB 10/20 ms, CELT NB/WB/SWB/FB 2.5/5/10/20 ms.
 */
const FRAME_SAMPLES = new Uint16Array([
  480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880,
  480, 960, 480, 960,
  120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
]);

/** Largest frame payload, in bytes (RFC 6716 section 3.4, R2). */
const MAX_FRAME_BYTES = 1275;
/** Longest packet, in 48 kHz samples (120 ms, R5). */
const MAX_PACKET_SAMPLES = 5760;

/**
 * Duration of an Opus packet in 48 kHz samples, whatever the stream's sample rate; undefined when
 * the packet is malformed (RFC 6716 section 3.4, requirements R1 to R7).
 */
export function opusPacketDuration(packet: Uint8Array): number | undefined {
  const len = packet.length;
  if (len === 0) return undefined; // R1
  const toc = packet[0]!;
  const frameSamples = FRAME_SAMPLES[toc >>> 3]!;
  switch (toc & 3) {
    case 0: // one frame
      return len - 1 <= MAX_FRAME_BYTES ? frameSamples : undefined;
    case 1: // two frames of equal size (R3)
      return (len - 1) % 2 === 0 && (len - 1) / 2 <= MAX_FRAME_BYTES ? 2 * frameSamples : undefined;
    case 2: {
      // two frames, the first one's length coded (R4)
      const first = frameLength(packet, 1);
      if (first < 0) return undefined;
      const lengthBytes = first >= 252 ? 2 : 1;
      const second = len - 1 - lengthBytes - first;
      return second >= 0 && second <= MAX_FRAME_BYTES ? 2 * frameSamples : undefined;
    }
    default: {
      // code 3: a frame count byte, optional padding, CBR or VBR frames (R5 to R7)
      if (len < 2) return undefined;
      const countByte = packet[1]!;
      const count = countByte & 0x3f;
      if (count === 0 || count * frameSamples > MAX_PACKET_SAMPLES) return undefined;
      let pos = 2;
      let remaining = len - 2; // bytes left for frames once padding and lengths are taken out
      if (countByte & 0x40) {
        let b: number;
        do {
          if (pos >= len) return undefined;
          b = packet[pos++]!;
          remaining -= 1 + (b === 255 ? 254 : b);
        } while (b === 255);
        if (remaining < 0) return undefined;
      }
      let last: number;
      if (countByte & 0x80) {
        // VBR: count - 1 coded lengths, the last frame takes the rest
        last = remaining;
        for (let i = 0; i < count - 1; i++) {
          const size = frameLength(packet, pos);
          if (size < 0) return undefined;
          const bytes = size >= 252 ? 2 : 1;
          pos += bytes;
          remaining -= bytes;
          if (size > remaining) return undefined;
          last -= bytes + size;
        }
        if (last < 0) return undefined;
      } else {
        last = remaining / count;
        if (!Number.isInteger(last)) return undefined;
      }
      return last <= MAX_FRAME_BYTES ? count * frameSamples : undefined;
    }
  }
}

/** Reads a 1- or 2-byte frame length (RFC 6716 section 3.2.1) at `pos`; -1 when truncated. */
function frameLength(packet: Uint8Array, pos: number): number {
  if (pos >= packet.length) return -1;
  const b = packet[pos]!;
  if (b < 252) return b;
  if (pos + 1 >= packet.length) return -1;
  return packet[pos + 1]! * 4 + b;
}

/**
 * A 20 ms Opus packet that decodes to digital silence: TOC of config 31 (CELT fullband 20 ms),
 * code 0, then range-coder bytes whose first symbol is CELT's silence flag. A decoder still
 * fading out earlier audio outputs that tail in the first such packet, zeros after.
 */
export function opusSilencePacket(channels: 1 | 2): Buffer {
  return Buffer.from([channels === 2 ? 0xfc : 0xf8, 0xff, 0xfe]);
}

export class OpusDepacketizer implements Depacketizer {
  readonly stats: DepacketizerStats = { framesEmitted: 0, framesDroppedIncomplete: 0, packetsMalformed: 0 };

  constructor(private readonly onFrame: FrameCallback) {}

  push(packet: RtpPacket, timestamp: number): void {
    const payload = packet.payload;
    const duration = opusPacketDuration(payload);
    if (duration === undefined) {
      this.stats.packetsMalformed++;
      return;
    }
    // Copied so the frame does not pin the whole receive buffer (an Opus packet is ~100 of its
    // ~1500 bytes) while the muxer holds it.
    const data = Buffer.allocUnsafe(payload.length);
    data.set(payload);
    this.stats.framesEmitted++;
    this.onFrame({ timestamp, data, keyframe: true, config: undefined, duration });
  }

  /** Every packet stands alone: a gap leaves nothing half-built. */
  reset(): void {}
}
