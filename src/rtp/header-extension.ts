import type { RtpPacket } from './packet.js';

/**
 * The data of header extension `id` in `raw` (RFC 8285 one-byte or two-byte form), or undefined
 * when the packet does not carry it. A view into the packet, no copy.
 */
export function findHeaderExtension(raw: Buffer, packet: RtpPacket, id: number): Buffer | undefined {
  const end = packet.extensionOffset + packet.extensionLength;
  if (packet.extensionProfile === 0xbede) {
    for (let i = packet.extensionOffset; i < end; ) {
      const b = raw[i]!;
      if (b === 0) {
        i++; // padding
        continue;
      }
      const elementId = b >> 4;
      if (elementId === 15) return undefined; // reserved: stop parsing (RFC 8285 section 4.2)
      const length = (b & 0x0f) + 1;
      if (elementId === id) return i + 1 + length <= end ? raw.subarray(i + 1, i + 1 + length) : undefined;
      i += 1 + length;
    }
  } else if ((packet.extensionProfile & 0xfff0) === 0x1000) {
    for (let i = packet.extensionOffset; i + 1 < end; ) {
      const elementId = raw[i]!;
      if (elementId === 0) {
        i++;
        continue;
      }
      const length = raw[i + 1]!;
      if (elementId === id) return i + 2 + length <= end ? raw.subarray(i + 2, i + 2 + length) : undefined;
      i += 2 + length;
    }
  }
  return undefined;
}

/** RTP header extension URI of coordination of video orientation (3GPP TS 26.114, as WebRTC sends it). */
export const VIDEO_ORIENTATION_URI = 'urn:3gpp:video-orientation';

/**
 * Clockwise rotation, in degrees, a frame needs to be shown upright, from a video-orientation
 * extension byte (bits R1 R0; C and F, camera and flip, are not used here).
 */
export function rotationOf(extension: Buffer): 0 | 90 | 180 | 270 {
  return (((extension[0] ?? 0) & 0x03) * 90) as 0 | 90 | 180 | 270;
}
