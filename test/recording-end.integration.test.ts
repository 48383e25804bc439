/**
 * Why a recording ended, through a real mediasoup 3.8.4 worker: the router closed, the worker was
 * SIGKILLed, the producers closed (one closing ends only its track), the UDP socket closed, or the
 * app called stop(). Each time the Recorder emits `ended` once with the reason, the summary carries
 * it, and the file (finished by the recorder itself) decodes clean in ffmpeg.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Recorder, RtpUdpEndpoint, sendToRecorder, type RecorderEvents, type RecorderOptions } from '../src/index.js';
import { ffmpegDecodeErrors, tempDir } from './helpers/oracles.js';
import { probeTimes } from './helpers/probe-times.js';
import { h264OpusFixture, replayRig } from './helpers/replay.js';

const { capture } = h264OpusFixture();
const SPEED = 4;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
type Ended = RecorderEvents['ended'][0];
type Rig = Awaited<ReturnType<typeof replayRig>>;

/** Starts recording the fixture at SPEED and returns after `faultAfterMs` of wall time, collecting every `ended` event. */
async function recordFor(name: string, faultAfterMs = 1500) {
  const rig = await replayRig(capture);
  const output = join(tempDir('ended-'), name);
  const recorder = new Recorder({ router: rig.router, producers: rig.replayer.producers, output });
  const endedEvents: Ended[] = [];
  recorder.on('ended', (e) => endedEvents.push(e));
  const errors: Error[] = [];
  recorder.on('error', (e) => errors.push(e));
  await recorder.start();
  void rig.replayer.play({ speed: SPEED });
  await sleep(faultAfterMs);
  return { rig, recorder, output, endedEvents, errors };
}

async function nextEnded(recorder: Recorder): Promise<Ended> {
  const [event] = (await once(recorder, 'ended')) as [Ended];
  return event;
}

describe('a recording that ends on its own says why', () => {
  it.each([
    ['router.close()', 'router-closed', (rig: Rig): void => rig.router.close()],
    ['the worker SIGKILLed', 'worker-died', (rig: Rig): void => void process.kill(rig.worker.pid, 'SIGKILL')],
  ] as const)("%s: '%s', the file is finished and decodes clean", async (_case, expected, fault) => {
    const run = await recordFor(`${expected}.mp4`);
    try {
      const ended = nextEnded(run.recorder);
      fault(run.rig);
      const { reason, summary } = await ended;
      expect(reason).toBe(expected);
      expect(summary.endReason).toBe(expected);
      // stop() afterwards gives the same summary: the first cause stays.
      expect(await run.recorder.stop()).toBe(summary);
      expect(run.endedEvents).toHaveLength(1);
      expect(run.errors).toEqual([]);
      expect(ffmpegDecodeErrors(run.output)).toBe('');
      // ~1.5 s of wall time at 4x: about 6 s of media in both tracks, far from the fixture's 20 s.
      const times = probeTimes(run.output);
      for (const track of [times.audio, times.video]) {
        expect(track.durationS).toBeGreaterThan(3);
        expect(track.durationS).toBeLessThan(12);
      }
    } finally {
      run.rig.close();
    }
  });

  it("producer.close(): one closing ends only its track; when the last closes, 'producer-closed'", async () => {
    const run = await recordFor('producer-closed.mp4');
    try {
      const [video, audio] = run.rig.replayer.producers;
      expect(video!.kind).toBe('video');
      video!.close();
      await sleep(1500); // ~6 s more of audio alone
      expect(run.endedEvents).toEqual([]);
      const ended = nextEnded(run.recorder);
      audio!.close();
      const { reason, summary } = await ended;
      expect(reason).toBe('producer-closed');
      expect(summary.endReason).toBe('producer-closed');
      expect(run.errors).toEqual([]);
      expect(ffmpegDecodeErrors(run.output)).toBe('');
      // Video stopped ~6 s of media before audio did: the audio track went on without it.
      const times = probeTimes(run.output);
      const videoEndS = times.video.startS + times.video.durationS;
      const audioEndS = times.audio.startS + times.audio.durationS;
      expect(audioEndS - videoEndS).toBeGreaterThan(3.5);
      expect(audioEndS - videoEndS).toBeLessThan(8.5);
      expect(summary.streams.map((s) => s.kind)).toEqual(['video', 'audio']);
    } finally {
      run.rig.close();
    }
  });

  it("stop(): 'stopped', one event, the same summary stop() resolves to", async () => {
    const run = await recordFor('stopped.mp4', 1000);
    try {
      const summary = await run.recorder.stop();
      expect(summary.endReason).toBe('stopped');
      expect(run.endedEvents).toEqual([{ reason: 'stopped', summary }]);
      // The router closing afterwards is no second end.
      run.rig.router.close();
      await sleep(50);
      expect(run.endedEvents).toHaveLength(1);
      expect(ffmpegDecodeErrors(run.output)).toBe('');
    } finally {
      run.rig.close();
    }
  });

  it("RtpUdpEndpoint.close() under a UDP recording: 'source-closed'", async () => {
    const rig = await replayRig(capture);
    const endpoint = await RtpUdpEndpoint.bind();
    try {
      const link = await sendToRecorder(rig.router, rig.replayer.producers, endpoint.local);
      const output = join(tempDir('ended-'), 'source-closed.mp4');
      const options: RecorderOptions = { source: endpoint.source(link.streams), output };
      const recorder = new Recorder(options);
      await recorder.start();
      await link.resume();
      void rig.replayer.play({ speed: SPEED });
      await sleep(1500);
      const ended = nextEnded(recorder);
      endpoint.close();
      const { reason, summary } = await ended;
      expect(reason).toBe('source-closed');
      expect(summary.endReason).toBe('source-closed');
      expect(ffmpegDecodeErrors(output)).toBe('');
      expect(probeTimes(output).audio.durationS).toBeGreaterThan(3);
    } finally {
      endpoint.close();
      rig.close();
    }
  });
});
