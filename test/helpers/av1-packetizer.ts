/**
 * Test-only AV1 RTP packetizer ("RTP Payload Format For AV1", AOMedia v1.0.0, sections 4 and 5)
 * and OBU stream helpers. Written from the spec for the depacketizer's tests, independent of the
 * fixtures' packetizer: drops temporal delimiters and tile lists (section 5: "SHOULD be removed"),
 * strips obu_size from OBU headers (4.2: obu_has_size_field SHOULD be 0, the element length
 * carries it), fragments OBUs across packets of a given size, aggregates several OBU elements per
 * packet with W = 1..3 (the last element without a length field) or W = 0 (every element
 * length-prefixed), and sets N on the first packet of a coded video sequence.
 */

export const OBU_SEQUENCE_HEADER = 1;
export const OBU_TEMPORAL_DELIMITER = 2;
export const OBU_FRAME_HEADER = 3;
export const OBU_TILE_GROUP = 4;
export const OBU_METADATA = 5;
export const OBU_FRAME = 6;
export const OBU_REDUNDANT_FRAME_HEADER = 7;
export const OBU_TILE_LIST = 8;
export const OBU_PADDING = 15;

/** One OBU, unpacked. */
export interface Obu {
  type: number;
  /** obu_extension_header byte (temporal_id << 5 | spatial_id << 3), when there is one. */
  ext?: number;
  payload: Buffer;
}

export function leb128(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** Parses a low-overhead OBU stream (every OBU with obu_size, as ffmpeg -f obu writes). */
export function parseObus(data: Buffer): Obu[] {
  const out: Obu[] = [];
  let pos = 0;
  while (pos < data.length) {
    const h = data[pos++]!;
    if (!(h & 0x02)) throw new Error('OBU without obu_size in a low-overhead stream');
    const ext = h & 0x04 ? data[pos++]! : undefined;
    let size = 0;
    let mul = 1;
    for (;;) {
      const b = data[pos++]!;
      size += (b & 0x7f) * mul;
      mul *= 128;
      if (!(b & 0x80)) break;
    }
    const obu: Obu = { type: (h >> 3) & 15, payload: data.subarray(pos, pos + size) };
    if (ext !== undefined) obu.ext = ext;
    out.push(obu);
    pos += size;
  }
  return out;
}

/** Splits a low-overhead stream into temporal units (each starts with its temporal delimiter, kept). */
export function temporalUnits(data: Buffer): Obu[][] {
  const tus: Obu[][] = [];
  for (const obu of parseObus(data)) {
    if (obu.type === OBU_TEMPORAL_DELIMITER || tus.length === 0) tus.push([]);
    tus.at(-1)!.push(obu);
  }
  return tus;
}

/** An OBU's bytes: header, extension, obu_size when `sizeField`, payload. */
export function obuBytes(obu: Obu, sizeField = true): Buffer {
  const header = (obu.type << 3) | (obu.ext !== undefined ? 0x04 : 0) | (sizeField ? 0x02 : 0);
  return Buffer.concat([
    Buffer.from(obu.ext !== undefined ? [header, obu.ext] : [header]),
    sizeField ? leb128(obu.payload.length) : Buffer.alloc(0),
    obu.payload,
  ]);
}

/** What a container sample holds for a TU: its OBUs with obu_size, minus temporal delimiters, tile lists and padding. */
export function sampleOf(tu: Obu[]): Buffer {
  return Buffer.concat(tu.filter((o) => ![OBU_TEMPORAL_DELIMITER, OBU_TILE_LIST, OBU_PADDING].includes(o.type)).map((o) => obuBytes(o)));
}

/** A low-overhead OBU stream of the given samples, each preceded by a temporal delimiter (what ffmpeg -f obu reads). */
export function obuStream(samples: Buffer[]): Buffer {
  return Buffer.concat(samples.flatMap((s) => [Buffer.from([0x12, 0x00]), s]));
}

/** Adds an extension header (temporal_id, spatial_id) to every OBU but temporal delimiters. */
export function withExtension(tu: Obu[], temporalId: number, spatialId: number): Obu[] {
  return tu.map((o) => (o.type === OBU_TEMPORAL_DELIMITER ? o : { ...o, ext: (temporalId << 5) | (spatialId << 3) }));
}

export interface PacketizeOptions {
  /** Largest RTP payload, aggregation header included. */
  mtu?: number;
  /** 'count': W = number of elements when 1 to 3, else 0 (what libwebrtc does); 'zero': always W = 0. */
  w?: 'count' | 'zero';
  /** Most OBU elements per packet (1: no aggregation). */
  maxElements?: number;
  /** Keep obu_size in the OBUs (allowed, not recommended: 4.2). */
  keepSizeFields?: boolean;
  /** Send temporal delimiters, tile lists and padding instead of dropping them (receivers must ignore them). */
  keepDroppable?: boolean;
  /** N on the first packet; by default set when the TU has a sequence header and starts with a key frame. */
  newSequence?: boolean;
}

export interface Av1Payload {
  payload: Buffer;
  /** RTP marker: last packet of the temporal unit. */
  marker: boolean;
}

/** Packetizes one temporal unit. */
export function packetizeAv1(tu: Obu[], options: PacketizeOptions = {}): Av1Payload[] {
  const mtu = options.mtu ?? 1200;
  const maxElements = options.maxElements ?? Infinity;
  const obus = options.keepDroppable
    ? tu
    : tu.filter((o) => o.type !== OBU_TEMPORAL_DELIMITER && o.type !== OBU_TILE_LIST && o.type !== OBU_PADDING);
  const firstFrame = obus.find((o) => o.type === OBU_FRAME || o.type === OBU_FRAME_HEADER);
  const newSequence =
    options.newSequence ??
    (obus.some((o) => o.type === OBU_SEQUENCE_HEADER) && firstFrame !== undefined && (firstFrame.payload[0]! & 0xf0) === 0x10);

  const packets: Av1Payload[] = [];
  let elements: Buffer[] = [];
  let z = false; // the packet being built starts with a continuation
  const flush = (y: boolean): void => {
    const n = elements.length;
    const w = options.w !== 'zero' && n <= 3 ? n : 0;
    const agg = (z ? 0x80 : 0) | (y ? 0x40 : 0) | (w << 4) | (newSequence && packets.length === 0 ? 0x08 : 0);
    const parts: Buffer[] = [Buffer.from([agg])];
    elements.forEach((e, i) => {
      if (w === 0 || i < n - 1) parts.push(leb128(e.length));
      parts.push(e);
    });
    packets.push({ payload: Buffer.concat(parts), marker: false });
    elements = [];
    z = y;
  };
  const used = (): number => elements.reduce((sum, e) => sum + leb128(e.length).length + e.length, 1);

  for (const obu of obus) {
    const bytes = obuBytes(obu, options.keepSizeFields ?? false);
    let off = 0;
    while (off < bytes.length) {
      const remaining = bytes.length - off;
      const room = mtu - used() - leb128(Math.min(remaining, mtu)).length;
      if (room <= 0 || elements.length >= maxElements) {
        if (elements.length === 0) throw new Error(`MTU ${mtu} too small`);
        flush(false);
        continue;
      }
      const take = Math.min(remaining, room);
      elements.push(bytes.subarray(off, off + take));
      off += take;
      if (off < bytes.length) flush(true);
    }
  }
  if (elements.length > 0) flush(false);
  packets.at(-1)!.marker = true;
  return packets;
}
