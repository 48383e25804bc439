import { describe, expect, it } from 'vitest';
import { Limiter } from '../src/room/mix/limiter.js';
import { rng } from './helpers/random.js';

const FRAME = 960;
const CEILING = 32767 * 10 ** (-1 / 20);

/** Runs `frames` frames of `signal` (a function of the sample index; the right channel its negative) through a stereo limiter: the left channel out, and in. */
function run(limiter: Limiter, frames: number, signal: (t: number) => number): { out: number[]; input: number[] } {
  const out: number[] = [];
  const input: number[] = [];
  const x = new Float32Array(FRAME * 2);
  const y = new Int16Array(FRAME * 2);
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < FRAME; i++) {
      const v = signal(f * FRAME + i);
      x[2 * i] = v;
      x[2 * i + 1] = -v;
      input.push(Math.fround(v));
    }
    limiter.process(x, y);
    for (let i = 0; i < FRAME; i++) out.push(y[2 * i]!);
  }
  return { out, input };
}

describe('Limiter', () => {
  it('passes what stays under the ceiling through unchanged, delayed by its look-ahead', () => {
    const limiter = new Limiter(2);
    const { out, input } = run(limiter, 20, (t) => 20000 * Math.sin(t / 7));
    for (let t = 240; t < out.length; t++) expect(out[t]).toBe(Math.round(input[t - 240]!));
    expect(limiter.stats).toEqual({ framesLimited: 0, minGain: 1 });
  });

  it('never lets a peak over the ceiling, whatever comes, and ramps the gain instead of jumping', () => {
    const random = rng(7);
    const limiter = new Limiter(2);
    // Bursts of random loudness up to 4x full scale, with quiet stretches between.
    const level = Array.from({ length: 200 }, () => (random() < 0.4 ? 0 : random() * 4 * 32767));
    const { out, input } = run(limiter, 100, (t) => level[Math.floor(t / 480)]! * Math.sin(t / 5 + random()));
    let maxGainStep = 0;
    let over = 0;
    for (let t = 241; t < out.length; t++) {
      if (Math.abs(out[t]!) > Math.ceil(CEILING)) over++;
      const [x0, x1] = [input[t - 241]!, input[t - 240]!];
      // The gain of neighbouring samples, where both are loud enough to read it from.
      if (Math.abs(x0) > 1000 && Math.abs(x1) > 1000) maxGainStep = Math.max(maxGainStep, Math.abs(out[t]! / x1 - out[t - 1]! / x0));
    }
    expect(over).toBe(0);
    expect(limiter.stats.framesLimited).toBeGreaterThan(10);
    expect(limiter.stats.minGain).toBeLessThan(0.3);
    // Over 240 samples of look-ahead a gain change of 1 takes steps of about 1/240.
    expect(maxGainStep).toBeLessThan(0.05);
  });

  it('recovers after a peak, and is exact again once it has', () => {
    const limiter = new Limiter(2, { release: 480 });
    run(limiter, 5, (t) => 60000 * Math.sin(t / 9));
    const { out, input } = run(limiter, 40, (t) => 10000 * Math.sin(t / 9));
    // 10 ms release: long after, the quiet signal comes through whole.
    for (let t = 30 * FRAME; t < out.length; t++) expect(out[t]).toBe(Math.round(input[t - 240]!));
  });
});
