import { parseRtpPacket } from '../rtp/packet.js';

const IDR = 5;
const SPS = 7;
const STAP_A = 24;
const FU_A = 28;

/**
 * Whether a raw RTP packet of `mimeType` starts a keyframe, judged from this one packet the way
 * mediasoup does before it forwards video (the replayer uses it to start at a keyframe). Audio
 * packets always qualify.
 */
export function startsKeyframe(mimeType: string, raw: Buffer): boolean {
  let payload: Buffer;
  try {
    payload = parseRtpPacket(raw).payload;
  } catch {
    return false;
  }
  switch (mimeType.toLowerCase()) {
    case 'video/h264':
      return h264StartsKeyframe(payload);
    case 'video/vp8':
      return vp8StartsKeyframe(payload);
    case 'video/vp9':
      return vp9StartsKeyframe(payload);
    case 'video/av1':
      return av1StartsKeyframe(payload);
    default:
      return !mimeType.toLowerCase().startsWith('video/');
  }
}

/** RFC 7741: the first packet (S=1, partition 0) of a frame whose VP8 header has P = 0. */
function vp8StartsKeyframe(p: Buffer): boolean {
  if (p.length < 1 || (p[0]! & 0x1f) !== 0x10) return false; // S=1, PID=0
  let offset = 1;
  if (p[0]! & 0x80) {
    if (p.length < 2) return false;
    const x = p[1]!;
    offset = 2;
    if (x & 0x80) offset += p.length > offset && p[offset]! & 0x80 ? 2 : 1; // PictureID, 7 or 15 bits
    if (x & 0x40) offset += 1; // TL0PICIDX
    if (x & 0x30) offset += 1; // TID/Y/KEYIDX
  }
  return offset < p.length && (p[offset]! & 0x01) === 0;
}

/** RFC 9628: a picture's first packet (B=1) that is not inter-predicted (P=0), on spatial layer 0. */
function vp9StartsKeyframe(p: Buffer): boolean {
  if (p.length < 1) return false;
  const d = p[0]!;
  if (!(d & 0x08) || d & 0x40) return false; // B=1, P=0
  if (!(d & 0x20)) return true; // no layer indices: one spatial layer
  const offset = 1 + (d & 0x80 ? (p.length > 1 && p[1]! & 0x80 ? 2 : 1) : 0);
  return offset < p.length && ((p[offset]! >> 1) & 0x07) === 0; // SID 0
}

/** AV1 RTP payload: the first packet of a coded video sequence (N=1, Z=0). */
function av1StartsKeyframe(p: Buffer): boolean {
  return p.length > 0 && (p[0]! & 0x88) === 0x08;
}

/** RFC 6184: an SPS or the first fragment of an IDR slice, alone, in a STAP-A or in an FU-A. */
function h264StartsKeyframe(payload: Buffer): boolean {
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
