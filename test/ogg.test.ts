import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opusPacketDuration } from '../src/codec/opus.js';
import { opusHead } from '../src/mux/codec-private.js';
import type { Mp4Sample } from '../src/mux/mp4/track.js';
import { OggOpusWriter, type OggOpusTrackSpec, type OggOpusWriterOptions, oggPage } from '../src/mux/ogg.js';
import { opusPackets } from './data/mp4/fixtures.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';

const TRACK: OggOpusTrackSpec = { kind: 'audio', codec: 'opus', timescale: 48000, channels: 2, preSkip: 312 };

// ---------------------------------------------------------------------------------------------
// An Ogg page reader of its own (RFC 3533), to check what the writer wrote

/** CRC-32 as RFC 3533 states it, bit by bit (polynomial 0x04c11db7, no reflection, initial 0, no final XOR). */
function crcBitwise(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

interface Page {
  offset: number;
  length: number;
  flags: number;
  granule: bigint;
  serial: number;
  sequence: number;
  crcOk: boolean;
  lacing: number[];
  /** Packets that end on this page (this writer never splits a packet across pages). */
  packets: Buffer[];
}

function readPages(file: Buffer): Page[] {
  const pages: Page[] = [];
  for (let off = 0; off < file.length; ) {
    expect(file.toString('latin1', off, off + 4)).toBe('OggS');
    expect(file[off + 4]).toBe(0);
    const n = file[off + 26]!;
    const lacing = [...file.subarray(off + 27, off + 27 + n)];
    const bodyLength = lacing.reduce((a, b) => a + b, 0);
    const length = 27 + n + bodyLength;
    const raw = Buffer.from(file.subarray(off, off + length));
    const crc = raw.readUInt32LE(22);
    raw.writeUInt32LE(0, 22);
    const packets: Buffer[] = [];
    let at = off + 27 + n;
    let size = 0;
    for (const l of lacing) {
      size += l;
      if (l < 255) {
        packets.push(file.subarray(at, at + size));
        at += size;
        size = 0;
      }
    }
    expect(size).toBe(0); // no packet continues on the next page
    pages.push({
      offset: off,
      length,
      flags: file[off + 5]!,
      granule: file.readBigInt64LE(off + 6),
      serial: file.readUInt32LE(off + 14),
      sequence: file.readUInt32LE(off + 18),
      crcOk: crcBitwise(raw) === crc,
      lacing,
      packets,
    });
    off += length;
  }
  return pages;
}

// ---------------------------------------------------------------------------------------------

interface Recording {
  writer: OggOpusWriter;
  units: Buffer[][];
  tail: Buffer[];
  file: Buffer;
  path: string;
}

let dir: string;
beforeAll(() => {
  dir = tempDir('ogg-');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function record(samples: Mp4Sample[], options: Partial<OggOpusWriterOptions> = {}): Recording {
  const units: Buffer[][] = [];
  const writer = new OggOpusWriter({ tracks: [TRACK], write: (u) => units.push(u), ...options });
  for (const s of samples) writer.addSample(0, s);
  const { tail, patches } = writer.finish();
  expect(patches).toEqual([]);
  const file = Buffer.concat([...units.flat(), ...tail]);
  const path = join(dir, `${++counter}.ogg`);
  writeFileSync(path, file);
  return { writer, units, tail, file, path };
}

/** 20 ms packets from `startMs` (48 kHz dts), with their stated duration. */
function feed(packets: Buffer[], startMs = 0): Mp4Sample[] {
  return packets.map((data, i) => ({ dts: startMs * 48 + i * 960, data, keyframe: true, duration: 960 }));
}

/** Decoded PCM (s16le, 48 kHz), as ffmpeg outputs it. */
function decode(path: string, channels = 2): { samples: number; errors: string } {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-f', 's16le', '-ar', '48000', '-'], { maxBuffer: 256 * 1024 * 1024 });
  return { samples: r.stdout.length / (2 * channels), errors: r.stderr.toString().trim() };
}

const packets5s = opusPackets(250);

describe('OggOpusWriter: the file', () => {
  it('decodes without errors; duration, start and sample count are right', () => {
    const r = record(feed(packets5s));
    expect(ffmpegDecodeErrors(r.path)).toBe('');
    const { streams, format } = ffprobeStreams(r.path);
    expect(streams).toHaveLength(1);
    expect(streams[0]).toMatchObject({ codec_name: 'opus', channels: 2, sample_rate: '48000', nb_read_frames: '250' });
    expect(Number(streams[0]!.start_time)).toBe(0);
    expect(Number(format.duration)).toBeCloseTo(5, 3);
    // The pre-skip is trimmed: 250 packets of 960 samples, minus 312.
    expect(decode(r.path).samples).toBe(250 * 960 - 312);
    expect(r.writer.stats).toMatchObject({ headerWritten: true, packetsWritten: 250, packetsPending: 0, silenceSamplesInserted: 0, packetsDropped: 0 });
    expect(r.writer.stats.bytesWritten).toBe(r.file.length);
  });

  it('pages: OpusHead (BOS), OpusTags, then audio pages of about a second, granules at packet ends, EOS last', () => {
    const r = record(feed(packets5s), { serialNumber: 0xdeadbeef });
    const pages = readPages(r.file);
    expect(pages.every((p) => p.crcOk)).toBe(true);
    expect(pages.every((p) => p.serial === 0xdeadbeef)).toBe(true);
    expect(pages.map((p) => p.sequence)).toEqual(pages.map((_, i) => i));
    // Headers: one packet each, on their own pages, granule 0.
    expect(pages[0]!.flags).toBe(0x02);
    expect(pages[0]!.packets).toEqual([opusHead(2, 312)]);
    expect(pages[0]!.granule).toBe(0n);
    expect(pages[1]!.flags).toBe(0);
    expect(pages[1]!.granule).toBe(0n);
    const tags = pages[1]!.packets[0]!;
    expect(tags.toString('latin1', 0, 8)).toBe('OpusTags');
    const vendorLength = tags.readUInt32LE(8);
    expect(tags.toString('utf8', 12, 12 + vendorLength)).toBe('mediasoup-recorder');
    expect(tags.readUInt32LE(12 + vendorLength)).toBe(0);
    expect(tags.length).toBe(16 + vendorLength);
    // Audio: the packets as handed in, in order; the granule of a page = samples through its last packet.
    const audio = pages.slice(2);
    expect(audio.flatMap((p) => p.packets)).toEqual(packets5s);
    let samples = 0;
    for (const p of audio) {
      samples += p.packets.reduce((n, packet) => n + opusPacketDuration(packet)!, 0);
      expect(p.granule).toBe(BigInt(samples));
      expect(p.packets.length).toBeLessThanOrEqual(50); // at most a second per page
    }
    expect(audio.map((p) => p.packets.length)).toEqual([50, 50, 50, 50, 50]);
    expect(audio.map((p) => p.flags)).toEqual([0, 0, 0, 0, 0x04]);
    // Units: the two header pages together, then one page per unit; the last page came with finish().
    expect(r.units[0]!.length).toBe(4);
    expect(r.units).toHaveLength(1 + 4);
    expect(readPages(Buffer.concat(r.tail))).toHaveLength(1);
  });

  it('passes packets through by reference', () => {
    const r = record(feed(packets5s));
    const handed = [...r.units.flat(), ...r.tail];
    for (const p of packets5s) expect(handed.includes(p)).toBe(true);
  });

  it('a stream starting at 0.3 s of the recording starts there (granule offset), and pre-skip 0 works', () => {
    const r = record(feed(packets5s, 300), {});
    const pages = readPages(r.file);
    expect(pages[2]!.granule).toBe(BigInt(14400 + 50 * 960));
    const { streams, format } = ffprobeStreams(r.path);
    expect(Number(streams[0]!.start_time)).toBeCloseTo(0.3, 4);
    expect(Number(format.duration)).toBeCloseTo(5.3, 3);
    expect(ffmpegDecodeErrors(r.path)).toBe('');
  });

  it('fills a hole in the sample times with silence, keeping the timeline', () => {
    const samples = feed(packets5s).filter((_, i) => i < 100 || i >= 110); // 200 ms lost
    const r = record(samples);
    expect(r.writer.stats.silenceSamplesInserted).toBe(10 * 960);
    expect(ffmpegDecodeErrors(r.path)).toBe('');
    expect(decode(r.path).samples).toBe(250 * 960 - 312);
    const pages = readPages(r.file);
    expect(pages[pages.length - 1]!.granule).toBe(BigInt(250 * 960));
    // Small jitter (less than a silence packet) is absorbed, not filled.
    const jittered = feed(packets5s).map((s, i) => ({ ...s, dts: s.dts + (i % 3) * 100 }));
    const j = record(jittered);
    expect(j.writer.stats.silenceSamplesInserted).toBe(0);
    expect(readPages(j.file).at(-1)!.granule).toBe(BigInt(250 * 960));
  });

  it('mono, and packets without a stated duration (taken from the TOC)', () => {
    const packets = opusPackets(100, 1);
    const units: Buffer[][] = [];
    const w = new OggOpusWriter({ tracks: [{ ...TRACK, channels: 1, preSkip: 0 }], write: (u) => units.push(u) });
    packets.forEach((data, i) => w.addSample(0, { dts: i * 960, data, keyframe: true }));
    const file = Buffer.concat([...units.flat(), ...w.finish().tail]);
    const path = join(dir, 'mono.ogg');
    writeFileSync(path, file);
    expect(ffmpegDecodeErrors(path)).toBe('');
    expect(ffprobeStreams(path).streams[0]).toMatchObject({ channels: 1, nb_read_frames: '100' });
    expect(decode(path, 1).samples).toBe(100 * 960);
    expect(readPages(file).at(-1)!.granule).toBe(BigInt(100 * 960));
  });

  it('large packets: a page never exceeds 255 lacing values', () => {
    const require = createRequire(import.meta.url);
    const { OpusEncoder } = require('@discordjs/opus') as { OpusEncoder: new (rate: number, channels: number) => { encode(pcm: Buffer): Buffer; setBitrate(b: number): void } };
    const encoder = new OpusEncoder(48000, 2);
    encoder.setBitrate(510000);
    const packets: Buffer[] = [];
    for (let p = 0; p < 150; p++) {
      const pcm = Buffer.allocUnsafe(960 * 4);
      for (let i = 0; i < 960 * 2; i++) pcm.writeInt16LE(Math.round(12000 * Math.sin(i * 0.37 + p) + 4000 * Math.sin(i * 1.91)), i * 2);
      packets.push(Buffer.from(encoder.encode(pcm)));
    }
    expect(Math.min(...packets.map((p) => p.length))).toBeGreaterThan(1000);
    const r = record(feed(packets));
    const pages = readPages(r.file);
    expect(pages.every((p) => p.lacing.length <= 255)).toBe(true);
    expect(pages.length).toBeGreaterThan(2 + 3); // more pages than seconds
    expect(pages.slice(2).flatMap((p) => p.packets)).toEqual(packets);
    expect(ffmpegDecodeErrors(r.path)).toBe('');
  });

  it('lacing of packet sizes around 255', () => {
    const packets = [0, 1, 254, 255, 256, 510, 511, 1000].map((n) => Buffer.alloc(n, n & 0xff));
    const page = Buffer.concat(oggPage(0, 12345, 7, 3, packets));
    const [p] = readPages(page);
    expect(p!.crcOk).toBe(true);
    expect(p!.granule).toBe(12345n);
    expect(p!.lacing).toEqual([0, 1, 254, 255, 0, 255, 1, 255, 255, 0, 255, 255, 1, 255, 255, 255, 235]);
    expect(p!.packets).toEqual(packets);
    expect(() => oggPage(0, 0, 0, 0, [Buffer.alloc(255 * 255)])).toThrow(RangeError);
  });
});

describe('OggOpusWriter: a killed process', () => {
  it('each prefix of the written units is a file that plays up to its last page', () => {
    const r = record(feed(packets5s), { pageDurationMs: 400 });
    let bytes = 0;
    let packets = 0;
    for (let i = 0; i < r.units.length; i++) {
      bytes += r.units[i]!.reduce((n, b) => n + b.length, 0);
      if (i === 0) continue; // headers only
      packets = readPages(r.file.subarray(0, bytes)).slice(2).reduce((n, p) => n + p.packets.length, 0);
      const path = join(dir, `killed-${i}.ogg`);
      writeFileSync(path, r.file.subarray(0, bytes));
      expect(ffmpegDecodeErrors(path)).toBe('');
      expect(Number(ffprobeStreams(path).streams[0]!.nb_read_frames)).toBe(packets);
    }
    expect(r.units.length).toBeGreaterThan(10);
    expect(packets).toBeGreaterThanOrEqual(250 - 21); // the tail holds the last page (at most ~400 ms)
  });
});

describe('OggOpusWriter: API', () => {
  it('takes exactly one Opus track', () => {
    const write = (): void => {};
    expect(() => new OggOpusWriter({ tracks: [], write })).toThrow(/exactly one Opus/);
    expect(() => new OggOpusWriter({ tracks: [TRACK, TRACK], write })).toThrow(/exactly one Opus/);
    expect(() => new OggOpusWriter({ tracks: [{ kind: 'video', codec: 'vp8', timescale: 90000 } as never], write })).toThrow(/exactly one Opus/);
    expect(() => new OggOpusWriter({ tracks: [{ ...TRACK, channels: 6 }], write })).toThrow(RangeError);
  });

  it('an empty recording is the two header pages, end of stream on the second', () => {
    const r = record([]);
    expect(r.units).toHaveLength(0);
    const pages = readPages(r.file);
    expect(pages.map((p) => p.flags)).toEqual([0x02, 0x04]);
    expect(r.writer.finish()).toEqual({ tail: [], patches: [] });
    expect(() => r.writer.addSample(0, feed(packets5s)[0]!)).toThrow(/after finish/);
  });

  it('clamps a dts going back, drops malformed packets', () => {
    const samples = feed(packets5s.slice(0, 100));
    samples[50] = { ...samples[50]!, dts: -5 };
    const r = record([...samples.slice(0, 60), { dts: 60 * 960, data: Buffer.alloc(0), keyframe: true }, ...samples.slice(60)]);
    expect(r.writer.stats.timestampsClamped).toBe(1);
    expect(r.writer.stats.packetsDropped).toBe(1);
    expect(r.writer.stats.packetsWritten).toBe(100);
    expect(ffmpegDecodeErrors(r.path)).toBe('');
  });
});

describe('OggOpusWriter: speed', () => {
  it('one hour of packets', () => {
    const packet = packets5s[10]!;
    let bytes = 0;
    const w = new OggOpusWriter({ tracks: [TRACK], write: (u) => { for (const b of u) bytes += b.length; } });
    const s: Mp4Sample = { dts: 0, data: packet, keyframe: true, duration: 960 };
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 3600 * 50; i++) {
      s.dts = i * 960;
      w.addSample(0, s);
    }
    const ns = Number(process.hrtime.bigint() - t0) / (3600 * 50);
    for (const b of w.finish().tail) bytes += b.length;
    console.log(`ogg opus writer, 1 h of ${packet.length}-byte packets: ${ns.toFixed(0)} ns/packet incl. CRC`);
    expect(w.stats.pagesWritten).toBe(3600);
    expect(bytes).toBe(w.stats.bytesWritten);
    expect(ns).toBeLessThan(20000);
  });
});
