/**
 * Seeded header-level mutations of RTP packets, the ways a buggy or hostile sender (or anyone who
 * can reach the recorder's port) gets headers wrong: every field, every length, and datagrams that
 * are not RTP at all. Payloads are left alone (their fuzzing is the depacketizers' tests' job),
 * except where a header change moves where the payload starts.
 */
export const MUTATIONS = [
  'version',
  'truncation',
  'extension-length',
  'extension-flag',
  'padding',
  'csrc-count',
  'payload-type',
  'marker',
  'sequence-jump',
  'timestamp-jump',
  'ssrc',
  'junk',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

const u16 = (random: () => number): number => Math.floor(random() * 0x1_0000);
const u32 = (random: () => number): number => Math.floor(random() * 2 ** 32);
const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** Bytes of the RTP header, CSRCs and header extension of a well-formed packet. */
function headerBytes(packet: Buffer): number {
  const base = 12 + (packet[0]! & 0x0f) * 4;
  return packet[0]! & 0x10 ? base + 4 + packet.readUInt16BE(base + 2) * 4 : base;
}

/** A mutated copy of `packet` (`junk`: random bytes instead). */
export function mutate(packet: Buffer, kind: Mutation, random: () => number, clockRate: number): Buffer {
  if (kind === 'junk') {
    const junk = Buffer.alloc(Math.floor(random() * 1500));
    for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(random() * 256);
    // Some junk looks like RTP v2 of the stream's payload type, to get past the first checks.
    if (junk.length >= 2 && random() < 0.5) [junk[0], junk[1]] = [0x80 | (junk[0]! & 0x3f), packet[1]!];
    return junk;
  }
  // Cut inside the header, or right after it (an empty payload): a header matter. A cut into the
  // payload is payload corruption, which only the codec can judge (an H264 FU-A or AV1 OBU
  // fragment cut to 1-2 bytes still makes frames that fail to decode: the depacketizers' fuzz).
  if (kind === 'truncation') return Buffer.from(packet.subarray(0, Math.min(packet.length - 1, Math.floor(random() * (headerBytes(packet) + 1)))));
  const p = Buffer.from(packet);
  const cc = p[0]! & 0x0f;
  switch (kind) {
    case 'version':
      p[0] = (p[0]! & 0x3f) | (pick(random, [0, 1, 3]) << 6);
      break;
    case 'extension-length':
      if (p[0]! & 0x10 && p.length >= 16 + cc * 4) p.writeUInt16BE(u16(random), 14 + cc * 4);
      else p[0]! |= 0x10;
      break;
    case 'extension-flag':
      p[0]! ^= 0x10;
      break;
    case 'padding':
      p[0]! |= 0x20;
      p[p.length - 1] = pick(random, [0, 1, Math.floor(random() * 256), 255]);
      break;
    case 'csrc-count':
      p[0] = (p[0]! & 0xf0) | (1 + Math.floor(random() * 15));
      break;
    case 'payload-type':
      p[1] = (p[1]! & 0x80) | Math.floor(random() * 128);
      break;
    case 'marker':
      p[1]! ^= 0x80;
      break;
    case 'sequence-jump': {
      const seq = p.readUInt16BE(2);
      // Beyond the reorder window (100): a packet forged into another one's slot nearby (or
      // duplicated there with other content) is no header matter; only the codec can tell.
      const jump = pick(random, [101 + Math.floor(random() * (0x1_0000 - 202)), 101 + Math.floor(random() * 2000), -101 - Math.floor(random() * 2000), 32_768]);
      p.writeUInt16BE((seq + jump + 0x1_0000) & 0xffff, 2);
      break;
    }
    case 'timestamp-jump': {
      const ts = p.readUInt32BE(4);
      const seconds = (1 + Math.floor(random() * 600)) * clockRate;
      const jump = pick(random, [u32(random), 2 ** 31 - 1, 2 ** 31, seconds, -seconds, Math.floor(random() * clockRate * 0.2), 2 ** 32 - 960]);
      p.writeUInt32BE((ts + jump) % 2 ** 32 >>> 0, 4);
      break;
    }
    case 'ssrc':
      p.writeUInt32BE(u32(random), 8);
      break;
  }
  return p;
}
