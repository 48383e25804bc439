/**
 * README's usage example, extracted from README.md as written and run against a real mediasoup
 * worker, so the documentation cannot drift from the API.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { h264OpusFixture, replayRig } from './helpers/replay.js';

const README = new URL('../README.md', import.meta.url).pathname;
const GENERATED = new URL('./.generated/', import.meta.url).pathname;

function readmeExample(): string {
  const readme = readFileSync(README, 'utf8');
  const block = /## Use it\n\n```ts\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no ```ts block under "## Use it"');
  return block[1]!;
}

describe('the README usage example', () => {
  it('is at most about 15 lines', () => {
    expect(readmeExample().trim().split('\n').length).toBeLessThanOrEqual(16);
  });

  it('records the fixture replayed through mediasoup into a file ffmpeg decodes', async () => {
    mkdirSync(GENERATED, { recursive: true });
    const modulePath = join(GENERATED, 'readme-example.ts');
    writeFileSync(modulePath, readmeExample());
    const { record } = (await import(modulePath)) as {
      record: (router: unknown, producers: unknown[], path: string, done: Promise<unknown>) => Promise<{ streams: { framesWritten: number }[] }>;
    };
    const { capture, truth } = h264OpusFixture();
    const rig = await replayRig(capture);
    try {
      const path = join(tempDir('readme-'), 'call.mp4');
      // Play once the example's recorder has resumed both its consumers, as a live call would be running.
      let resumed = 0;
      const recording = new Promise<void>((resolve) =>
        rig.router.observer.on('newtransport', (t: types.Transport) =>
          t.observer.on('newconsumer', (c: types.Consumer) => c.observer.once('resume', () => ++resumed === 2 && resolve())),
        ),
      );
      const done = recording.then(() => rig.replayer.play({ speed: 4 })).then(() => new Promise((r) => setTimeout(r, 300)));
      const summary = await record(rig.router, rig.replayer.producers, path, done);
      expect(summary.streams.map((s) => s.framesWritten)).toEqual([truth.video.encoded.frames, truth.audio.encoded.packets]);
      expect(ffmpegDecodeErrors(path)).toBe('');
      expect(Number(ffprobeStreams(path).streams.find((s) => s.codec_type === 'video')!.nb_read_frames)).toBe(truth.video.encoded.frames);
    } finally {
      rig.close();
    }
  });
});
