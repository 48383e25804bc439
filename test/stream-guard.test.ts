import { describe, expect, it } from 'vitest';
import type { RtpPacket } from '../src/rtp/packet.js';
import { BACKWARD_TOLERANCE_MS, FORWARD_TOLERANCE_MS, StreamGuard } from '../src/rtp/stream-guard.js';

/** An Opus-like stream: 48 kHz, a packet every 20 ms (960 ticks). */
const RATE = 48_000;
const STEP = 960;

function packet(seq: number, timestamp: number, ssrc = 1): RtpPacket {
  return { payloadType: 111, sequenceNumber: seq & 0xffff, timestamp: timestamp >>> 0, ssrc, marker: false, payload: Buffer.alloc(0), extensionProfile: 0, extensionOffset: 0, extensionLength: 0 };
}

function harness() {
  const out: ({ seq: number; ts: number; ssrc: number } | { ssrcChange: number })[] = [];
  const guard = new StreamGuard(RATE, {
    onPacket: (p) => out.push({ seq: p.sequenceNumber, ts: p.timestamp, ssrc: p.ssrc }),
    onSsrcChange: (ssrc) => out.push({ ssrcChange: ssrc }),
  });
  const raw = Buffer.alloc(12);
  return {
    guard,
    out,
    push: (seq: number, ts: number, atMs: number, ssrc = 1) => guard.push(packet(seq, ts, ssrc), raw, atMs),
    /** A clean run of `n` packets from seq/ts at atMs, 20 ms apart. */
    run(seq: number, ts: number, atMs: number, n: number, ssrc = 1) {
      for (let k = 0; k < n; k++) guard.push(packet(seq + k, ts + k * STEP, ssrc), raw, atMs + k * 20);
    },
  };
}

const seqs = (out: ReturnType<typeof harness>['out']): number[] => out.flatMap((e) => ('seq' in e ? [e.seq] : []));

describe('StreamGuard', () => {
  it('passes a clean stream through untouched, across a timestamp wrap', () => {
    const h = harness();
    h.run(65_530, 2 ** 32 - 5 * STEP, 0, 20);
    expect(seqs(h.out)).toEqual(Array.from({ length: 20 }, (_, k) => (65_530 + k) & 0xffff));
    expect(h.out.map((e) => ('ts' in e ? e.ts : 0))).toEqual(Array.from({ length: 20 }, (_, k) => (2 ** 32 - 5 * STEP + k * STEP) >>> 0));
    expect(h.guard.stats).toEqual({ straySsrc: 0, timestampJumps: 0, timestampRebases: 0, layoutStrays: 0 });
  });

  it('drops one packet whose timestamp jumps by ~2^31, and counts it (issue 10, defect 1)', () => {
    const h = harness();
    h.run(100, 5000, 0, 10);
    h.push(110, 5000 + 10 * STEP + 2 ** 31 - 4800, 200);
    h.run(111, 5000 + 11 * STEP, 220, 10);
    expect(seqs(h.out)).toEqual([...Array.from({ length: 10 }, (_, k) => 100 + k), ...Array.from({ length: 10 }, (_, k) => 111 + k)]);
    expect(h.guard.stats).toMatchObject({ timestampJumps: 1, timestampRebases: 0 });
  });

  it(`drops a packet more than ${FORWARD_TOLERANCE_MS} ms ahead of arrival time, keeps one just within`, () => {
    const h = harness();
    h.run(0, 0, 0, 5);
    h.push(5, 5 * STEP + ((FORWARD_TOLERANCE_MS + 30) * RATE) / 1000, 100);
    h.push(6, 6 * STEP + ((FORWARD_TOLERANCE_MS - 5) * RATE) / 1000, 120);
    h.run(7, 7 * STEP, 140, 5);
    expect(seqs(h.out)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
    expect(h.guard.stats.timestampJumps).toBe(1);
  });

  it('keeps late packets (a stall, retransmissions) up to the backward tolerance', () => {
    const h = harness();
    h.run(0, 0, 0, 5);
    // The event loop stalled for 5 s: everything sent meanwhile arrives at once.
    for (let k = 5; k < 260; k++) h.push(k, k * STEP, 5100);
    expect(seqs(h.out)).toHaveLength(260);
    expect(h.guard.stats.timestampJumps).toBe(0);
    expect(BACKWARD_TOLERANCE_MS).toBeGreaterThan(5000);
  });

  it('accepts a replay four times faster than real time, packet by packet', () => {
    const h = harness();
    for (let k = 0; k < 500; k++) h.push(k, k * STEP, k * 5);
    expect(h.guard.stats.timestampJumps).toBe(0);
    expect(seqs(h.out)).toHaveLength(500);
  });

  it('re-anchors a confirmed timestamp discontinuity to arrival time: a new base goes on from where the clock says', () => {
    const h = harness();
    h.run(0, 1000, 0, 10); // last at 180 ms, ts 1000 + 9 * 960
    // The sender restarts its timestamps at a random base, 20 ms after the last packet.
    h.run(10, 3_000_000_000, 200, 10);
    expect(seqs(h.out)).toEqual(Array.from({ length: 20 }, (_, k) => k));
    const ts = h.out.map((e) => ('ts' in e ? e.ts : 0));
    expect(ts.slice(10)).toEqual(Array.from({ length: 10 }, (_, k) => 1000 + (10 + k) * STEP));
    expect(h.guard.stats).toMatchObject({ timestampJumps: 0, timestampRebases: 1 });
  });

  it('a sender that resumes after an hour without advancing its timestamps is placed an hour later', () => {
    const h = harness();
    h.run(0, 0, 0, 10);
    h.run(10, 10 * STEP, 3_600_180, 5);
    const ts = h.out.map((e) => ('ts' in e ? e.ts : 0));
    expect(ts[10]).toBe(9 * STEP + 3_600_000 * 48);
    expect(h.guard.stats.timestampRebases).toBe(1);
  });

  it('takes a packet with a foreign SSRC as a stray; the track keeps its SSRC (issue 10, defect 3)', () => {
    const h = harness();
    h.run(0, 0, 0, 10);
    h.push(10, 10 * STEP, 200, 0xbad);
    h.run(10, 10 * STEP, 200, 10);
    h.push(500, 77, 420, 0xbad2);
    h.run(20, 20 * STEP, 420, 10);
    h.guard.flush();
    expect(h.out.some((e) => 'ssrcChange' in e)).toBe(false);
    expect(seqs(h.out)).toEqual(Array.from({ length: 30 }, (_, k) => k));
    expect(h.guard.ssrc).toBe(1);
    expect(h.guard.stats.straySsrc).toBe(2);
  });

  it('switches to a new SSRC confirmed by packets in sequence, losing none of them, even with old stragglers among them', () => {
    const h = harness();
    h.run(0, 0, 0, 10);
    h.push(7000, 123, 200, 2);
    h.push(9, 9 * STEP, 201); // a straggler of the old stream
    h.push(7001, 123 + STEP, 220, 2);
    expect(h.out.some((e) => 'ssrcChange' in e)).toBe(false);
    h.push(7002, 123 + 2 * STEP, 240, 2);
    expect(h.out.slice(-4)).toEqual([{ ssrcChange: 2 }, ...[0, 1, 2].map((k) => ({ seq: 7000 + k, ts: 123 + k * STEP, ssrc: 2 }))]);
    expect(h.guard.ssrc).toBe(2);
    expect(h.guard.stats).toEqual({ straySsrc: 0, timestampJumps: 0, timestampRebases: 0, layoutStrays: 0 });
  });

  it('random junk headers (random SSRC, sequence number and timestamp) among a stream cost only themselves', () => {
    let seed = 99;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    const h = harness();
    let junk = 0;
    for (let k = 0; k < 5000; k++) {
      h.push(k, k * STEP, k * 20);
      if (random() < 0.1) {
        junk++;
        const which = random();
        h.push(which < 0.3 ? Math.floor(random() * 65536) : k + 1, which < 0.6 ? Math.floor(random() * 2 ** 32) : (k + 1) * STEP, k * 20 + 1, which < 0.3 ? Math.floor(random() * 2 ** 32) : 1);
      }
    }
    h.guard.flush();
    const s = h.guard.stats;
    expect(s.timestampRebases).toBe(0);
    expect(h.out.some((e) => 'ssrcChange' in e)).toBe(false);
    const passed = seqs(h.out).length;
    expect(passed - 5000 + s.straySsrc + s.timestampJumps).toBe(junk);
  });
});
