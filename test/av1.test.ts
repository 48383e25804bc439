import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Av1Depacketizer } from '../src/codec/av1.js';
import type { Av1Config, Frame } from '../src/codec/frame.js';
import type { RtpPacket } from '../src/rtp/packet.js';
import {
  OBU_FRAME,
  OBU_FRAME_HEADER,
  OBU_METADATA,
  OBU_PADDING,
  OBU_REDUNDANT_FRAME_HEADER,
  OBU_SEQUENCE_HEADER,
  OBU_TEMPORAL_DELIMITER,
  OBU_TILE_GROUP,
  OBU_TILE_LIST,
  leb128,
  obuBytes,
  obuStream,
  packetizeAv1,
  parseObus,
  sampleOf,
  temporalUnits,
  withExtension,
  type Obu,
  type PacketizeOptions,
} from './helpers/av1-packetizer.js';
import { rng } from './helpers/random.js';

// ---------- Test data and helpers ----------

const readClip = (name: string): Buffer => readFileSync(new URL(`data/codec/${name}`, import.meta.url));
const CLIP_320 = readClip('av1-320x240.obu');
const CLIP_640 = readClip('av1-640x360.obu');
/** Temporal units of the clips (temporal delimiter first). 320x240: libaom good mode, hidden and shown-existing frames. */
const TUS_320 = temporalUnits(CLIP_320);
/** 640x360: libaom realtime, frame header + 2 tile groups per frame. */
const TUS_640 = temporalUnits(CLIP_640);
const SH_320 = TUS_320[0]!.find((o) => o.type === OBU_SEQUENCE_HEADER)!;
const SH_640 = TUS_640[0]!.find((o) => o.type === OBU_SEQUENCE_HEADER)!;
const KEY_TUS = [0, 10];
/** libaom -still-picture 1, 64x48: reduced_still_picture_header. */
const STILL_SH = parseObus(
  Buffer.from((JSON.parse(readClip('av1-sequence-headers.json').toString()) as { name: string; obu: string }[]).find((c) => c.name === 'aom-still-picture')!.obu, 'hex'),
)[0]!;

const TS_STEP = 3000;

let seq = 0;
function rtp(payload: Buffer | number[], timestamp: number, marker = false): RtpPacket {
  return {
    payloadType: 45,
    sequenceNumber: seq++ & 0xffff,
    timestamp,
    ssrc: 1234,
    marker,
    payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
    extensionProfile: 0,
    extensionOffset: 0,
    extensionLength: 0,
  };
}

function packetsOf(tu: Obu[], ts: number, options?: PacketizeOptions): RtpPacket[] {
  return packetizeAv1(tu, options).map((p) => rtp(p.payload, ts, p.marker));
}

/** A hand-made payload: aggregation header from the flags, then the elements (the last without length when w > 0). */
function payload(flags: { z?: boolean; y?: boolean; w: number; n?: boolean }, elements: Buffer[]): Buffer {
  const agg = (flags.z ? 0x80 : 0) | (flags.y ? 0x40 : 0) | (flags.w << 4) | (flags.n ? 0x08 : 0);
  return Buffer.concat([
    Buffer.from([agg]),
    ...elements.flatMap((e, i) => (flags.w === 0 || i < elements.length - 1 ? [leb128(e.length), e] : [e])),
  ]);
}

/** An OBU as sent over RTP: header (and extension) without obu_size, payload. */
const wire = (obu: Obu): Buffer => obuBytes(obu, false);

/** First payload byte of a frame (header) by kind: show_existing_frame, frame_type, show_frame in the top 4 bits. */
const FRAME_START = { key: 0x10, hiddenKey: 0x00, inter: 0x30, hiddenInter: 0x20, intraOnly: 0x50, existing: 0x80 };

function frameObu(kind: keyof typeof FRAME_START, size: number, opts: { seed?: number; type?: number; ext?: number } = {}): Obu {
  const r = rng(opts.seed ?? size);
  const p = Buffer.alloc(size);
  for (let i = 0; i < size; i++) p[i] = Math.floor(r() * 256);
  p[0] = FRAME_START[kind] | (p[0]! & 0x0f);
  const obu: Obu = { type: opts.type ?? OBU_FRAME, payload: p };
  if (opts.ext !== undefined) obu.ext = opts.ext;
  return obu;
}

const obu = (type: number, bytes: number[] | Buffer, ext?: number): Obu => {
  const o: Obu = { type, payload: Buffer.from(bytes) };
  if (ext !== undefined) o.ext = ext;
  return o;
};
const TD: Obu = obu(OBU_TEMPORAL_DELIMITER, []);

/** A key TU: sequence header + key frame. */
const keyTu = (size = 2000, sh = SH_320, seed = 1): Obu[] => [sh, frameObu('key', size, { seed })];
const interTu = (size = 500, seed = 2): Obu[] => [frameObu('inter', size, { seed })];

function collect(): { d: Av1Depacketizer; frames: Frame[] } {
  const frames: Frame[] = [];
  return { d: new Av1Depacketizer((f) => frames.push(f)), frames };
}

const pushAll = (d: Av1Depacketizer, packets: RtpPacket[]): void => packets.forEach((p) => d.push(p, p.timestamp));

function av1Config(frame: Frame): Av1Config {
  expect(frame.config?.codec).toBe('av1');
  return frame.config as Av1Config;
}

// ---------- Payload structure ----------

describe('Av1Depacketizer payload structure', () => {
  it('one OBU per packet (W = 1): sequence header, key frame -> one keyframe with config', () => {
    const { d, frames } = collect();
    const key = frameObu('key', 300);
    pushAll(d, [rtp(payload({ w: 1, n: true }, [wire(SH_320)]), 0), rtp(payload({ w: 1 }, [wire(key)]), 0, true)]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data).toEqual(Buffer.concat([obuBytes(SH_320), obuBytes(key)]));
    expect(frames[0]!.keyframe).toBe(true);
    expect(frames[0]!.timestamp).toBe(0);
    expect(frames[0]!.duration).toBeUndefined();
    expect(d.stats).toMatchObject({ framesEmitted: 1, framesDroppedIncomplete: 0, packetsMalformed: 0 });
  });

  it('a sequence header OBU with bytes after its trailing bits (another OBU damaged into one) is malformed and not kept (found by test/fuzz-payloads.test.ts)', () => {
    const { d, frames } = collect();
    const bloated = obu(OBU_SEQUENCE_HEADER, Buffer.concat([SH_320.payload, Buffer.alloc(3000, 0x55)]));
    pushAll(d, packetsOf(keyTu(), 0));
    pushAll(d, packetsOf([bloated, frameObu('key', 300)], 3000));
    pushAll(d, packetsOf(keyTu(300), 6000));
    // A key TU without its own sequence header gets the last good one, never the damaged one.
    pushAll(d, packetsOf([frameObu('key', 300, { seed: 5 })], 9000));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 6000, 9000]);
    expect(frames[2]!.data).toEqual(Buffer.concat([obuBytes(SH_320), obuBytes(frameObu('key', 300, { seed: 5 }))]));
    expect(d.stats.packetsMalformed).toBe(1);
  });

  it('aggregation with W = 2 and W = 3 (the last element without a length)', () => {
    const { d, frames } = collect();
    const meta = obu(OBU_METADATA, [1, 0x20, 0x30, 0x80]);
    const key = frameObu('key', 200);
    const inter = frameObu('inter', 100);
    pushAll(d, [rtp(payload({ w: 3, n: true }, [wire(SH_320), wire(meta), wire(key)]), 0, true)]);
    pushAll(d, [rtp(payload({ w: 2 }, [wire(meta), wire(inter)]), 3000, true)]);
    expect(frames.map((f) => f.data)).toEqual([
      Buffer.concat([obuBytes(SH_320), obuBytes(meta), obuBytes(key)]),
      Buffer.concat([obuBytes(meta), obuBytes(inter)]),
    ]);
    expect(frames.map((f) => f.keyframe)).toEqual([true, false]);
  });

  it('W = 0: every element length-prefixed, any number of them', () => {
    const { d, frames } = collect();
    const obus = [SH_320, obu(OBU_METADATA, [2, 1, 2, 3]), obu(OBU_METADATA, [4, 0x80]), frameObu('key', 150, { type: OBU_FRAME_HEADER }), obu(OBU_TILE_GROUP, Array(200).fill(7))];
    pushAll(d, [rtp(payload({ w: 0, n: true }, obus.map(wire)), 0, true)]);
    expect(frames.map((f) => f.data)).toEqual([Buffer.concat(obus.map((o) => obuBytes(o)))]);
    expect(frames[0]!.keyframe).toBe(true); // a frame header OBU counts like a frame OBU
  });

  it('an OBU fragmented over many packets (Z/Y), and a packet that ends one fragment and starts another (Z = 1, Y = 1, W = 2)', () => {
    const { d, frames } = collect();
    const a = wire(frameObu('key', 1000, { seed: 5 }));
    const b = wire(obu(OBU_TILE_GROUP, Buffer.alloc(700, 9)));
    pushAll(d, [
      rtp(payload({ w: 2, y: true, n: true }, [wire(SH_320), a.subarray(0, 300)]), 0),
      rtp(payload({ w: 1, z: true, y: true }, [a.subarray(300, 600)]), 0),
      rtp(payload({ w: 2, z: true, y: true }, [a.subarray(600), b.subarray(0, 1)]), 0), // b's header alone
      rtp(payload({ w: 0, z: true, y: true }, [b.subarray(1, 400)]), 0),
      rtp(payload({ w: 1, z: true }, [b.subarray(400)]), 0, true),
    ]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data).toEqual(Buffer.concat([obuBytes(SH_320), obuBytes(frameObu('key', 1000, { seed: 5 })), obuBytes(obu(OBU_TILE_GROUP, Buffer.alloc(700, 9)))]));
  });

  it('OBUs sent with obu_size (allowed, not recommended) come out the same', () => {
    const { d, frames } = collect();
    const tu = keyTu(3000);
    pushAll(d, packetsOf(tu, 0, { keepSizeFields: true, mtu: 400 }));
    pushAll(d, packetsOf(tu, 3000, { keepSizeFields: false, mtu: 400 }));
    expect(frames).toHaveLength(2);
    expect(frames[0]!.data).toEqual(sampleOf(tu));
    expect(frames[1]!.data).toEqual(sampleOf(tu));
  });

  it('extension headers (temporal/spatial ids) are kept, obu_size goes after them, also when the header is split', () => {
    const { d, frames } = collect();
    const tu = withExtension(keyTu(600), 2, 1);
    expect(tu[1]!.ext).toBe(0x48);
    const frame = wire(tu[1]!);
    pushAll(d, [
      rtp(payload({ w: 2, y: true, n: true }, [wire(tu[0]!), frame.subarray(0, 1)]), 0), // OBU header without its extension byte
      rtp(payload({ w: 1, z: true, y: true }, [frame.subarray(1, 2)]), 0), // the extension byte alone
      rtp(payload({ w: 1, z: true }, [frame.subarray(2)]), 0, true),
    ]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data).toEqual(sampleOf(tu));
    expect(frames[0]!.data.subarray(0, 3)).toEqual(Buffer.from([0x0e, 0x48, SH_320.payload.length])); // header, extension, size
    expect(frames[0]!.keyframe).toBe(true);
    expect(av1Config(frames[0]!).sequenceHeaderObu).toEqual(obuBytes(tu[0]!)); // with its extension, as sent
  });

  it('drops temporal delimiters, tile lists, padding and reserved OBU types; keeps metadata and redundant frame headers', () => {
    const { d, frames } = collect();
    const key = frameObu('key', 100, { type: OBU_FRAME_HEADER });
    const tiles = obu(OBU_TILE_GROUP, [1, 2, 3]);
    const meta = obu(OBU_METADATA, [4, 5]);
    const redundant = obu(OBU_REDUNDANT_FRAME_HEADER, key.payload.subarray(0, 10));
    const dropped = [TD, obu(OBU_TILE_LIST, [1, 2, 3, 4]), obu(OBU_PADDING, [0, 0, 0]), obu(0, [1]), obu(9, [1]), obu(14, [])];
    const tu = [dropped[0]!, SH_320, dropped[1]!, meta, key, dropped[2]!, tiles, dropped[3]!, redundant, dropped[4]!, dropped[5]!];
    pushAll(d, packetsOf(tu, 0, { keepDroppable: true, mtu: 60 }));
    expect(frames.map((f) => f.data)).toEqual([Buffer.concat([SH_320, meta, key, tiles, redundant].map((o) => obuBytes(o)))]);
    expect(frames[0]!.keyframe).toBe(true);
    expect(d.stats.packetsMalformed).toBe(0);
  });

  it('empty payloads (RTP padding) are ignored, even between the packets of a TU', () => {
    const { d, frames } = collect();
    const packets = packetsOf(keyTu(2000), 0, { mtu: 500 });
    pushAll(d, [packets[0]!, rtp([], 0), packets[1]!, rtp([], 9999, true), ...packets.slice(2), rtp([], 0)]);
    pushAll(d, packetsOf(interTu(), 3000));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 3000]);
    expect(frames[0]!.data).toEqual(sampleOf(keyTu(2000)));
    expect(d.stats).toMatchObject({ packetsMalformed: 0, framesDroppedIncomplete: 0 });
  });

  it('a TU with no frame in it is not a sample (and not a drop)', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf(keyTu(), 0));
    pushAll(d, [rtp(payload({ w: 1 }, [wire(obu(OBU_METADATA, [1, 2]))]), 1500, true)]);
    pushAll(d, packetsOf(interTu(), 3000));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 3000]);
    expect(d.stats.framesDroppedIncomplete).toBe(0);
  });
});

// ---------- Completeness ----------

describe('Av1Depacketizer completeness', () => {
  const fragmentedKey = (ts: number): RtpPacket[] => packetsOf(keyTu(3000), ts, { mtu: 500 });
  const fragmentedInter = (ts: number, seed = ts): RtpPacket[] => packetsOf([frameObu('inter', 1500, { seed })], ts, { mtu: 500 });

  it('reset mid-TU drops it; the next TU, which follows a received packet, is emitted', () => {
    const { d, frames } = collect();
    const key = fragmentedKey(0);
    pushAll(d, key.slice(0, 2));
    d.reset(); // key[2] lost
    pushAll(d, key.slice(3));
    pushAll(d, fragmentedInter(3000));
    expect(frames.map((f) => f.timestamp)).toEqual([3000]);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
  });

  it('reset mid-TU, the rest of it lost too: the next TU is not provably whole and is dropped; the one after is emitted', () => {
    const { d, frames } = collect();
    pushAll(d, fragmentedKey(0).slice(0, 2));
    d.reset();
    pushAll(d, fragmentedInter(3000)); // looks whole: but its first packets may have been among the lost ones
    pushAll(d, fragmentedInter(6000));
    expect(frames.map((f) => f.timestamp)).toEqual([6000]);
    expect(d.stats.framesDroppedIncomplete).toBe(2);
  });

  it('after a reset between TUs, a new timestamp that starts mid-TU with a whole OBU is not emitted', () => {
    const { d, frames } = collect();
    pushAll(d, fragmentedKey(0));
    d.reset(); // lost: the first packet of TU 3000, which held its first OBU whole
    const tu = [frameObu('hiddenInter', 300, { seed: 1 }), frameObu('inter', 300, { seed: 2 })];
    pushAll(d, packetsOf(tu, 3000, { maxElements: 1 }).slice(1)); // Z = 0: an OBU boundary
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
    pushAll(d, packetsOf(tu, 6000, { maxElements: 1 }));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 6000]);
    expect(frames[1]!.data).toEqual(sampleOf(tu));
  });

  it('after a reset, N = 1 proves a TU start: a keyframe right after a loss is kept', () => {
    const { d, frames } = collect();
    pushAll(d, fragmentedKey(0).slice(0, 3));
    d.reset();
    pushAll(d, fragmentedKey(3000)); // N = 1 on its first packet
    expect(frames.map((f) => f.timestamp)).toEqual([3000]);
    expect(frames[0]!.keyframe).toBe(true);
  });

  it('a continuation (Z = 1) after a reset is not a start, even with a new timestamp and N set on a later TU', () => {
    const { d, frames } = collect();
    pushAll(d, fragmentedKey(0));
    d.reset();
    const inter = fragmentedInter(3000);
    expect(inter[1]!.payload[0]! & 0x80).toBe(0x80);
    pushAll(d, inter.slice(1));
    expect(frames).toHaveLength(1);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
    // N with Z is malformed: cannot prove anything either
    d.reset();
    const bad = fragmentedKey(6000);
    bad[1]!.payload[0]! |= 0x08;
    pushAll(d, bad.slice(1));
    expect(frames).toHaveLength(1);
  });

  it('after a reset, packets of the old timestamp are dropped even after an emitted TU', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf(interTu(), 0, { newSequence: true }));
    d.reset();
    pushAll(d, [rtp(payload({ w: 1 }, [wire(frameObu('inter', 100))]), 0, true)]); // looks whole
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
  });

  it('a stream joined mid-TU starts at the first TU that provably starts', () => {
    const { d, frames } = collect();
    pushAll(d, fragmentedKey(0).slice(2));
    pushAll(d, fragmentedInter(3000));
    expect(frames.map((f) => f.timestamp)).toEqual([3000]);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
  });

  it('a stream joined at an OBU boundary without N: the first TU is not provable', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf(interTu(), 0));
    pushAll(d, packetsOf(interTu(), 3000));
    expect(frames.map((f) => f.timestamp)).toEqual([3000]);
    // and with N it is
    const second = collect();
    pushAll(second.d, packetsOf(keyTu(), 0));
    expect(second.frames).toHaveLength(1);
  });

  it('a fragment still open at the marker or at a new timestamp: dropped', () => {
    const { d, frames } = collect();
    const key = fragmentedKey(0);
    key[key.length - 2]!.marker = true; // Y = 1 there
    pushAll(d, key.slice(0, -1));
    const inter = fragmentedInter(3000);
    pushAll(d, inter.slice(0, -1)); // ends with Y = 1, then the timestamp changes
    pushAll(d, fragmentedInter(6000));
    expect(frames.map((f) => f.timestamp)).toEqual([6000]);
    expect(d.stats.framesDroppedIncomplete).toBe(2);
    expect(d.stats.packetsMalformed).toBe(0);
  });

  it('Z = 1 with nothing open, or Z = 0 while a fragment is open: dropped', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf(interTu(), 0, { newSequence: true }));
    const a = wire(frameObu('inter', 300));
    pushAll(d, [rtp(payload({ w: 1 }, [wire(frameObu('inter', 50))]), 3000), rtp(payload({ w: 1, z: true }, [a.subarray(100)]), 3000, true)]);
    pushAll(d, [rtp(payload({ w: 1, y: true }, [a.subarray(0, 100)]), 6000), rtp(payload({ w: 1 }, [a]), 6000, true)]);
    pushAll(d, packetsOf(interTu(), 9000));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 9000]);
    expect(d.stats.framesDroppedIncomplete).toBe(2);
  });

  it('a timestamp change without marker ends the TU', () => {
    const { d, frames } = collect();
    const a = packetsOf(keyTu(1000), 0, { mtu: 300 });
    a.at(-1)!.marker = false;
    const b = packetsOf(interTu(800), 3000, { mtu: 300 });
    b.at(-1)!.marker = false;
    pushAll(d, a);
    expect(frames).toHaveLength(0);
    pushAll(d, b);
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    pushAll(d, packetsOf(interTu(100), 6000));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 3000, 6000]);
    expect(frames[1]!.data).toEqual(sampleOf(interTu(800)));
  });

  it('a frame does not share memory with the packets it came from', () => {
    const { d, frames } = collect();
    const packets = fragmentedKey(0);
    pushAll(d, packets);
    const copy = Buffer.from(frames[0]!.data);
    for (const p of packets) p.payload.fill(0xaa);
    expect(frames[0]!.data).toEqual(copy);
    expect(av1Config(frames[0]!).sequenceHeaderObu).toEqual(obuBytes(SH_320));
  });
});

// ---------- Keyframes and config ----------

describe('Av1Depacketizer keyframes and sequence headers', () => {
  it('config on the first keyframe, not on repeats, again on a new sequence header (resolution change)', () => {
    const { d, frames } = collect();
    TUS_320.forEach((tu, i) => pushAll(d, packetsOf(tu, i * TS_STEP)));
    TUS_640.forEach((tu, i) => pushAll(d, packetsOf(tu, (100 + i) * TS_STEP)));
    expect(frames).toHaveLength(TUS_320.length + TUS_640.length);
    const keys = frames.flatMap((f, i) => (f.keyframe ? [i] : []));
    expect(keys).toEqual([...KEY_TUS, ...KEY_TUS.map((i) => i + TUS_320.length)]);
    const configs = frames.flatMap((f, i) => (f.config ? [[i, av1Config(f)] as const] : []));
    expect(configs.map(([i]) => i)).toEqual([0, TUS_320.length]);
    expect(configs[0]![1]).toEqual({
      codec: 'av1',
      width: 320,
      height: 240,
      seqProfile: 0,
      seqLevelIdx0: 0,
      seqTier0: 0,
      highBitdepth: false,
      twelveBit: false,
      monochrome: false,
      chromaSubsamplingX: 1,
      chromaSubsamplingY: 1,
      chromaSamplePosition: 0,
      sequenceHeaderObu: obuBytes(SH_320),
    });
    expect(configs[1]![1]).toMatchObject({ width: 640, height: 360, seqLevelIdx0: 1, sequenceHeaderObu: obuBytes(SH_640) });
  });

  it('hidden frames, shown existing frames, intra-only and hidden key frames are not keyframes', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf(keyTu(), 0));
    const kinds = ['hiddenKey', 'intraOnly', 'existing', 'inter'] as const;
    kinds.forEach((kind, i) => pushAll(d, packetsOf([SH_320, frameObu(kind, 100)], (i + 1) * 3000)));
    // the first frame decides: a shown key frame after a hidden inter frame is no random access point
    pushAll(d, packetsOf([SH_320, frameObu('hiddenInter', 100), frameObu('key', 100)], 20000));
    expect(frames.map((f) => f.keyframe)).toEqual([true, false, false, false, false, false]);
    expect(frames.filter((f) => f.config)).toHaveLength(1);
  });

  it('a key TU without a sequence header gets the last one prepended (and no config when unchanged)', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf(keyTu(), 0));
    pushAll(d, packetsOf(interTu(), 3000));
    const key = frameObu('key', 700, { seed: 9 });
    pushAll(d, packetsOf([key], 6000));
    expect(frames).toHaveLength(3);
    expect(frames[2]!.keyframe).toBe(true);
    expect(frames[2]!.data).toEqual(Buffer.concat([obuBytes(SH_320), obuBytes(key)]));
    expect(frames[2]!.config).toBeUndefined();
    expect(d.stats.keyframesWithoutSequenceHeader).toBe(0);
  });

  it('... but not after a loss (the lost TU may have changed it), nor before any was seen: dropped and counted', () => {
    const { d, frames } = collect();
    const key = [frameObu('key', 700, { seed: 9 })];
    pushAll(d, packetsOf(key, 0, { newSequence: true }));
    pushAll(d, packetsOf(keyTu(), 3000));
    pushAll(d, packetsOf(interTu(), 6000));
    d.reset();
    pushAll(d, packetsOf(key, 9000, { newSequence: true }));
    pushAll(d, packetsOf(key, 12000));
    pushAll(d, packetsOf(keyTu(500, SH_640), 15000));
    pushAll(d, packetsOf(key, 18000)); // trusted again: gets SH_640
    expect(frames.map((f) => f.timestamp)).toEqual([3000, 6000, 15000, 18000]);
    expect(d.stats.keyframesWithoutSequenceHeader).toBe(3);
    expect(d.stats.framesDroppedIncomplete).toBe(3);
    expect(frames[3]!.data).toEqual(Buffer.concat([obuBytes(SH_640), obuBytes(key[0]!)]));
    expect(frames.map((f) => f.config && `${f.config.width}x${f.config.height}`)).toEqual(['320x240', undefined, '640x360', undefined]);
  });

  it('a sequence header after the first frame does not make a keyframe', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf([frameObu('key', 300), SH_320], 0, { newSequence: true }));
    expect(frames).toHaveLength(0);
    expect(d.stats.keyframesWithoutSequenceHeader).toBe(1);
  });

  it('a dropped TU also stops the sequence header from being prepended', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf(keyTu(), 0));
    const broken = packetsOf(interTu(2000), 3000, { mtu: 500 });
    broken[1]!.payload[0]! &= ~0x80; // Z cleared while a fragment is open: TU dropped, no reset
    pushAll(d, broken);
    pushAll(d, packetsOf([frameObu('key', 300)], 6000));
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    expect(d.stats.keyframesWithoutSequenceHeader).toBe(1);
  });

  it('reduced_still_picture_header: every frame is a shown key frame', () => {
    const { d, frames } = collect();
    // any frame payload: with reduced_still_picture_header the frame header has no show/type bits
    pushAll(d, packetsOf([STILL_SH, frameObu('inter', 50)], 0, { newSequence: true }));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.keyframe).toBe(true);
    expect(av1Config(frames[0]!)).toMatchObject({ width: 64, height: 48 });
  });

  it('a sequence header that does not parse makes its TU malformed', () => {
    const { d, frames } = collect();
    const cut = obu(OBU_SEQUENCE_HEADER, SH_320.payload.subarray(0, 4));
    pushAll(d, packetsOf([cut, frameObu('key', 300)], 0));
    expect(frames).toHaveLength(0);
    expect(d.stats.packetsMalformed).toBe(1);
    pushAll(d, packetsOf(keyTu(), 3000));
    expect(frames).toHaveLength(1);
  });
});

// ---------- Malformed input ----------

describe('Av1Depacketizer malformed payloads', () => {
  const good = wire(frameObu('inter', 40, { seed: 3 }));
  const cases: [string, number[] | Buffer][] = [
    ['aggregation header only', [0x10]],
    ['aggregation header only, W = 0', [0x00]],
    ['leb128 length of 9 bytes', [0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x30]],
    ['leb128 length cut by the end', [0x00, 0x85]],
    ['length past the end', [0x00, 0x05, 0x30, 1, 2]],
    ['length past the end, W = 2', [0x20, 0x09, 0x30, 1, 2, 0x30]],
    ['zero-length element', [0x00, 0x00, 0x02, 0x30, 0x30]],
    ['W = 2 with one element present', Buffer.concat([Buffer.from([0x20]), leb128(good.length), good])],
    ['W = 3 with two elements present', Buffer.concat([Buffer.from([0x30]), leb128(good.length), good, leb128(good.length), good])],
    ['N with Z', [0x98, 0x30, 1]],
    ['OBU with the forbidden bit', [0x10, 0xb0, 1, 2]],
    ['extension flag on a 1-byte OBU', [0x10, 0x34]],
    ['obu_size that does not match the element', [0x10, 0x32, 0x03, 1, 2]],
    ['obu_size cut by the end', [0x10, 0x32, 0x80]],
    ['frame OBU with an empty payload', [0x10, 0x30]],
    ['metadata OBU with an empty payload', [0x10, 0x28]],
  ];
  for (const [name, bytes] of cases) {
    it(`${name}: counted, TU dropped, next TU fine`, () => {
      const { d, frames } = collect();
      pushAll(d, packetsOf(interTu(), 0, { newSequence: true }));
      expect(() => pushAll(d, [rtp(payload({ w: 1 }, [good]), 3000), rtp(bytes, 3000), rtp(payload({ w: 1 }, [good]), 3000, true)])).not.toThrow();
      expect(d.stats.packetsMalformed).toBe(1);
      expect(frames).toHaveLength(1);
      pushAll(d, [rtp(payload({ w: 1 }, [good]), 6000, true)]);
      expect(frames.map((f) => f.timestamp)).toEqual([0, 6000]);
      expect(d.stats.framesDroppedIncomplete).toBe(1);
    });
  }

  it('random garbage never throws; whatever comes out is well-formed OBUs with sizes', () => {
    const r = rng(42);
    const { d, frames } = collect();
    for (let i = 0; i < 30_000; i++) {
      const p = Buffer.alloc(Math.floor(r() * 30));
      for (let j = 0; j < p.length; j++) p[j] = Math.floor(r() * 256);
      if (p.length > 1 && r() < 0.7) p[0] = (p[0]! & 0xf8) & (r() < 0.5 ? 0x3f : 0xff); // mostly Z = 0, plausible
      if (p.length > 2 && r() < 0.7) p[p[0]! >> 4 === 0 ? 2 : 1] = [0x30, 0x32, 0x0a, 0x18, 0x34][Math.floor(r() * 5)]!;
      const ts = Math.floor(i / 3);
      d.push(rtp(p, ts, r() < 0.35), ts);
      if (r() < 0.02) d.reset();
    }
    expect(d.stats.packetsMalformed).toBeGreaterThan(1000);
    expect(frames.length).toBeGreaterThan(10);
    for (const f of frames) {
      const obus = parseObus(f.data); // throws on an OBU without a size field
      // the sizes add up to the frame exactly (obu_reserved_1bit passes through, so compare lengths)
      expect(Buffer.concat(obus.map((o) => obuBytes(o))).length).toBe(f.data.length);
      for (const o of obus) expect([1, 3, 4, 5, 6, 7]).toContain(o.type);
    }
  });
});

// ---------- Real streams ----------

describe('Av1Depacketizer on real libaom streams', () => {
  const clips = [
    ['320x240 (hidden frames, show_existing_frame)', TUS_320],
    ['640x360 (frame header + tile groups)', TUS_640],
  ] as const;

  it('the clips are what the tests expect', () => {
    expect(TUS_320).toHaveLength(15);
    expect(TUS_640).toHaveLength(12);
    const types = (tus: Obu[][]): Set<number> => new Set(tus.flat().map((o) => o.type));
    expect([...types(TUS_320)].sort()).toEqual([OBU_SEQUENCE_HEADER, OBU_TEMPORAL_DELIMITER, OBU_FRAME, OBU_FRAME_HEADER].sort());
    expect([...types(TUS_640)].sort()).toEqual([OBU_SEQUENCE_HEADER, OBU_TEMPORAL_DELIMITER, OBU_FRAME_HEADER, OBU_TILE_GROUP].sort());
    for (const i of KEY_TUS) {
      expect(TUS_320[i]!.some((o) => o.type === OBU_SEQUENCE_HEADER)).toBe(true);
      expect(TUS_640[i]!.some((o) => o.type === OBU_SEQUENCE_HEADER)).toBe(true);
    }
    expect(TUS_320.some((tu) => tu.filter((o) => o.type === OBU_FRAME).length > 1)).toBe(true); // hidden + shown
    expect(sampleOf(TUS_640[0]!).length).toBeGreaterThan(5000); // a keyframe of several packets
  });

  const variants: [string, PacketizeOptions][] = [
    ['MTU 1200, W = count', { mtu: 1200 }],
    ['MTU 300, W = 0', { mtu: 300, w: 'zero' }],
    ['MTU 100, no aggregation', { mtu: 100, maxElements: 1 }],
    ['MTU 1200, obu_size kept, delimiters sent', { mtu: 1200, keepSizeFields: true, keepDroppable: true }],
  ];
  for (const [clipName, tus] of clips) {
    for (const [variant, options] of variants) {
      it(`${clipName}: every TU round-trips exactly (${variant})`, () => {
        const { d, frames } = collect();
        tus.forEach((tu, i) => pushAll(d, packetsOf(tu, i * TS_STEP, options)));
        expect(frames.map((f) => f.data)).toEqual(tus.map(sampleOf));
        expect(frames.flatMap((f, i) => (f.keyframe ? [i] : []))).toEqual(KEY_TUS);
        expect(frames.filter((f) => f.config)).toHaveLength(1);
        expect(d.stats).toMatchObject({ framesDroppedIncomplete: 0, packetsMalformed: 0 });
      });
    }
  }

  it('with random losses emits exactly the whole TUs whose start is provable, byte for byte', () => {
    let emittedTotal = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const tus = seed % 2 ? TUS_320 : TUS_640;
      const { d, frames } = collect();
      const expected: number[] = [];
      let touched = 0;
      let prevLost = true; // nothing before the first packet
      tus.forEach((tu, i) => {
        const packets = packetsOf(tu, i * TS_STEP, { mtu: 200, w: seed % 3 ? 'count' : 'zero' });
        const provable = (packets[0]!.payload[0]! & 0x08) !== 0 || !prevLost;
        let lost = false;
        let pushed = false;
        for (const p of packets) {
          if (r() < 0.1) {
            lost = true;
            if (!prevLost) d.reset(); // the jitter buffer reports a gap once
            prevLost = true;
          } else {
            d.push(p, p.timestamp);
            pushed = true;
            prevLost = false;
          }
        }
        if (!lost && provable) expected.push(i * TS_STEP);
        if (pushed) touched++;
      });
      d.push(rtp(payload({ w: 1, n: true }, [wire(frameObu('inter', 10))]), 1e6, true), 1e6); // ends the last TU; N: provable
      const emitted = frames.filter((f) => f.timestamp < 1e6);
      expect(emitted.map((f) => f.timestamp)).toEqual(expected);
      for (const f of emitted) expect(f.data).toEqual(sampleOf(tus[f.timestamp / TS_STEP]!));
      expect(d.stats.framesDroppedIncomplete).toBe(touched - emitted.length);
      expect(d.stats.packetsMalformed).toBe(0);
      emittedTotal += emitted.length;
    }
    expect(emittedTotal).toBeGreaterThan(100); // the losses leave something to check
  });

  it('decodes with ffmpeg (libdav1d) to the same pictures as the original: both clips, resolution change, extension headers', (ctx) => {
    if (spawnSync('ffmpeg', ['-version']).status !== 0) return ctx.skip();
    const md5s = (obus: Buffer): string[] => {
      const out = spawnSync(
        'ffmpeg',
        ['-hide_banner', '-loglevel', 'error', '-c:v', 'libdav1d', '-f', 'obu', '-i', 'pipe:0', '-autoscale', '0', '-f', 'framemd5', '-'],
        { input: obus },
      );
      expect(out.stderr.toString()).toBe('');
      expect(out.status).toBe(0);
      return out.stdout.toString().split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').slice(-2).join(',').trim());
    };
    const original = md5s(Buffer.concat([CLIP_320, CLIP_640]));
    expect(original).toHaveLength(TUS_320.length + TUS_640.length);
    expect(new Set(original).size).toBeGreaterThan(20);

    const depacketize = (tus: Obu[][], options: PacketizeOptions): Frame[] => {
      const { d, frames } = collect();
      tus.forEach((tu, i) => pushAll(d, packetsOf(tu, i * TS_STEP, options)));
      return frames;
    };
    const all = [...TUS_320, ...TUS_640];
    for (const options of [{ mtu: 1200 }, { mtu: 150, w: 'zero' as const }]) {
      const frames = depacketize(all, options);
      expect(frames).toHaveLength(all.length);
      expect(md5s(obuStream(frames.map((f) => f.data)))).toEqual(original);
    }
    // temporal_id/spatial_id 0 in extension headers: the same pictures (operating point 0 decodes all layers)
    const ext = depacketize(all.map((tu) => withExtension(tu, 0, 0)), { mtu: 500 });
    expect(ext[1]!.data[0]! & 0x04).toBe(0x04);
    expect(md5s(obuStream(ext.map((f) => f.data)))).toEqual(original);
  });
});
