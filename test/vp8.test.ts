import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Frame, Vp8Config } from '../src/codec/frame.js';
import { newVp8Descriptor, parseVp8Descriptor, parseVp8KeyFrameHeader, Vp8Depacketizer } from '../src/codec/vp8.js';
import type { RtpPacket } from '../src/rtp/packet.js';
import { rng } from './helpers/random.js';
import { ivf, ivfFrames, pushWithLosses, rtpFile } from './helpers/codec-data.js';

// ---------- Test data and helpers ----------

const data = (name: string): Buffer => readFileSync(new URL(`data/codec/${name}`, import.meta.url));




/** Frames of the clip (libvpx: 10 at 320x240, 5 at 176x144, key frames 0, 5, 10) and GStreamer's packets of it. */
const CLIP = ivfFrames(data('vp8-clip.ivf'));
const CLIP_RTP = rtpFile(data('vp8-clip.rtp'));

/** A VP8 key frame of `size` bytes: valid header, random data after it. */
function keyFrame(width: number, height: number, size = 200, seed = size): Buffer {
  const r = rng(seed);
  const f = Buffer.alloc(size);
  for (let i = 10; i < size; i++) f[i] = Math.floor(r() * 256);
  const firstPartition = Math.min(size - 10, 50);
  f.writeUIntLE((firstPartition << 5) | 0x10, 0, 3); // P=0, version 0, show_frame
  f.set([0x9d, 0x01, 0x2a], 3);
  f.writeUInt16LE(width, 6);
  f.writeUInt16LE(height, 8);
  return f;
}

/** A VP8 inter frame of `size` bytes. */
function interFrame(size = 100, seed = size): Buffer {
  const r = rng(seed);
  const f = Buffer.alloc(size);
  for (let i = 3; i < size; i++) f[i] = Math.floor(r() * 256);
  f.writeUIntLE((Math.min(size - 3, 20) << 5) | 0x11, 0, 3); // P=1, show_frame
  return f;
}

interface DescriptorFields {
  n?: boolean;
  s?: boolean;
  pid?: number;
  pictureId?: number;
  /** 7 or 15 (default 15 when pictureId is given). */
  bits?: 7 | 15;
  tl0?: number;
  tid?: number;
  y?: boolean;
  keyIdx?: number;
}

/** A VP8 payload descriptor (RFC 7741 section 4.2). */
function descriptor(f: DescriptorFields): Buffer {
  const hasI = f.pictureId !== undefined;
  const hasL = f.tl0 !== undefined;
  const hasT = f.tid !== undefined;
  const hasK = f.keyIdx !== undefined;
  const x = hasI || hasL || hasT || hasK;
  const out = [(x ? 0x80 : 0) | (f.n ? 0x20 : 0) | (f.s ? 0x10 : 0) | (f.pid ?? 0)];
  if (x) out.push((hasI ? 0x80 : 0) | (hasL ? 0x40 : 0) | (hasT ? 0x20 : 0) | (hasK ? 0x10 : 0));
  if (hasI) {
    if ((f.bits ?? 15) === 15) out.push(0x80 | (f.pictureId! >> 8), f.pictureId! & 0xff);
    else out.push(f.pictureId! & 0x7f);
  }
  if (hasL) out.push(f.tl0!);
  if (hasT || hasK) out.push(((f.tid ?? 0) << 6) | (f.y ? 0x20 : 0) | (f.keyIdx ?? 0));
  return Buffer.from(out);
}

/**
 * Payloads of one frame: `frame` cut into chunks of at most `mtu` bytes, each with the descriptor
 * (S=1 on the first, PartID 0 throughout, as libwebrtc sends it).
 */
function payloadsOf(frame: Buffer, fields: DescriptorFields = {}, mtu = 1200): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < frame.length; off += mtu) {
    out.push(Buffer.concat([descriptor({ ...fields, s: off === 0 }), frame.subarray(off, off + mtu)]));
  }
  return out;
}

let seq = 0;
function rtp(payload: Buffer | number[], timestamp: number, marker = false): RtpPacket {
  return {
    payloadType: 96,
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

function packetsOf(frame: Buffer, ts: number, fields: DescriptorFields = {}, mtu = 1200): RtpPacket[] {
  const payloads = payloadsOf(frame, fields, mtu);
  return payloads.map((p, i) => rtp(p, ts, i === payloads.length - 1));
}

function collect(): { d: Vp8Depacketizer; frames: Frame[] } {
  const frames: Frame[] = [];
  return { d: new Vp8Depacketizer((f) => frames.push(f)), frames };
}

const pushAll = (d: Vp8Depacketizer, packets: RtpPacket[]): void => packets.forEach((p) => d.push(p, p.timestamp));

// ---------- Payload descriptor ----------

describe('VP8 payload descriptor', () => {
  const cases: [string, DescriptorFields, Partial<ReturnType<typeof newVp8Descriptor>>][] = [
    ['no extensions (X=0)', { s: true }, { payloadOffset: 1, start: true, pictureId: -1 }],
    ['N bit, PartID 5', { n: true, pid: 5 }, { payloadOffset: 1, nonReference: true, start: false, partitionId: 5 }],
    ['7-bit PictureID', { s: true, pictureId: 0x55, bits: 7 }, { payloadOffset: 3, pictureId: 0x55, pictureIdBits: 7 }],
    ['15-bit PictureID', { s: true, pictureId: 0x1234 }, { payloadOffset: 4, pictureId: 0x1234, pictureIdBits: 15 }],
    ['TL0PICIDX only (L=1, T=0: against the RFC but unambiguous)', { tl0: 200 }, { payloadOffset: 3, tl0PicIdx: 200, tid: -1 }],
    ['TID and Y only (T=1)', { tid: 2, y: true }, { payloadOffset: 3, tid: 2, layerSync: true, keyIdx: -1 }],
    ['KEYIDX only (K=1)', { keyIdx: 17 }, { payloadOffset: 3, keyIdx: 17, tid: -1 }],
    [
      'everything: I (15-bit), L, T and K',
      { s: true, n: true, pictureId: 32767, tl0: 9, tid: 3, y: false, keyIdx: 31 },
      { payloadOffset: 6, pictureId: 32767, tl0PicIdx: 9, tid: 3, layerSync: false, keyIdx: 31, nonReference: true },
    ],
    ['I (7-bit), L and T', { pictureId: 127, bits: 7, tl0: 0, tid: 1 }, { payloadOffset: 5, pictureId: 127, tl0PicIdx: 0, tid: 1 }],
  ];
  for (const [name, fields, expected] of cases) {
    it(`${name}: fields parsed, and the frame is the data after it`, () => {
      const desc = descriptor(fields);
      const d = newVp8Descriptor();
      expect(parseVp8Descriptor(Buffer.concat([desc, Buffer.from([0xaa])]), d)).toBe(true);
      expect(d).toMatchObject(expected);
      expect(d.payloadOffset).toBe(desc.length);

      const { d: depack, frames } = collect();
      const frame = interFrame(50);
      pushAll(depack, [rtp(Buffer.concat([descriptor({ ...fields, s: true, pid: 0 }), frame]), 0, true)]);
      expect(frames.map((f) => f.data)).toEqual([frame]);
    });
  }

  const malformed: [string, number[]][] = [
    ['empty payload', []],
    ['descriptor only, no VP8 data', [0x10]],
    ['X=1 without its extension byte', [0x90]],
    ['I=1 without the PictureID', [0x90, 0x80]],
    ['M=1 (15-bit PictureID) missing its second byte', [0x90, 0x80, 0x81]],
    ['L=1 without TL0PICIDX', [0x90, 0x40]],
    ['T=1 without the TID byte', [0x90, 0x20]],
    ['K=1 without the KEYIDX byte', [0x90, 0x10]],
    ['all extensions, the last byte missing', [0x90, 0xf0, 0x80, 0x01, 0x05]],
    ['all extensions, no VP8 data', [0x90, 0xf0, 0x80, 0x01, 0x05, 0x40]],
  ];
  for (const [name, bytes] of malformed) {
    it(`${name}: counted, frame dropped, next frame fine`, () => {
      const d = newVp8Descriptor();
      expect(parseVp8Descriptor(Buffer.from(bytes), d)).toBe(false);
      const { d: depack, frames } = collect();
      const frame = interFrame(300);
      const [first, second] = payloadsOf(frame, {}, 200);
      expect(() => pushAll(depack, [rtp(first!, 0), rtp(bytes, 0), rtp(second!, 0, true)])).not.toThrow();
      expect(depack.stats).toMatchObject({ packetsMalformed: 1, framesDroppedIncomplete: 1, framesEmitted: 0 });
      pushAll(depack, packetsOf(frame, 3000));
      expect(frames.map((f) => f.data)).toEqual([frame]);
    });
  }
});

// ---------- Frames ----------

describe('Vp8Depacketizer frames', () => {
  it('a key frame over many packets with partitions (S=1 at each, PartID 0..3): one frame, config with its size', () => {
    const { d, frames } = collect();
    const key = keyFrame(640, 360, 20_000);
    // Partitions at 0, 5000, 12000, 15000; packets of at most 700 bytes inside each.
    const bounds = [0, 5000, 12000, 15000, key.length];
    const payloads: Buffer[] = [];
    for (let part = 0; part < 4; part++) {
      for (let off = bounds[part]!; off < bounds[part + 1]!; off += 700) {
        const end = Math.min(off + 700, bounds[part + 1]!);
        payloads.push(Buffer.concat([descriptor({ s: off === bounds[part], pid: part, pictureId: 7 }), key.subarray(off, end)]));
      }
    }
    expect(payloads.length).toBeGreaterThan(28);
    pushAll(d, payloads.map((p, i) => rtp(p, 90, i === payloads.length - 1)));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ timestamp: 90, keyframe: true, config: { codec: 'vp8', width: 640, height: 360 } });
    expect(frames[0]!.data).toEqual(key);
    expect(d.stats).toMatchObject({ framesEmitted: 1, framesDroppedIncomplete: 0, packetsMalformed: 0 });
  });

  it('key frames: config on the first, not on repeats, again on a resolution change; none on inter frames', () => {
    const { d, frames } = collect();
    const sizes: [number, number | undefined][] = [
      [320, 240],
      [0, undefined],
      [320, 240],
      [176, 144],
      [0, undefined],
      [176, 144],
      [320, 240],
    ];
    sizes.forEach(([w, h], i) => pushAll(d, packetsOf(w ? keyFrame(w, h!, 500, i) : interFrame(300, i), i * 3000, { pictureId: i }, 200)));
    expect(frames.map((f) => f.keyframe)).toEqual([true, false, true, true, false, true, true]);
    expect(frames.map((f) => f.config && `${f.config.width}x${f.config.height}`)).toEqual([
      '320x240',
      undefined,
      undefined,
      '176x144',
      undefined,
      undefined,
      '320x240',
    ]);
  });

  it('key frame size is the 14-bit width/height, without the 2-bit scale', () => {
    const { d, frames } = collect();
    const key = keyFrame(1280, 720, 300);
    key.writeUInt16LE(0xc000 | 1280, 6); // horizontal scale 3
    key.writeUInt16LE(0x4000 | 720, 8); // vertical scale 1
    pushAll(d, packetsOf(key, 0));
    expect(frames[0]!.config).toEqual({ codec: 'vp8', width: 1280, height: 720 });
    expect(parseVp8KeyFrameHeader(key)).toEqual({ width: 1280, height: 720, horizontalScale: 3, verticalScale: 1 });
  });

  const badFrames: [string, () => Buffer][] = [
    ['key frame with a wrong start code', () => Buffer.from(keyFrame(320, 240).fill(0x9e, 3, 4))],
    ['key frame shorter than its 10-byte header', () => keyFrame(320, 240).subarray(0, 9)],
    ['key frame of zero width', () => keyFrame(0, 240)],
    ['key frame whose first partition is longer than the frame', () => {
      const k = keyFrame(320, 240, 100);
      k.writeUIntLE((91 << 5) | 0x10, 0, 3);
      return k;
    }],
    ['inter frame shorter than the frame tag', () => interFrame(3).subarray(0, 2)],
    ['inter frame whose first partition is longer than the frame', () => Buffer.from([0xff, 0xff, 0xff, 1, 2, 3])],
  ];
  for (const [name, make] of badFrames) {
    it(`${name}: counted as malformed, not emitted`, () => {
      const { d, frames } = collect();
      pushAll(d, packetsOf(make(), 0));
      expect(frames).toHaveLength(0);
      expect(d.stats).toMatchObject({ packetsMalformed: 1, framesDroppedIncomplete: 1 });
    });
  }

  it('a timestamp change ends a frame without marker', () => {
    const { d, frames } = collect();
    const a = interFrame(500, 1);
    const b = interFrame(500, 2);
    pushAll(d, payloadsOf(a, {}, 200).map((p) => rtp(p, 0)));
    expect(frames).toHaveLength(0);
    pushAll(d, payloadsOf(b, {}, 200).map((p) => rtp(p, 3000)));
    pushAll(d, packetsOf(interFrame(10), 6000));
    expect(frames.map((f) => f.data)).toEqual([a, b, interFrame(10)]);
  });

  it('a frame does not share memory with the packets it came from', () => {
    const { d, frames } = collect();
    const packets = packetsOf(keyFrame(320, 240, 5000), 0, {}, 1000);
    pushAll(d, packets);
    const copy = Buffer.from(frames[0]!.data);
    for (const p of packets) p.payload.fill(0xaa);
    expect(frames[0]!.data).toEqual(copy);
  });
});

// ---------- Completeness ----------

describe('Vp8Depacketizer completeness', () => {
  const key = (ts: number, pictureId?: number): RtpPacket[] => packetsOf(keyFrame(320, 240, 3000, ts), ts, { pictureId }, 700);
  const inter = (ts: number, pictureId?: number, n = false): RtpPacket[] =>
    packetsOf(interFrame(2000, ts), ts, { pictureId, n }, 700);

  it('reset mid-frame drops that frame; the next frame start recovers (with and without a marker on the broken one)', () => {
    const { d, frames } = collect();
    pushAll(d, key(0));
    const p1 = inter(3000);
    d.push(p1[0]!, 3000);
    d.reset(); // rest of 3000 lost, marker included
    const p2 = inter(6000);
    pushAll(d, p2.slice(0, 1));
    d.reset();
    pushAll(d, p2.slice(2)); // 6000 resumes after a loss and ends with its marker
    pushAll(d, inter(9000));
    pushAll(d, inter(12000));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 9000, 12000]);
    expect(frames[1]!.data).toEqual(interFrame(2000, 9000));
    expect(d.stats.framesDroppedIncomplete).toBe(2);
  });

  it('after a reset, a continuation packet (S=0) on a new timestamp is not a start', () => {
    const { d, frames } = collect();
    pushAll(d, key(0));
    d.reset(); // the first packet of 3000 was lost
    pushAll(d, inter(3000).slice(1));
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
    pushAll(d, inter(6000));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 6000]);
  });

  it('a partition start that is not partition 0 (S=1, PartID 1) on a new timestamp is not a start either', () => {
    const { d, frames } = collect();
    pushAll(d, key(0));
    d.reset();
    const frame = interFrame(600);
    pushAll(d, [rtp(Buffer.concat([descriptor({ s: true, pid: 1 }), frame]), 3000, true)]);
    expect(frames).toHaveLength(1);
    expect(d.stats).toMatchObject({ framesDroppedIncomplete: 1, packetsMalformed: 0 });
  });

  it('after a reset between frames, more packets of the last timestamp are dropped', () => {
    const { d, frames } = collect();
    pushAll(d, inter(0));
    d.reset();
    pushAll(d, [rtp(Buffer.concat([descriptor({ s: true }), interFrame(50)]), 0, true)]); // looks whole, but came after a loss
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
  });

  it('a stream joined mid-frame starts at the first frame that provably starts', () => {
    const { d, frames } = collect();
    pushAll(d, key(0).slice(2));
    pushAll(d, inter(3000));
    expect(frames.map((f) => f.timestamp)).toEqual([3000]);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
  });

  it('a second frame start, or another PictureID, under the same timestamp is malformed', () => {
    const { d, frames } = collect();
    const a = payloadsOf(interFrame(400, 1), { pictureId: 1 }, 200);
    const b = payloadsOf(interFrame(400, 2), { pictureId: 2 }, 200);
    pushAll(d, [rtp(a[0]!, 0), rtp(b[0]!, 0), rtp(b[1]!, 0, true)]); // second S=1 PartID 0
    pushAll(d, [rtp(a[0]!, 3000), rtp(b[1]!, 3000, true)]); // PictureID 1 then 2
    expect(frames).toHaveLength(0);
    expect(d.stats).toMatchObject({ packetsMalformed: 2, framesDroppedIncomplete: 2 });
  });

  it('PictureID jump: a frame lost whole without a sequence gap drops what follows until a key frame', () => {
    const { d, frames } = collect();
    pushAll(d, key(0, 10));
    pushAll(d, inter(3000, 11));
    // 12 never arrives, and no gap is seen
    pushAll(d, inter(9000, 13));
    pushAll(d, inter(12000, 14)); // follows 13, but 13 was not emitted
    pushAll(d, key(15000, 15)); // a key frame restarts the chain
    pushAll(d, inter(18000, 16));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 3000, 15000, 18000]);
    expect(d.stats).toMatchObject({ framesDroppedPictureIdJump: 2, framesDroppedIncomplete: 2, framesEmitted: 4 });
  });

  it('PictureID jump across a reset (the loss took exactly one frame)', () => {
    const { d, frames } = collect();
    pushAll(d, key(0, 1));
    d.reset(); // frame 2 lost whole
    pushAll(d, inter(6000, 3));
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    expect(d.stats.framesDroppedPictureIdJump).toBe(1);
  });

  it('PictureIDs wrap at 7 and 15 bits', () => {
    for (const [bits, last] of [
      [7, 127],
      [15, 32767],
    ] as const) {
      const { d, frames } = collect();
      pushAll(d, packetsOf(keyFrame(320, 240), 0, { pictureId: last - 1, bits }));
      pushAll(d, packetsOf(interFrame(), 3000, { pictureId: last, bits }));
      pushAll(d, packetsOf(interFrame(), 6000, { pictureId: 0, bits }));
      pushAll(d, packetsOf(interFrame(), 9000, { pictureId: 1, bits }));
      expect(frames).toHaveLength(4);
    }
  });

  it('losing a non-reference frame (N=1) does not cost the frames after it; losing a reference frame does', () => {
    for (const n of [true, false]) {
      const { d, frames } = collect();
      pushAll(d, key(0, 1));
      const lost = inter(3000, 2, n);
      d.push(lost[0]!, 3000);
      d.reset();
      pushAll(d, inter(6000, 3));
      expect(frames.map((f) => f.timestamp)).toEqual(n ? [0, 6000] : [0]);
      expect(d.stats.framesDroppedPictureIdJump).toBe(n ? 0 : 1);
    }
  });

  it('frames without PictureID are not checked', () => {
    const { d, frames } = collect();
    pushAll(d, key(0, 1));
    pushAll(d, inter(3000));
    pushAll(d, inter(6000, 9));
    pushAll(d, inter(9000, 10));
    expect(frames).toHaveLength(4);
  });
});

describe('Vp8Depacketizer malformed input', () => {
  it('drops a frame whose frame tag has a reserved version (4 to 7), key or inter (found by test/fuzz-payloads.test.ts)', () => {
    const { d, frames } = collect();
    const withVersion = (frame: Buffer, version: number): Buffer => {
      const f = Buffer.from(frame);
      f[0] = (f[0]! & ~0x0e) | (version << 1);
      return f;
    };
    pushAll(d, packetsOf(keyFrame(320, 240), 0, { pictureId: 1 }));
    pushAll(d, packetsOf(withVersion(interFrame(), 5), 3000, { pictureId: 2 }));
    pushAll(d, packetsOf(withVersion(keyFrame(320, 240), 4), 6000, { pictureId: 3 }));
    pushAll(d, packetsOf(withVersion(keyFrame(320, 240), 3), 9000, { pictureId: 4 }));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 9000]);
    expect(d.stats).toMatchObject({ packetsMalformed: 2, framesDroppedIncomplete: 2 });
  });

  it('random garbage never throws, and what comes out starts with a valid frame tag', () => {
    const r = rng(7);
    const { d, frames } = collect();
    for (let i = 0; i < 20_000; i++) {
      const payload = Buffer.alloc(Math.floor(r() * 30));
      for (let j = 0; j < payload.length; j++) payload[j] = Math.floor(r() * 256);
      const x = r();
      // Often a frame start, sometimes a whole valid frame
      const p = x < 0.2 ? Buffer.concat([Buffer.from([0x10]), interFrame(10, i)]) : payload;
      if (x >= 0.2 && x < 0.6 && p.length > 0) p[0] = (p[0]! & 0xa0) | 0x10;
      d.push(rtp(p, Math.floor(i / 3), r() < 0.3), Math.floor(i / 3));
      if (r() < 0.05) d.reset();
    }
    expect(d.stats.packetsMalformed).toBeGreaterThan(1000);
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) {
      expect(f.data.length).toBeGreaterThanOrEqual(3);
      if (f.keyframe) expect(parseVp8KeyFrameHeader(f.data)).toBeDefined();
    }
  });
});

// ---------- Real stream ----------

describe('Vp8Depacketizer on libvpx frames packetized by GStreamer rtpvp8pay', () => {
  const run = (packets: RtpPacket[], losses?: (i: number) => boolean) => {
    const { d, frames } = collect();
    pushWithLosses(d, packets, losses);
    return { d, frames };
  };

  it('the data is what the tests expect: frames over several packets and partitions, wrapping counters', () => {
    expect(CLIP).toHaveLength(15);
    expect(CLIP_RTP.length).toBeGreaterThan(45);
    expect(CLIP_RTP.filter((p) => p.marker)).toHaveLength(15);
    const desc = newVp8Descriptor();
    const ids = new Set<number>();
    const partitions = new Set<number>();
    for (const p of CLIP_RTP) {
      expect(parseVp8Descriptor(p.payload, desc)).toBe(true);
      ids.add(desc.pictureId);
      partitions.add(desc.partitionId);
    }
    expect([...partitions].sort()).toEqual([0, 1, 2, 3, 4]); // rtpvp8pay numbers the token partitions (S=1 only at the frame start)
    expect([...ids]).toEqual([...Array(15).keys()].map((i) => (32760 + i) & 0x7fff)); // 15-bit wrap
    expect(CLIP_RTP.some((p) => p.sequenceNumber === 0)).toBe(true);
    expect(CLIP_RTP[0]!.timestamp > CLIP_RTP.at(-1)!.timestamp).toBe(true); // 32-bit wrap
  });

  it('round-trips every frame byte for byte, with key frames and both sizes', () => {
    const { d, frames } = run(CLIP_RTP);
    expect(frames.map((f) => f.data)).toEqual(CLIP);
    expect(frames.map((f) => f.keyframe)).toEqual(CLIP.map((_, i) => i % 5 === 0));
    expect(frames.filter((f) => f.config).map((f) => f.config)).toEqual<Vp8Config[]>([
      { codec: 'vp8', width: 320, height: 240 },
      { codec: 'vp8', width: 176, height: 144 },
    ]);
    // GStreamer's 90 kHz timestamps of 30 fps frames (rounded down): 0, 2999, 5999, 9000, ...
    expect(frames.map((f) => Math.round((f.timestamp - frames[0]!.timestamp) / 3000))).toEqual(CLIP.map((_, i) => i));
    expect(d.stats).toMatchObject({ framesEmitted: 15, framesDroppedIncomplete: 0, packetsMalformed: 0 });
  });

  it('with random losses emits exactly the whole frames whose predecessor was emitted (or key frames)', () => {
    const frameOf = new Map<number, number>(); // packet index -> frame index
    let f = -1;
    CLIP_RTP.forEach((p, i) => {
      if (i === 0 || p.timestamp !== CLIP_RTP[i - 1]!.timestamp) f++;
      frameOf.set(i, f);
    });
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const lost = new Set<number>();
      CLIP_RTP.forEach((_, i) => r() < 0.06 && lost.add(i));
      const { frames } = run(CLIP_RTP, (i) => lost.has(i));
      const whole = CLIP.map((_, k) => ![...lost].some((i) => frameOf.get(i) === k));
      const expected: number[] = [];
      whole.forEach((w, k) => {
        // The PictureID chain starts at the first frame emitted.
        if (w && (k % 5 === 0 || expected.length === 0 || expected.at(-1) === k - 1)) expected.push(k);
      });
      expect(frames.map((fr) => CLIP.findIndex((c) => c.equals(fr.data)))).toEqual(expected);
    }
  });

  it('ffmpeg decodes the frames to the same pictures as the encoder output (framemd5)', (ctx) => {
    if (spawnSync('ffmpeg', ['-version']).status !== 0) return ctx.skip();
    const md5s = (file: Buffer): string[] => {
      const out = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-autoscale', '0', '-f', 'framemd5', '-'], { input: file });
      expect(out.status).toBe(0);
      return out.stdout.toString().split('\n').filter((l) => l && !l.startsWith('#'));
    };
    const original = md5s(data('vp8-clip.ivf'));
    expect(original).toHaveLength(15);
    const { frames } = run(CLIP_RTP);
    expect(md5s(ivf('VP80', frames.map((f) => f.data), 320, 240))).toEqual(original);
  });
});
