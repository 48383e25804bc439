/**
 * The recording clock's settling of the tracks' start: each track is placed from its first
 * packets, then placed again when the clock settles from the smallest delay seen since, so that a
 * late read at start (a stalled event loop, a keyframe's paced packets) does not shift a whole
 * file. Time is passed in: the fixture's packets with arrival times rewritten.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { feedInCaptureTime } from '../src/convert.js';
import { RecordingClock, SETTLE_MS } from '../src/pipeline/recording-clock.js';
import { RecordingSession } from '../src/pipeline/recording-session.js';
import { openFileSink } from '../src/sink/file.js';
import { streamSpecOf, type CapturedPacket, type CapturedStream } from '../src/source/capture.js';
import { ffprobeFrames, ffprobeStreams, ffmpegDecodeErrors, tempDir } from './helpers/oracles.js';
import { h264OpusFixture } from './helpers/replay.js';

const { capture } = h264OpusFixture();
const [VIDEO, AUDIO] = capture.streams as [CapturedStream, CapturedStream];
const dir = tempDir('clock-');
const timestampOf = (p: CapturedPacket): number => p.data.readUInt32BE(4);

/** Records both streams into an MKV; returns when, in ms, the first video and the first decoded audio sample are presented. */
async function record(name: string, video: CapturedPacket[], audio: CapturedPacket[]): Promise<{ videoMs: number; audioMs: number }> {
  const streams = [
    { ...VIDEO, packets: video },
    { ...AUDIO, packets: audio },
  ];
  const file = join(dir, `${name}.mkv`);
  const sink = await openFileSink(file, (e) => {
    throw e;
  });
  const session = new RecordingSession(streams.map((s) => ({ spec: streamSpecOf(s) })), 'mkv', sink, { onGap: () => undefined, onKeyframe: () => undefined });
  feedInCaptureTime(session, streams);
  await session.finish();
  expect(ffmpegDecodeErrors(file)).toBe('');
  const v = ffprobeStreams(file, false).streams.find((s) => s.codec_type === 'video')!;
  return { videoMs: Number(v.start_time) * 1000, audioMs: Number(ffprobeFrames(file, 'a')[0]!.pts_time) * 1000 };
}

/** Packets read `stallMs` late from `atMs` on: every packet arriving in the stall is read at its end. */
const stalled = (packets: CapturedPacket[], atMs: number, stallMs: number): CapturedPacket[] =>
  packets.map((p) => (p.timeMs >= atMs && p.timeMs < atMs + stallMs ? { ...p, timeMs: atMs + stallMs } : p));

describe('RecordingClock', () => {
  it('settles SETTLE_MS after the last placement (within SETTLE_MS of the first): zero at the earliest track, each moved to its settled place', () => {
    const clock = new RecordingClock();
    const moved: Record<string, number> = {};
    const a = { key: 'a' };
    const b = { key: 'b' };
    let aWall = 1010; // its first estimate; the settled one is 1000
    expect(clock.toRecordingMs(1010)).toBe(0);
    clock.place(a, { clockRate: 48000, dts: 0, wallMs: () => aWall, move: (t) => (moved.a = t) }, 1010);
    expect(clock.toRecordingMs(1030)).toBe(20);
    clock.place(b, { clockRate: 90000, dts: 20 * 90, wallMs: () => 1025, move: (t) => (moved.b = t) }, 1040);
    let shifts: ((k: object) => number) | undefined;
    clock.onSettled((s) => (shifts = s));
    aWall = 1000;
    clock.settleIfDue(1040 + SETTLE_MS - 1);
    expect(clock.settled).toBe(false);
    // A track placed after the first one's time is up waits no longer.
    clock.place({ key: 'c' }, { clockRate: 48000, dts: 0, wallMs: () => undefined, move: () => undefined }, 1010 + SETTLE_MS);
    clock.settleIfDue(1040 + SETTLE_MS);
    expect(clock.settled).toBe(true);
    // Zero moved 10 ms earlier, to a's settled start: a stays at 0, b goes from 20 to 25 ms.
    expect(moved).toEqual({ b: 5 * 90 });
    expect(shifts!(a)).toBe(0);
    expect(shifts!(b)).toBe(450);
    expect(clock.toRecordingMs(1000)).toBe(0);
  });

  it('a 50 ms stall of arrivals at the first keyframe shifts neither track by more than 2 ms', async () => {
    // The audio starts with the video's first keyframe, as when both consumers start together.
    const keyframeMs = VIDEO.packets[0]!.timeMs;
    const audio = AUDIO.packets.filter((p) => p.timeMs >= keyframeMs);
    const keyframe = VIDEO.packets.filter((p) => timestampOf(p) === timestampOf(VIDEO.packets[0]!));
    const stallAt = keyframe.at(-1)!.timeMs; // the keyframe's last packet: the 'keyframe' event
    const clean = await record('clean', VIDEO.packets, audio);
    const late = await record('stalled', stalled(VIDEO.packets, stallAt, 50), stalled(audio, stallAt, 50));
    const offset = (r: { videoMs: number; audioMs: number }): number => r.videoMs - r.audioMs;
    expect(Math.abs(offset(late) - offset(clean)), `video - audio: clean ${offset(clean)} ms, stalled ${offset(late)} ms`).toBeLessThanOrEqual(2);
  });
});
