/**
 * SRTP on the recorder's side of a PlainTransport link (RFC 3711): media and sender reports from
 * mediasoup are authenticated, checked against replay and decrypted; the recorder's own RTCP
 * (receiver reports, NACK, PLI) is encrypted and authenticated as SRTCP. Packets that fail are
 * reported as drops, never thrown. State grows only for SSRCs whose packets authenticated.
 */
import { RTCP_TAG_BYTES, SrtpTransform, type SrtpParameters } from './srtp-keys.js';

/** Keys of one link, one per direction. JSON-serializable, handed to the recorder with `link.streams`. */
export interface UdpSrtpParameters {
  /** What the sender protects its RTP and RTCP with: the PlainTransport's `srtpParameters`. */
  sender: SrtpParameters;
  /** What the recorder protects its RTCP with: passed to the PlainTransport's `connect()`. */
  recorder: SrtpParameters;
}

/** Why a packet was dropped: it did not authenticate (or is too short to carry a tag), or it was seen before. */
export type SrtpDrop = 'unauthenticated' | 'replayed';

/** Packets older than this many indexes behind the newest are refused as replays (libsrtp's window in mediasoup). */
export const REPLAY_WINDOW = 1024;
const SRTCP_INDEX_BYTES = 4;

export class SrtpSession {
  private readonly rtpIn: SrtpTransform;
  private readonly rtcpIn: SrtpTransform;
  private readonly rtcpOut: SrtpTransform;
  private readonly rtpStates = new Map<number, { rolloverCounter: number; highestSequence: number; window: ReplayWindow }>();
  private readonly rtcpWindows = new Map<number, ReplayWindow>();
  private readonly rtcpOutIndex = new Map<number, number>();
  /** The rollover counter as the tag covers it (RFC 3711 4.2), one buffer for every packet. */
  private readonly roc = Buffer.alloc(4);

  /** Throws when a key or suite is unusable. */
  constructor(parameters: UdpSrtpParameters) {
    this.rtpIn = SrtpTransform.derive(parameters.sender, false);
    this.rtcpIn = SrtpTransform.derive(parameters.sender, true);
    this.rtcpOut = SrtpTransform.derive(parameters.recorder, true);
  }

  /** The RTP packet inside SRTP `packet` (decrypted in place: `packet` is consumed), or why it was dropped. */
  unprotectRtp(packet: Buffer): Buffer | SrtpDrop {
    const tagBytes = this.rtpIn.tagBytes;
    const headerBytes = rtpHeaderBytes(packet, tagBytes);
    if (headerBytes === undefined) return 'unauthenticated';
    const ssrc = packet.readUInt32BE(8);
    const sequence = packet.readUInt16BE(2);
    const state = this.rtpStates.get(ssrc);
    // RFC 3711 3.3.1: the rollover counter the sender most likely used, from the newest sequence number seen.
    const rolloverCounter = state ? guessRolloverCounter(state.rolloverCounter, state.highestSequence, sequence) : 0;
    if (rolloverCounter < 0) return 'replayed';
    const index = rolloverCounter * 0x10000 + sequence;
    if (state && !state.window.fresh(index)) return 'replayed';
    const end = packet.length - tagBytes;
    this.roc.writeUInt32BE(rolloverCounter);
    if (!this.rtpIn.verify(packet.subarray(end), packet.subarray(0, end), this.roc)) return 'unauthenticated';
    this.rtpIn.crypt(packet.subarray(headerBytes, end), ssrc, index, true).copy(packet, headerBytes);
    if (state) {
      if (index > state.rolloverCounter * 0x10000 + state.highestSequence) {
        state.rolloverCounter = rolloverCounter;
        state.highestSequence = sequence;
      }
      state.window.mark(index);
    } else {
      const window = new ReplayWindow();
      window.mark(index);
      this.rtpStates.set(ssrc, { rolloverCounter, highestSequence: sequence, window });
    }
    return packet.subarray(0, end);
  }

  /** The compound RTCP packet inside SRTCP `packet` (decrypted in place), or why it was dropped. */
  unprotectRtcp(packet: Buffer): Buffer | SrtpDrop {
    const trailer = packet.length - RTCP_TAG_BYTES - SRTCP_INDEX_BYTES;
    if (trailer < 8) return 'unauthenticated';
    const ssrc = packet.readUInt32BE(4);
    const word = packet.readUInt32BE(trailer);
    const index = word & 0x7fff_ffff;
    const window = this.rtcpWindows.get(ssrc);
    if (window && !window.fresh(index)) return 'replayed';
    const end = packet.length - RTCP_TAG_BYTES;
    if (!this.rtcpIn.verify(packet.subarray(end), packet.subarray(0, end))) return 'unauthenticated';
    // The E bit: an authenticated but unencrypted SRTCP packet is allowed (RFC 3711 3.4).
    if (word >>> 31) this.rtcpIn.crypt(packet.subarray(8, trailer), ssrc, index, true).copy(packet, 8);
    if (window) window.mark(index);
    else this.rtcpWindows.set(ssrc, new ReplayWindow().mark(index));
    return packet.subarray(0, trailer);
  }

  /** `packet` (compound RTCP) as SRTCP: encrypted after the first 8 bytes, indexed, authenticated. */
  protectRtcp(packet: Buffer): Buffer {
    const ssrc = packet.readUInt32BE(4);
    const index = this.rtcpOutIndex.get(ssrc) ?? 0;
    this.rtcpOutIndex.set(ssrc, (index + 1) & 0x7fff_ffff);
    const out = Buffer.allocUnsafe(packet.length + SRTCP_INDEX_BYTES + RTCP_TAG_BYTES);
    packet.copy(out, 0, 0, 8);
    this.rtcpOut.crypt(packet.subarray(8), ssrc, index, false).copy(out, 8);
    out.writeUInt32BE((0x8000_0000 | index) >>> 0, packet.length);
    const end = packet.length + SRTCP_INDEX_BYTES;
    this.rtcpOut.tag(out.subarray(0, end)).copy(out, end);
    return out;
  }
}

/** RFC 3711 Appendix A: ROC - 1, ROC or ROC + 1, whichever puts `sequence` nearest the highest sequence number seen. */
function guessRolloverCounter(rolloverCounter: number, highestSequence: number, sequence: number): number {
  if (highestSequence < 0x8000) return sequence - highestSequence > 0x8000 ? rolloverCounter - 1 : rolloverCounter;
  return highestSequence - 0x8000 > sequence ? rolloverCounter + 1 : rolloverCounter;
}

/** Bytes of the RTP header (CSRCs and extension included) of an SRTP packet, undefined if it cannot be one. */
function rtpHeaderBytes(packet: Buffer, tagBytes: number): number | undefined {
  if (packet.length < 12 + tagBytes || packet[0]! >> 6 !== 2) return undefined;
  let bytes = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) {
    if (packet.length < bytes + 4 + tagBytes) return undefined;
    bytes += 4 + packet.readUInt16BE(bytes + 2) * 4;
  }
  return bytes <= packet.length - tagBytes ? bytes : undefined;
}

/** Which of the last REPLAY_WINDOW indexes were received, as a ring of flags keyed by index. */
class ReplayWindow {
  private highest = -1;
  private readonly seen = new Uint8Array(REPLAY_WINDOW);

  /** Not received yet, and not too old to tell. */
  fresh(index: number): boolean {
    if (index > this.highest) return true;
    return this.highest - index < REPLAY_WINDOW && this.seen[index % REPLAY_WINDOW] === 0;
  }

  mark(index: number): this {
    if (index > this.highest) {
      // The slots the window slides over now stand for indexes not received yet.
      for (let i = Math.max(this.highest + 1, index - REPLAY_WINDOW + 1); i < index; i++) this.seen[i % REPLAY_WINDOW] = 0;
      this.highest = index;
    }
    this.seen[index % REPLAY_WINDOW] = 1;
    return this;
  }
}
