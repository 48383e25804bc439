/** Readers and writers for the codec tests' committed data (IVF files, length-prefixed RTP dumps). */
import type { Depacketizer } from '../../src/codec/frame.js';
import { parseRtpPacket, type RtpPacket } from '../../src/rtp/packet.js';
import { TimestampUnwrapper } from '../../src/rtp/unwrap.js';

/** Frames of an IVF file (32-byte file header, then 12-byte frame headers). */
export function ivfFrames(file: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let pos = file.readUInt16LE(6); pos < file.length; ) {
    const size = file.readUInt32LE(pos);
    frames.push(file.subarray(pos + 12, pos + 12 + size));
    pos += 12 + size;
  }
  return frames;
}

/** An IVF file of `frames` with codec `fourcc` ('VP80', 'VP90', 'AV01'): what ffmpeg reads to check that frames decode. */
export function ivf(fourcc: string, frames: Buffer[], width: number, height: number): Buffer {
  const head = Buffer.alloc(32);
  head.write('DKIF', 0, 'latin1');
  head.writeUInt16LE(32, 6);
  head.write(fourcc, 8, 'latin1');
  head.writeUInt16LE(width, 12);
  head.writeUInt16LE(height, 14);
  head.writeUInt32LE(30, 16);
  head.writeUInt32LE(1, 20);
  head.writeUInt32LE(frames.length, 24);
  return Buffer.concat([
    head,
    ...frames.flatMap((f, i) => {
      const h = Buffer.alloc(12);
      h.writeUInt32LE(f.length, 0);
      h.writeBigUInt64LE(BigInt(i), 4);
      return [h, f];
    }),
  ]);
}

/** Packets of a .rtp dump: each a 2-byte length and the packet. */
export function rtpFile(file: Buffer): RtpPacket[] {
  const packets: RtpPacket[] = [];
  for (let pos = 0; pos < file.length; ) {
    const len = file.readUInt16BE(pos);
    packets.push(parseRtpPacket(file.subarray(pos + 2, pos + 2 + len)));
    pos += 2 + len;
  }
  return packets;
}

/**
 * Feeds `packets` to a depacketizer as the jitter buffer would: timestamps unwrapped, and each run
 * of packets for which `losses(i)` is true reported once, as one reset().
 */
export function pushWithLosses(d: Depacketizer, packets: RtpPacket[], losses?: (i: number) => boolean): void {
  const unwrap = new TimestampUnwrapper();
  let prevLost = false;
  packets.forEach((p, i) => {
    const ts = unwrap.unwrap(p.timestamp);
    if (losses?.(i)) {
      if (!prevLost) d.reset();
      prevLost = true;
    } else {
      d.push(p, ts);
      prevLost = false;
    }
  });
}
