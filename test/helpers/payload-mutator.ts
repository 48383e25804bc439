/**
 * Seeded mutations of RTP payloads, per codec: the payload format's own fields (NAL and FU-A
 * headers, STAP-A sizes, VP8/VP9 descriptors, AV1 aggregation headers and OBU sizes, Opus TOC and
 * frame counts) and generic damage (bit flips, truncation, junk appended). Each mutation returns a
 * new Buffer and its name, so a failure names what was done.
 */
export type FuzzCodec = 'h264' | 'vp8' | 'vp9' | 'av1' | 'opus';

export interface Mutation {
  kind: string;
  payload: Buffer;
}

type Random = () => number;
type Mutator = (p: Buffer, random: Random) => Buffer;

const int = (random: Random, n: number): number => Math.floor(random() * n);

const flipBit = (p: Buffer, random: Random, within: number): Buffer => {
  const out = Buffer.from(p);
  if (out.length === 0) return out;
  const at = int(random, Math.min(within, out.length));
  out[at]! ^= 1 << int(random, 8);
  return out;
};

const setByte = (p: Buffer, at: number, value: number): Buffer => {
  const out = Buffer.from(p);
  if (at < out.length) out[at] = value & 0xff;
  return out;
};

/** Damage that any payload format can meet. */
const GENERIC: Record<string, Mutator> = {
  headerBitFlip: (p, r) => flipBit(p, r, 4),
  anyBitFlip: (p, r) => flipBit(p, r, p.length),
  truncate: (p, r) => p.subarray(0, int(r, p.length)),
  truncateToHeader: (p, r) => p.subarray(0, Math.min(p.length, 1 + int(r, 3))),
  appendJunk: (p, r) => Buffer.concat([p, Buffer.from(Array.from({ length: 1 + int(r, 16) }, () => int(r, 256)))]),
  randomHeaderByte: (p, r) => setByte(p, int(r, Math.min(8, Math.max(1, p.length))), int(r, 256)),
  empty: () => Buffer.alloc(0),
};

/** The payload format's own fields. */
const SPECIFIC: Record<FuzzCodec, Record<string, Mutator>> = {
  h264: {
    nalType: (p, r) => setByte(p, 0, ((p[0] ?? 0) & 0xe0) | int(r, 32)),
    forbiddenBit: (p) => setByte(p, 0, (p[0] ?? 0) | 0x80),
    fuHeader: (p, r) => ((p[0]! & 0x1f) === 28 ? setByte(p, 1, (p[1] ?? 0) ^ (1 << (5 + int(r, 3)))) : setByte(p, 1, int(r, 256))),
    fuType: (p, r) => ((p[0]! & 0x1f) === 28 ? setByte(p, 1, ((p[1] ?? 0) & 0xe0) | int(r, 32)) : p),
    stapSize: (p, r) => {
      if ((p[0]! & 0x1f) !== 24 || p.length < 3) return setByte(p, 0, 24); // make it a STAP-A that is not one
      const out = Buffer.from(p);
      out.writeUInt16BE(int(r, 65536), 1);
      return out;
    },
  },
  vp8: {
    descriptor: (p, r) => setByte(p, 0, int(r, 256)),
    extension: (p, r) => setByte(p, 1, int(r, 256)),
    pictureId: (p, r) => setByte(p, 2, int(r, 256)),
    startBit: (p) => setByte(p, 0, (p[0] ?? 0) ^ 0x10),
    frameTag: (p, r) => setByte(p, vp8DescriptorLength(p) + int(r, 3), int(r, 256)),
  },
  vp9: {
    descriptor: (p, r) => setByte(p, 0, int(r, 256)),
    descriptorBits: (p, r) => setByte(p, 0, (p[0] ?? 0) ^ (1 << int(r, 8))),
    pictureId: (p, r) => setByte(p, 1 + int(r, 2), int(r, 256)),
    layerOrSs: (p, r) => setByte(p, 3 + int(r, 6), int(r, 256)),
  },
  av1: {
    aggregationHeader: (p, r) => setByte(p, 0, int(r, 256)),
    aggregationBits: (p, r) => setByte(p, 0, (p[0] ?? 0) ^ (1 << (3 + int(r, 5)))),
    elementLength: (p, r) => setByte(p, 1, int(r, 256)),
    obuHeader: (p, r) => setByte(p, (p[0] ?? 0) & 0x30 ? 1 : 2, int(r, 256)),
  },
  opus: {
    toc: (p, r) => setByte(p, 0, int(r, 256)),
    tocCode: (p, r) => setByte(p, 0, ((p[0] ?? 0) & 0xfc) | int(r, 4)),
    frameCount: (p, r) => setByte(setByte(p, 0, (p[0] ?? 0) | 3), 1, int(r, 256)),
    frameLength: (p, r) => setByte(setByte(p, 0, ((p[0] ?? 0) & 0xfc) | 2), 1, int(r, 256)),
  },
};

/** VP8 payload descriptor length (RFC 7741 section 4.2), as far as the bytes go. */
function vp8DescriptorLength(p: Buffer): number {
  if (p.length === 0 || !(p[0]! & 0x80)) return 1;
  const x = p[1] ?? 0;
  let n = 2;
  if (x & 0x80) n += (p[n] ?? 0) & 0x80 ? 2 : 1;
  if (x & 0x40) n++;
  if (x & 0x30) n++;
  return n;
}

/** All mutation names of a codec. */
export function mutationKinds(codec: FuzzCodec): string[] {
  return [...Object.keys(GENERIC), ...Object.keys(SPECIFIC[codec])];
}

/** One seeded mutation of `payload`: a codec-specific one half the time, generic damage otherwise. */
export function mutatePayload(codec: FuzzCodec, payload: Buffer, random: Random): Mutation {
  const table = random() < 0.5 ? SPECIFIC[codec] : GENERIC;
  const kinds = Object.keys(table);
  const kind = kinds[int(random, kinds.length)]!;
  return { kind, payload: table[kind]!(payload, random) };
}
