/**
 * End to end through a real mediasoup 3.8.4 worker: the H264+Opus fixture is replayed in real
 * time into a router, recorded by the public Recorder API, and the file is checked with mp4box,
 * ffprobe and ffmpeg only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Recorder, type RecorderSummary } from '../src/index.js';
import { ffmpegDecodeErrors, ffprobeStreams, parseMp4, tempDir, type ParsedMp4 } from './helpers/oracles.js';
import { h264OpusFixture, replayRig } from './helpers/replay.js';

describe('recording the H264+Opus fixture through mediasoup', () => {
  const { capture, truth } = h264OpusFixture();
  const output = join(tempDir('recording-'), 'out.mp4');
  let summary: RecorderSummary;
  let mp4: ParsedMp4;
  const events = { started: 0, keyframes: 0, gaps: 0, errors: [] as string[] };

  beforeAll(async () => {
    const rig = await replayRig(capture);
    try {
      const recorder = new Recorder({ router: rig.router, producers: rig.replayer.producers, output });
      recorder.on('started', () => events.started++);
      recorder.on('keyframe', () => events.keyframes++);
      recorder.on('gap', () => events.gaps++);
      recorder.on('error', (e) => events.errors.push(e.message));
      await recorder.start();
      await rig.replayer.play({ speed: 1 });
      await new Promise((r) => setTimeout(r, 300)); // the last packets' way through mediasoup
      summary = await recorder.stop();
    } finally {
      rig.close();
    }
    mp4 = parseMp4(readFileSync(output));
  });

  it('writes a file ffmpeg decodes without a single error', () => {
    expect(ffmpegDecodeErrors(output)).toBe('');
  });

  it('holds every frame of the fixture, per mp4box', () => {
    const [video, audio] = [mp4.info.tracks.find((t) => t.video), mp4.info.tracks.find((t) => t.audio)];
    expect(video?.codec).toMatch(/^avc3\./);
    expect(audio?.codec).toBe('Opus');
    expect(video!.video).toEqual({ width: truth.video.width, height: truth.video.height });
    expect(mp4.samples(video!.id)).toHaveLength(truth.video.encoded.frames);
    expect(mp4.samples(audio!.id)).toHaveLength(truth.audio.encoded.packets);
    expect(mp4.samples(video!.id).filter((s) => s.is_sync)).toHaveLength(truth.video.encoded.keyframes);
  });

  it('starts video with a sync sample', () => {
    const video = mp4.info.tracks.find((t) => t.video)!;
    expect(mp4.samples(video.id)[0]!.is_sync).toBe(true);
  });

  it('has durations within 50 ms of the fixture', () => {
    const span = (id: number): number => {
      const samples = mp4.samples(id);
      const last = samples.at(-1)!;
      return (last.dts + last.duration - samples[0]!.dts) / last.timescale;
    };
    const video = mp4.info.tracks.find((t) => t.video)!;
    const audio = mp4.info.tracks.find((t) => t.audio)!;
    expect(Math.abs(span(video.id) - truth.video.encoded.frames / truth.video.fps)).toBeLessThan(0.05);
    expect(Math.abs(span(audio.id) - truth.audio.pcap.rtpPackets * 0.02)).toBeLessThan(0.05);
  });

  it('decodes to the fixture frame counts, per ffprobe', () => {
    const probe = ffprobeStreams(output);
    const video = probe.streams.find((s) => s.codec_type === 'video')!;
    const audio = probe.streams.find((s) => s.codec_type === 'audio')!;
    expect(Number(video.nb_read_frames)).toBe(truth.video.encoded.frames);
    expect(Number(audio.nb_read_frames)).toBe(truth.audio.encoded.packets);
    expect([video.width, video.height]).toEqual([truth.video.width, truth.video.height]);
  });

  it('reports a summary and events that agree with the file', () => {
    expect(events).toMatchObject({ started: 1, gaps: 0, errors: [] });
    expect(events.keyframes).toBe(truth.video.encoded.keyframes);
    const video = summary.streams.find((s) => s.kind === 'video')!;
    const audio = summary.streams.find((s) => s.kind === 'audio')!;
    expect(video).toMatchObject({ framesWritten: truth.video.encoded.frames, keyframesWritten: truth.video.encoded.keyframes, packetsLost: 0 });
    expect(video.packetsReceived).toBe(truth.video.pcap.rtpPackets);
    expect(audio).toMatchObject({ framesWritten: truth.audio.encoded.packets, packetsReceived: truth.audio.pcap.rtpPackets });
    expect(summary.bytes).toBe(readFileSync(output).length);
    expect(summary.path).toBe(output);
    expect(summary.durationMs).toBeGreaterThan(19_900);
  });
});
