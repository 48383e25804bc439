/**
 * A recording process killed with SIGKILL (no chance to finish the file) leaves an MP4 that
 * decodes without error up to its last complete fragment.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ffmpegDecodeErrors, ffprobeStreams, parseMp4, tempDir } from './helpers/oracles.js';

const CHILD = new URL('./helpers/record-child.ts', import.meta.url).pathname;

/** Starts the recording child, kills it with SIGKILL 5 s after it started recording. */
async function recordAndKill(output: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, output], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('recording')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  await new Promise((r) => setTimeout(r, 5000));
  child.kill('SIGKILL');
  const [, signal] = await once(child, 'exit');
  expect(signal).toBe('SIGKILL');
}

describe('a recording process killed with SIGKILL after 5 s', () => {
  it('leaves an MP4 that decodes up to its last fragment', async () => {
    const output = join(tempDir('kill-'), 'killed.mp4');
    await recordAndKill(output);

    expect(ffmpegDecodeErrors(output)).toBe('');
    const mp4 = parseMp4(readFileSync(output));
    const video = mp4.info.tracks.find((t) => t.video)!;
    const audio = mp4.info.tracks.find((t) => t.audio)!;
    const videoSamples = mp4.samples(video.id).length;
    // 5 s recorded with ~1 s fragments: at least 3 s of 30 fps video must be in complete fragments.
    expect(videoSamples).toBeGreaterThanOrEqual(90);
    expect(videoSamples).toBeLessThanOrEqual(5 * 30);
    expect(mp4.samples(video.id)[0]!.is_sync).toBe(true);
    const probe = ffprobeStreams(output);
    expect(Number(probe.streams.find((s) => s.codec_type === 'video')!.nb_read_frames)).toBe(videoSamples);
    expect(Number(probe.streams.find((s) => s.codec_type === 'audio')!.nb_read_frames)).toBe(mp4.samples(audio.id).length);
  });

  it('leaves a Matroska file that decodes up to its last written blocks', async () => {
    const output = join(tempDir('kill-'), 'killed.mkv');
    await recordAndKill(output);

    expect(ffmpegDecodeErrors(output)).toBe('');
    const probe = ffprobeStreams(output);
    const videoFrames = Number(probe.streams.find((s) => s.codec_type === 'video')!.nb_read_frames);
    const audioFrames = Number(probe.streams.find((s) => s.codec_type === 'audio')!.nb_read_frames);
    // Blocks go out about every second of media: at least 3 of the 5 s recorded are in the file.
    expect(videoFrames).toBeGreaterThanOrEqual(90);
    expect(videoFrames).toBeLessThanOrEqual(5 * 30);
    expect(audioFrames).toBeGreaterThanOrEqual(150);
  });
});
