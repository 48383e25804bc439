import { parseRtpPacket } from '../rtp/packet.js';

const IDR = 5;
const SPS = 7;
const STAP_A = 24;
const FU_A = 28;

/**
 * Whether a raw RTP packet carrying H264 (RFC 6184) holds the start of a keyframe: an SPS or the
 * first fragment of an IDR slice, alone, in a STAP-A or in an FU-A. This is the packet-level test
 * mediasoup applies before it forwards video; the replayer uses it to start at a keyframe.
 */
export function isH264Keyframe(raw: Buffer): boolean {
  let payload: Buffer;
  try {
    payload = parseRtpPacket(raw).payload;
  } catch {
    return false;
  }
  if (payload.length < 2) return false;
  const type = payload[0]! & 0x1f;
  if (type === IDR || type === SPS) return true;
  if (type === FU_A) return (payload[1]! & 0x80) !== 0 && ((payload[1]! & 0x1f) === IDR || (payload[1]! & 0x1f) === SPS);
  if (type !== STAP_A) return false;
  for (let offset = 1; offset + 2 < payload.length; ) {
    const size = payload.readUInt16BE(offset);
    const nal = payload[offset + 2]! & 0x1f;
    if (nal === IDR || nal === SPS) return true;
    offset += 2 + size;
  }
  return false;
}
