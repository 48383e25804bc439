/**
 * The Recorder's own API through a real mediasoup worker: pause/resume leaves the paused span out
 * of the file and resumes video at a keyframe, `stats` events arrive, stop() is safe twice.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Recorder, type StreamStats } from '../src/index.js';
import { ffmpegDecodeErrors, ffprobeStreams, parseMp4, tempDir } from './helpers/oracles.js';
import { h264OpusFixture, replayRig } from './helpers/replay.js';
import { readFileSync } from 'node:fs';

const { capture, truth } = h264OpusFixture();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Recorder API', () => {
  it('pause() leaves the paused span out, resume() restarts video at a keyframe; stats events; stop() twice', async () => {
    const rig = await replayRig(capture);
    try {
      const output = join(tempDir('pause-'), 'out.mp4');
      const recorder = new Recorder({ router: rig.router, producers: rig.replayer.producers, output, statsIntervalMs: 500 });
      const statsEvents: StreamStats[][] = [];
      recorder.on('stats', (s) => statsEvents.push(s));
      await recorder.start();
      // Real time: a live sender's RTP clock runs with the wall clock, which the timeline relies on.
      const playing = rig.replayer.play({ speed: 1 });
      await sleep(5000);
      await recorder.pause();
      await sleep(4000); // 4 s of the fixture go by unrecorded
      await recorder.resume();
      await playing;
      await sleep(300);
      const [summary, again] = await Promise.all([recorder.stop(), recorder.stop()]);
      expect(again).toBe(summary);

      expect(ffmpegDecodeErrors(output)).toBe('');
      const mp4 = parseMp4(readFileSync(output));
      const video = mp4.info.tracks.find((t) => t.video)!;
      const audio = mp4.info.tracks.find((t) => t.audio)!;
      const span = (id: number): number => {
        const s = mp4.samples(id);
        return (s.at(-1)!.dts + s.at(-1)!.duration - s[0]!.dts) / s[0]!.timescale;
      };
      // 20 s of fixture minus ~4 s paused: the file is about 16 s long, not 20 (no hole kept).
      expect(span(audio.id)).toBeGreaterThan(14.5);
      expect(span(audio.id)).toBeLessThan(17.5);
      // Video resumes at the next keyframe (every 2 s of fixture): at most 2 s more are missing.
      const videoSamples = mp4.samples(video.id);
      expect(videoSamples.length).toBeLessThan(truth.video.encoded.frames - 3.5 * truth.video.fps);
      expect(videoSamples.length).toBeGreaterThan(truth.video.encoded.frames - 6.5 * truth.video.fps);
      const firstAfterResume = videoSamples.findIndex((s, i) => i > 0 && s.dts - videoSamples[i - 1]!.dts > 3000);
      expect(firstAfterResume === -1 || videoSamples[firstAfterResume]!.is_sync).toBe(true);
      expect(Math.abs(span(video.id) - span(audio.id))).toBeLessThan(0.5);
      const probe = ffprobeStreams(output).streams.find((s) => s.codec_type === 'video')!;
      expect(Number(probe.nb_read_frames)).toBe(videoSamples.length);

      expect(statsEvents.length).toBeGreaterThanOrEqual(10);
      expect(statsEvents.at(-1)!.map((s) => s.kind)).toEqual(['video', 'audio']);
      expect(statsEvents.at(-1)![0]!.framesWritten).toBeGreaterThan(0);
    } finally {
      rig.close();
    }
  });
});
