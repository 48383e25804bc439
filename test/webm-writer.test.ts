import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoConfig } from '../src/codec/frame.js';
import { av1CodecConfigurationRecord, opusHead } from '../src/mux/codec-private.js';
import { avcC } from '../src/mux/mp4/boxes.js';
import { MatroskaWriter, type MatroskaSample, type MatroskaTrackSpec, type MatroskaWriterOptions } from '../src/mux/webm/writer.js';
import { gop10Wide, gop40, opusPackets } from './data/mp4/fixtures.js';
import { av1Frames, type VideoFrame, vp8Frames, vp9Frames } from './data/webm/fixtures.js';
import { ffmpegDecodeErrors, ffprobeFrames, ffprobePackets, ffprobeStreams, mkvinfo, tempDir } from './helpers/oracles.js';

type VideoCodec = 'vp8' | 'vp9' | 'av1' | 'h264';
const video = (codec: VideoCodec): MatroskaTrackSpec => ({ kind: 'video', codec, timescale: 90000 });
const AUDIO: MatroskaTrackSpec = { kind: 'audio', codec: 'opus', timescale: 48000, channels: 2, preSkip: 312 };
const AUDIO_NO_SKIP: MatroskaTrackSpec = { kind: 'audio', codec: 'opus', timescale: 48000, channels: 2, preSkip: 0 };

interface Feed {
  track: number;
  /** Media time in seconds, for interleaving. */
  t: number;
  sample: MatroskaSample;
}

/** Two GOPs of 10 frames at the small size, and one at the large size, per codec (H264: 20 frames of 640x360, two GOPs). */
const clips: Record<VideoCodec, { small: () => VideoFrame[]; large: () => VideoFrame[]; smallSize: [number, number]; largeSize: [number, number] }> = {
  vp8: { small: once(() => vp8Frames('160x120')), large: once(() => vp8Frames('320x180')), smallSize: [160, 120], largeSize: [320, 180] },
  vp9: { small: once(() => vp9Frames('160x120')), large: once(() => vp9Frames('320x180')), smallSize: [160, 120], largeSize: [320, 180] },
  av1: { small: once(() => av1Frames('160x120')), large: once(() => av1Frames('320x180')), smallSize: [160, 120], largeSize: [320, 180] },
  h264: { small: once(() => gop10Wide()), large: once(() => gop40().slice(0, 10)), smallSize: [640, 360], largeSize: [320, 240] },
};

/** Loads a clip once: the same Buffers each time (the zero-copy test looks for them in the output). */
function once<T>(load: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= load());
}

const sameConfig = (a: VideoConfig | undefined, b: VideoConfig): boolean => a !== undefined && a.codec === b.codec && a.width === b.width && a.height === b.height;

/**
 * Video samples at `fps` from `startMs` (90 kHz), the frames played `repeat` times in a row (each
 * clip starts with a keyframe, so repeating it is a valid stream). Like a depacketizer, a sample
 * carries `config` only when the configuration changes.
 */
function videoFeed(track: number, frames: VideoFrame[], startMs: number, options: { fps?: number; repeat?: number; spacingMs?: number } = {}): Feed[] {
  const repeat = options.repeat ?? 1;
  const spacingMs = options.spacingMs ?? 1000 / (options.fps ?? 10);
  const out: Feed[] = [];
  let last: VideoConfig | undefined;
  for (let r = 0; r < repeat; r++) {
    frames.forEach((f) => {
      const i = out.length;
      const dts = Math.round((startMs + i * spacingMs) * 90);
      const sample: MatroskaSample = { dts, data: f.data, keyframe: f.keyframe };
      if (f.config && !sameConfig(last, f.config)) {
        sample.config = f.config;
        last = f.config;
      }
      out.push({ track, t: dts / 90000, sample });
    });
  }
  return out;
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
  writer: MatroskaWriter;
  units: Buffer[][];
  /** The file as a stream sink leaves it: units and tail, no patches. */
  stream: Buffer;
  streamPath: string;
  /** The file as a seekable sink leaves it: patches applied. */
  file: Buffer;
  path: string;
  patches: { offset: number; data: Buffer }[];
  tail: Buffer[];
  /** For each unit: samples written (stats) and feed items added when it was written. */
  unitInfo: { samplesWritten: number; fed: number }[];
  maxPending: number;
}

let dir: string;
beforeAll(() => {
  dir = tempDir('webm-writer-');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function record(tracks: MatroskaTrackSpec[], feed: Feed[], options: Partial<MatroskaWriterOptions> = {}): Recording {
  const units: Buffer[][] = [];
  const unitInfo: Recording['unitInfo'] = [];
  let fed = 0;
  let maxPending = 0;
  const doctype = options.doctype ?? (tracks.some((t) => t.codec === 'h264') ? 'matroska' : 'webm');
  const writer: MatroskaWriter = new MatroskaWriter({
    tracks,
    doctype,
    ...options,
    write: (unit) => {
      units.push(unit);
      unitInfo.push({ samplesWritten: writer.stats.samplesWritten, fed });
    },
  });
  for (const f of feed) {
    fed++;
    writer.addSample(f.track, f.sample);
    maxPending = Math.max(maxPending, writer.stats.samplesPending);
  }
  const { tail, patches } = writer.finish();
  const stream = Buffer.concat([...units.flat(), ...tail]);
  const file = Buffer.from(stream);
  for (const p of patches) p.data.copy(file, p.offset);
  const ext = doctype === 'webm' ? 'webm' : 'mkv';
  const n = ++counter;
  const streamPath = join(dir, `${n}-stream.${ext}`);
  const path = join(dir, `${n}.${ext}`);
  writeFileSync(streamPath, stream);
  writeFileSync(path, file);
  return { writer, units, stream, streamPath, file, path, patches, tail, unitInfo, maxPending };
}

// ---------------------------------------------------------------------------------------------
// mkvinfo output, parsed

interface Mkv {
  text: string;
  segment: { at: number; size: number | undefined; dataStart: number };
  clusters: { at: number; size: number | undefined; timestampMs: number }[];
  cues: { timeMs: number; track: number; clusterPosition: number }[];
  seeks: Map<string, number>;
  /** Absolute positions of top-level elements. */
  positions: Map<string, number>;
  durationMs: number | undefined;
  blocks: { track: number; key: boolean; timestampMs: number; cluster: number; at: number; end: number }[];
  tracks: { number: number; codecId: string; codecPrivateSize?: number; width?: number; height?: number }[];
}

const ms = (t: string): number => {
  const m = /(\d+):(\d+):(\d+)\.(\d+)/.exec(t)!;
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]!.padEnd(9, '0')) / 1e6;
};

function parseMkv(path: string): Mkv {
  const text = mkvinfo(path);
  const seg = /^\+ Segment: size (?:\d+|unknown) at (\d+) (?:size (\d+) data size (\d+)|size is unknown)/m.exec(text)!;
  const at = Number(seg[1]);
  const out: Mkv = {
    text,
    segment: { at, size: seg[3] ? Number(seg[3]) : undefined, dataStart: seg[2] ? at + Number(seg[2]) - Number(seg[3]) : at + 12 },
    clusters: [],
    cues: [],
    seeks: new Map(),
    positions: new Map(),
    durationMs: undefined,
    blocks: [],
    tracks: [],
  };
  let seekName = '';
  let cue: Partial<Mkv['cues'][number]> = {};
  let track: Mkv['tracks'][number] | undefined;
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^\|\+ Cluster at (\d+) (?:size (\d+) data size (\d+)|size is unknown)/.exec(line))) {
      out.clusters.push({ at: Number(m[1]), size: m[3] ? Number(m[3]) : undefined, timestampMs: NaN });
    } else if ((m = /^\| \+ Cluster timestamp: (\S+)/.exec(line))) {
      out.clusters[out.clusters.length - 1]!.timestampMs = ms(m[1]!);
    } else if ((m = /^\|\+ (Segment information|Tracks|Cues|Seek head) at (\d+)/.exec(line))) {
      out.positions.set(m[1]!, Number(m[2]));
    } else if ((m = /Seek ID: .*\(Kax(\w+)\)/.exec(line))) {
      seekName = m[1]!;
    } else if ((m = /Seek position: (\d+)/.exec(line))) {
      out.seeks.set(seekName, Number(m[1]));
    } else if ((m = /^\| \+ Duration: (\S+)/.exec(line))) {
      out.durationMs = ms(m[1]!);
    } else if ((m = /Cue time: (\S+)/.exec(line))) {
      cue = { timeMs: ms(m[1]!) };
    } else if ((m = /Cue track: (\d+)/.exec(line))) {
      cue.track = Number(m[1]);
    } else if ((m = /Cue cluster position: (\d+)/.exec(line))) {
      cue.clusterPosition = Number(m[1]);
      out.cues.push(cue as Mkv['cues'][number]);
    } else if ((m = /Simple block: (key, )?track number (\d+), 1 frame\(s\), timestamp (\S+) at (\d+) size (\d+)/.exec(line))) {
      const at = Number(m[4]);
      out.blocks.push({ track: Number(m[2]), key: m[1] !== undefined, timestampMs: ms(m[3]!), cluster: out.clusters.length - 1, at, end: at + Number(m[5]) });
    } else if ((m = /^\|  \+ Track number: (\d+)/.exec(line))) {
      track = { number: Number(m[1]), codecId: '' };
      out.tracks.push(track);
    } else if ((m = /Codec ID: (\S+)/.exec(line))) {
      track!.codecId = m[1]!;
    } else if ((m = /Codec's private data: size (\d+)/.exec(line))) {
      track!.codecPrivateSize = Number(m[1]);
    } else if ((m = /Pixel width: (\d+)/.exec(line))) {
      track!.width = Number(m[1]);
    } else if ((m = /Pixel height: (\d+)/.exec(line))) {
      track!.height = Number(m[1]);
    }
  }
  return out;
}

/** mkvmerge's identification (an independent Matroska reader): tracks with codec private data as hex, and errors. */
function mkvmergeJson(path: string): { errors: string[]; container: { properties: { duration?: number } }; tracks: { type: string; properties: { codec_id: string; codec_private_data?: string; pixel_dimensions?: string; codec_delay?: number } }[] } {
  return JSON.parse(execFileSync('mkvmerge', ['-J', path], { encoding: 'utf8' }));
}

function frameCounts(path: string): { video: number; audio: number } {
  const { streams } = ffprobeStreams(path);
  const n = (type: string): number => streams.filter((s) => s.codec_type === type).reduce((a, s) => a + Number(s.nb_read_frames ?? 0), 0);
  return { video: n('video'), audio: n('audio') };
}

/** Frames decoded after `-ss` (accurate seek) per stream type, and what ffmpeg printed. */
function seekDecode(path: string, seconds: number): { video: number; audio: number; errors: string } {
  const count = (map: string): number => {
    const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-ss', String(seconds), '-i', path, '-map', map, '-f', 'framecrc', '-'], { encoding: 'utf8' });
    return r.stdout.split('\n').filter((l) => l && !l.startsWith('#')).length;
  };
  return { video: count('0:v?'), audio: count('0:a?'), errors: ffmpegDecodeErrors(path, ['-ss', String(seconds)]) };
}

// ---------------------------------------------------------------------------------------------

const CODECS: VideoCodec[] = ['vp8', 'vp9', 'av1', 'h264'];
const CODEC_NAMES: Record<VideoCodec, string> = { vp8: 'vp8', vp9: 'vp9', av1: 'av1', h264: 'h264' };
const CODEC_IDS: Record<VideoCodec, string> = { vp8: 'V_VP8', vp9: 'V_VP9', av1: 'V_AV1', h264: 'V_MPEG4/ISO/AVC' };

/** 6 s: the small clip three times (6 GOPs of 1 s at 10 fps) and 300 Opus packets. */
const sixSeconds = new Map<VideoCodec, Recording>();
function sixSecondRecording(codec: VideoCodec): Recording {
  let r = sixSeconds.get(codec);
  if (!r) {
    const frames = clips[codec].small();
    const repeat = 60 / frames.length;
    r = record([video(codec), AUDIO], interleave(videoFeed(0, frames, 0, { repeat }), audioFeed(1, opusPackets(300), 0)));
    sixSeconds.set(codec, r);
  }
  return r;
}

describe.each(CODECS)('MatroskaWriter: %s with Opus', (codec) => {
  it('decodes without errors, streamed and patched; frame counts, size and duration are right', () => {
    const r = sixSecondRecording(codec);
    expect(ffmpegDecodeErrors(r.streamPath)).toBe('');
    expect(ffmpegDecodeErrors(r.path)).toBe('');
    for (const path of [r.path, r.streamPath]) {
      const { streams, format } = ffprobeStreams(path);
      const v = streams.find((s) => s.codec_type === 'video')!;
      const a = streams.find((s) => s.codec_type === 'audio')!;
      expect(v.codec_name).toBe(CODEC_NAMES[codec]);
      expect([v.width, v.height]).toEqual(clips[codec].smallSize);
      expect(Number(v.nb_read_frames)).toBe(60);
      expect(a.codec_name).toBe('opus');
      expect(Number(a.nb_read_frames)).toBe(300);
      if (path === r.path) expect(Number(format.duration)).toBeCloseTo(6, 3);
    }
    expect(r.writer.stats).toMatchObject({ samplesWritten: 360, samplesPending: 0, clustersWritten: 6, cuePoints: 6, blocksOutOfOrder: 0, timestampsClamped: 0 });
  });

  it('mkvinfo: header, codec, Duration, Cues pointing at the keyframe clusters, SeekHead entries', () => {
    const r = sixSecondRecording(codec);
    const mkv = parseMkv(r.path);
    expect(mkv.text).toContain(`Document type: ${codec === 'h264' ? 'matroska' : 'webm'}`);
    expect(mkv.text).toContain('Timestamp scale: 1000000');
    expect(mkv.durationMs).toBe(6000);
    expect(mkv.segment.size).toBe(r.file.length - mkv.segment.dataStart);
    expect(mkv.tracks.map((t) => t.codecId)).toEqual([CODEC_IDS[codec], 'A_OPUS']);
    expect([mkv.tracks[0]!.width, mkv.tracks[0]!.height]).toEqual(clips[codec].smallSize);
    // One cluster per 1 s GOP, each starting with the keyframe; every cluster has a known size once patched.
    expect(mkv.clusters.map((c) => c.timestampMs)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(mkv.clusters.every((c) => c.size !== undefined)).toBe(true);
    expect(mkv.cues).toEqual(mkv.clusters.map((c) => ({ timeMs: c.timestampMs, track: 1, clusterPosition: c.at - mkv.segment.dataStart })));
    expect(mkv.seeks.get('Info')).toBe(mkv.positions.get('Segment information')! - mkv.segment.dataStart);
    expect(mkv.seeks.get('Tracks')).toBe(mkv.positions.get('Tracks')! - mkv.segment.dataStart);
    expect(mkv.seeks.get('Cues')).toBe(mkv.positions.get('Cues')! - mkv.segment.dataStart);
    // Blocks: video keyframes exactly every 10 frames, audio all keyframes.
    const videoBlocks = mkv.blocks.filter((b) => b.track === 1);
    expect(videoBlocks).toHaveLength(60);
    expect(videoBlocks.filter((b) => b.key).map((b) => b.timestampMs)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(mkv.blocks.filter((b) => b.track === 2 && b.key)).toHaveLength(300);

    // The stream form: unknown sizes, no Duration, the SeekHead without Cues, the Cues still at the end.
    const s = parseMkv(r.streamPath);
    expect(s.segment.size).toBeUndefined();
    expect(s.clusters.every((c) => c.size === undefined)).toBe(true);
    expect(s.durationMs).toBeUndefined();
    expect(s.seeks.has('Cues')).toBe(false);
    expect(s.text).toContain('EBML void: size 19');
    expect(s.cues).toEqual(mkv.cues);
  });

  it('CodecPrivate, CodecDelay as mkvmerge reads them', () => {
    const r = sixSecondRecording(codec);
    const j = mkvmergeJson(r.path);
    expect(j.errors).toEqual([]);
    expect(j.container.properties.duration).toBe(6_000_000_000);
    const [v, a] = j.tracks;
    const config = clips[codec].small()[0]!.config!;
    const expected: Record<VideoCodec, string | undefined> = {
      vp8: undefined,
      vp9: '010100' + '02010a' + '030108' + '040100', // profile 0, level 1 (10), 8 bits, 4:2:0
      av1: config.codec === 'av1' ? av1CodecConfigurationRecord(config).toString('hex') : '',
      h264: config.codec === 'h264' ? avcC(config).subarray(8).toString('hex') : '',
    };
    expect(v!.properties.codec_private_data).toBe(expected[codec]);
    expect(a!.properties.codec_private_data).toBe(opusHead(2, 312).toString('hex'));
    expect(a!.properties.codec_delay).toBe(6_500_000);
  });

  it('seeks with -ss to the middle and decodes from there (patched and streamed)', () => {
    const r = sixSecondRecording(codec);
    for (const path of [r.path, r.streamPath]) {
      const d = seekDecode(path, 3.5);
      expect(d.errors).toBe('');
      expect(d.video).toBe(25); // 3.5 s .. 5.9 s
      expect(d.audio).toBeGreaterThanOrEqual(125);
      expect(d.audio).toBeLessThanOrEqual(127);
    }
  });

  it('a resolution change at a keyframe decodes at the new size', () => {
    const { small, large, smallSize, largeSize } = clips[codec];
    const frames = [...small(), ...large()];
    const r = record([video(codec), AUDIO], interleave(videoFeed(0, frames, 0), audioFeed(1, opusPackets(frames.length * 5), 0)));
    expect(ffmpegDecodeErrors(r.path)).toBe('');
    expect(ffmpegDecodeErrors(r.streamPath)).toBe('');
    const decoded = ffprobeFrames(r.path, 'v:0');
    expect(decoded).toHaveLength(frames.length);
    const n = small().length;
    expect(decoded.slice(0, n).every((f) => f.width === smallSize[0] && f.height === smallSize[1])).toBe(true);
    expect(decoded.slice(n).every((f) => f.width === largeSize[0] && f.height === largeSize[1])).toBe(true);
    expect(r.writer.stats.configChanges).toBe(1);
    // The header keeps the first configuration.
    expect(parseMkv(r.path).tracks[0]).toMatchObject({ width: smallSize[0], height: smallSize[1] });
  });
});

describe('MatroskaWriter: timestamps and interleaving', () => {
  it('block timestamps are the samples dts in ms, on one timeline; a late track starts late', () => {
    // Video from 1.337 s with 90 kHz jitter, audio from 0.
    const frames = clips.vp8.small();
    const vf = videoFeed(0, frames, 1337);
    vf.forEach((f, i) => (f.sample.dts += (i * 37) % 50));
    const r = record([video('vp8'), AUDIO_NO_SKIP], interleave(vf, audioFeed(1, opusPackets(200), 0)));
    expect(ffmpegDecodeErrors(r.path)).toBe('');
    const packets = ffprobePackets(r.path);
    const vp = packets.filter((p) => p.stream_index === 0).map((p) => p.pts);
    expect(vp).toEqual(vf.map((f) => Math.round(f.sample.dts / 90)));
    const ap = packets.filter((p) => p.stream_index === 1).map((p) => p.pts);
    expect(ap).toEqual(Array.from({ length: 200 }, (_, i) => i * 20));
    // In the file, blocks come in time order across tracks.
    const blocks = parseMkv(r.path).blocks.map((b) => b.timestampMs);
    expect(blocks).toEqual([...blocks].sort((a, b) => a - b));
    expect(r.writer.stats.blocksOutOfOrder).toBe(0);
  });

  it('the Opus pre-skip is CodecDelay: ffmpeg starts the audio pre-skip early and trims it', () => {
    const r = sixSecondRecording('vp8');
    const a = ffprobeStreams(r.path).streams.find((s) => s.codec_type === 'audio')!;
    expect(Number(a.start_time)).toBeCloseTo(-0.007, 3); // -312/48000 s, in ms
    const pcm = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', r.path, '-map', '0:a', '-f', 's16le', '-'], { maxBuffer: 64 * 1024 * 1024 });
    expect(pcm.stdout.length).toBe((300 * 960 - 312) * 4);
  });

  it('orders samples of a lagging track (video fed 300 ms behind the audio) into time order', () => {
    const vf = videoFeed(0, vp9Frames('160x120'), 0, { repeat: 2 });
    const af = audioFeed(1, opusPackets(200), 0);
    // Each video sample is handed over when the audio is 300 ms ahead of it.
    const feed = [...vf.map((f) => ({ ...f, t: f.t + 0.3 })), ...af].sort((a, b) => a.t - b.t);
    const r = record([video('vp9'), AUDIO], feed);
    expect(r.writer.stats.blocksOutOfOrder).toBe(0);
    const blocks = parseMkv(r.path).blocks.map((b) => b.timestampMs);
    expect(blocks).toEqual([...blocks].sort((a, b) => a - b));
    expect(ffmpegDecodeErrors(r.path)).toBe('');
    // Clusters still start at the keyframes.
    expect(parseMkv(r.path).clusters.map((c) => c.timestampMs)).toEqual([0, 1000, 2000, 3000]);
  });

  it('a track later than the interleave window is written out of order, and still plays', () => {
    const vf = videoFeed(0, vp8Frames('160x120'), 0, { repeat: 2 });
    const feed = [...vf.map((f) => ({ ...f, t: f.t + 0.8 })), ...audioFeed(1, opusPackets(200), 0)].sort((a, b) => a.t - b.t);
    const r = record([video('vp8'), AUDIO], feed, { interleaveWindowMs: 500 });
    expect(r.writer.stats.blocksOutOfOrder).toBeGreaterThan(0);
    expect(ffmpegDecodeErrors(r.path)).toBe('');
    expect(ffmpegDecodeErrors(r.streamPath)).toBe('');
    expect(frameCounts(r.path)).toEqual({ video: 40, audio: 200 });
    const vp = ffprobePackets(r.path).filter((p) => p.stream_index === 0).map((p) => p.pts);
    expect(vp).toEqual(vf.map((f) => Math.round(f.sample.dts / 90)));
  });

  it('a GOP longer than a cluster can reach: clusters are cut without keyframe before the 16-bit overflow', () => {
    // 10 frames (one keyframe) 4 s apart: a 40 s GOP; audio throughout.
    const vf = videoFeed(0, vp8Frames('160x120').slice(0, 10), 0, { spacingMs: 4000 });
    const feed = interleave(vf, audioFeed(1, opusPackets(2000), 0));
    for (const clusterMaxDurationMs of [undefined, 32767]) {
      const r = record([video('vp8'), AUDIO_NO_SKIP], feed, clusterMaxDurationMs ? { clusterMaxDurationMs } : {});
      expect(ffmpegDecodeErrors(r.path)).toBe('');
      const mkv = parseMkv(r.path);
      const limit = clusterMaxDurationMs ?? 5000;
      // Every block within its cluster's reach (mkvinfo shows absolute times: cluster + relative).
      const relative = mkv.blocks.map((b) => b.timestampMs - mkv.clusters[b.cluster]!.timestampMs);
      expect(Math.min(...relative)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...relative)).toBeLessThan(limit);
      expect(mkv.clusters.length).toBeGreaterThanOrEqual(Math.ceil(40000 / limit));
      // Cues: the video keyframe's cluster, and clusters that start with an audio block.
      expect(mkv.cues.filter((c) => c.track === 1)).toEqual([{ timeMs: 0, track: 1, clusterPosition: mkv.clusters[0]!.at - mkv.segment.dataStart }]);
      const vp = ffprobePackets(r.path).filter((p) => p.stream_index === 0).map((p) => p.pts);
      expect(vp).toEqual(vf.map((f) => f.sample.dts / 90));
      expect(frameCounts(r.path)).toEqual({ video: 10, audio: 2000 });
    }
  });

  it('clamps a dts going back within a track, drops video before its first keyframe', () => {
    const frames = vp8Frames('160x120');
    const vf = videoFeed(0, [frames[1]!, frames[2]!, ...frames], 0); // two delta frames first
    vf[8]!.sample.dts = vf[6]!.sample.dts - 1000; // goes back
    const r = record([video('vp8')], vf);
    expect(r.writer.stats.samplesDroppedBeforeKeyframe).toBe(2);
    expect(r.writer.stats.timestampsClamped).toBe(1);
    // Two frames now share a timestamp, which ffmpeg's null muxer remarks on; nothing else.
    const errors = ffmpegDecodeErrors(r.path).split('\n');
    expect(errors.every((l) => l.includes('non monotonically increasing dts'))).toBe(true);
    expect(frameCounts(r.path).video).toBe(20);
  });
});

describe('MatroskaWriter: header and video configuration', () => {
  it('waits for the video configuration, keeping the audio before it, and writes the audio first', () => {
    const frames = vp8Frames('160x120');
    const feed = interleave(videoFeed(0, frames, 400), audioFeed(1, opusPackets(150), 0));
    const r = record([video('vp8'), AUDIO], feed);
    const firstVideo = feed.findIndex((f) => f.track === 0);
    expect(r.unitInfo[0]!.fed).toBe(firstVideo + 1); // the header goes when the video keyframe with its config arrives
    expect(r.writer.stats.videoTracksWithoutConfig).toBe(0);
    expect(frameCounts(r.path)).toEqual({ video: 20, audio: 150 });
    expect(ffmpegDecodeErrors(r.streamPath)).toBe('');
    const mkv = parseMkv(r.path);
    expect(mkv.clusters[0]!.timestampMs).toBe(0); // an audio cluster, with an audio cue
    expect(mkv.cues[0]).toMatchObject({ timeMs: 0, track: 2 });
    expect(mkv.cues[1]).toMatchObject({ timeMs: 400, track: 1 });
  });

  it('never waits on a silent video track for longer than videoConfigWaitMs of media', () => {
    const feed = audioFeed(1, opusPackets(400), 0);
    const r = record([video('vp8'), AUDIO], feed);
    expect(r.unitInfo[0]!.fed).toBe(251); // the packet at 5.0 s
    expect(r.writer.stats.videoTracksWithoutConfig).toBe(1);
    expect(r.maxPending).toBeLessThanOrEqual(251);
    expect(ffmpegDecodeErrors(r.path)).toBe('');
    expect(ffmpegDecodeErrors(r.streamPath)).toBe('');
    expect(frameCounts(r.path).audio).toBe(400);
    // Audio-only timeline in an A/V file: clusters every clusterMaxDurationMs (5 s), cue per audio cluster.
    expect(parseMkv(r.path).cues.map((c) => c.track)).toEqual([2, 2]);
  });

  it('a short recording whose video never came leaves the video track out', () => {
    const r = record([video('vp9'), AUDIO], audioFeed(1, opusPackets(100), 0));
    expect(r.units).toHaveLength(0); // everything came with finish()
    expect(r.writer.stats.tracksOmitted).toBe(1);
    const mkv = parseMkv(r.path);
    expect(mkv.tracks.map((t) => [t.number, t.codecId])).toEqual([[2, 'A_OPUS']]);
    expect(ffmpegDecodeErrors(r.path)).toBe('');
    expect(frameCounts(r.path)).toEqual({ video: 0, audio: 100 });
  });

  it.each(['vp8', 'h264', 'av1'] as const)('%s starting after the wait: declared with a placeholder, real size patched in at finish', (codec) => {
    const frames = clips[codec].small();
    const feed = interleave(videoFeed(0, frames, 3000), audioFeed(1, opusPackets(300), 0));
    const r = record([video(codec), AUDIO], feed, { videoConfigWaitMs: 2000 });
    expect(r.writer.stats.videoTracksWithoutConfig).toBe(1);
    expect(ffmpegDecodeErrors(r.path)).toBe('');
    expect(ffmpegDecodeErrors(r.streamPath)).toBe('');
    expect(parseMkv(r.streamPath).tracks[0]).toMatchObject({ width: 640, height: 360 });
    expect(parseMkv(r.path).tracks[0]).toMatchObject({ width: clips[codec].smallSize[0], height: clips[codec].smallSize[1] });
    const decoded = ffprobeFrames(r.path, 'v:0');
    expect(decoded).toHaveLength(frames.length);
    expect(Number(decoded[0]!.pts_time)).toBeCloseTo(3, 3);
    expect(decoded[0]).toMatchObject({ width: clips[codec].smallSize[0], height: clips[codec].smallSize[1] });
  });
});

describe('MatroskaWriter: a killed process', () => {
  it('every unit ends on a block: each prefix of the written units plays, with all its blocks', () => {
    const frames = av1Frames('160x120');
    const feed = interleave(videoFeed(0, frames, 0, { repeat: 2 }), audioFeed(1, opusPackets(200), 0));
    const r = record([video('av1'), AUDIO], feed, { flushIntervalMs: 500 });
    expect(r.units.length).toBeGreaterThanOrEqual(8);
    const mkv = parseMkv(r.path);
    const clusterStarts = new Set(mkv.clusters.map((c) => c.at));
    let bytes = r.units[0]!.reduce((n, b) => n + b.length, 0);
    let midCluster = 0;
    let atCluster = 0;
    for (let i = 1; i < r.units.length; i++) {
      bytes += r.units[i]!.reduce((n, b) => n + b.length, 0);
      if (clusterStarts.has(bytes)) atCluster++;
      else midCluster++;
      const path = join(dir, `killed-${i}.webm`);
      writeFileSync(path, r.stream.subarray(0, bytes));
      expect(ffmpegDecodeErrors(path)).toBe('');
      const n = frameCounts(path);
      expect(n.video + n.audio).toBe(r.unitInfo[i]!.samplesWritten); // counted before write() was called
    }
    expect(midCluster).toBeGreaterThanOrEqual(3); // cuts inside a cluster (at 0.5 s, 1.5 s, ...)
    expect(atCluster).toBeGreaterThanOrEqual(3); // and right before a cluster (at 1 s, 2 s, ...)
  });

  it('a cut inside a block (a write torn by the kill) still decodes every complete block before it', () => {
    const r = sixSecondRecording('vp9');
    const mkv = parseMkv(r.streamPath);
    const cut = mkv.clusters[3]!.at + 5000;
    const path = join(dir, 'torn.webm');
    writeFileSync(path, r.stream.subarray(0, cut));
    const errors = ffmpegDecodeErrors(path);
    expect(errors.split('\n').every((l) => l.includes('File ended prematurely'))).toBe(true);
    const complete = mkv.blocks.filter((b) => b.end <= cut);
    expect(complete.length).toBeLessThan(mkv.blocks.filter((b) => b.at < cut).length); // the cut is inside a block
    expect(frameCounts(path)).toEqual({
      video: complete.filter((b) => b.track === 1).length,
      audio: complete.filter((b) => b.track === 2).length,
    });
  });

  it('holds at most about a flush interval plus the interleave window of media', () => {
    const r = sixSecondRecording('vp8');
    // 60 samples per second (10 video, 50 audio): 1 s flush + 0.5 s window + a frame.
    expect(r.maxPending).toBeLessThanOrEqual(Math.ceil(1.6 * 60));
    // With both tracks flowing the window is not used: about one flush interval.
    expect(r.maxPending).toBeLessThanOrEqual(70);
    expect(r.units.length).toBeGreaterThanOrEqual(6);
  });
});

describe('MatroskaWriter: audio only', () => {
  it.each(['webm', 'matroska'] as const)('%s: a cluster and a cue every second, Duration, seeking', (doctype) => {
    const r = record([AUDIO], audioFeed(0, opusPackets(275), 0), { doctype });
    expect(ffmpegDecodeErrors(r.path)).toBe('');
    expect(ffmpegDecodeErrors(r.streamPath)).toBe('');
    const mkv = parseMkv(r.path);
    expect(mkv.text).toContain(`Document type: ${doctype}`);
    expect(mkv.durationMs).toBe(5500);
    expect(mkv.clusters.map((c) => c.timestampMs)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(mkv.cues.map((c) => [c.timeMs, c.track])).toEqual(mkv.clusters.map((c) => [c.timestampMs, 1]));
    expect(Number(ffprobeStreams(r.path).format.duration)).toBeCloseTo(5.5, 2);
    const d = seekDecode(r.path, 2.5);
    expect(d.errors).toBe('');
    expect(d.audio).toBeGreaterThanOrEqual(150);
    expect(d.audio).toBeLessThanOrEqual(152);
  });
});

describe('MatroskaWriter: API', () => {
  it('refuses H264 in WebM at construction, naming Matroska and MP4', () => {
    expect(() => new MatroskaWriter({ tracks: [video('h264'), AUDIO], doctype: 'webm', write: () => {} })).toThrow(/H264.*WebM.*Matroska.*MP4/);
    expect(() => new MatroskaWriter({ tracks: [video('h264')], doctype: 'matroska', write: () => {} })).not.toThrow();
  });

  it('refuses bad options', () => {
    const write = (): void => {};
    expect(() => new MatroskaWriter({ tracks: [], doctype: 'webm', write })).toThrow(/no tracks/);
    expect(() => new MatroskaWriter({ tracks: [{ kind: 'video', codec: 'vp8', timescale: 0 }], doctype: 'webm', write })).toThrow(RangeError);
    expect(() => new MatroskaWriter({ tracks: [AUDIO], doctype: 'webm', write, clusterMaxDurationMs: 40000 })).toThrow(RangeError);
    expect(() => new MatroskaWriter({ tracks: [{ kind: 'audio', codec: 'aac', timescale: 48000 } as never], doctype: 'webm', write })).toThrow(/aac/);
    const w = new MatroskaWriter({ tracks: [AUDIO], doctype: 'webm', write });
    expect(() => w.addSample(1, { dts: 0, data: Buffer.alloc(3), keyframe: true })).toThrow(RangeError);
    w.finish();
    expect(() => w.addSample(0, { dts: 0, data: Buffer.alloc(3), keyframe: true })).toThrow(/after finish/);
    expect(w.finish()).toEqual({ tail: [], patches: [] });
  });

  it('an empty recording is a valid file: header only, an omitted silent video track unless it is the only one', () => {
    const av = record([video('vp8'), AUDIO], []);
    expect(av.units).toHaveLength(0);
    expect(av.writer.stats).toMatchObject({ headerWritten: true, tracksOmitted: 1, clustersWritten: 0, cuePoints: 0 });
    const mkv = parseMkv(av.path);
    expect(mkv.tracks.map((t) => t.codecId)).toEqual(['A_OPUS']);
    expect(mkv.segment.size).toBe(av.file.length - mkv.segment.dataStart);
    expect(mkv.durationMs).toBeUndefined();
    expect(mkvmergeJson(av.path).errors).toEqual([]);
    const v = record([video('vp9')], []);
    expect(v.writer.stats).toMatchObject({ tracksOmitted: 0, videoTracksWithoutConfig: 1 });
    expect(parseMkv(v.path).tracks.map((t) => t.codecId)).toEqual(['V_VP9']);
    expect(mkvmergeJson(v.path).errors).toEqual([]);
  });

  it('passes payloads through by reference; patches stay inside the file and do not overlap', () => {
    const r = sixSecondRecording('vp8');
    const payloads = new Set<Buffer>();
    for (const f of [...clips.vp8.small()]) payloads.add(f.data);
    const handed = [...r.units.flat(), ...r.tail].filter((b) => payloads.has(b));
    expect(handed.length).toBe(60); // the clip's Buffers themselves, three times each
    const sorted = [...r.patches].sort((a, b) => a.offset - b.offset);
    for (let i = 0; i < sorted.length; i++) {
      expect(sorted[i]!.offset + sorted[i]!.data.length).toBeLessThanOrEqual(r.file.length);
      if (i > 0) expect(sorted[i]!.offset).toBeGreaterThanOrEqual(sorted[i - 1]!.offset + sorted[i - 1]!.data.length);
    }
    // Segment size, SeekHead, Duration, one size per cluster.
    expect(r.patches).toHaveLength(3 + 6);
    expect(r.writer.stats.bytesWritten).toBe(r.file.length);
  });
});

describe('MatroskaWriter: memory and speed', () => {
  it('one hour of samples: queues and state stay flat', () => {
    const tiny = Buffer.alloc(12, 1);
    let bytes = 0;
    let units = 0;
    const w = new MatroskaWriter({
      tracks: [video('vp9'), AUDIO],
      doctype: 'webm',
      write: (parts) => {
        for (const p of parts) bytes += p.length;
        units++;
      },
    });
    // 30 fps video (keyframe every 4 s), 50 Opus packets/s, interleaved by time; one sample object per track reused.
    const vs: MatroskaSample = { dts: 0, data: tiny, keyframe: true, config: clips.vp9.small()[0]!.config! };
    const as: MatroskaSample = { dts: 0, data: tiny, keyframe: true, duration: 960 };
    const addSecond = (s: number): void => {
      let v = 0;
      let a = 0;
      while (v < 30 || a < 50) {
        if (v < 30 && (a >= 50 || v * 50 <= a * 30)) {
          const frame = s * 30 + v;
          vs.dts = frame * 3000;
          vs.keyframe = frame % 120 === 0;
          w.addSample(0, vs);
          v++;
        } else {
          as.dts = (s * 50 + a) * 960;
          w.addSample(1, as);
          a++;
        }
      }
    };
    addSecond(0);
    delete vs.config;
    for (let s = 1; s < 60; s++) addSecond(s);
    const capacityAfterMinute = w.stats.queueCapacity;
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = process.hrtime.bigint();
    for (let s = 60; s < 3600; s++) addSecond(s);
    const ns = Number(process.hrtime.bigint() - t0) / ((3600 - 60) * 80);
    const heapAfter = process.memoryUsage().heapUsed;
    const { tail } = w.finish();
    for (const p of tail) bytes += p.length;
    console.log(`matroska writer, 1 h of 12-byte samples: ${ns.toFixed(0)} ns/sample incl. SimpleBlock headers and clusters, heap delta ${((heapAfter - heapBefore) / 1e6).toFixed(1)} MB`);
    expect(w.stats.queueCapacity).toBe(capacityAfterMinute);
    expect(capacityAfterMinute).toBeLessThanOrEqual(64);
    expect(w.stats.samplesWritten).toBe(3600 * 80);
    expect(w.stats.samplesPending).toBe(0);
    expect(w.stats.clustersWritten).toBe(900);
    expect(w.stats.cuePoints).toBe(900);
    expect(units).toBeGreaterThanOrEqual(3600);
    expect(units).toBeLessThanOrEqual(3602);
    expect(bytes).toBe(w.stats.bytesWritten);
    expect(ns).toBeLessThan(5000);
  });
});
