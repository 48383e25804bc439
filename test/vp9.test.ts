import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Frame, Vp9Config } from '../src/codec/frame.js';
import {
  newVp9Descriptor,
  parseVp9Descriptor,
  parseVp9FrameHeader,
  vp9SuperframeFrames,
  Vp9Depacketizer,
  type Vp9Descriptor,
} from '../src/codec/vp9.js';
import type { RtpPacket } from '../src/rtp/packet.js';
import { rng } from './helpers/random.js';
import { ivf, ivfFrames, pushWithLosses, rtpFile } from './helpers/codec-data.js';

// ---------- Test data and helpers ----------

const data = (name: string): Buffer => readFileSync(new URL(`data/codec/${name}`, import.meta.url));




/**
 * Splits a superframe by its index, written here from VP9 spec Annex B independently of the code
 * under test (which has its own reader).
 */
function splitSuperframe(sf: Buffer): Buffer[] {
  const marker = sf[sf.length - 1]!;
  expect(marker & 0xe0).toBe(0xc0);
  const count = (marker & 7) + 1;
  const bytes = ((marker >> 3) & 3) + 1;
  const index = sf.subarray(sf.length - 2 - count * bytes);
  expect(index[0]).toBe(marker);
  const frames: Buffer[] = [];
  let off = 0;
  for (let i = 0; i < count; i++) {
    const size = index.readUIntLE(1 + i * bytes, bytes);
    frames.push(sf.subarray(off, off + size));
    off += size;
  }
  expect(off).toBe(sf.length - index.length);
  return frames;
}

/** The clip: libvpx-vp9, 10 frames 320x240 (BT.709 full range, superframes at 1 and 6) + 5 at 176x144 (BT.601). */
const CLIP = ivfFrames(data('vp9-clip.ivf'));
const CLIP_RTP = rtpFile(data('vp9-clip.rtp'));
/** libvpx SVC: 6 pictures of 3 spatial layers (80x60, 160x120, 320x240), key pictures 0 and 4. */
const SVC = ivfFrames(data('vp9-svc.ivf'));
const SVC_LAYERS = SVC.map(splitSuperframe);

interface KeyFrameCase {
  name: string;
  frame: string;
  width: number;
  height: number;
  vpcc: Omit<Vp9Config, 'codec' | 'width' | 'height'> | null;
}
const KEYFRAMES = JSON.parse(data('vp9-keyframes.json').toString('utf8')) as KeyFrameCase[];
const keyFrame = (name: string): Buffer => Buffer.from(KEYFRAMES.find((k) => k.name === name)!.frame, 'hex');

/** An inter frame: frame marker 2, profile 0, frame_type NON_KEY, show_frame; random data after. */
function interFrame(size = 100, seed = size): Buffer {
  const r = rng(seed);
  const f = Buffer.alloc(size);
  for (let i = 1; i < size; i++) f[i] = Math.floor(r() * 256);
  f[0] = 0x86;
  if ((f[size - 1]! & 0xe0) === 0xc0) f[size - 1] = 0; // not a superframe marker
  return f;
}

interface Vp9Fields {
  p?: boolean;
  /** TID, U, SID, D: sets L. */
  layer?: { tid?: number; u?: boolean; sid: number; d?: boolean };
  flexible?: boolean;
  b?: boolean;
  e?: boolean;
  z?: boolean;
  pictureId?: number;
  bits?: 7 | 15;
  /** TL0PICIDX, written in non-flexible mode with L. */
  tl0?: number;
  /** P_DIFFs, written in flexible mode with P. */
  pDiffs?: number[];
  ss?: { layers: number; sizes?: [number, number][]; groups?: { tid: number; u: boolean; pDiffs: number[] }[] };
}

/** A VP9 payload descriptor (RFC 9628 section 4.2). */
function descriptor(f: Vp9Fields): Buffer {
  const out = [
    (f.pictureId !== undefined ? 0x80 : 0) |
      (f.p ? 0x40 : 0) |
      (f.layer ? 0x20 : 0) |
      (f.flexible ? 0x10 : 0) |
      (f.b ? 0x08 : 0) |
      (f.e ? 0x04 : 0) |
      (f.ss ? 0x02 : 0) |
      (f.z ? 0x01 : 0),
  ];
  if (f.pictureId !== undefined) {
    if ((f.bits ?? 15) === 15) out.push(0x80 | (f.pictureId >> 8), f.pictureId & 0xff);
    else out.push(f.pictureId & 0x7f);
  }
  if (f.layer) {
    const l = f.layer;
    out.push(((l.tid ?? 0) << 5) | (l.u ? 0x10 : 0) | (l.sid << 1) | (l.d ? 1 : 0));
    if (!f.flexible) out.push(f.tl0 ?? 0);
  }
  if (f.flexible && f.p) (f.pDiffs ?? [1]).forEach((d, i, all) => out.push((d << 1) | (i < all.length - 1 ? 1 : 0)));
  if (f.ss) {
    out.push(((f.ss.layers - 1) << 5) | (f.ss.sizes ? 0x10 : 0) | (f.ss.groups ? 0x08 : 0));
    for (const [w, h] of f.ss.sizes ?? []) out.push(w >> 8, w & 0xff, h >> 8, h & 0xff);
    if (f.ss.groups) {
      out.push(f.ss.groups.length);
      for (const g of f.ss.groups) out.push((g.tid << 5) | (g.u ? 0x10 : 0) | (g.pDiffs.length << 2), ...g.pDiffs);
    }
  }
  return Buffer.from(out);
}

/** Payloads of one layer frame cut at `mtu`: B on the first, E on the last; SS (if any) on the first only. */
function payloadsOf(frame: Buffer, fields: Vp9Fields = {}, mtu = 1200): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < frame.length; off += mtu) {
    const first = off === 0;
    const last = off + mtu >= frame.length;
    out.push(Buffer.concat([descriptor({ ...fields, b: first, e: last, ss: first ? fields.ss : undefined }), frame.subarray(off, off + mtu)]));
  }
  return out;
}

let seq = 0;
function rtp(payload: Buffer | number[], timestamp: number, marker = false): RtpPacket {
  return {
    payloadType: 98,
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

/** Packets of one picture: its layer frames in order, marker on the last packet. */
function pictureOf(layers: { frame: Buffer; fields?: Vp9Fields }[], ts: number, mtu = 1200): RtpPacket[] {
  const payloads = layers.flatMap((l) => payloadsOf(l.frame, l.fields, mtu));
  return payloads.map((p, i) => rtp(p, ts, i === payloads.length - 1));
}

const packetsOf = (frame: Buffer, ts: number, fields: Vp9Fields = {}, mtu = 1200): RtpPacket[] => pictureOf([{ frame, fields }], ts, mtu);

function collect(): { d: Vp9Depacketizer; frames: Frame[] } {
  const frames: Frame[] = [];
  return { d: new Vp9Depacketizer((f) => frames.push(f)), frames };
}

const pushAll = (d: Vp9Depacketizer, packets: RtpPacket[]): void => packets.forEach((p) => d.push(p, p.timestamp));

/**
 * RTP for the SVC clip, the way libwebrtc sends k-SVC: one frame per spatial layer, L with SID, D
 * on the upper layers of key pictures, P on everything else; non-flexible mode (TL0PICIDX, SS on
 * key pictures) or flexible mode (P_DIFF 1). `maxSid` leaves upper layers out as an SFU does.
 */
function svcPackets(opts: { flexible?: boolean; maxSid?: number; mtu?: number } = {}): RtpPacket[] {
  const maxSid = opts.maxSid ?? 2;
  return SVC_LAYERS.flatMap((layers, pic) => {
    const key = pic % 4 === 0;
    const sent = layers.slice(0, maxSid + 1);
    return pictureOf(
      sent.map((frame, sid) => ({
        frame,
        fields: {
          pictureId: pic,
          p: !key,
          flexible: opts.flexible,
          layer: { sid, d: key && sid > 0, u: false, tid: 0 },
          tl0: pic,
          pDiffs: [1],
          ss:
            key && sid === 0 && !opts.flexible
              ? { layers: 3, sizes: [[80, 60], [160, 120], [320, 240]], groups: [{ tid: 0, u: false, pDiffs: [1] }] }
              : undefined,
        },
      })),
      pic * 3000,
      opts.mtu ?? 500,
    );
  });
}

function svcRun(opts: Parameters<typeof svcPackets>[0] = {}): { d: Vp9Depacketizer; frames: Frame[] } {
  const c = collect();
  pushAll(c.d, svcPackets(opts));
  return c;
}

const ffmpegAvailable = (): boolean => spawnSync('ffmpeg', ['-version']).status === 0;

/** framemd5 lines (size and hash per decoded frame) of an IVF, with ffmpeg's native or libvpx decoder. */
function framemd5(file: Buffer, decoder?: 'libvpx-vp9'): string[] {
  const out = spawnSync(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', ...(decoder ? ['-c:v', decoder] : []), '-i', 'pipe:0', '-autoscale', '0', '-vsync', 'passthrough', '-f', 'framemd5', '-'],
    { input: file },
  );
  expect(out.stderr.toString()).toBe('');
  expect(out.status).toBe(0);
  return out.stdout
    .toString()
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(',').slice(-2).map((s) => s.trim()).join(' '));
}

// ---------- Payload descriptor ----------

describe('VP9 payload descriptor', () => {
  const ss3 = { layers: 3, sizes: [[320, 180], [640, 360], [1280, 720]] as [number, number][], groups: [
    { tid: 0, u: false, pDiffs: [4] },
    { tid: 2, u: true, pDiffs: [1] },
    { tid: 1, u: true, pDiffs: [2, 1] },
    { tid: 2, u: true, pDiffs: [1, 2, 3] },
    { tid: 0, u: false, pDiffs: [] },
  ] };
  const cases: [string, Vp9Fields, Partial<Vp9Descriptor>][] = [
    ['B and E only', { b: true, e: true }, { payloadOffset: 1, beginsFrame: true, endsFrame: true, pictureId: -1, sid: 0 }],
    ['7-bit picture ID, Z', { pictureId: 100, bits: 7, z: true }, { payloadOffset: 2, pictureId: 100, pictureIdBits: 7, notUpperLayerReference: true }],
    ['15-bit picture ID, P', { pictureId: 0x7abc, p: true }, { payloadOffset: 3, pictureId: 0x7abc, pictureIdBits: 15, interPicturePredicted: true }],
    [
      'non-flexible: layer indices and TL0PICIDX',
      { pictureId: 5, layer: { tid: 2, u: true, sid: 1, d: true }, tl0: 77 },
      { payloadOffset: 5, tid: 2, switchingUp: true, sid: 1, interLayerDependency: true, tl0PicIdx: 77, layerIndices: true },
    ],
    [
      'flexible: layer indices without TL0PICIDX, P with one P_DIFF',
      { flexible: true, p: true, pictureId: 5, layer: { tid: 1, sid: 2 }, pDiffs: [3] },
      { payloadOffset: 5, flexible: true, tid: 1, sid: 2, tl0PicIdx: -1, pDiffs: [3] },
    ],
    ['flexible: three P_DIFFs', { flexible: true, p: true, pictureId: 1, pDiffs: [1, 2, 127] }, { payloadOffset: 6, pDiffs: [1, 2, 127] }],
    ['flexible without P: no P_DIFF', { flexible: true, pictureId: 1, layer: { sid: 0 } }, { payloadOffset: 4, pDiffs: [] }],
    [
      'SS with sizes (Y) and a picture group (G) of five, R from 0 to 3',
      { b: true, pictureId: 9, layer: { sid: 0 }, tl0: 0, ss: ss3 },
      {
        payloadOffset: 1 + 2 + 2 + 1 + 12 + 1 + 5 + 7, // header, picture ID, L + TL0PICIDX, SS: N_S/Y/G, sizes, N_G, groups, P_DIFFs
        hasScalabilityStructure: true,
        ss: {
          spatialLayers: 3,
          widths: [320, 640, 1280],
          heights: [180, 360, 720],
          pictureGroup: ss3.groups.map((g) => ({ tid: g.tid, switchingUp: g.u, pDiffs: g.pDiffs })),
        },
      },
    ],
    ['SS without Y or G', { b: true, ss: { layers: 2 } }, { payloadOffset: 2, ss: { spatialLayers: 2, widths: [], heights: [], pictureGroup: undefined } }],
    ['SS with G and N_G = 0', { b: true, ss: { layers: 1, groups: [] } }, { payloadOffset: 3, ss: { spatialLayers: 1, widths: [], heights: [], pictureGroup: [] } }],
    [
      'flexible with P_DIFFs and SS together',
      { flexible: true, p: true, pictureId: 3, layer: { sid: 0 }, pDiffs: [1, 2], ss: { layers: 1, sizes: [[64, 48]] } },
      { payloadOffset: 11, pDiffs: [1, 2], ss: { spatialLayers: 1, widths: [64], heights: [48], pictureGroup: undefined } },
    ],
  ];
  for (const [name, fields, expected] of cases) {
    it(`${name}: fields parsed, and the frame is the data after it`, () => {
      const desc = descriptor(fields);
      const d = newVp9Descriptor();
      expect(parseVp9Descriptor(Buffer.concat([desc, Buffer.from([0x86])]), d)).toBe(true);
      expect(d).toMatchObject(expected);
      expect(d.payloadOffset).toBe(desc.length);

      const { d: depack, frames } = collect();
      const frame = interFrame(60);
      const sid0 = fields.layer ? { ...fields.layer, sid: 0 } : undefined;
      pushAll(depack, [rtp(Buffer.concat([descriptor({ ...fields, layer: sid0, b: true, e: true }), frame]), 0, true)]);
      expect(frames.map((f) => f.data)).toEqual([frame]);
    });
  }

  const malformed: [string, number[]][] = [
    ['empty payload', []],
    ['descriptor only, no VP9 data', [0x0c]],
    ['I=1 without the picture ID', [0x8c]],
    ['M=1 missing the second picture ID byte', [0x8c, 0x81]],
    ['L=1 without the layer byte', [0x2c]],
    ['non-flexible L=1 without TL0PICIDX', [0x2c, 0x00]],
    ['flexible P=1 without P_DIFF', [0xdc, 0x01]],
    ['flexible P_DIFF with N=1 and nothing after', [0xdc, 0x01, 0x03]],
    ['four P_DIFFs', [0xdc, 0x01, 0x03, 0x05, 0x07, 0x08, 0x86]],
    ['V=1 without the SS byte', [0x0e]],
    ['SS with Y=1 and sizes cut short', [0x0e, 0x30, 0x01, 0x40, 0x00, 0xb4, 0x02, 0x80]],
    ['SS with G=1 without N_G', [0x0e, 0x08]],
    ['SS picture group without its T/U/R byte', [0x0e, 0x08, 0x02, 0x04, 0x01]],
    ['SS picture group with R=2 and one P_DIFF', [0x0e, 0x08, 0x01, 0x08, 0x01]],
    ['SS whole, no VP9 data', [0x0e, 0x08, 0x01, 0x04, 0x01]],
  ];
  for (const [name, bytes] of malformed) {
    it(`${name}: counted, picture dropped, next picture fine`, () => {
      expect(parseVp9Descriptor(Buffer.from(bytes), newVp9Descriptor())).toBe(false);
      const { d, frames } = collect();
      const frame = interFrame(300);
      const [first, second] = payloadsOf(frame, {}, 200);
      expect(() => pushAll(d, [rtp(first!, 0), rtp(bytes, 0), rtp(second!, 0, true)])).not.toThrow();
      expect(d.stats).toMatchObject({ packetsMalformed: 1, framesDroppedIncomplete: 1, framesEmitted: 0 });
      pushAll(d, packetsOf(frame, 3000));
      expect(frames.map((f) => f.data)).toEqual([frame]);
    });
  }
});

// ---------- Uncompressed header and config ----------

describe('VP9 key frames and config', () => {
  for (const k of KEYFRAMES) {
    it(`${k.name}: config as ffmpeg's vpcC and ffprobe's size`, () => {
      const { d, frames } = collect();
      pushAll(d, packetsOf(Buffer.from(k.frame, 'hex'), 0, { pictureId: 0 }, 100));
      expect(frames).toHaveLength(1);
      expect(frames[0]!.keyframe).toBe(true);
      const config = frames[0]!.config as Vp9Config;
      expect(config).toMatchObject({ codec: 'vp9', width: k.width, height: k.height });
      if (k.vpcc) {
        expect(config).toMatchObject(k.vpcc);
      } else {
        // 4:4:0 (ffmpeg writes no vpcC for it): profile 1, declared as 4:4:4
        expect(config).toMatchObject({ profile: 1, bitDepth: 8, chromaSubsampling: 3, matrixCoefficients: 2, fullRange: false });
      }
    });
  }

  it('the header parser reads frame type, show_frame, size and refresh flags of the clip', () => {
    expect(parseVp9FrameHeader(CLIP[0]!)).toMatchObject({ keyframe: true, showFrame: true, width: 320, height: 240, refreshFrameFlags: 0xff, colorSpace: 2, fullRange: true });
    expect(parseVp9FrameHeader(CLIP[2]!)).toMatchObject({ keyframe: false, showFrame: true, intraOnly: false });
    // Superframe of a hidden alt-ref and a shown frame
    const [hidden, shown] = splitSuperframe(CLIP[1]!);
    expect(parseVp9FrameHeader(hidden!)).toMatchObject({ keyframe: false, showFrame: false, intraOnly: false });
    expect(parseVp9FrameHeader(shown!)).toMatchObject({ showFrame: true });
  });

  it('config on the first key picture, not on repeats, again on a resolution change (the clip)', () => {
    const { frames } = runClip();
    expect(frames.map((f) => f.keyframe)).toEqual(CLIP.map((_, i) => i % 5 === 0));
    expect(frames.map((f) => f.config && `${f.config.width}x${f.config.height}`)).toEqual(
      CLIP.map((_, i) => (i === 0 ? '320x240' : i === 10 ? '176x144' : undefined)),
    );
    expect(frames[0]!.config).toEqual<Vp9Config>({
      codec: 'vp9',
      width: 320,
      height: 240,
      profile: 0,
      bitDepth: 8,
      chromaSubsampling: 1,
      colourPrimaries: 2,
      transferCharacteristics: 2,
      matrixCoefficients: 1, // BT.709
      fullRange: true,
    });
    expect(frames[10]!.config).toMatchObject({ matrixCoefficients: 5, fullRange: false }); // BT.601 as ffmpeg: BT.470BG
  });

  it('a config change other than size (colour) also gives a config', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf(keyFrame('p0-420-bt709'), 0));
    pushAll(d, packetsOf(keyFrame('p0-420-bt709'), 3000));
    pushAll(d, packetsOf(keyFrame('p0-420-bt601-full'), 6000));
    pushAll(d, packetsOf(keyFrame('p2-420-10bit'), 9000));
    expect(frames.map((f) => f.config && [(f.config as Vp9Config).matrixCoefficients, (f.config as Vp9Config).bitDepth])).toEqual([
      [1, 8],
      undefined,
      [5, 8],
      [9, 10],
    ]);
  });

  it('a key picture needs P=0 in the descriptor AND frame_type KEY_FRAME in the header', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf(keyFrame('p0-420-bt709'), 0, { p: true })); // P=1: not taken as key
    pushAll(d, packetsOf(interFrame(), 3000, { p: false })); // P=0 but an inter frame
    pushAll(d, packetsOf(keyFrame('p0-420-bt709'), 6000, { p: false }));
    expect(frames.map((f) => [f.keyframe, f.config !== undefined])).toEqual([
      [false, false],
      [false, false],
      [true, true],
    ]);
  });

  // Profile 0 key frame: byte 0 is marker, profile, show_existing, frame_type, show_frame,
  // error_resilient; bytes 1-3 the sync code; color_space is the top 3 bits of byte 4.
  const withColorSpace = (k: Buffer, cs: number): Buffer => {
    const out = Buffer.from(k);
    out[4] = (out[4]! & 0x1f) | (cs << 5);
    return out;
  };

  it('color_space 6 (reserved) gives matrix 2 (unspecified), not the reserved code ffmpeg passes on', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf(withColorSpace(keyFrame('p0-420-bt709'), 6), 0));
    expect(frames[0]!.config).toMatchObject({ matrixCoefficients: 2, colourPrimaries: 2, transferCharacteristics: 2 });
  });

  const badHeaders: [string, (k: Buffer) => void][] = [
    ['frame marker not 2', (k) => (k[0] = k[0]! & 0x3f)],
    ['key frame with a wrong sync code', (k) => (k[2] = k[2]! ^ 0x10)],
    ['RGB in profile 0', (k) => k.set(withColorSpace(k, 7))],
    ['key frame header cut short', () => undefined],
  ];
  for (const [name, spoil] of badHeaders) {
    it(`${name}: counted as malformed, not emitted`, () => {
      const key = Buffer.from(keyFrame('p0-420-bt709'));
      spoil(key);
      const { d, frames } = collect();
      pushAll(d, packetsOf(name.includes('short') ? key.subarray(0, 4) : key, 0));
      expect(frames).toHaveLength(0);
      expect(d.stats).toMatchObject({ packetsMalformed: 1, framesDroppedIncomplete: 1 });
    });
  }
});

// ---------- Pictures and completeness ----------

describe('Vp9Depacketizer completeness', () => {
  const key = (ts: number): RtpPacket[] => packetsOf(keyFrame('p1-444-full'), ts, { pictureId: ts / 3000 }, 100);
  const inter = (ts: number, size = 2000): RtpPacket[] => packetsOf(interFrame(size, ts), ts, { pictureId: ts / 3000, p: true }, 300);

  it('a frame over many packets is one frame', () => {
    const { d, frames } = collect();
    const packets = inter(3000, 20_000);
    expect(packets.length).toBeGreaterThan(60);
    pushAll(d, packets);
    expect(frames.map((f) => f.data)).toEqual([interFrame(20_000, 3000)]);
  });

  it('reset mid-frame drops that picture; the next picture start recovers (with and without a marker on the broken one)', () => {
    const { d, frames } = collect();
    pushAll(d, key(0));
    d.push(inter(3000)[0]!, 3000);
    d.reset(); // rest of 3000 lost, marker included
    const p2 = inter(6000);
    pushAll(d, p2.slice(0, 1));
    d.reset();
    pushAll(d, p2.slice(2));
    pushAll(d, inter(9000));
    pushAll(d, inter(12000));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 9000, 12000]);
    expect(d.stats.framesDroppedIncomplete).toBe(2);
  });

  it('after a reset, a continuation packet (B=0) on a new timestamp is not a start', () => {
    const { d, frames } = collect();
    pushAll(d, key(0));
    d.reset();
    pushAll(d, inter(3000).slice(1));
    pushAll(d, inter(6000));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 6000]);
    expect(d.stats).toMatchObject({ framesDroppedIncomplete: 1, packetsMalformed: 0 });
  });

  it('after a reset between pictures, more packets of the last timestamp are dropped', () => {
    const { d, frames } = collect();
    pushAll(d, inter(0, 100));
    d.reset();
    pushAll(d, packetsOf(interFrame(50), 0, { layer: { sid: 1 } })); // the next layer of picture 0: looks whole, but came after a loss
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
  });

  it('a stream joined mid-frame starts at the first picture that provably starts', () => {
    const { d, frames } = collect();
    pushAll(d, key(0).slice(1));
    pushAll(d, inter(3000));
    expect(frames.map((f) => f.timestamp)).toEqual([3000]);
  });

  it('a timestamp change ends a picture without marker; a marker with the frame still open drops it', () => {
    const { d, frames } = collect();
    pushAll(d, inter(0).map((p) => ({ ...p, marker: false })));
    pushAll(d, inter(3000));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 3000]);
    const open = payloadsOf(interFrame(500), {}, 200);
    pushAll(d, [rtp(open[0]!, 6000), rtp(open[1]!, 6000, true)]); // E only on open[2]
    pushAll(d, [rtp(open[0]!, 9000), rtp(open[1]!, 9000)]);
    pushAll(d, inter(12000));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 3000, 12000]);
    expect(d.stats).toMatchObject({ framesDroppedIncomplete: 2, packetsMalformed: 0 });
  });

  const orderViolations: [string, () => RtpPacket[]][] = [
    ['a frame begins before the previous one ended', () => {
      const a = payloadsOf(interFrame(400, 1), { layer: { sid: 0 } }, 200);
      return [rtp(a[0]!, 0), ...packetsOf(interFrame(100, 2), 0, { layer: { sid: 1 } })];
    }],
    ['the same spatial layer twice', () => pictureOf([{ frame: interFrame(100, 1), fields: { layer: { sid: 1 } } }, { frame: interFrame(100, 2), fields: { layer: { sid: 1 } } }], 0)],
    ['spatial layers going down', () => pictureOf([{ frame: interFrame(100, 1), fields: { layer: { sid: 1 } } }, { frame: interFrame(100, 2), fields: { layer: { sid: 0 } } }], 0)],
    ['a second frame without layer indices', () => pictureOf([{ frame: interFrame(100, 1) }, { frame: interFrame(100, 2) }], 0)],
    ['a continuation packet of another layer', () => {
      const a = payloadsOf(interFrame(400, 1), { layer: { sid: 0 } }, 200);
      const b = payloadsOf(interFrame(400, 1), { layer: { sid: 1 } }, 200);
      return [rtp(a[0]!, 0), rtp(b[1]!, 0, true)];
    }],
  ];
  for (const [name, make] of orderViolations) {
    it(`${name}: malformed, picture dropped`, () => {
      const { d, frames } = collect();
      pushAll(d, key(-3000));
      pushAll(d, make());
      pushAll(d, inter(3000));
      expect(frames.map((f) => f.timestamp)).toEqual([-3000, 3000]);
      expect(d.stats).toMatchObject({ packetsMalformed: 1, framesDroppedIncomplete: 1 });
    });
  }

  it('a frame does not share memory with the packets it came from', () => {
    const { d, frames } = collect();
    const packets = svcPackets().slice(0, 40);
    pushAll(d, packets);
    pushAll(d, inter(1e6));
    const copy = Buffer.from(frames[0]!.data);
    for (const p of packets) p.payload.fill(0xaa);
    expect(frames[0]!.data).toEqual(copy);
  });

  it('a frame whose tail reads as a superframe index listing a frame without frame_marker 2 is dropped (found by test/fuzz-payloads.test.ts)', () => {
    const { d, frames } = collect();
    const withIndex = (secondMarker: number): Buffer => {
      const f = interFrame(100);
      f[40] = secondMarker; // the second listed frame starts at 40
      f.set([0xc1, 40, 56, 0xc1], 96); // 2 frames of 40 and 56 bytes, 1-byte sizes
      return f;
    };
    pushAll(d, packetsOf(withIndex(0x86), 0));
    pushAll(d, packetsOf(withIndex(0x46), 3000));
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    expect(d.stats).toMatchObject({ packetsMalformed: 1, framesDroppedIncomplete: 1 });
  });

  it('random garbage never throws; what comes out is frames or superframes with valid frame markers', () => {
    const r = rng(9);
    const { d, frames } = collect();
    for (let i = 0; i < 20_000; i++) {
      const payload = Buffer.alloc(Math.floor(r() * 30));
      for (let j = 0; j < payload.length; j++) payload[j] = Math.floor(r() * 256);
      const x = r();
      const p = x < 0.2 ? Buffer.concat([descriptor({ b: true, e: r() < 0.5, layer: { sid: Math.floor(r() * 3) } }), interFrame(10, i)]) : payload;
      d.push(rtp(p, Math.floor(i / 4), r() < 0.25), Math.floor(i / 4));
      if (r() < 0.05) d.reset();
    }
    expect(d.stats.packetsMalformed).toBeGreaterThan(1000);
    expect(frames.length).toBeGreaterThan(100);
    for (const f of frames) for (const [start] of vp9SuperframeFrames(f.data)!) expect(f.data[start]! >> 6).toBe(2);
  });
});

// ---------- Spatial layers ----------

describe('Vp9Depacketizer spatial layers (SVC)', () => {
  it('the SVC data is what the tests expect: 3 layers per picture, of growing size, key pictures 0 and 4', () => {
    expect(SVC_LAYERS.map((l) => l.length)).toEqual([3, 3, 3, 3, 3, 3]);
    const header = parseVp9FrameHeader(SVC_LAYERS[0]![0]!);
    expect(header).toMatchObject({ keyframe: true, width: 80, height: 60 });
    expect(SVC_LAYERS.map((l) => parseVp9FrameHeader(l[0]!)!.keyframe)).toEqual([true, false, false, false, true, false]);
    // The upper layers of a key picture are inter frames (predicted from the layer below).
    expect(parseVp9FrameHeader(SVC_LAYERS[0]![1]!)).toMatchObject({ keyframe: false, showFrame: true });
  });

  for (const flexible of [false, true]) {
    it(`${flexible ? 'flexible' : 'non-flexible'} mode: each picture is libvpx's own superframe, byte for byte`, () => {
      const { d, frames } = svcRun({ flexible });
      expect(frames.map((f) => f.data)).toEqual(SVC);
      expect(frames.map((f) => f.keyframe)).toEqual([true, false, false, false, true, false]);
      // The config has the size of the top layer, which decoders output.
      expect(frames.map((f) => f.config && `${f.config.width}x${f.config.height}`)).toEqual(['320x240', undefined, undefined, undefined, undefined, undefined]);
      expect(d.stats).toMatchObject({ framesEmitted: 6, framesDroppedIncomplete: 0, packetsMalformed: 0 });
    });
  }

  it('with the top layer left out by an SFU: superframes of two layers, config of the middle size', () => {
    const { frames } = svcRun({ maxSid: 1 });
    expect(frames.map((f) => splitSuperframe(f.data))).toEqual(SVC_LAYERS.map((l) => l.slice(0, 2)));
    expect(frames[0]!.config).toMatchObject({ width: 160, height: 120 });
  });

  it('base layer only: plain frames without an index', () => {
    const { frames } = svcRun({ maxSid: 0 });
    expect(frames.map((f) => f.data)).toEqual(SVC_LAYERS.map((l) => l[0]));
    expect(frames[0]!.config).toMatchObject({ width: 80, height: 60 });
  });

  it('a loss in an upper layer drops the whole picture; the next picture (starting in layer 0) is emitted', () => {
    const { d, frames } = collect();
    const packets = svcPackets();
    const byPicture = (pic: number) => packets.filter((p) => p.timestamp === pic * 3000);
    pushAll(d, byPicture(0));
    pushAll(d, byPicture(1));
    const p2 = byPicture(2);
    pushAll(d, p2.slice(0, -1));
    d.reset(); // last packet of picture 2 (top layer, with the marker) lost
    for (let pic = 3; pic < 6; pic++) pushAll(d, byPicture(pic));
    expect(frames.map((f) => f.timestamp / 3000)).toEqual([0, 1, 3, 4, 5]);
    expect(frames.map((f) => f.data)).toEqual([0, 1, 3, 4, 5].map((i) => SVC[i]));
  });

  it('after a reset, a picture whose layer-0 frame was lost whole is not a start (B=1 in layer 1 on a new timestamp)', () => {
    const { d, frames } = collect();
    const packets = svcPackets({ mtu: 2000 });
    const byPicture = (pic: number) => packets.filter((p) => p.timestamp === pic * 3000);
    pushAll(d, byPicture(0));
    d.reset(); // picture 1's layer 0 frame lost whole
    pushAll(d, byPicture(1).slice(1));
    pushAll(d, byPicture(2));
    expect(frames.map((f) => f.timestamp / 3000)).toEqual([0, 2]);
    expect(d.stats).toMatchObject({ framesDroppedIncomplete: 1, packetsMalformed: 0 });
  });

  it('a layer frame that is itself a superframe (hidden frames) is flattened into the one index', () => {
    const { d, frames } = collect();
    const hiddenAndShown = CLIP[1]!; // superframe of 2 from libvpx
    const top = interFrame(300);
    pushAll(d, pictureOf([{ frame: hiddenAndShown, fields: { layer: { sid: 0 }, p: true } }, { frame: top, fields: { layer: { sid: 1 }, p: true } }], 0, 250));
    expect(frames).toHaveLength(1);
    expect(splitSuperframe(frames[0]!.data)).toEqual([...splitSuperframe(hiddenAndShown), top]);
  });

  it('ffmpeg decodes the superframes as it decodes libvpx\'s own (libvpx decoder: the top layer; native: every layer)', (ctx) => {
    if (!ffmpegAvailable()) return ctx.skip();
    const { frames } = svcRun();
    const ours = ivf('VP90', frames.map((f) => f.data), 320, 240);
    const original = data('vp9-svc.ivf');
    const libvpx = framemd5(original, 'libvpx-vp9');
    expect(libvpx.map((l) => l.split(' ')[0])).toEqual(Array(6).fill(String(320 * 240 * 1.5))); // one 320x240 picture each
    expect(framemd5(ours, 'libvpx-vp9')).toEqual(libvpx);
    // ffmpeg's own decoder shows every shown frame of a superframe: 3 per picture (the caveat in vp9.ts).
    const native = framemd5(original);
    expect(native).toHaveLength(18);
    expect(framemd5(ours)).toEqual(native);
  });

  it('with the top layer left out, libvpx decodes the middle layer', (ctx) => {
    if (!ffmpegAvailable()) return ctx.skip();
    const { frames } = svcRun({ maxSid: 1 });
    const decoded = framemd5(ivf('VP90', frames.map((f) => f.data), 160, 120), 'libvpx-vp9');
    expect(decoded.map((l) => l.split(' ')[0])).toEqual(Array(6).fill(String(160 * 120 * 1.5)));
  });
});

// ---------- Real stream ----------

function runClip(losses?: (i: number) => boolean): { d: Vp9Depacketizer; frames: Frame[] } {
  const { d, frames } = collect();
  pushWithLosses(d, CLIP_RTP, losses);
  return { d, frames };
}

describe('Vp9Depacketizer on libvpx frames packetized by GStreamer rtpvp9pay', () => {
  it('the data is what the tests expect: frames over several packets, superframes at 1 and 6', () => {
    expect(CLIP).toHaveLength(15);
    expect(CLIP.flatMap((f, i) => (vp9SuperframeFrames(f)!.length > 1 ? [i] : []))).toEqual([1, 6]);
    expect(CLIP_RTP.length).toBeGreaterThan(40);
    expect(CLIP_RTP.filter((p) => p.marker)).toHaveLength(15);
    expect(CLIP_RTP.some((p) => p.sequenceNumber === 0)).toBe(true);
  });

  it('round-trips every frame byte for byte (superframes passed on as they are)', () => {
    const { d, frames } = runClip();
    expect(frames.map((f) => f.data)).toEqual(CLIP);
    expect(d.stats).toMatchObject({ framesEmitted: 15, framesDroppedIncomplete: 0, packetsMalformed: 0 });
  });

  it('with random losses emits exactly the pictures that lost no packet, byte for byte', () => {
    const pictureOfPacket: number[] = [];
    CLIP_RTP.forEach((p, i) => pictureOfPacket.push(i === 0 ? 0 : pictureOfPacket[i - 1]! + (p.timestamp !== CLIP_RTP[i - 1]!.timestamp ? 1 : 0)));
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const lost = new Set<number>();
      CLIP_RTP.forEach((_, i) => r() < 0.06 && lost.add(i));
      const { frames } = runClip((i) => lost.has(i));
      const whole = CLIP.flatMap((_, k) => ([...lost].some((i) => pictureOfPacket[i] === k) ? [] : [k]));
      expect(frames.map((f) => CLIP.findIndex((c) => c.equals(f.data)))).toEqual(whole);
    }
  });

  it('ffmpeg decodes the frames to the same pictures as the encoder output (framemd5)', (ctx) => {
    if (!ffmpegAvailable()) return ctx.skip();
    const original = framemd5(data('vp9-clip.ivf'));
    expect(original).toHaveLength(15);
    const { frames } = runClip();
    expect(framemd5(ivf('VP90', frames.map((f) => f.data), 320, 240))).toEqual(original);
  });
});
