import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { H264Config } from '../src/codec/frame.js';
import {
  avcC,
  box,
  dinf,
  dOps,
  fourcc,
  ftyp,
  fullBox,
  hdlr,
  initSegment,
  mdhd,
  MDAT_HEADER_SIZE,
  mehd,
  MFHD_SIZE,
  MOOF_HEADER_SIZE,
  mvhd,
  opusSampleEntry,
  readSpsChromaFields,
  SAMPLE_FLAGS_NON_SYNC,
  SAMPLE_FLAGS_SYNC,
  smhd,
  tkhd,
  trafSize,
  trex,
  vmhd,
  writeMdatHeader,
  writeMoofStart,
  writeTraf,
  writeUInt64BE,
} from '../src/mux/mp4/boxes.js';
import { gop40, opusPackets } from './data/mp4/fixtures.js';
import { ffmpegDecodeErrors, ffprobePackets, ffprobeStreams, parseMp4, tempDir } from './helpers/oracles.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('mp4-boxes-');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const type = (b: Buffer, at = 4): string => b.toString('latin1', at, at + 4);

/** A top-level box list: [type, size] pairs. */
function topLevel(b: Buffer): [string, number][] {
  const out: [string, number][] = [];
  for (let off = 0; off < b.length; ) {
    const size = b.readUInt32BE(off);
    out.push([type(b, off + 4), size]);
    if (size < 8) throw new Error('bad size');
    off += size;
  }
  return out;
}

const config320 = (): H264Config => gop40()[0]!.config!;

/** One fragment built by hand from the in-place writers (the fragmenter's way). */
function handFragment(
  seq: number,
  runs: { trackId: number; tfdt: number; durations: number[]; samples: Buffer[]; flags: number[] }[],
): Buffer {
  let moofSize = MOOF_HEADER_SIZE + MFHD_SIZE;
  let dataSize = 0;
  for (const r of runs) {
    moofSize += trafSize(r.samples.length);
    for (const s of r.samples) dataSize += s.length;
  }
  const buf = Buffer.alloc(moofSize + MDAT_HEADER_SIZE + dataSize);
  let off = writeMoofStart(buf, 0, moofSize, seq);
  let dataOffset = moofSize + MDAT_HEADER_SIZE;
  for (const r of runs) {
    off = writeTraf(
      buf, off, r.trackId, r.tfdt, dataOffset, r.samples.length,
      Uint32Array.from(r.durations), Uint32Array.from(r.samples.map((s) => s.length)), Uint32Array.from(r.flags),
    );
    for (const s of r.samples) dataOffset += s.length;
  }
  expect(off).toBe(moofSize);
  off = writeMdatHeader(buf, off, dataSize);
  for (const r of runs) for (const s of r.samples) off += s.copy(buf, off);
  expect(off).toBe(buf.length);
  return buf;
}

describe('box helpers', () => {
  it('box and fullBox write size, type, version and flags', () => {
    const b = box('abcd', Buffer.from([1, 2]), Buffer.from([3]));
    expect([...b]).toEqual([0, 0, 0, 11, 0x61, 0x62, 0x63, 0x64, 1, 2, 3]);
    const f = fullBox('wxyz', 1, 0x020304, Buffer.from([9]));
    expect([...f]).toEqual([0, 0, 0, 13, 0x77, 0x78, 0x79, 0x7a, 1, 2, 3, 4, 9]);
    expect(fourcc('moof')).toBe(0x6d6f6f66);
  });

  it('writes 64-bit values past 2^32', () => {
    const b = Buffer.alloc(8);
    writeUInt64BE(b, 2 ** 32 * 5 + 7, 0);
    expect(b.readBigUInt64BE(0)).toBe(5n * 2n ** 32n + 7n);
    writeUInt64BE(b, 2 ** 52 + 3, 0);
    expect(b.readBigUInt64BE(0)).toBe(2n ** 52n + 3n);
  });

  it('fixed-size boxes have their spec sizes', () => {
    expect(mvhd(1000, 3).length).toBe(108);
    expect(tkhd(1, false, 320, 240).length).toBe(92);
    expect(mdhd(90000).length).toBe(32);
    expect(vmhd().length).toBe(20);
    expect(smhd().length).toBe(16);
    expect(dinf().length).toBe(36);
    expect(trex(1).length).toBe(32);
    expect(mehd().length).toBe(20);
    expect(dOps(2, 312).length).toBe(19);
  });

  it('tkhd carries track id, volume and 16.16 size', () => {
    const v = tkhd(7, false, 640, 360);
    expect(v.readUInt32BE(8) & 0xffffff).toBe(7); // flags enabled|in_movie|in_preview
    expect(v.readUInt32BE(20)).toBe(7);
    expect(v.readUInt16BE(44)).toBe(0);
    expect(v.readUInt32BE(84)).toBe(640 * 65536);
    expect(v.readUInt32BE(88)).toBe(360 * 65536);
    expect(tkhd(2, true, 0, 0).readUInt16BE(44)).toBe(0x0100);
  });

  it('mdhd and hdlr', () => {
    const m = mdhd(48000);
    expect(m.readUInt32BE(20)).toBe(48000);
    expect(m.readUInt32BE(24)).toBe(0); // duration
    expect(m.readUInt16BE(28)).toBe(0x55c4); // 'und'
    const h = hdlr('soun', 'SoundHandler');
    expect(type(h, 16)).toBe('soun');
    expect(h.toString('latin1', 32)).toBe('SoundHandler\0');
  });

  it('ftyp declares iso6 and the usual compatible brands', () => {
    const f = ftyp();
    expect(type(f)).toBe('ftyp');
    expect(type(f, 8)).toBe('iso6');
    const brands = f.toString('latin1', 16).match(/.{4}/g);
    expect(brands).toEqual(['iso6', 'iso5', 'isom', 'avc1', 'mp41']);
  });
});

describe('codec boxes', () => {
  it('avcC holds the first SPS and PPS with 4-byte lengths', () => {
    const c = config320();
    const b = avcC(c);
    expect(type(b)).toBe('avcC');
    const p = b.subarray(8);
    expect([...p.subarray(0, 6)]).toEqual([1, c.profileIndication, c.profileCompatibility, c.levelIndication, 0xff, 0xe1]);
    const spsLen = p.readUInt16BE(6);
    expect(p.subarray(8, 8 + spsLen).equals(c.sps[0]!)).toBe(true);
    expect(p[8 + spsLen]).toBe(1);
    const ppsLen = p.readUInt16BE(9 + spsLen);
    expect(p.subarray(11 + spsLen, 11 + spsLen + ppsLen).equals(c.pps[0]!)).toBe(true);
    expect(p.length).toBe(11 + spsLen + ppsLen); // baseline: no High-profile trailer
  });

  it('avcC without a configuration has no parameter sets and the placeholder profile 42E01F', () => {
    expect([...avcC(undefined).subarray(8)]).toEqual([1, 0x42, 0xe0, 0x1f, 0xff, 0xe0, 0]);
  });

  it('reads chroma format and bit depth from High-profile SPS', () => {
    // ue(sps_id=0)=1, ue(chroma=1)=010, ue(0)=1, ue(0)=1 -> 1010 11..
    expect(readSpsChromaFields(Buffer.from([0x67, 100, 0, 0x1f, 0b10101100]))).toEqual({ chromaFormat: 1, bitDepthLumaMinus8: 0, bitDepthChromaMinus8: 0 });
    // ue(0)=1, ue(3)=00100, u(1)=0, ue(2)=011, ue(2)=011 -> 1001 0000 1101 1...
    expect(readSpsChromaFields(Buffer.from([0x67, 244, 0, 0x1f, 0b10010000, 0b11011000]))).toEqual({ chromaFormat: 3, bitDepthLumaMinus8: 2, bitDepthChromaMinus8: 2 });
    expect(readSpsChromaFields(Buffer.from([0x67, 100, 0, 0x1f]))).toBeUndefined();
    const high: H264Config = { ...config320(), sps: [Buffer.from([0x67, 100, 0, 0x1f, 0b10101100])], profileIndication: 100, profileCompatibility: 0, levelIndication: 0x1f };
    const b = avcC(high);
    expect([...b.subarray(b.length - 4)]).toEqual([0xfd, 0xf8, 0xf8, 0]);
  });

  it('Opus sample entry and dOps follow the Opus-in-ISOBMFF layout', () => {
    const e = opusSampleEntry(2, 312);
    expect(type(e)).toBe('Opus');
    expect(e.readUInt16BE(14)).toBe(1); // data_reference_index
    expect(e.readUInt16BE(24)).toBe(2); // channelcount
    expect(e.readUInt16BE(26)).toBe(16); // samplesize
    expect(e.readUInt32BE(32)).toBe(48000 * 65536); // samplerate 16.16
    const d = e.subarray(36);
    expect(type(d)).toBe('dOps');
    expect([...d.subarray(8)]).toEqual([0, 2, 0x01, 0x38, 0, 0, 0xbb, 0x80, 0, 0, 0]);
  });
});

describe('init segment', () => {
  const tracks = (): Parameters<typeof initSegment>[0] => [
    { kind: 'video', trackId: 1, timescale: 90000, codec: 'h264', config: config320() },
    { kind: 'audio', trackId: 2, timescale: 48000, channels: 2, preSkip: 312 },
  ];

  it('is ftyp + moov with the expected children', () => {
    const init = initSegment(tracks());
    expect(topLevel(init.data).map(([t]) => t)).toEqual(['ftyp', 'moov']);
    const moov = init.data.subarray(init.data.readUInt32BE(0));
    expect(topLevel(moov.subarray(8)).map(([t]) => t)).toEqual(['mvhd', 'trak', 'trak', 'mvex']);
  });

  it('mp4box reads tracks, codecs, timescales and sample entries', () => {
    const { info, file } = parseMp4(initSegment(tracks()).data);
    expect(info.isFragmented).toBe(true);
    expect(info.timescale).toBe(1000);
    expect(info.duration).toBe(0);
    const [v, a] = info.tracks;
    expect(v!.codec).toBe('avc3.42c00b');
    expect(v!.timescale).toBe(90000);
    expect(v!.video).toEqual({ width: 320, height: 240 });
    expect(v!.track_width).toBe(320);
    expect(a!.codec).toBe('Opus');
    expect(a!.timescale).toBe(48000);
    expect(a!.audio!.sample_rate).toBe(48000);
    expect(a!.audio!.channel_count).toBe(2);
    expect(file.moov.mvex.trexs.map((t: any) => t.track_id)).toEqual([1, 2]);
    const dops = file.moov.traks[1].mdia.minf.stbl.stsd.entries[0].dOps;
    expect(dops.PreSkip).toBe(312);
    expect(dops.OutputChannelCount).toBe(2);
    expect(dops.InputSampleRate).toBe(48000);
  });

  it('a video track without configuration gets an avc3 entry with no parameter sets and tkhd 0x0', () => {
    const { info } = parseMp4(initSegment([{ kind: 'video', trackId: 1, timescale: 90000, codec: 'h264', config: undefined }]).data);
    expect(info.tracks[0]!.codec).toBe('avc3.42e01f');
    expect(info.tracks[0]!.track_width).toBe(0);
    expect(info.tracks[0]!.video!.width).toBeGreaterThan(0);
  });

  it('duration offsets point at mvhd.duration and mehd.fragment_duration', () => {
    const init = initSegment(tracks());
    const data = Buffer.from(init.data);
    data.writeUInt32BE(12345, init.mvhdDurationOffset);
    writeUInt64BE(data, 12345, init.mehdDurationOffset);
    const { file } = parseMp4(data);
    expect(file.moov.mvhd.duration).toBe(12345);
    expect(Number(file.moov.mvex.mehd.fragment_duration)).toBe(12345);
  });
});

describe('movie fragments', () => {
  it('hand-built fragments parse in mp4box and ffprobe with the right times, sizes and flags', () => {
    const video = gop40().slice(0, 6);
    const audio = opusPackets(20);
    const init = initSegment([
      { kind: 'video', trackId: 1, timescale: 90000, codec: 'h264', config: video[0]!.config },
      { kind: 'audio', trackId: 2, timescale: 48000, channels: 2, preSkip: 0 },
    ]).data;
    const flag = (k: boolean): number => (k ? SAMPLE_FLAGS_SYNC : SAMPLE_FLAGS_NON_SYNC);
    const f1 = handFragment(1, [
      { trackId: 1, tfdt: 0, durations: [9000, 9000, 9000], samples: video.slice(0, 3).map((u) => u.data), flags: video.slice(0, 3).map((u) => flag(u.keyframe)) },
      { trackId: 2, tfdt: 0, durations: Array(10).fill(960), samples: audio.slice(0, 10), flags: Array(10).fill(SAMPLE_FLAGS_SYNC) },
    ]);
    // Second fragment starts with a non-sync video sample; audio first.
    const f2 = handFragment(2, [
      { trackId: 2, tfdt: 9600, durations: Array(10).fill(960), samples: audio.slice(10), flags: Array(10).fill(SAMPLE_FLAGS_SYNC) },
      { trackId: 1, tfdt: 27000, durations: [9000, 9000, 9000], samples: video.slice(3).map((u) => u.data), flags: video.slice(3).map((u) => flag(u.keyframe)) },
    ]);
    expect(topLevel(f1).map(([t]) => t)).toEqual(['moof', 'mdat']);
    const file = Buffer.concat([init, f1, f2]);

    const mp4 = parseMp4(file);
    const vs = mp4.samples(1);
    expect(vs.map((s) => s.dts)).toEqual([0, 9000, 18000, 27000, 36000, 45000]);
    expect(vs.map((s) => s.size)).toEqual(video.map((u) => u.data.length));
    expect(vs.map((s) => s.is_sync)).toEqual([true, false, false, false, false, false]);
    const as = mp4.samples(2);
    expect(as.length).toBe(20);
    expect(as[19]!.dts).toBe(19 * 960);
    expect(mp4.file.moofs.map((m: any) => m.mfhd.sequence_number)).toEqual([1, 2]);

    const path = join(dir, 'hand.mp4');
    writeFileSync(path, file);
    expect(ffmpegDecodeErrors(path)).toBe('');
    const packets = ffprobePackets(path);
    const v = packets.filter((p) => p.stream_index === 0);
    expect(v.map((p) => p.dts)).toEqual([0, 9000, 18000, 27000, 36000, 45000]);
    expect(v.map((p) => p.flags[0])).toEqual(['K', '_', '_', '_', '_', '_']);
    const probe = ffprobeStreams(path);
    expect(probe.streams.map((s) => s.codec_tag_string)).toEqual(['avc3', 'Opus']);
    expect(probe.streams[0]!.nb_read_frames).toBe('6');
    expect(probe.streams[1]!.nb_read_frames).toBe('20');
  });

  it('tfdt version 1 carries decode times past 2^32', () => {
    const video = gop40().slice(0, 2);
    const base = 2 ** 32 + 90000 * 3; // 13.3 h at 90 kHz
    const init = initSegment([{ kind: 'video', trackId: 1, timescale: 90000, codec: 'h264', config: video[0]!.config }]).data;
    const frag = handFragment(1, [
      { trackId: 1, tfdt: base, durations: [9000, 9000], samples: video.map((u) => u.data), flags: [SAMPLE_FLAGS_SYNC, SAMPLE_FLAGS_NON_SYNC] },
    ]);
    const mp4 = parseMp4(Buffer.concat([init, frag]));
    expect(Number(mp4.file.moofs[0].trafs[0].tfdt.baseMediaDecodeTime)).toBe(base);
    const path = join(dir, 'big-tfdt.mp4');
    writeFileSync(path, Buffer.concat([init, frag]));
    expect(ffprobePackets(path).map((p) => p.dts)).toEqual([base, base + 9000]);
  });
});
