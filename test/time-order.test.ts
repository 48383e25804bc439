import { describe, expect, it } from 'vitest';
import { inTimeOrder, type TimeOrderStats } from '../src/source/time-order.js';
import { rng } from './helpers/random.js';

const order = (times: number[], windowMs: number, maxHeld = 1000): { out: { item: number; timeMs: number }[]; stats: TimeOrderStats } => {
  const stats = { late: 0 };
  const items = times.map((t, i) => ({ t, i }));
  const out = [...inTimeOrder(items, (x) => x.t, { windowMs, maxHeld }, stats)].map(({ item, timeMs }) => ({ item: item.i, timeMs }));
  return { out, stats };
};

describe('inTimeOrder', () => {
  it('sorts items that are out of order by less than the window, ties in input order', () => {
    const random = rng(3);
    const times = Array.from({ length: 2000 }, (_, i) => i * 10 + Math.floor(random() * 50));
    const { out, stats } = order(times, 100);
    const expected = times.map((t, i) => ({ item: i, timeMs: t })).sort((a, b) => a.timeMs - b.timeMs || a.item - b.item);
    expect(out).toEqual(expected);
    expect(stats.late).toBe(0);
  });

  it('passes an item later than the window on at once, at the last time passed on, and counts it', () => {
    const { out, stats } = order([0, 10, 20, 500, 600, 5, 700], 100);
    expect(out.map((o) => o.item)).toEqual([0, 1, 2, 3, 5, 4, 6]);
    expect(out[4]).toEqual({ item: 5, timeMs: 500 });
    expect(stats.late).toBe(1);
    expect(out.map((o) => o.timeMs)).toEqual([0, 10, 20, 500, 500, 600, 700]);
  });

  it('holds at most maxHeld items', () => {
    let held = 0;
    let maxHeld = 0;
    const items = (function* () {
      for (let i = 0; i < 100; i++) {
        held++;
        maxHeld = Math.max(maxHeld, held);
        yield 100 - i; // every item is earlier than the one before: all would wait for the window
      }
    })();
    const stats = { late: 0 };
    let count = 0;
    for (const _ of inTimeOrder(items, (t) => t, { windowMs: 1e9, maxHeld: 8 }, stats)) {
      held--;
      count++;
    }
    expect(count).toBe(100);
    expect(maxHeld).toBeLessThanOrEqual(9);
  });
});
