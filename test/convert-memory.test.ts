/**
 * The converter streams its input (issue 10, defect 5): converting a capture four times as long
 * takes no more memory. Two generated captures (the H264+Opus fixture repeated, ~100 MB and
 * ~400 MB) are converted in child processes; their peak RSS must differ by a small fraction of
 * the sizes' difference (holding the capture in memory cost ~3 bytes of RSS per byte of pcap).
 * bench/convert-memory.ts measures the same up to 24 hours of capture.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLongCapture, type LongCapture } from './helpers/long-capture.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { FIXTURES } from './helpers/replay.js';

const CHILD = new URL('./helpers/convert-child.ts', import.meta.url).pathname;
const truth = JSON.parse(readFileSync(`${FIXTURES}h264-opus.json`, 'utf8'));

interface ChildResult {
  maxRssBytes: number;
  summary: { streams: { kind: string; framesWritten: number }[]; truncated: string | undefined };
}

function convertInChild(capture: string, output: string): ChildResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, capture, `${FIXTURES}h264-opus.sdp`, output], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`convert-child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildResult;
}

describe('streaming conversion', () => {
  const dir = tempDir('convert-memory-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('converts a 4x longer capture in the same peak RSS, and the output plays from start to end', () => {
    const runs: { capture: LongCapture; result: ChildResult; output: string }[] = [];
    for (const [name, bytes] of [['small', 100e6], ['large', 400e6]] as const) {
      const path = join(dir, `${name}.pcap`);
      const capture = writeLongCapture(`${FIXTURES}h264-opus`, path, bytes);
      const output = join(dir, `${name}.mp4`);
      const result = convertInChild(path, output);
      rmSync(path);
      runs.push({ capture, result, output });
    }
    const [small, large] = runs as [(typeof runs)[0], (typeof runs)[0]];
    const rssGrowth = large.result.maxRssBytes - small.result.maxRssBytes;
    const sizeGrowth = large.capture.bytes - small.capture.bytes;
    expect(rssGrowth / sizeGrowth, `peak RSS ${small.result.maxRssBytes} -> ${large.result.maxRssBytes} bytes`).toBeLessThan(0.05);

    // Every lap's frames are in the output, and it decodes cleanly at its start and its end.
    const { output, capture, result } = large;
    expect(result.summary.truncated).toBeUndefined();
    const video = result.summary.streams.find((s) => s.kind === 'video')!;
    expect(video.framesWritten).toBe(capture.laps * truth.video.encoded.frames);
    const probe = ffprobeStreams(output, false);
    expect(Number(probe.format.duration) * 1000).toBeCloseTo(capture.durationMs, -3);
    expect(ffmpegDecodeErrors(output, ['-t', '20'])).toBe('');
    expect(ffmpegDecodeErrors(output, ['-sseof', '-20'])).toBe('');
  });
});
