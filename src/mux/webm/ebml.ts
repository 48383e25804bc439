/**
 * EBML (RFC 8794) element writing, as Matroska and WebM use it (RFC 9559).
 *
 * An element is its ID, its data size as a variable-length integer (VINT), then its data. IDs are
 * written as they are spelled in the specifications (0x1A45DFA3 is four bytes, 0xA3 one): their
 * length marker is part of the number. A VINT of length n holds 7n bits after its marker; the
 * all-ones value of each length is reserved (it means "unknown size"), so a size uses the shortest
 * length in which it is not all ones.
 *
 * The header elements are built once, so these builders return small Buffers and `master()`
 * concatenates them. The per-block path (SimpleBlock headers) writes in place with `writeVint()`.
 * Numbers are JS numbers: exact up to 2^53, which is beyond any file size or timestamp here.
 */

/** Matroska element IDs used by the writer (RFC 9559 section 5.1; WebM uses a subset). */
export const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Void: 0xec,

  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  SeekPosition: 0x53ac,

  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Duration: 0x4489,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,

  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecDelay: 0x56aa,
  SeekPreRoll: 0x56bb,
  Video: 0xe0,
  Projection: 0x7670,
  ProjectionType: 0x7671,
  ProjectionPoseRoll: 0x7675,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Colour: 0x55b0,
  MatrixCoefficients: 0x55b1,
  BitsPerChannel: 0x55b2,
  ChromaSubsamplingHorz: 0x55b3,
  ChromaSubsamplingVert: 0x55b4,
  ChromaSitingHorz: 0x55b7,
  ChromaSitingVert: 0x55b8,
  Range: 0x55b9,
  TransferCharacteristics: 0x55ba,
  Primaries: 0x55bb,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,

  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,

  Cues: 0x1c53bb6b,
  CuePoint: 0xbb,
  CueTime: 0xb3,
  CueTrackPositions: 0xb7,
  CueTrack: 0xf7,
  CueClusterPosition: 0xf1,
} as const;

/** The 8-byte "unknown size" VINT (all value bits set): the element ends where its parent's next child begins. */
export const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** Largest data size an element can declare: 2^56 - 2 (2^56 - 1 is "unknown"), capped to what a JS number holds exactly. */
const MAX_SIZE = Number.MAX_SAFE_INTEGER;

/** Bytes of an element ID (1 to 4), from its value. */
export function idLength(id: number): number {
  return id >= 0x1000000 ? 4 : id >= 0x10000 ? 3 : id >= 0x100 ? 2 : 1;
}

/** Writes an element ID big-endian at `off`; returns the offset after it. */
export function writeId(buf: Buffer, off: number, id: number): number {
  const n = idLength(id);
  for (let i = n - 1; i >= 0; i--) {
    buf[off + i] = id & 0xff;
    id = Math.floor(id / 256);
  }
  return off + n;
}

/** Shortest VINT length (1 to 8) that holds `value` as a size (the all-ones value of a length is reserved). */
export function vintLength(value: number): number {
  if (!(value >= 0) || value > MAX_SIZE || !Number.isInteger(value)) throw new RangeError(`EBML: bad size ${value}`);
  let n = 1;
  let limit = 0x7f; // 2^(7n) - 1: reserved, not usable
  while (value >= limit) {
    n++;
    limit = limit * 128 + 127;
  }
  return n;
}

/** Writes `value` as a VINT of `length` bytes (marker bit, then the value big-endian); returns the offset after it. */
export function writeVint(buf: Buffer, off: number, value: number, length: number): number {
  let v = value;
  for (let i = length - 1; i > 0; i--) {
    buf[off + i] = v & 0xff;
    v = Math.floor(v / 256);
  }
  buf[off] = (0x100 >> length) | v; // the marker bit, then the value's top bits
  return off + length;
}

/** Bytes of an unsigned integer's data: the fewest that hold it, at least one. */
export function uintLength(value: number): number {
  let n = 1;
  for (let v = Math.floor(value / 256); v > 0; v = Math.floor(v / 256)) n++;
  return n;
}

/** ID and size of an element with `size` bytes of data; `sizeLength` forces the size's VINT length (for sizes patched later). */
export function header(id: number, size: number, sizeLength = vintLength(size)): Buffer {
  const buf = Buffer.allocUnsafe(idLength(id) + sizeLength);
  writeVint(buf, writeId(buf, 0, id), size, sizeLength);
  return buf;
}

/** ID and unknown size of a master element whose end is not known when it starts (Segment, Cluster). */
export function unknownSizeHeader(id: number): Buffer {
  const buf = Buffer.allocUnsafe(idLength(id) + 8);
  UNKNOWN_SIZE.copy(buf, writeId(buf, 0, id));
  return buf;
}

/** An element around `data`. */
export function binary(id: number, data: Buffer): Buffer {
  return Buffer.concat([header(id, data.length), data]);
}

/** An unsigned integer element, big-endian in the fewest bytes (or `width` bytes, so a later patch fits). */
export function uint(id: number, value: number, width = uintLength(value)): Buffer {
  if (!(value >= 0) || !Number.isSafeInteger(value)) throw new RangeError(`EBML: bad unsigned integer ${value}`);
  const data = Buffer.alloc(width);
  let v = value;
  for (let i = width - 1; i >= 0 && v > 0; i--) {
    data[i] = v & 0xff;
    v = Math.floor(v / 256);
  }
  return binary(id, data);
}

/** A float element, always 64-bit (IEEE 754 big-endian). */
export function float(id: number, value: number): Buffer {
  const data = Buffer.allocUnsafe(8);
  data.writeDoubleBE(value, 0);
  return binary(id, data);
}

/** A string element (ASCII for String, UTF-8 for UTF-8 elements), without terminating zero. */
export function string(id: number, value: string): Buffer {
  return binary(id, Buffer.from(value, 'utf8'));
}

/** A master element of known size holding `children` (already serialized elements). */
export function master(id: number, children: Buffer[]): Buffer {
  let size = 0;
  for (const c of children) size += c.length;
  return Buffer.concat([header(id, size), ...children]);
}

/** A Void element of exactly `totalSize` bytes (ID and size included, at least 2): space kept for a later patch. */
export function voidElement(totalSize: number): Buffer {
  if (totalSize < 2) throw new RangeError('EBML: a Void element takes at least 2 bytes');
  // One size byte holds up to 126; beyond that use 8 (any length is valid, the data is zeros).
  const sizeLength = totalSize - 2 <= 126 ? 1 : 8;
  const buf = Buffer.alloc(totalSize);
  writeVint(buf, writeId(buf, 0, ID.Void), totalSize - 1 - sizeLength, sizeLength);
  return buf;
}
