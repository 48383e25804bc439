import { describe, expect, it } from 'vitest';
import { ClockMapper, SlidingMinimum } from '../src/rtp/clock-mapper.js';
import { rng } from './helpers/random.js';

const AUDIO_RATE = 48000;
const VIDEO_RATE = 90000;
/** Local clock = sender's capture clock + this (any constant: the clocks are unrelated). */
const LOCAL_MINUS_CAPTURE_MS = -7_000;
/** Smallest network delay. */
const BASE_DELAY_MS = 30;

describe('SlidingMinimum', () => {
  it('gives the smallest value of a suffix of the window (minOverLast)', () => {
    const m = new SlidingMinimum(1000);
    expect(m.minOverLast(100)).toBeUndefined();
    for (const [t, v] of [[0, 5], [50, 9], [100, 4], [150, 8], [200, 7], [250, 6]] as const) m.push(t, v);
    expect(m.min).toBe(4);
    expect(m.minOverLast(100)).toBe(6); // samples at 150, 200, 250
    expect(m.minOverLast(150)).toBe(4); // from 100 on
    expect(m.minOverLast(0)).toBe(6); // the latest sample alone
  });

  it('gives the smallest value of the last windowMs and forgets older ones', () => {
    const m = new SlidingMinimum(100);
    expect(m.min).toBeUndefined();
    m.push(0, 5);
    m.push(10, 7);
    m.push(20, 3);
    m.push(30, 9);
    expect(m.min).toBe(3);
    m.push(120, 8); // sample at 20 is still within 100 ms
    expect(m.min).toBe(3);
    m.push(121, 10); // now it is not: 8 (t=120) is the smallest left
    expect(m.min).toBe(8);
  });

  it('keeps working when it has to grow (an increasing run longer than its initial ring)', () => {
    const m = new SlidingMinimum(1e9);
    for (let k = 0; k < 1000; k++) m.push(k, k);
    expect(m.min).toBe(0);
    m.push(1000, -1);
    expect(m.min).toBe(-1);
  });

  it('matches a brute-force minimum on random input', () => {
    const random = rng(7);
    const m = new SlidingMinimum(50);
    const samples: Array<[number, number]> = [];
    let t = 0;
    for (let k = 0; k < 5000; k++) {
      t += random() * 5;
      const v = random() * 100;
      m.push(t, v);
      samples.push([t, v]);
      const brute = Math.min(...samples.filter(([st]) => st >= t - 50).map(([, sv]) => sv));
      if (m.min !== brute) throw new Error(`at ${k}: ${m.min} != ${brute}`);
    }
  });
});

describe('ClockMapper', () => {
  it('knows nothing before the first packet', () => {
    expect(new ClockMapper(AUDIO_RATE).toWallMs(1000)).toBeUndefined();
  });

  it('maps exactly when there is no jitter', () => {
    const m = new ClockMapper({ clockRate: AUDIO_RATE });
    m.observe(48_000, 5_000);
    expect(m.toWallMs(48_000)).toBe(5_000);
    expect(m.toWallMs(48_000 + 480)).toBe(5_010);
  });

  it('is within 2 ms of the true offset after 3 s of audio with 0-40 ms random delay jitter', () => {
    const random = rng(1);
    const m = new ClockMapper({ clockRate: AUDIO_RATE });
    const rtp0 = 1_234_567;
    const errors: number[] = [];
    for (let k = 0; k < 3000; k++) {
      const captureMs = 20 * k;
      const rtp = rtp0 + 960 * k;
      m.observe(rtp, captureMs + LOCAL_MINUS_CAPTURE_MS + BASE_DELAY_MS + random() * 40);
      const error = m.toWallMs(rtp)! - (captureMs + LOCAL_MINUS_CAPTURE_MS + BASE_DELAY_MS);
      if (captureMs >= 3000) errors.push(error);
    }
    // The minimum is never below the truth (delays are never negative), and soon close to it.
    expect(Math.min(...errors)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...errors)).toBeLessThan(2);
  });

  it('handles burst-paced video: all packets of a frame sent at once, 30 fps', () => {
    const random = rng(2);
    const m = new ClockMapper({ clockRate: VIDEO_RATE });
    const errors: number[] = [];
    for (let f = 0; f < 900; f++) {
      const captureMs = (1000 * f) / 30;
      const rtp = 3000 * f;
      const frameJitterMs = random() * 40;
      const packets = 5 + Math.floor(random() * 40); // keyframes are larger
      for (let p = 0; p < packets; p++) {
        // Each packet of the burst waits behind the previous ones (0.3 ms serialization each).
        m.observe(rtp, captureMs + LOCAL_MINUS_CAPTURE_MS + BASE_DELAY_MS + frameJitterMs + p * 0.3 + random() * 0.2);
      }
      const error = m.toWallMs(rtp)! - (captureMs + LOCAL_MINUS_CAPTURE_MS + BASE_DELAY_MS);
      if (captureMs >= 5000) errors.push(error);
    }
    expect(Math.min(...errors)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...errors)).toBeLessThan(2);
  });

  it('follows a lasting delay increase once the window has passed, and a decrease at once', () => {
    const random = rng(3);
    const m = new ClockMapper({ clockRate: AUDIO_RATE, windowMs: 10_000 });
    const errorAt = (captureMs: number, baseDelayMs: number): number => {
      const rtp = 48 * captureMs;
      m.observe(rtp, captureMs + baseDelayMs + random() * 20);
      return m.toWallMs(rtp)! - (captureMs + baseDelayMs);
    };
    for (let t = 0; t < 20_000; t += 20) errorAt(t, 30);
    // Route change: 50 ms more delay. The old minimum holds until it leaves the window ...
    let error = 0;
    for (let t = 20_000; t < 29_000; t += 20) error = errorAt(t, 80);
    expect(error).toBeCloseTo(-50, -0.5);
    // ... then the estimate follows.
    for (let t = 29_000; t < 35_000; t += 20) error = errorAt(t, 80);
    expect(Math.abs(error)).toBeLessThan(2);
    // A decrease shows in the very next sample.
    error = errorAt(35_000, 10);
    expect(Math.abs(error)).toBeLessThan(20);
    expect(error).toBeLessThanOrEqual(20);
  });

  describe('recent estimate (toRecentWallMs)', () => {
    it('follows a sender clock running 2.5 % slow within about a second, where the long window lags', () => {
      const m = new ClockMapper(AUDIO_RATE);
      for (let i = 0; i < 250; i++) m.observe(i * 960, i * 20.5 + (i % 3) * 4); // 5 s, some jitter
      const rtp = 249 * 960;
      const now = 249 * 20.5;
      expect(Math.abs(m.toRecentWallMs(rtp)! - now)).toBeLessThan(30); // at most a window's drift (25 ms) behind
      expect(now - m.toWallMs(rtp)!).toBeGreaterThan(100); // the 10 s window still holds the first sample
    });

    it('says nothing until a whole window of arrivals has passed', () => {
      const m = new ClockMapper(AUDIO_RATE);
      for (let i = 0; i < 49; i++) m.observe(i * 960, 1000 + i * 20);
      expect(m.toRecentWallMs(48 * 960)).toBeUndefined();
      m.observe(50 * 960, 1000 + 50 * 20);
      expect(m.toRecentWallMs(50 * 960)).toBe(2000);
    });

    it('does not take a stall of this process (late packets arriving at once) for a slow sender', () => {
      const m = new ClockMapper(AUDIO_RATE);
      let i = 0;
      for (; i < 100; i++) m.observe(i * 960, i * 20); // 2 s on time: offset 0
      expect(m.toRecentWallMs(i * 960)).toBe(i * 20);
      // The event loop is blocked 1.5 s; the 75 packets sent meanwhile are read at once afterwards.
      const burstAt = i * 20 + 1500;
      for (const end = i + 75; i < end; i++) {
        m.observe(i * 960, burstAt);
        expect(m.toRecentWallMs(i * 960), `packet ${i}`).toBeUndefined();
      }
      // On time again: once a window has passed, the estimate is the true offset, not the stall.
      for (const end = i + 60; i < end; i++) m.observe(i * 960, i * 20);
      expect(m.toRecentWallMs(i * 960)).toBe(i * 20);
    });
  });

  describe('latest estimate (toLatestWallMs)', () => {
    it('shows at once a sender clock that fell behind in a stall, where the recent estimate lags; not one late packet', () => {
      const m = new ClockMapper(AUDIO_RATE);
      let i = 0;
      for (; i < 100; i++) m.observe(i * 960, i * 20); // 2 s on time
      m.observe(i * 960, i * 20 + 40); // one packet 40 ms late (queueing), the next ones on time
      for (const end = ++i + 3; i < end; i++) m.observe(i * 960, i * 20);
      expect(m.toLatestWallMs(i * 960)).toBe(i * 20);
      // The sender stalls 150 ms and goes on with contiguous timestamps: its clock is 150 ms behind.
      m.observe(i * 960, i * 20 + 150);
      expect(m.toLatestWallMs(i * 960)).toBe(i * 20 + 150);
      expect(m.toRecentWallMs(i * 960)).toBe(i * 20);
    });
  });

  it('ignores non-finite input and counts it', () => {
    const m = new ClockMapper(AUDIO_RATE);
    m.observe(Number.NaN, 1);
    m.observe(1, Number.POSITIVE_INFINITY);
    expect(m.stats).toEqual({ observed: 0, ignored: 2 });
    expect(m.toWallMs(0)).toBeUndefined();
  });

  it('rejects a clock rate that is not positive', () => {
    expect(() => new ClockMapper(0)).toThrow(RangeError);
  });
});
