import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Frame, H264Config } from '../src/codec/frame.js';
import { H264Depacketizer } from '../src/codec/h264.js';
import type { RtpPacket } from '../src/rtp/packet.js';
import { rng } from './helpers/random.js';

// ---------- Test data and helpers ----------

interface SpsCase {
  name: string;
  sps: string;
}
const spsCases = JSON.parse(readFileSync(new URL('data/codec/h264-sps.json', import.meta.url), 'utf8')) as SpsCase[];
const spsOf = (name: string): Buffer => Buffer.from(spsCases.find((c) => c.name === name)!.sps, 'hex');
const SPS_320 = spsOf('baseline-320x240');
const SPS_640 = spsOf('baseline-640x360');
const SPS_720 = spsOf('main-1280x720');
/** A PPS as x264 writes it (pps id 0, sps id 0). */
const PPS = Buffer.from('68ce3c80', 'hex');

/** Splits an Annex B byte stream into NAL units. */
function splitAnnexB(data: Buffer): Buffer[] {
  const nals: Buffer[] = [];
  let start = -1;
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) nals.push(data.subarray(start, i - (data[i - 1] === 0 ? 1 : 0)));
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0) nals.push(data.subarray(start));
  return nals;
}

/** Access units of the 20-frame test clip (x264 with AUDs, 3 slices per picture, IDR every 10). */
const CLIP_AUS: Buffer[][] = (() => {
  const aus: Buffer[][] = [];
  for (const nal of splitAnnexB(readFileSync(new URL('data/codec/h264-clip.h264', import.meta.url)))) {
    if ((nal[0]! & 0x1f) === 9) aus.push([]);
    aus.at(-1)?.push(nal); // ffmpeg writes the extradata SPS/PPS before the first AUD: skipped
  }
  return aus;
})();

const nalType = (nal: Buffer): number => nal[0]! & 0x1f;

/** A frame's config, which must be an H264 one. */
function h264Config(frame: Frame): H264Config {
  expect(frame.config?.codec).toBe('h264');
  return frame.config as H264Config;
}

/** A slice NAL unit of `size` bytes; first_mb_in_slice is 0 unless `middle`. */
function slice(type: 1 | 5, size: number, opts: { middle?: boolean; seed?: number } = {}): Buffer {
  const r = rng(opts.seed ?? size);
  const nal = Buffer.alloc(size);
  for (let i = 2; i < size; i++) nal[i] = Math.floor(r() * 256);
  nal[0] = type === 5 ? 0x65 : 0x41;
  // ue(v) 0 is the bit 1; ue(v) 99 starts with six zero bits
  nal[1] = opts.middle ? 0x03 : 0x88; // first_mb_in_slice 0, slice_type 7 (I)
  if (!opts.middle) nal[2]! |= 0x80; // pic_parameter_set_id 0
  return nal;
}

function avcc(nals: Buffer[]): Buffer {
  return Buffer.concat(
    nals.flatMap((n) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(n.length);
      return [len, n];
    }),
  );
}

function stapA(nals: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([(Math.max(...nals.map((n) => n[0]! & 0x60)) & 0x60) | 24]), avccWith2ByteLengths(nals)]);
}
function avccWith2ByteLengths(nals: Buffer[]): Buffer {
  return Buffer.concat(nals.flatMap((n) => [Buffer.from([n.length >> 8, n.length & 0xff]), n]));
}

/** Splits a NAL unit into FU-A payloads of at most `mtu` bytes. */
function fuA(nal: Buffer, mtu: number): Buffer[] {
  const indicator = (nal[0]! & 0xe0) | 28;
  const type = nal[0]! & 0x1f;
  const out: Buffer[] = [];
  for (let off = 1; off < nal.length; off += mtu - 2) {
    const end = Math.min(nal.length, off + mtu - 2);
    const header = type | (off === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0);
    out.push(Buffer.concat([Buffer.from([indicator, header]), nal.subarray(off, end)]));
  }
  return out;
}

let seq = 0;
function rtp(payload: Buffer | number[], timestamp: number, marker = false): RtpPacket {
  return {
    payloadType: 102,
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

/** Payloads for one AU the way libwebrtc sends them: STAP-A for runs of small NALs, FU-A for big ones. */
function payloadsOf(nals: Buffer[], mtu = 1200): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < nals.length) {
    let j = i;
    let size = 1;
    while (j < nals.length && size + 2 + nals[j]!.length <= mtu) size += 2 + nals[j++]!.length;
    if (j - i >= 2) {
      out.push(stapA(nals.slice(i, j)));
      i = j;
      continue;
    }
    const nal = nals[i++]!;
    if (nal.length <= mtu) out.push(nal);
    else out.push(...fuA(nal, mtu));
  }
  return out;
}

function packetsOf(nals: Buffer[], ts: number, mtu = 1200): RtpPacket[] {
  const payloads = payloadsOf(nals, mtu);
  return payloads.map((p, i) => rtp(p, ts, i === payloads.length - 1));
}

function collect(options?: ConstructorParameters<typeof H264Depacketizer>[1]): { d: H264Depacketizer; frames: Frame[] } {
  const frames: Frame[] = [];
  return { d: new H264Depacketizer((f) => frames.push(f), options), frames };
}

const pushAll = (d: H264Depacketizer, packets: RtpPacket[]): void => packets.forEach((p) => d.push(p, p.timestamp));

// ---------- Packet types ----------

describe('H264Depacketizer packet types', () => {
  it('single NAL unit packets: SPS, PPS, IDR -> one AVCC keyframe with config', () => {
    const { d, frames } = collect();
    const idr = slice(5, 300);
    pushAll(d, [rtp(SPS_320, 3000), rtp(PPS, 3000), rtp(idr, 3000, true)]);
    expect(frames).toHaveLength(1);
    const f = frames[0]!;
    expect(f.timestamp).toBe(3000);
    expect(f.keyframe).toBe(true);
    expect(f.data).toEqual(avcc([SPS_320, PPS, idr]));
    expect(f.config).toMatchObject({ width: 320, height: 240, profileIndication: 66, profileCompatibility: SPS_320[2], levelIndication: 13 });
    expect(h264Config(f).sps).toEqual([SPS_320]);
    expect(h264Config(f).pps).toEqual([PPS]);
    expect(d.stats).toMatchObject({ framesEmitted: 1, framesDroppedIncomplete: 0, packetsMalformed: 0 });
  });

  it('STAP-A with SPS + PPS + IDR', () => {
    const { d, frames } = collect();
    const idr = slice(5, 100);
    pushAll(d, [rtp(stapA([SPS_640, PPS, idr]), 0, true)]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data).toEqual(avcc([SPS_640, PPS, idr]));
    expect(frames[0]!.keyframe).toBe(true);
    expect(frames[0]!.config).toMatchObject({ width: 640, height: 360 });
  });

  it('FU-A spanning many packets, after a STAP-A with the parameter sets', () => {
    const { d, frames } = collect();
    const idr = slice(5, 50_000);
    const payloads = [stapA([SPS_320, PPS]), ...fuA(idr, 1000)];
    expect(payloads.length).toBeGreaterThan(50);
    pushAll(d, payloads.map((p, i) => rtp(p, 90, i === payloads.length - 1)));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data).toEqual(avcc([SPS_320, PPS, idr]));
  });

  it('a P frame of several slices in single NAL packets is one non-key frame without config', () => {
    const { d, frames } = collect();
    const slices = [slice(1, 200), slice(1, 300, { middle: true }), slice(1, 250, { middle: true })];
    pushAll(d, slices.map((s, i) => rtp(s, 6000, i === 2)));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.keyframe).toBe(false);
    expect(frames[0]!.config).toBeUndefined();
    expect(frames[0]!.data).toEqual(avcc(slices));
  });

  it('drops AUD, filler and NAL types that are not media (inside STAP-A too), keeps SEI', () => {
    const { d, frames } = collect();
    const aud = Buffer.from([0x09, 0xf0]);
    const sei = Buffer.from([0x06, 0x05, 0x01, 0x55, 0x80]);
    const filler = Buffer.from([0x0c, 0xff, 0xff, 0x80]);
    const reserved30 = Buffer.from([0x1e, 1, 2]);
    const p = slice(1, 100);
    pushAll(d, [rtp(aud, 10), rtp(stapA([sei, reserved30, filler]), 10), rtp(p, 10, true)]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data).toEqual(avcc([sei, p]));
    expect(d.stats.framesDroppedIncomplete).toBe(0);
  });

  it('ignores packets of reserved types 0, 30, 31 (counted) without losing the frame', () => {
    const { d, frames } = collect();
    const p = slice(1, 100);
    pushAll(d, [rtp([0x00, 1, 2], 10), rtp([0x1f, 1], 10), rtp(p, 10, true)]);
    expect(frames.map((f) => f.data)).toEqual([avcc([p])]);
    expect(d.stats.packetsMalformed).toBe(2);
  });

  it('FU-A carrying an SPS is remembered like an unfragmented one', () => {
    const { d, frames } = collect();
    const idr = slice(5, 80);
    pushAll(d, [...fuA(SPS_720, 10).map((p) => rtp(p, 1)), rtp(PPS, 1), rtp(idr, 1, true)]);
    pushAll(d, [rtp(slice(5, 70), 2, true)]); // no parameter sets: they get prepended
    expect(frames).toHaveLength(2);
    expect(frames[0]!.data).toEqual(avcc([SPS_720, PPS, idr]));
    expect(frames[0]!.config).toMatchObject({ width: 1280, height: 720, profileIndication: 77 });
    expect(frames[1]!.data.subarray(0, 4 + SPS_720.length)).toEqual(avcc([SPS_720]));
  });
});

// ---------- Completeness ----------

describe('H264Depacketizer completeness', () => {
  const keyAu = (ts: number, size = 5000): RtpPacket[] => packetsOf([SPS_320, PPS, slice(5, size, { seed: ts })], ts);
  const pAu = (ts: number, size = 3000): RtpPacket[] => packetsOf([slice(1, size, { seed: ts })], ts);

  it('FU-A missing a middle packet (reset) is dropped; the next AU is emitted', () => {
    const { d, frames } = collect();
    const key = keyAu(0);
    expect(key.length).toBeGreaterThan(3);
    d.push(key[0]!, 0);
    d.push(key[1]!, 0);
    d.reset(); // key[2] lost
    for (const p of key.slice(3)) d.push(p, 0);
    pushAll(d, keyAu(3000));
    expect(frames.map((f) => f.timestamp)).toEqual([3000]);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
  });

  it('FU-A missing its end (E never set) then a new FU-A start: dropped', () => {
    const { d, frames } = collect();
    const a = fuA(slice(1, 3000, { seed: 1 }), 1200);
    const b = fuA(slice(1, 3000, { middle: true, seed: 2 }), 1200);
    pushAll(d, [rtp(a[0]!, 0), rtp(a[1]!, 0), rtp(b[0]!, 0), rtp(b[1]!, 0), rtp(b[2]!, 0, true)]);
    expect(frames).toHaveLength(0);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
    pushAll(d, pAu(3000));
    expect(frames.map((f) => f.timestamp)).toEqual([3000]);
  });

  it('FU-A still open when the marker comes or the timestamp changes: dropped', () => {
    const { d, frames } = collect();
    const a = fuA(slice(1, 3000), 1200);
    pushAll(d, [rtp(a[0]!, 0), rtp(a[1]!, 0, true)]);
    pushAll(d, [rtp(a[0]!, 3000), rtp(a[1]!, 3000)]);
    pushAll(d, pAu(6000));
    expect(frames.map((f) => f.timestamp)).toEqual([6000]);
    expect(d.stats.framesDroppedIncomplete).toBe(2);
  });

  it('FU-A continuation without a start: dropped', () => {
    const { d, frames } = collect();
    const a = fuA(slice(1, 3000), 1200);
    pushAll(d, [rtp(a[1]!, 0), rtp(a[2]!, 0, true)]);
    expect(frames).toHaveLength(0);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
  });

  it('a single NAL packet while an FU-A is open: dropped', () => {
    const { d, frames } = collect();
    const a = fuA(slice(1, 3000), 1200);
    pushAll(d, [rtp(a[0]!, 0), rtp(slice(1, 100, { middle: true }), 0, true)]);
    expect(frames).toHaveLength(0);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
  });

  it('reset mid-frame, then recovery at the next AU (with and without a marker on the broken one)', () => {
    const { d, frames } = collect();
    const aus = [keyAu(0), pAu(3000), pAu(6000), pAu(9000), pAu(12000)];
    pushAll(d, aus[0]!);
    d.push(aus[1]![0]!, 3000);
    d.reset(); // rest of AU 3000 lost, marker included
    pushAll(d, aus[2]!.slice(0, 1));
    d.reset();
    pushAll(d, aus[2]!.slice(2)); // AU 6000 resumes after a loss and ends with its marker
    pushAll(d, aus[3]!);
    pushAll(d, aus[4]!);
    expect(frames.map((f) => f.timestamp)).toEqual([0, 9000, 12000]);
    expect(frames[1]!.data).toEqual(avcc([slice(1, 3000, { seed: 9000 })]));
    expect(d.stats.framesDroppedIncomplete).toBe(2);
  });

  it('after a reset, a new timestamp that starts with a middle slice is not emitted', () => {
    const { d, frames } = collect();
    const s0 = slice(1, 500, { seed: 1 });
    const s1 = slice(1, 500, { middle: true, seed: 2 });
    const s2 = slice(1, 500, { middle: true, seed: 3 });
    pushAll(d, keyAu(0));
    d.reset(); // the packet with s0 of AU 3000 was lost
    pushAll(d, [rtp(s1, 3000), rtp(s2, 3000, true)]);
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
    pushAll(d, [rtp(s0, 6000), rtp(s1, 6000), rtp(s2, 6000, true)]);
    expect(frames.map((f) => f.timestamp)).toEqual([0, 6000]);
    expect(frames[1]!.data).toEqual(avcc([s0, s1, s2]));
  });

  it('the same holds when the middle slice starts an FU-A, or follows parameter sets in a STAP-A', () => {
    const { d, frames } = collect();
    pushAll(d, keyAu(0));
    d.reset();
    pushAll(d, packetsOf([slice(1, 3000, { middle: true })], 3000));
    d.reset();
    pushAll(d, [rtp(stapA([SPS_320, PPS, slice(5, 100, { middle: true })]), 6000, true)]);
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    expect(d.stats.framesDroppedIncomplete).toBe(2);
  });

  it('after a reset, more packets with the old timestamp are dropped even after an emitted AU', () => {
    const { d, frames } = collect();
    pushAll(d, pAu(0, 100));
    d.reset();
    pushAll(d, [rtp(slice(1, 100), 0, true)]); // looks whole, but a packet of timestamp 0 was lost before it
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
  });

  it('a stream joined mid-frame starts at the first AU that provably starts', () => {
    const { d, frames } = collect();
    const key = keyAu(0);
    pushAll(d, key.slice(2)); // first packets of the key frame never seen
    pushAll(d, pAu(3000));
    expect(frames.map((f) => f.timestamp)).toEqual([3000]);
    expect(d.stats.framesDroppedIncomplete).toBe(1);
  });

  it('timestamp change without marker ends the AU', () => {
    const { d, frames } = collect();
    const a = [slice(1, 100, { seed: 1 }), slice(1, 100, { middle: true, seed: 2 })];
    const b = [slice(1, 3000, { seed: 3 })];
    pushAll(d, [rtp(a[0]!, 0), rtp(a[1]!, 0)]); // no marker
    expect(frames).toHaveLength(0);
    pushAll(d, payloadsOf(b).map((p) => rtp(p, 3000))); // no marker either
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    pushAll(d, [rtp(slice(1, 100), 6000, true)]);
    expect(frames.map((f) => f.timestamp)).toEqual([0, 3000, 6000]);
    expect(frames[0]!.data).toEqual(avcc(a));
    expect(frames[1]!.data).toEqual(avcc(b));
  });

  it('parameter sets sent with their own timestamp are not a frame but serve the next keyframe', () => {
    const { d, frames } = collect();
    const idr = slice(5, 2000);
    pushAll(d, [rtp(stapA([SPS_640, PPS]), 100)]);
    pushAll(d, packetsOf([idr], 3000));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data).toEqual(avcc([SPS_640, PPS, idr]));
    expect(frames[0]!.config).toMatchObject({ width: 640, height: 360 });
    expect(d.stats.framesDroppedIncomplete).toBe(0);
  });

  it('keyframes without any known SPS/PPS are dropped and counted; non-key frames still pass', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf([slice(5, 2000)], 0));
    pushAll(d, packetsOf([slice(1, 2000)], 3000));
    pushAll(d, packetsOf([PPS, slice(5, 2000)], 6000)); // PPS alone is not enough
    expect(frames.map((f) => f.timestamp)).toEqual([3000]);
    expect(d.stats.keyframesWithoutParameterSets).toBe(2);
    expect(d.stats.framesDroppedIncomplete).toBe(2);
  });

  it('a frame does not share memory with the packets it came from', () => {
    const { d, frames } = collect();
    const packets = packetsOf([SPS_320, PPS, slice(5, 5000)], 0);
    pushAll(d, packets);
    const copy = Buffer.from(frames[0]!.data);
    for (const p of packets) p.payload.fill(0xaa);
    expect(frames[0]!.data).toEqual(copy);
  });
});

// ---------- Parameter sets and config ----------

describe('H264Depacketizer parameter sets', () => {
  it('config on the first keyframe, not on repeats, again when the SPS changes (resolution change)', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf([SPS_640, PPS, slice(5, 1000)], 0));
    pushAll(d, packetsOf([slice(1, 500)], 3000));
    pushAll(d, packetsOf([SPS_640, PPS, slice(5, 1000)], 6000));
    pushAll(d, packetsOf([SPS_720, PPS, slice(5, 1000)], 9000));
    pushAll(d, packetsOf([slice(5, 1000)], 12000)); // keyframe relying on the stored sets
    expect(frames.map((f) => f.keyframe)).toEqual([true, false, true, true, true]);
    expect(frames.map((f) => f.config && `${f.config.width}x${f.config.height}`)).toEqual([
      '640x360',
      undefined,
      undefined,
      '1280x720',
      undefined,
    ]);
    expect(h264Config(frames[3]!).sps).toEqual([SPS_720]); // the new SPS replaced the old one (same id)
    expect(h264Config(frames[3]!).profileIndication).toBe(77);
    expect(frames[4]!.data.subarray(0, 8 + SPS_720.length + PPS.length)).toEqual(avcc([SPS_720, PPS]));
  });

  it('seeds SPS/PPS from sprop-parameter-sets and prepends them to keyframes that lack them', () => {
    const sprop = `${SPS_320.toString('base64')},${PPS.toString('base64')}`;
    const { d, frames } = collect({ spropParameterSets: sprop });
    const idr = slice(5, 3000);
    const sei = Buffer.from([0x06, 0x05, 0x01, 0x55, 0x80]);
    pushAll(d, packetsOf([sei, idr], 0));
    pushAll(d, packetsOf([slice(1, 500)], 3000));
    expect(frames).toHaveLength(2);
    expect(frames[0]!.data).toEqual(avcc([SPS_320, PPS, sei, idr]));
    expect(frames[0]!.config).toMatchObject({ width: 320, height: 240, sps: [SPS_320], pps: [PPS] });
    expect(frames[1]!.data).toEqual(avcc([slice(1, 500)])); // non-key frames get nothing added
    expect(d.stats.packetsMalformed).toBe(0);
  });

  it('counts unusable sprop entries as malformed', () => {
    const { d, frames } = collect({ spropParameterSets: `${PPS.toString('base64')},,QUJD` });
    expect(d.stats.packetsMalformed).toBe(2); // empty, and "ABC" (not a parameter set)
    pushAll(d, packetsOf([slice(5, 300)], 0));
    expect(frames).toHaveLength(0); // a PPS without SPS does not make a keyframe decodable
  });

  it('a keyframe with in-band SPS but no PPS gets all stored sets in order, without duplicates', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf([SPS_320, PPS, slice(5, 300)], 0));
    const idr = slice(5, 400);
    pushAll(d, packetsOf([SPS_640, idr], 3000));
    expect(frames[1]!.data).toEqual(avcc([SPS_640, PPS, idr]));
    expect(frames[1]!.config).toMatchObject({ width: 640, height: 360 });
  });

  it('a keyframe without parameter sets gets only the PPS its slice names and that PPS\'s SPS, not others seen (found by test/fuzz-payloads.test.ts)', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf([SPS_320, PPS, slice(5, 300)], 0));
    // A damaged packet that parses as a PPS with id 5 must not ride along.
    const otherPps = Buffer.from([0x68, 0x34, 0x3c, 0x80]); // pps_id 5 (00110), sps_id 0 (1)
    pushAll(d, packetsOf([otherPps, slice(1, 200)], 3000));
    const idr = slice(5, 400);
    pushAll(d, packetsOf([idr], 6000));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 3000, 6000]);
    expect(frames[2]!.data).toEqual(avcc([SPS_320, PPS, idr]));
  });

  it('a keyframe whose slice names a PPS never seen is dropped and counted', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf([SPS_320, PPS, slice(5, 300)], 0));
    const idr = slice(5, 400);
    idr[2] = 0x20; // pic_parameter_set_id 3 (00100)
    pushAll(d, packetsOf([idr], 3000));
    expect(frames.map((f) => f.timestamp)).toEqual([0]);
    expect(d.stats.keyframesWithoutParameterSets).toBe(1);
  });

  it('an SPS that does not parse makes its frame malformed', () => {
    const { d, frames } = collect();
    pushAll(d, packetsOf([SPS_320.subarray(0, 5), PPS, slice(5, 300)], 0));
    expect(frames).toHaveLength(0);
    expect(d.stats.packetsMalformed).toBe(1);
  });
});

// ---------- Malformed input ----------

describe('H264Depacketizer malformed payloads', () => {
  const cases: [string, number[]][] = [
    ['empty', []],
    ['STAP-A without NAL units', [24]],
    ['STAP-A with a truncated length field', [24, 0, 2, 0x67, 1, 0]],
    ['STAP-A length past the end', [24, 0, 9, 0x41, 0x88, 1]],
    ['STAP-A with a zero length', [24, 0, 0, 0, 2, 0x41, 0x88]],
    ['FU-A of 1 byte', [28]],
    ['FU-A of 2 bytes (no data)', [28, 0x81]],
    ['FU-A start of an aggregation type', [28, 0x98, 1, 2]],
    ['NAL unit with the forbidden bit', [0xc1, 0x88, 1]],
    ['STAP-B (interleaved mode)', [25, 0, 0, 0, 2, 0x41, 0x88]],
    ['MTAP16', [26, 0, 0, 0, 2, 0, 0, 0x41, 0x88]],
    ['MTAP24', [27, 0, 0, 0, 2, 0, 0, 0, 0x41, 0x88]],
    ['FU-B', [29, 0x81, 0, 0, 0x88]],
  ];
  for (const [name, bytes] of cases) {
    it(`${name}: counted, frame dropped, next frame fine`, () => {
      const { d, frames } = collect();
      const good = slice(1, 100);
      expect(() => pushAll(d, [rtp(good, 0), rtp(bytes, 0), rtp(slice(1, 50, { middle: true }), 0, true)])).not.toThrow();
      expect(d.stats.packetsMalformed).toBe(1);
      expect(frames).toHaveLength(0);
      expect(d.stats.framesDroppedIncomplete).toBe(1);
      pushAll(d, [rtp(good, 3000, true)]);
      expect(frames.map((f) => f.data)).toEqual([avcc([good])]);
    });
  }

  it('random garbage never throws and never emits a frame that was not sent', () => {
    const r = rng(42);
    const { d, frames } = collect();
    for (let i = 0; i < 20_000; i++) {
      const payload = Buffer.alloc(Math.floor(r() * 40));
      for (let j = 0; j < payload.length; j++) payload[j] = Math.floor(r() * 256);
      if (payload.length > 0 && r() < 0.5) payload[0] = [24, 28, 5, 1][Math.floor(r() * 4)]! | 0x60;
      d.push(rtp(payload, Math.floor(i / 4), r() < 0.25), Math.floor(i / 4));
      if (r() < 0.05) d.reset();
    }
    expect(d.stats.packetsMalformed).toBeGreaterThan(1000);
    // Whatever came out is well-formed AVCC.
    for (const f of frames) {
      let pos = 0;
      while (pos < f.data.length) pos += 4 + f.data.readUInt32BE(pos);
      expect(pos).toBe(f.data.length);
    }
  });
});

// ---------- Real stream ----------

describe('H264Depacketizer on a real x264 stream', () => {
  /** What the depacketizer should output for an AU of the clip: no AUD; keyframes have SPS/PPS. */
  const expectedFrame = (au: Buffer[]): Buffer => avcc(au.filter((n) => nalType(n) !== 9));

  it('the clip is what the tests expect: 20 AUs, 3 slices each, SPS/PPS with each IDR', () => {
    expect(CLIP_AUS).toHaveLength(20);
    for (const au of CLIP_AUS) {
      expect(au.filter((n) => nalType(n) === 1 || nalType(n) === 5)).toHaveLength(3);
      if (au.some((n) => nalType(n) === 5)) expect(au.map(nalType)).toEqual(expect.arrayContaining([7, 8]));
    }
  });

  for (const mtu of [1200, 300]) {
    it(`round-trips every AU exactly (MTU ${mtu})`, () => {
      const { d, frames } = collect();
      CLIP_AUS.forEach((au, i) => pushAll(d, packetsOf(au, i * 3000, mtu)));
      expect(frames.map((f) => f.data)).toEqual(CLIP_AUS.map(expectedFrame));
      expect(frames.map((f) => f.keyframe)).toEqual(CLIP_AUS.map((au) => au.some((n) => nalType(n) === 5)));
      expect(frames.filter((f) => f.config)).toHaveLength(1);
      expect(frames[0]!.config).toMatchObject({ width: 320, height: 240 });
    });
  }

  it('with random losses emits exactly the AUs that lost no packet, byte for byte', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const { d, frames } = collect();
      const whole = new Set<number>();
      CLIP_AUS.forEach((au, i) => {
        let lost = false;
        let prevLost = false;
        for (const p of packetsOf(au, i * 3000, 300)) {
          if (r() < 0.08) {
            lost = true;
            if (!prevLost) d.reset(); // the jitter buffer reports a gap once
            prevLost = true;
          } else {
            d.push(p, p.timestamp);
            prevLost = false;
          }
        }
        if (!lost) whole.add(i * 3000);
      });
      d.push(rtp(slice(1, 10), 1e6, true), 1e6); // flush
      const emitted = frames.filter((f) => f.timestamp < 1e6);
      expect(emitted.map((f) => f.timestamp)).toEqual([...whole]);
      for (const f of emitted) expect(f.data).toEqual(expectedFrame(CLIP_AUS[f.timestamp / 3000]!));
      expect(d.stats.framesDroppedIncomplete).toBeLessThanOrEqual(CLIP_AUS.length - whole.size);
    }
  });

  it('decodes with ffmpeg to the same pictures as the original, also with SPS/PPS only in SDP', (ctx) => {
    if (spawnSync('ffmpeg', ['-version']).status !== 0) return ctx.skip();
    const md5s = (annexB: Buffer): string[] => {
      const out = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'h264', '-i', 'pipe:0', '-f', 'framemd5', '-'], {
        input: annexB,
      });
      expect(out.status).toBe(0);
      return out.stdout.toString().split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
    };
    const toAnnexB = (frames: Frame[]): Buffer => {
      const parts: Buffer[] = [];
      for (const f of frames) {
        for (let pos = 0; pos < f.data.length; ) {
          const len = f.data.readUInt32BE(pos);
          parts.push(Buffer.from([0, 0, 0, 1]), f.data.subarray(pos + 4, pos + 4 + len));
          pos += 4 + len;
        }
      }
      return Buffer.concat(parts);
    };
    const original = md5s(readFileSync(new URL('data/codec/h264-clip.h264', import.meta.url)));
    expect(original).toHaveLength(20);

    const inBand = collect();
    CLIP_AUS.forEach((au, i) => pushAll(inBand.d, packetsOf(au, i * 3000)));
    expect(md5s(toAnnexB(inBand.frames))).toEqual(original);

    // Sender that strips SPS/PPS from the stream and announces them in SDP only.
    const params = CLIP_AUS[0]!.filter((n) => nalType(n) === 7 || nalType(n) === 8);
    const sdpOnly = collect({ spropParameterSets: params.map((n) => n.toString('base64')).join(',') });
    CLIP_AUS.forEach((au, i) => pushAll(sdpOnly.d, packetsOf(au.filter((n) => nalType(n) !== 7 && nalType(n) !== 8), i * 3000)));
    expect(md5s(toAnnexB(sdpOnly.frames))).toEqual(original);
    expect(sdpOnly.frames[0]!.config).toMatchObject({ width: 320, height: 240 });
  });
});

