import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mp4Fragmenter, type Mp4FragmenterOptions } from '../src/mux/mp4/fragmenter.js';
import type { Mp4Sample, Mp4TrackSpec } from '../src/mux/mp4/track.js';
import { type AccessUnit, gop10Wide, gop40, opusPackets } from './data/mp4/fixtures.js';
import { ffmpegDecodeErrors, ffprobeFrames, ffprobePackets, ffprobeStreams, parseMp4, tempDir } from './helpers/oracles.js';

const VIDEO: Mp4TrackSpec = { kind: 'video', codec: 'h264', timescale: 90000 };
const AUDIO: Mp4TrackSpec = { kind: 'audio', codec: 'opus', timescale: 48000, channels: 2, preSkip: 312 };

interface Feed {
  track: number;
  /** Media time in seconds, for interleaving. */
  t: number;
  sample: Mp4Sample;
}

/** Video samples at `fps` from `startMs`, in the 90 kHz timescale. */
function videoFeed(track: number, units: AccessUnit[], startMs: number, fps = 10): Feed[] {
  return units.map((u, i) => {
    const dts = Math.round(((startMs + (i * 1000) / fps) * 90000) / 1000);
    const sample: Mp4Sample = { dts, data: u.data, keyframe: u.keyframe };
    if (u.config) sample.config = u.config;
    return { track, t: dts / 90000, sample };
  });
}

/** 20 ms Opus packets from `startMs`, in the 48 kHz timescale. */
function audioFeed(track: number, packets: Buffer[], startMs: number): Feed[] {
  return packets.map((data, i) => {
    const dts = Math.round(startMs * 48) + i * 960;
    return { track, t: dts / 48000, sample: { dts, data, keyframe: true, duration: 960 } };
  });
}

/** Merges per-track feeds by media time (stable: equal times keep track order). */
function interleave(...feeds: Feed[][]): Feed[] {
  return feeds.flat().sort((a, b) => a.t - b.t);
}

interface Recording {
  chunks: Buffer[];
  file: Buffer;
  path: string;
  fragmenter: Mp4Fragmenter;
  /** For each write() call, how many feed items had been added when it happened (counting the one being added). */
  writtenAfter: number[];
}

let dir: string;
beforeAll(() => {
  dir = tempDir('mp4-fragmenter-');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function record(name: string, tracks: Mp4TrackSpec[], feed: Feed[], options: Partial<Mp4FragmenterOptions> = {}): Recording {
  const chunks: Buffer[] = [];
  const writtenAfter: number[] = [];
  let fed = 0;
  const fragmenter = new Mp4Fragmenter({
    tracks,
    ...options,
    write: (parts) => {
      chunks.push(Buffer.concat(parts));
      writtenAfter.push(fed);
    },
  });
  for (const f of feed) {
    fed++;
    fragmenter.addSample(f.track, f.sample);
  }
  fragmenter.finish();
  const file = Buffer.concat(chunks);
  const path = join(dir, `${name}.mp4`);
  writeFileSync(path, file);
  return { chunks, file, path, fragmenter, writtenAfter };
}

function topLevelTypes(b: Buffer): string[] {
  const out: string[] = [];
  for (let off = 0; off < b.length; ) {
    const size = b.readUInt32BE(off);
    out.push(b.toString('latin1', off + 4, off + 8));
    if (size < 8 || off + size > b.length) throw new Error('bad box');
    off += size;
  }
  return out;
}

/** Per fragment (mp4box's moofs), sample count and duration in seconds of each track id. */
function fragmentTable(file: Buffer): { samples: Map<number, number>; seconds: Map<number, number>; firstSync: Map<number, boolean> }[] {
  const mp4 = parseMp4(file);
  const timescales = new Map<number, number>(mp4.info.tracks.map((t) => [t.id, t.timescale]));
  const cursor = new Map<number, number>();
  return mp4.file.moofs.map((moof: any) => {
    const samples = new Map<number, number>();
    const seconds = new Map<number, number>();
    const firstSync = new Map<number, boolean>();
    for (const traf of moof.trafs) {
      const id: number = traf.tfhd.track_id;
      let n = 0;
      for (const trun of traf.truns) n += trun.sample_count;
      const all = mp4.samples(id);
      const from = cursor.get(id) ?? 0;
      const these = all.slice(from, from + n);
      cursor.set(id, from + n);
      samples.set(id, n);
      seconds.set(id, these.reduce((s, x) => s + x.duration, 0) / timescales.get(id)!);
      firstSync.set(id, these[0]!.is_sync);
    }
    return { samples, seconds, firstSync };
  });
}

const repeat = <T>(arr: T[], times: number): T[] => Array.from({ length: times }, () => arr).flat();

describe('Mp4Fragmenter: H264 + Opus', () => {
  let rec: Recording;
  let video: Feed[];
  let audio: Feed[];
  beforeAll(() => {
    video = videoFeed(0, repeat(gop40(), 2), 300); // 8 s from 0.3 s, IDR at 0.3 and 4.3
    audio = audioFeed(1, opusPackets(425), 0); // 8.5 s
    rec = record('av', [VIDEO, AUDIO], interleave(video, audio));
  });

  it('writes ftyp+moov once, then one moof+mdat per write', () => {
    expect(topLevelTypes(rec.chunks[0]!)).toEqual(['ftyp', 'moov']);
    for (const c of rec.chunks.slice(1)) expect(topLevelTypes(c)).toEqual(['moof', 'mdat']);
    expect(rec.fragmenter.stats.fragmentsWritten).toBe(rec.chunks.length - 1);
    expect(rec.fragmenter.stats.samplesWritten).toBe(video.length + audio.length);
    expect(rec.fragmenter.stats.bytesWritten).toBe(rec.file.length);
    expect(rec.fragmenter.stats.samplesPending).toBe(0);
    // about one fragment per second of media
    expect(rec.chunks.length - 1).toBeGreaterThanOrEqual(8);
    expect(rec.chunks.length - 1).toBeLessThanOrEqual(10);
  });

  it('mp4box reads codecs, timescales, sample counts, times and sync samples as fed', () => {
    const mp4 = parseMp4(rec.file);
    const [v, a] = mp4.info.tracks;
    expect(v!.codec).toBe('avc3.42c00b');
    expect(v!.timescale).toBe(90000);
    expect(v!.nb_samples).toBe(80);
    expect(a!.codec).toBe('Opus');
    expect(a!.timescale).toBe(48000);
    expect(a!.nb_samples).toBe(425);
    const vs = mp4.samples(1);
    expect(vs.map((s) => s.dts + mp4.emptyEdit(1))).toEqual(video.map((f) => f.sample.dts));
    expect(vs.map((s) => s.size)).toEqual(video.map((f) => f.sample.data.length));
    expect(vs.map((s, i) => (s.is_sync ? i : -1)).filter((i) => i >= 0)).toEqual([0, 40]);
    expect(vs.every((s) => s.duration === 9000)).toBe(true);
    const as = mp4.samples(2);
    expect(as.map((s) => s.dts + mp4.emptyEdit(2))).toEqual(audio.map((f) => f.sample.dts));
    expect(as.every((s) => s.is_sync && s.duration === 960)).toBe(true);
  });

  it('ffmpeg decodes it with no error; ffprobe frame counts, start times and durations match', () => {
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
    const probe = ffprobeStreams(rec.path);
    const [v, a] = probe.streams;
    expect(v!.codec_name).toBe('h264');
    expect(v!.codec_tag_string).toBe('avc3');
    expect([v!.width, v!.height]).toEqual([320, 240]);
    expect(v!.nb_read_frames).toBe('80');
    expect(Number(v!.start_time)).toBeCloseTo(0.3, 3);
    expect(a!.codec_name).toBe('opus');
    expect(a!.nb_read_frames).toBe('425');
    // The edit list starts the media at the pre-skip: packets 312 samples early, the first decoded sample at 0.
    expect(Number(a!.start_time)).toBe(-312 / 48000);
    expect(Number(ffprobeFrames(rec.path, 'a')[0]!.pts_time)).toBe(0);
    const packets = ffprobePackets(rec.path);
    const vp = packets.filter((p) => p.stream_index === 0);
    const ap = packets.filter((p) => p.stream_index === 1);
    expect(vp.map((p) => p.dts)).toEqual(video.map((f) => f.sample.dts));
    expect(ap.map((p) => p.dts)).toEqual(audio.map((f) => f.sample.dts - 312));
    const vEnd = (vp.at(-1)!.pts + vp.at(-1)!.duration!) / 90000;
    expect(Math.abs(vEnd - 8.3)).toBeLessThanOrEqual(0.1); // within one frame
    // ffprobe shows no packet durations for fragmented Opus (ffmpeg's own fragmented output too): use the stream's.
    expect(Math.abs(Number(a!.duration) - 8.5)).toBeLessThanOrEqual(0.02);
  });

  it('durationPatches() records the total length in mvhd and mehd', () => {
    const patched = Buffer.from(rec.file);
    const patches = rec.fragmenter.durationPatches();
    expect(patches.length).toBe(2);
    for (const p of patches) p.data.copy(patched, p.offset);
    const mp4 = parseMp4(patched);
    expect(mp4.file.moov.mvhd.duration).toBe(8500);
    expect(Number(mp4.file.moov.mvex.mehd.fragment_duration)).toBe(8500);
    const path = join(dir, 'av-patched.mp4');
    writeFileSync(path, patched);
    expect(ffmpegDecodeErrors(path)).toBe('');
  });
});

describe('Mp4Fragmenter: fragments by time', () => {
  it('with a 4 s GOP no fragment is longer than about 1 s, and fragments may start on non-sync samples', () => {
    const video = videoFeed(0, repeat(gop40(), 3), 0); // 12 s, IDR every 4 s
    const rec = record('gop4s', [VIDEO], video);
    const table = fragmentTable(rec.file);
    expect(table.length).toBeGreaterThanOrEqual(11);
    for (const f of table) expect(f.seconds.get(1)!).toBeLessThanOrEqual(1.0 + 1e-9);
    const startsNonSync = table.filter((f) => f.firstSync.get(1) === false).length;
    expect(startsNonSync).toBeGreaterThanOrEqual(8);
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
    const packets = ffprobePackets(rec.path);
    expect(packets.map((p) => p.flags[0] === 'K')).toEqual(video.map((f) => f.sample.keyframe));
  });

  it('fragmentDurationMs sets the cut interval', () => {
    const rec = record('half-second', [VIDEO, AUDIO], interleave(videoFeed(0, gop40(), 0), audioFeed(1, opusPackets(200), 0)), { fragmentDurationMs: 500 });
    const table = fragmentTable(rec.file);
    expect(table.length).toBeGreaterThanOrEqual(7);
    expect(table.length).toBeLessThanOrEqual(9);
    for (const f of table) {
      expect(f.seconds.get(1) ?? 0).toBeLessThanOrEqual(0.5 + 1e-9);
      expect(f.seconds.get(2) ?? 0).toBeLessThanOrEqual(0.5 + 0.02 + 1e-9);
    }
  });

  it('each fragment is written as soon as it completes (not at finish)', () => {
    const feed = interleave(videoFeed(0, gop40(), 0), audioFeed(1, opusPackets(200), 0));
    const rec = record('live', [VIDEO, AUDIO], feed);
    // Fragment k (1-based) is written once media time passes k seconds, i.e. well before the end.
    const fragmentWrites = rec.writtenAfter.slice(1);
    for (let k = 0; k < 3; k++) {
      const fedTime = feed[fragmentWrites[k]! - 1]!.t;
      expect(fedTime).toBeGreaterThanOrEqual(k + 1 - 0.1);
      expect(fedTime).toBeLessThanOrEqual(k + 1 + 0.1);
    }
  });
});

describe('Mp4Fragmenter: resolution change', () => {
  it('keeps decoding at the new size after a keyframe with a new SPS', () => {
    const units = [...gop40(), ...gop10Wide(), ...gop40().slice(0, 20)];
    const rec = record('res-change', [VIDEO], videoFeed(0, units, 0));
    const mp4 = parseMp4(rec.file);
    expect(mp4.info.tracks[0]!.codec).toBe('avc3.42c00b');
    expect(mp4.info.tracks[0]!.video).toEqual({ width: 320, height: 240 });
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
    const frames = ffprobeFrames(rec.path, 'v:0');
    expect(frames.length).toBe(80);
    const sizes = frames.map((f) => `${f.width}x${f.height}`);
    expect(sizes.slice(0, 40).every((s) => s === '320x240')).toBe(true);
    expect(sizes.slice(40, 60).every((s) => s === '640x360')).toBe(true);
    expect(sizes.slice(60).every((s) => s === '320x240')).toBe(true);
  });
});

describe('Mp4Fragmenter: track combinations', () => {
  it('audio only: the init segment is written at the first sample', () => {
    const rec = record('audio-only', [AUDIO], audioFeed(0, opusPackets(250), 0));
    expect(rec.writtenAfter[0]).toBe(1);
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
    const probe = ffprobeStreams(rec.path);
    expect(probe.streams.length).toBe(1);
    expect(probe.streams[0]!.nb_read_frames).toBe('250');
    expect(Number(probe.streams[0]!.duration)).toBeCloseTo(5, 2);
  });

  it('mono Opus', () => {
    const mono: Mp4TrackSpec = { kind: 'audio', codec: 'opus', timescale: 48000, channels: 1, preSkip: 312 };
    const rec = record('mono', [mono], audioFeed(0, opusPackets(100, 1), 0));
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
    const s = ffprobeStreams(rec.path).streams[0]!;
    expect(s.channels).toBe(1);
    expect(s.nb_read_frames).toBe('100');
  });

  it('video only', () => {
    const rec = record('video-only', [VIDEO], videoFeed(0, gop40(), 0));
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
    const probe = ffprobeStreams(rec.path);
    expect(probe.streams.length).toBe(1);
    expect(probe.streams[0]!.nb_read_frames).toBe('40');
  });

  it('a declared audio track that never gets a sample does not hold video back', () => {
    const video = videoFeed(0, gop40(), 0);
    const rec = record('silent-audio', [VIDEO, AUDIO], video);
    expect(rec.writtenAfter[0]).toBe(1); // init at the first keyframe
    expect(rec.writtenAfter[1]).toBeLessThanOrEqual(11); // first fragment after ~1 s of video
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
    const probe = ffprobeStreams(rec.path);
    expect(probe.streams[0]!.nb_read_frames).toBe('40');
    expect(probe.streams[1]!.codec_name).toBe('opus');
    expect(Number(probe.streams[1]!.nb_read_frames ?? 0)).toBe(0);
  });

  it('video starting 2 s after audio: the init segment waits for its configuration, then the timeline shows the offset', () => {
    const video = videoFeed(0, gop40(), 2000);
    const audio = audioFeed(1, opusPackets(300), 0);
    const feed = interleave(video, audio);
    const rec = record('late-video', [VIDEO, AUDIO], feed);
    const firstVideo = feed.findIndex((f) => f.track === 0);
    // Nothing is written before the video's first keyframe; then the init segment and the waiting fragments.
    expect(rec.writtenAfter[0]).toBe(firstVideo + 1);
    expect(rec.writtenAfter[1]).toBe(firstVideo + 1);
    expect(rec.writtenAfter[2]).toBe(firstVideo + 1);
    expect(parseMp4(rec.file).info.tracks[0]!.codec).toBe('avc3.42c00b');
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
    const probe = ffprobeStreams(rec.path);
    expect(Number(probe.streams[0]!.start_time)).toBeCloseTo(2, 3);
    expect(probe.streams[0]!.nb_read_frames).toBe('40');
    // The offset is an edit list, counted once: 4 s of video from 2 s, a 6 s file (not 8).
    expect(Number(probe.streams[0]!.duration)).toBeCloseTo(4, 3);
    // (and the audio's pre-skip before 0: ffprobe counts from its first packet)
    expect(Number(probe.format.duration)).toBeCloseTo(6 + 312 / 48000, 3);
    expect(Number(probe.streams[1]!.start_time)).toBe(-312 / 48000);
    expect(probe.streams[1]!.nb_read_frames).toBe('300');
  });

  it('video with no configuration within videoConfigWaitMs: audio goes out, video follows with in-band SPS/PPS', () => {
    const video = videoFeed(0, gop40(), 7000);
    const audio = audioFeed(1, opusPackets(550), 0);
    const feed = interleave(video, audio);
    const rec = record('no-config', [VIDEO, AUDIO], feed);
    const firstVideo = feed.findIndex((f) => f.track === 0);
    // Written at 5 s of media, long before the video shows up.
    expect(feed[rec.writtenAfter[0]! - 1]!.t).toBeCloseTo(5, 1);
    expect(rec.writtenAfter.filter((n) => n < firstVideo).length).toBeGreaterThanOrEqual(6);
    expect(rec.fragmenter.stats.videoTracksWithoutConfig).toBe(1);
    const mp4 = parseMp4(rec.file);
    expect(mp4.info.tracks[0]!.codec).toBe('avc3.42e01f');
    expect(mp4.info.tracks[0]!.nb_samples).toBe(40);
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
    const frames = ffprobeFrames(rec.path, 'v:0');
    expect(frames.length).toBe(40);
    expect(frames.every((f) => f.width === 320 && f.height === 240)).toBe(true);
    expect(Number(frames[0]!.pts_time)).toBeCloseTo(7, 3);
    const probe = ffprobeStreams(rec.path);
    expect(probe.streams[1]!.nb_read_frames).toBe('550');
  });

  it('a shorter wait can be configured', () => {
    const feed = interleave(videoFeed(0, gop40(), 3000), audioFeed(1, opusPackets(200), 0));
    const rec = record('short-wait', [VIDEO, AUDIO], feed, { videoConfigWaitMs: 1000 });
    expect(feed[rec.writtenAfter[0]! - 1]!.t).toBeCloseTo(1, 1);
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
  });

  it('a recording that ends before any video arrives leaves the video track out', () => {
    const rec = record('no-video-short', [VIDEO, AUDIO], audioFeed(1, opusPackets(100), 0));
    expect(rec.fragmenter.stats.tracksOmitted).toBe(1);
    const mp4 = parseMp4(rec.file);
    expect(mp4.info.tracks.map((t) => [t.id, t.codec])).toEqual([[2, 'Opus']]);
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
    expect(ffprobeStreams(rec.path).streams[0]!.nb_read_frames).toBe('100');
  });

  it('video samples before the first keyframe are dropped', () => {
    const units = gop40();
    const feed = videoFeed(0, [units[5]!, units[6]!, ...units], 0);
    const rec = record('leading-p', [VIDEO], feed);
    expect(rec.fragmenter.stats.samplesDroppedBeforeKeyframe).toBe(2);
    const mp4 = parseMp4(rec.file);
    const vs = mp4.samples(1);
    expect(vs.length).toBe(40);
    expect(vs[0]!.is_sync).toBe(true);
    expect(vs[0]!.dts).toBe(0);
    expect(mp4.emptyEdit(1)).toBe(18000); // presented from 0.2 s
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
  });
});

describe('Mp4Fragmenter: sample durations', () => {
  it('durations are the dts differences (jitter, DTX gaps); held last samples get the stated or previous duration', () => {
    const units = gop40().slice(0, 30);
    let dts = 0;
    const video: Feed[] = units.map((u, i) => {
      const sample: Mp4Sample = { dts, data: u.data, keyframe: u.keyframe };
      if (u.config) sample.config = u.config;
      const f = { track: 0, t: dts / 90000, sample };
      dts += 9000 + ((i * 37) % 7) * 300 - 900; // 0.09..0.108 s, irregular
      return f;
    });
    const packets = opusPackets(150);
    const audio: Feed[] = packets.map((data, i) => {
      const at = i < 50 ? i * 960 : (i + 50) * 960; // 1 s DTX gap after packet 49
      return { track: 1, t: at / 48000, sample: { dts: at, data, keyframe: true, duration: 960 } };
    });
    const rec = record('durations', [VIDEO, AUDIO], interleave(video, audio));
    const mp4 = parseMp4(rec.file);
    const vs = mp4.samples(1);
    expect(vs.map((s) => s.dts + mp4.emptyEdit(1))).toEqual(video.map((f) => f.sample.dts));
    for (let i = 0; i + 1 < vs.length; i++) expect(vs[i]!.duration).toBe(vs[i + 1]!.dts - vs[i]!.dts);
    expect(vs.at(-1)!.duration).toBe(vs.at(-2)!.duration);
    const as = mp4.samples(2);
    expect(as.map((s) => s.dts + mp4.emptyEdit(2))).toEqual(audio.map((f) => f.sample.dts));
    expect(as[49]!.duration).toBe(51 * 960);
    expect(as.at(-1)!.duration).toBe(960);
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
    expect(ffprobePackets(rec.path).filter((p) => p.stream_index === 1).map((p) => p.pts)).toEqual(audio.map((f) => f.sample.dts - 312));
  });

  it('a pause of every track leaves no empty fragment and keeps times', () => {
    const feed = interleave(videoFeed(0, gop40().slice(0, 20), 0), videoFeed(0, gop40().slice(0, 20), 30000).map((f) => ({ ...f })));
    const rec = record('pause', [VIDEO], feed);
    const vs = parseMp4(rec.file).samples(1);
    expect(vs.map((s) => s.dts)).toEqual(feed.map((f) => f.sample.dts));
    for (const c of rec.chunks.slice(1)) expect(topLevelTypes(c)).toEqual(['moof', 'mdat']);
    expect(ffmpegDecodeErrors(rec.path)).toBe('');
  });

  it('negative or decreasing timestamps are raised so each track stays monotonic', () => {
    const feed = videoFeed(0, gop40().slice(0, 12), 0);
    feed[0]!.sample.dts = -500;
    feed[5]!.sample.dts = feed[3]!.sample.dts; // back in time
    const rec = record('clamped', [VIDEO], feed);
    expect(rec.fragmenter.stats.timestampsClamped).toBe(2);
    const dts = parseMp4(rec.file).samples(1).map((s) => s.dts);
    expect(dts[0]).toBe(0);
    expect(dts[5]).toBe(dts[4]);
    for (let i = 1; i < dts.length; i++) expect(dts[i]!).toBeGreaterThanOrEqual(dts[i - 1]!);
    // (ffmpeg's muxer would complain about the two equal dts when transcoding; the demuxer reads them all.)
    expect(ffprobePackets(rec.path).map((p) => p.dts)).toEqual(dts);
  });

  it('maxSamplesPerFragment cuts a fragment whose timestamps do not advance', () => {
    const u = gop40();
    const feed: Feed[] = u.map((x, i) => ({ track: 0, t: 0, sample: { dts: 0, data: x.data, keyframe: x.keyframe, ...(i === 0 ? { config: x.config! } : {}) } }));
    const rec = record('stuck', [VIDEO], feed, { maxSamplesPerFragment: 8 });
    expect(rec.fragmenter.stats.fragmentsWritten).toBeGreaterThanOrEqual(5);
    expect(rec.fragmenter.stats.sampleTableCapacity).toBe(64);
    expect(parseMp4(rec.file).info.tracks[0]!.nb_samples).toBe(40);
  });
});

describe('Mp4Fragmenter: kill safety', () => {
  let rec: Recording;
  let table: ReturnType<typeof fragmentTable>;
  beforeAll(() => {
    rec = record('kill', [VIDEO, AUDIO], interleave(videoFeed(0, repeat(gop40(), 2), 0), audioFeed(1, opusPackets(400), 0)));
    table = fragmentTable(rec.file);
  });

  const cumulative = (k: number, id: number): number => table.slice(0, k).reduce((s, f) => s + (f.samples.get(id) ?? 0), 0);

  it('every prefix that ends at a fragment boundary decodes with no error and holds all its frames', () => {
    expect(table.length).toBe(rec.chunks.length - 1);
    let size = rec.chunks[0]!.length;
    for (let k = 1; k < rec.chunks.length; k++) {
      size += rec.chunks[k]!.length;
      const path = join(dir, `kill-${k}.mp4`);
      writeFileSync(path, rec.file.subarray(0, size));
      expect(ffmpegDecodeErrors(path), `prefix of ${k} fragments`).toBe('');
      const probe = ffprobeStreams(path);
      expect(probe.streams[0]!.nb_read_frames, `video frames, ${k} fragments`).toBe(String(cumulative(k, 1)));
      expect(probe.streams[1]!.nb_read_frames, `audio frames, ${k} fragments`).toBe(String(cumulative(k, 2)));
    }
  });

  it('a cut in the middle of a fragment still decodes every earlier fragment', () => {
    let size = rec.chunks[0]!.length;
    for (let k = 1; k < rec.chunks.length; k++) {
      const cutAt = size + Math.floor(rec.chunks[k]!.length / 2);
      const path = join(dir, `kill-mid-${k}.mp4`);
      writeFileSync(path, rec.file.subarray(0, cutAt));
      // ffmpeg may warn about the truncated tail; count what it decodes.
      const r = spawnSync('ffprobe', ['-v', 'quiet', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', path], { encoding: 'utf8' });
      const [v, a] = r.stdout.trim().split('\n').map((s) => Number(s));
      expect(v!, `video, cut inside fragment ${k}`).toBeGreaterThanOrEqual(cumulative(k - 1, 1));
      expect(a!, `audio, cut inside fragment ${k}`).toBeGreaterThanOrEqual(cumulative(k - 1, 2));
      expect(v!).toBeLessThanOrEqual(cumulative(k, 1));
      size += rec.chunks[k]!.length;
    }
  });
});

describe('Mp4Fragmenter: API', () => {
  it('addSample after finish throws; finish is idempotent; bad track index throws', () => {
    const chunks: Buffer[] = [];
    const f = new Mp4Fragmenter({ tracks: [AUDIO], write: (c) => chunks.push(Buffer.concat(c)) });
    expect(() => f.addSample(1, { dts: 0, data: Buffer.alloc(3), keyframe: true })).toThrow(RangeError);
    f.addSample(0, { dts: 0, data: Buffer.alloc(3), keyframe: true, duration: 960 });
    f.finish();
    const n = chunks.length;
    f.finish();
    expect(chunks.length).toBe(n);
    expect(() => f.addSample(0, { dts: 960, data: Buffer.alloc(3), keyframe: true })).toThrow(/after finish/);
  });

  it('an empty recording still writes a valid init segment at finish', () => {
    const chunks: Buffer[] = [];
    const f = new Mp4Fragmenter({ tracks: [AUDIO], write: (c) => chunks.push(Buffer.concat(c)) });
    f.finish();
    expect(chunks.length).toBe(1);
    expect(topLevelTypes(chunks[0]!)).toEqual(['ftyp', 'moov']);
    expect(parseMp4(chunks[0]!).info.tracks.length).toBe(1);
  });

  it('hands sample payloads over as they came (no copy) and never reuses a header buffer', () => {
    const payloads = opusPackets(200);
    const units: Buffer[][] = [];
    const copies: Buffer[] = [];
    const f = new Mp4Fragmenter({ tracks: [AUDIO], write: (parts) => (units.push(parts), copies.push(Buffer.concat(parts))) });
    for (const fd of audioFeed(0, payloads, 0)) f.addSample(0, fd.sample);
    f.finish();
    expect(units.length).toBeGreaterThan(3);
    units.forEach((parts, i) => expect(Buffer.concat(parts).equals(copies[i]!)).toBe(true));
    const handedOver = units.slice(1).flatMap((parts) => parts.slice(1));
    expect(handedOver).toHaveLength(payloads.length);
    handedOver.forEach((part, i) => expect(part).toBe(payloads[i]));
  });
});

describe('Mp4Fragmenter: memory and speed', () => {
  it('one hour of samples: retained state stays flat', () => {
    const tiny = Buffer.alloc(12, 1);
    let bytes = 0;
    let fragments = 0;
    const f = new Mp4Fragmenter({
      tracks: [VIDEO, AUDIO],
      write: (parts) => {
        for (const p of parts) bytes += p.length;
        fragments++;
      },
    });
    // 30 fps video (IDR every 4 s), 50 Opus packets/s, interleaved by time. The fragmenter keeps
    // only the payload of a sample, so one sample object per track is reused here.
    const vs: Mp4Sample = { dts: 0, data: tiny, keyframe: true, config: gop40()[0]!.config! };
    const as: Mp4Sample = { dts: 0, data: tiny, keyframe: true, duration: 960 };
    const addSecond = (s: number): void => {
      let v = 0;
      let a = 0;
      while (v < 30 || a < 50) {
        if (v < 30 && (a >= 50 || v * 50 <= a * 30)) {
          const frame = s * 30 + v;
          vs.dts = frame * 3000;
          vs.keyframe = frame % 120 === 0;
          f.addSample(0, vs);
          v++;
        } else {
          as.dts = (s * 50 + a) * 960;
          f.addSample(1, as);
          a++;
        }
      }
    };
    addSecond(0);
    delete vs.config;
    for (let s = 1; s < 60; s++) addSecond(s);
    const capacityAfterMinute = f.stats.sampleTableCapacity;
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = process.hrtime.bigint();
    for (let s = 60; s < 3600; s++) addSecond(s);
    const ns = Number(process.hrtime.bigint() - t0) / ((3600 - 60) * 80);
    const heapAfter = process.memoryUsage().heapUsed;
    f.finish();
    console.log(`fragmenter, 1 h of 12-byte samples: ${ns.toFixed(0)} ns/sample incl. serialization (fresh Buffer per fragment), heap delta ${((heapAfter - heapBefore) / 1e6).toFixed(1)} MB`);
    expect(f.stats.sampleTableCapacity).toBe(capacityAfterMinute);
    expect(capacityAfterMinute).toBeLessThanOrEqual(256);
    expect(f.stats.samplesWritten).toBe(3600 * 80);
    expect(f.stats.samplesPending).toBe(0);
    expect(fragments).toBeGreaterThanOrEqual(3600);
    expect(fragments).toBeLessThanOrEqual(3602);
    expect(bytes).toBe(f.stats.bytesWritten);
  });
});
