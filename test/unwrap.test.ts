import { describe, expect, it } from 'vitest';
import { SequenceUnwrapper, TimestampUnwrapper } from '../src/rtp/unwrap.js';

describe('SequenceUnwrapper', () => {
  it('maps the first value to itself and counts on from it', () => {
    const u = new SequenceUnwrapper();
    expect([1000, 1001, 1002].map((s) => u.unwrap(s))).toEqual([1000, 1001, 1002]);
  });

  it('continues past 65535 -> 0', () => {
    const u = new SequenceUnwrapper();
    expect([65534, 65535, 0, 1].map((s) => u.unwrap(s))).toEqual([65534, 65535, 65536, 65537]);
  });

  it('maps a packet slightly older than the highest, across a wrap, just below it', () => {
    const u = new SequenceUnwrapper();
    expect([65534, 1, 65535, 0, 2].map((s) => u.unwrap(s))).toEqual([65534, 65537, 65535, 65536, 65538]);
  });

  it('maps a value from before the first one, across a wrap, below it (negative)', () => {
    const u = new SequenceUnwrapper();
    expect([0, 65535, 65534, 1].map((s) => u.unwrap(s))).toEqual([0, -1, -2, 1]);
  });

  it('is not pulled back by an old packet: the reference stays the highest', () => {
    const u = new SequenceUnwrapper();
    for (let s = 0; s <= 30000; s += 1000) u.unwrap(s);
    // 30000 back from 30000 is still "older" (distance < 32768) ...
    expect(u.unwrap(0)).toBe(0);
    // ... and a new packet is still measured from 30000, not from 0.
    expect(u.unwrap(40000)).toBe(40000);
    expect(u.unwrap(70000 & 0xffff)).toBe(70000);
  });

  it('follows a long stream with reordering over several wraps', () => {
    const u = new SequenceUnwrapper();
    const start = 60000;
    const wrong: number[] = [];
    for (let ext = start; ext < start + 300_000; ext += 4) {
      // Each group of 4 arrives as 1, 0, 3, 2.
      for (const d of [1, 0, 3, 2]) if (u.unwrap((ext + d) & 0xffff) !== ext + d) wrong.push(ext + d);
    }
    expect(wrong).toEqual([]);
  });

  it('uses only the low 16 bits of its input', () => {
    const u = new SequenceUnwrapper();
    expect(u.unwrap(10)).toBe(10);
    expect(u.unwrap(65536 + 11)).toBe(11);
  });

  it('starts over after reset()', () => {
    const u = new SequenceUnwrapper();
    u.unwrap(100);
    u.unwrap(101);
    u.reset();
    expect(u.unwrap(50000)).toBe(50000);
    expect(u.unwrap(50001)).toBe(50001);
  });
});

describe('TimestampUnwrapper', () => {
  const TWO_32 = 2 ** 32;

  it('maps the first value to itself and continues past 2^32', () => {
    const u = new TimestampUnwrapper();
    expect(u.unwrap(TWO_32 - 3000)).toBe(TWO_32 - 3000);
    expect(u.unwrap(0)).toBe(TWO_32);
    expect(u.unwrap(3000)).toBe(TWO_32 + 3000);
  });

  it('handles a backward step across the wrap (reordered packet) both ways', () => {
    const u = new TimestampUnwrapper();
    expect(u.unwrap(TWO_32 - 100)).toBe(TWO_32 - 100);
    expect(u.unwrap(200)).toBe(TWO_32 + 200);
    expect(u.unwrap(TWO_32 - 50)).toBe(TWO_32 - 50);
    expect(u.unwrap(300)).toBe(TWO_32 + 300);
  });

  it('maps a value from before the first one, across a wrap, below it (negative)', () => {
    const u = new TimestampUnwrapper();
    expect(u.unwrap(5)).toBe(5);
    expect(u.unwrap(TWO_32 - 5)).toBe(-5);
  });

  it('stays exact over thousands of wraps, beyond 2^44', () => {
    const u = new TimestampUnwrapper();
    const step = 2_000_000_000; // large steps (under 2^31) so that 10000 of them cross many wraps
    let truth = 123_456_789;
    u.unwrap(truth);
    const wrong: number[] = [];
    for (let k = 0; k < 10_000; k++) {
      truth += step;
      if (u.unwrap(truth % TWO_32) !== truth) wrong.push(truth);
    }
    expect(wrong).toEqual([]);
    expect(truth).toBeGreaterThan(2 ** 44);
  });

  it('accepts an already unwrapped value and uses it modulo 2^32', () => {
    const u = new TimestampUnwrapper();
    u.unwrap(TWO_32 - 10);
    expect(u.unwrap(3 * TWO_32 + 10)).toBe(TWO_32 + 10);
  });

  it('starts over after reset()', () => {
    const u = new TimestampUnwrapper();
    u.unwrap(TWO_32 - 10);
    u.unwrap(10);
    u.reset();
    expect(u.unwrap(77)).toBe(77);
  });
});
