/**
 * The stream events of a real session, scripted over the fixtures and played in real time through
 * a real mediasoup worker into the Recorder: counters wrapping, a producer paused and resumed, a
 * muted camera, audio DTX, a video track that starts 3 s after the audio, a producer closed and
 * replaced by a new one for the same participant, and a mid-stream resolution change. Each file
 * must play (ffmpeg decodes it without a message) with the right length: silences and pauses keep
 * wall-clock time instead of being compressed away.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { Recorder, type RecorderSummary, type StreamGap } from '../src/index.js';
import { Replayer } from '../src/replay/replayer.js';
import type { Capture, CapturedStream } from '../src/source/capture.js';
import { ffmpegDecodeErrors, ffprobeFrames, tempDir } from './helpers/oracles.js';
import { probeTimes, type StreamTimes } from './helpers/probe-times.js';
import { replayRig, videoOpusFixture } from './helpers/replay.js';
import { delayStart, dropSpan, editStreams, keyframeStartIndexes, pauseSpan, shiftSequenceNumbers, shiftTimestamps } from './helpers/stream-events.js';

const dir = tempDir('stream-events-');
const h264 = videoOpusFixture('h264');
const FIXTURE_S = 20.02;

interface Played {
  file: string;
  summary: RecorderSummary;
  gaps: ({ stream: string } & StreamGap)[];
  times: Record<'audio' | 'video', StreamTimes>;
  videoFrames: number;
  sizes: string[];
  decodeErrors: string;
}

/** Replays `capture` in real time into a recorder of its producers; `during` scripts the session. */
async function play(name: string, capture: Capture, during?: (rig: Awaited<ReturnType<typeof replayRig>>, recorder: Recorder) => Promise<void>): Promise<Played> {
  const rig = await replayRig(capture);
  try {
    const file = join(dir, name);
    const recorder = new Recorder({ router: rig.router, producers: rig.replayer.producers, output: file });
    const gaps: Played['gaps'] = [];
    recorder.on('gap', (gap) => gaps.push(gap));
    recorder.on('error', (error) => expect.fail(`${error.stream}: ${error.message}`));
    await recorder.start();
    await Promise.all([rig.replayer.play(), during?.(rig, recorder)]);
    await sleep(400);
    const summary = await recorder.stop();
    return { file, summary, gaps, times: probeTimes(file), videoFrames: 0, sizes: [], decodeErrors: '' };
  } finally {
    rig.close();
  }
}

/** Reads a played file with ffprobe and ffmpeg (after every replay has ended: they block the event loop). */
function measure(p: Played): Played {
  const frames = ffprobeFrames(p.file, 'v');
  return { ...p, videoFrames: frames.length, sizes: [...new Set(frames.map((f) => `${f.width}x${f.height}`))], decodeErrors: ffmpegDecodeErrors(p.file) };
}

const video = (c: Capture): CapturedStream => c.streams.find((s) => s.kind === 'video')!;
const gapsOf = (p: Played, kind: 'audio' | 'video') => p.gaps.filter((g) => g.stream.startsWith(kind));

/** Index of the H264 fixture's first video packet of the keyframe at 10 s, where the camera is replaced. */
const SWITCH = (() => {
  const stream = video(h264.capture);
  const at = stream.packets[0]!.timeMs + 10_000;
  return keyframeStartIndexes(stream).find((i) => stream.packets[i]!.timeMs >= at - 20)!;
})();

/** The H264 fixture's video from the 10 s keyframe on, as the new producer of the same participant (new SSRC). */
function secondProducer(): Capture {
  const stream = video(h264.capture);
  const packets = stream.packets.slice(SWITCH).map((p) => {
    const data = Buffer.from(p.data);
    data.writeUInt32BE(0x0badcafe, 8);
    return { ...p, data };
  });
  return { ...h264.capture, streams: [{ ...stream, ssrc: 0x0badcafe, packets }] };
}

const SCRIPTS: Record<string, () => Promise<Played>> = {
  wraps: () =>
    play(
      'wraps.mp4',
      editStreams(h264.capture, () => true, (s) => shiftTimestamps(shiftSequenceNumbers(s, { wrapAtMs: 3000 }), { wrapAtMs: 5000 })),
    ),
  // mediasoup's producer.pause() for 3 s: the recorder's consumers get nothing, then resume.
  producerPause: () =>
    play('producer-pause.mp4', h264.capture, async (rig) => {
      await sleep(6000);
      await Promise.all(rig.replayer.producers.map((p) => p.pause()));
      await sleep(3000);
      await Promise.all(rig.replayer.producers.map((p) => p.resume()));
    }),
  // A muted camera sends nothing for 6 s (timestamps run on), then resumes at a keyframe.
  videoMute: () => play('video-mute.mp4', editStreams(h264.capture, 'video', (s) => pauseSpan(s, 6000, 12_000))),
  // Opus DTX: 3 s without a packet, sequence numbers continuous.
  audioDtx: () => play('audio-dtx.mp4', editStreams(h264.capture, 'audio', (s) => dropSpan(s, 5000, 8000))),
  lateVideo: () => play('late-video.mp4', editStreams(h264.capture, 'video', (s) => delayStart(s, 3000))),
  // The participant closes the camera at 10 s and publishes a new one, which the app hands to the recorder.
  producerReplaced: async () => {
    const first = { ...h264.capture, streams: h264.capture.streams.map((s) => (s.kind === 'video' ? { ...s, packets: s.packets.slice(0, SWITCH) } : s)) };
    return play('producer-replaced.mp4', first, async (rig, recorder) => {
      const replayer = await Replayer.create(rig.router, secondProducer().streams);
      const [oldVideo] = rig.replayer.producers;
      await sleep(10_000);
      oldVideo!.close();
      await recorder.replaceProducer(oldVideo!.id, replayer.producers[0]!);
      await replayer.play();
    });
  },
  resizeH264: () => play('resize.mp4', videoOpusFixture('h264-resize').capture),
  resizeVp8: () => play('resize.webm', videoOpusFixture('vp8-resize').capture),
};

describe('stream events through mediasoup 3.8.4 (real time)', () => {
  const played = new Map<string, Played>();

  beforeAll(async () => {
    // Three sessions at a time: real time, and the event loop stays free for the replays.
    const names = Object.keys(SCRIPTS);
    const results = new Map<string, Played>();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < names.length) {
        const name = names[next++]!;
        results.set(name, await SCRIPTS[name]!());
      }
    };
    await Promise.all([lane(), lane(), lane()]);
    for (const [name, p] of results) played.set(name, measure(p));
  }, 300_000);

  const get = (name: string): Played => {
    const p = played.get(name)!;
    expect(p.decodeErrors, name).toBe('');
    return p;
  };

  it('sequence number and RTP timestamp wraps are invisible: every frame, full length', () => {
    const p = get('wraps');
    expect(p.videoFrames).toBe(h264.truth.video.encoded.frames);
    expect(p.summary.streams.map((s) => s.framesWritten)).toEqual([h264.truth.video.encoded.frames, h264.truth.audio.encoded.packets]);
    expect(p.times.audio.durationS).toBeCloseTo(FIXTURE_S, 1);
    expect(p.gaps).toEqual([]);
  });

  it('a producer paused for 3 s keeps its place in time: silence for audio, the last picture for video', () => {
    const p = get('producerPause');
    expect(Math.abs(p.times.audio.durationS - FIXTURE_S), `audio ${p.times.audio.durationS} s`).toBeLessThan(0.1);
    expect(Math.abs(p.times.video.startS + p.times.video.durationS - FIXTURE_S), 'video ends where the fixture ends').toBeLessThan(0.15);
    const [audioGap] = gapsOf(p, 'audio');
    expect(audioGap).toMatchObject({ cause: 'no-media' });
    expect(audioGap!.durationMs).toBeGreaterThan(2800);
    expect(audioGap!.durationMs).toBeLessThan(3300);
    // Video resumes at the capture's next keyframe (every 2 s) after the 3 s pause.
    expect(p.videoFrames).toBeGreaterThanOrEqual(600 - 5 * 30);
    expect(p.videoFrames).toBeLessThanOrEqual(600 - 3 * 30);
  });

  it('a camera muted for 6 s leaves a 6 s video gap, not a shorter file', () => {
    const p = get('videoMute');
    const gaps = gapsOf(p, 'video');
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ cause: 'no-media', lostPackets: 0 });
    expect(gaps[0]!.durationMs).toBeGreaterThan(5900);
    expect(Math.abs(p.times.video.startS + p.times.video.durationS - FIXTURE_S)).toBeLessThan(0.15);
    expect(p.videoFrames).toBe(600 - 6 * 30);
  });

  it('3 s of DTX become 3 s of silence', () => {
    const p = get('audioDtx');
    const audio = p.summary.streams.find((s) => s.kind === 'audio')!;
    expect(audio.silenceInsertedMs).toBe(3000);
    expect(gapsOf(p, 'audio')).toEqual([expect.objectContaining({ cause: 'no-media', durationMs: 3000 })]);
    expect(p.times.audio.durationS).toBeCloseTo(FIXTURE_S, 1);
    expect(p.videoFrames).toBe(600);
  });

  it('a video track that starts 3 s after the audio starts 3 s into the file', () => {
    const p = get('lateVideo');
    expect(p.times.video.startS - p.times.audio.startS).toBeGreaterThan(2.9);
    expect(p.times.video.startS - p.times.audio.startS).toBeLessThan(3.1);
    expect(p.videoFrames).toBe(600);
  });

  it('a replaced producer continues the same track, in time, from the new producer\'s first keyframe', () => {
    const p = get('producerReplaced');
    const v = p.summary.streams.find((s) => s.kind === 'video')!;
    expect(v.ssrcChanges).toBe(1);
    expect(p.videoFrames).toBeGreaterThanOrEqual(595);
    expect(Math.abs(p.times.video.startS + p.times.video.durationS - FIXTURE_S)).toBeLessThan(0.15);
    expect(p.times.audio.durationS).toBeCloseTo(FIXTURE_S, 1);
  });

  it.for(['resizeH264', 'resizeVp8'])('%s: the size change is in the file and decodes at both sizes', (name) => {
    const p = get(name);
    expect(p.sizes).toEqual(['640x360', '1280x720']);
    expect(p.videoFrames).toBe(300);
  });
});
