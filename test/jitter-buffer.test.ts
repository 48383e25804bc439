import { describe, expect, it } from 'vitest';
import { JitterBuffer, MIN_NACK_RTT_MS, type JitterBufferOptions } from '../src/jitter/jitter-buffer.js';
import type { RtpPacket } from '../src/rtp/packet.js';
import { rng } from './helpers/random.js';

function packet(sequenceNumber: number): RtpPacket {
  return {
    payloadType: 96,
    sequenceNumber: sequenceNumber & 0xffff,
    timestamp: 0,
    ssrc: 1,
    marker: false,
    payload: Buffer.alloc(0),
    extensionProfile: 0,
    extensionOffset: 0,
    extensionLength: 0,
  };
}

type Event = { packet: number; ext: number } | { loss: number; count: number } | { nack: number[] };

/** A buffer whose output is recorded as one event list, so tests can check order across callbacks. */
function harness(options: JitterBufferOptions = {}) {
  const events: Event[] = [];
  const jb = new JitterBuffer(options, {
    onPacket: (p, ext) => events.push({ packet: p.sequenceNumber, ext }),
    onLoss: (first, count) => events.push({ loss: first, count }),
    sendNack: (seqs) => events.push({ nack: seqs }),
  });
  const take = (): Event[] => events.splice(0);
  return {
    jb,
    take,
    push(seq: number, atMs: number): Event[] {
      jb.push(packet(seq), atMs);
      return take();
    },
    poll(atMs: number): Event[] {
      jb.poll(atMs);
      return take();
    },
  };
}

const released = (events: Event[]): number[] => events.flatMap((e) => ('packet' in e ? [e.packet] : []));
const nacks = (events: Event[]): number[][] => events.flatMap((e) => ('nack' in e ? [e.nack] : []));

describe('JitterBuffer', () => {
  it('passes in-order packets straight through, the first one setting the base', () => {
    const h = harness();
    for (let s = 500; s < 510; s++) expect(h.push(s, s)).toEqual([{ packet: s, ext: s }]);
    expect(h.jb.nextDeadlineMs()).toBeUndefined();
    expect(h.jb.stats).toMatchObject({ received: 10, released: 10, reordered: 0, lost: 0, nackMessages: 0 });
  });

  it('holds packets behind a gap and releases them in order when the missing ones come', () => {
    const h = harness({ nack: false });
    expect(released(h.push(1, 0))).toEqual([1]);
    expect(h.push(4, 1)).toEqual([]);
    expect(h.push(3, 2)).toEqual([]);
    expect(h.push(5, 3)).toEqual([]);
    expect(h.push(2, 4)).toEqual([
      { packet: 2, ext: 2 },
      { packet: 3, ext: 3 },
      { packet: 4, ext: 4 },
      { packet: 5, ext: 5 },
    ]);
    expect(h.jb.nextDeadlineMs()).toBeUndefined();
    expect(h.jb.stats).toMatchObject({ reordered: 2, recovered: 0, lost: 0, released: 5 });
  });

  it('drops a duplicate of a held packet and of a released one, counting both', () => {
    const h = harness();
    h.push(1, 0);
    h.push(3, 1);
    expect(h.push(3, 2)).toEqual([]); // held
    expect(released(h.push(2, 3))).toEqual([2, 3]);
    expect(h.push(2, 4)).toEqual([]); // released
    expect(h.push(1, 5)).toEqual([]);
    expect(h.jb.stats).toMatchObject({ duplicates: 3, late: 0, released: 3 });
  });

  it('reorders across the 65535 -> 0 wrap, with increasing extended numbers', () => {
    const h = harness();
    const events = [65533, 65534, 0, 65535, 2, 1].flatMap((s, k) => h.push(s, k));
    expect(events.filter((e) => !('nack' in e))).toEqual([
      { packet: 65533, ext: 65533 },
      { packet: 65534, ext: 65534 },
      { packet: 65535, ext: 65535 },
      { packet: 0, ext: 65536 },
      { packet: 1, ext: 65537 },
      { packet: 2, ext: 65538 },
    ]);
    // NACKs carry wire sequence numbers.
    expect(nacks(events)).toEqual([[65535], [1]]);
  });

  it('drops a packet that comes after its gap was given up as late, not recovered', () => {
    const h = harness({ latencyMs: 100 });
    h.push(1, 0);
    h.push(3, 10);
    expect(h.poll(110)).toEqual([
      { loss: 2, count: 1 },
      { packet: 3, ext: 3 },
    ]);
    expect(h.push(2, 120)).toEqual([]);
    expect(h.jb.stats).toMatchObject({ late: 1, lost: 1, recovered: 0, reordered: 0, duplicates: 0 });
  });

  it('counts a packet older than the first one as late', () => {
    const h = harness();
    h.push(100, 0);
    expect(h.push(99, 1)).toEqual([]);
    expect(h.jb.stats.late).toBe(1);
  });

  it('gives a gap up latencyMs after it was detected: onLoss first, then the packets behind it', () => {
    const h = harness({ latencyMs: 150, nack: false });
    h.push(10, 0);
    h.push(13, 20); // 11, 12 missing since 20
    h.push(14, 50);
    h.push(16, 60); // 15 missing since 60
    expect(h.jb.nextDeadlineMs()).toBe(170);
    expect(h.poll(169.9)).toEqual([]);
    expect(h.poll(170)).toEqual([
      { loss: 11, count: 2 },
      { packet: 13, ext: 13 },
      { packet: 14, ext: 14 },
    ]);
    expect(h.jb.nextDeadlineMs()).toBe(210);
    expect(h.poll(210)).toEqual([
      { loss: 15, count: 1 },
      { packet: 16, ext: 16 },
    ]);
    expect(h.jb.nextDeadlineMs()).toBeUndefined();
    expect(h.jb.stats.lost).toBe(3);
  });

  it('reports each missing run of a partly filled gap as its own loss, in order', () => {
    const h = harness({ latencyMs: 100, nack: false });
    h.push(1, 0);
    h.push(7, 0); // 2..6 missing
    h.push(4, 10);
    expect(h.poll(100)).toEqual([
      { loss: 2, count: 2 },
      { packet: 4, ext: 4 },
      { loss: 5, count: 2 },
      { packet: 7, ext: 7 },
    ]);
  });

  it('gives overdue gaps up when the next packet comes, if poll() was late', () => {
    const h = harness({ latencyMs: 100, nack: false });
    h.push(1, 0);
    h.push(3, 0);
    expect(h.push(4, 500)).toEqual([
      { loss: 2, count: 1 },
      { packet: 3, ext: 3 },
      { packet: 4, ext: 4 },
    ]);
  });

  describe('NACK', () => {
    it('NACKs a gap as soon as it is detected, then retries every RTT until the retry limit', () => {
      const h = harness({ latencyMs: 1000, initialRttMs: 100, maxNackRetries: 3 });
      h.push(1, 0);
      expect(nacks(h.push(4, 5))).toEqual([[2, 3]]);
      expect(h.jb.nextDeadlineMs()).toBe(105);
      expect(h.poll(104)).toEqual([]);
      expect(h.poll(105)).toEqual([{ nack: [2, 3] }]);
      expect(h.jb.nextDeadlineMs()).toBe(205);
      expect(h.poll(205)).toEqual([{ nack: [2, 3] }]);
      expect(h.poll(305)).toEqual([{ nack: [2, 3] }]);
      // 1 + 3 retries sent: now only the give-up is left.
      expect(h.jb.nextDeadlineMs()).toBe(1005);
      expect(h.poll(405)).toEqual([]);
      expect(h.poll(1005)).toEqual([
        { loss: 2, count: 2 },
        { packet: 4, ext: 4 },
      ]);
      expect(h.jb.stats).toMatchObject({ nackMessages: 4, nackRequests: 8, lost: 2 });
    });

    it('stops NACKing a packet once it arrives, and counts it recovered', () => {
      const h = harness({ latencyMs: 1000, initialRttMs: 100 });
      h.push(1, 0);
      h.push(5, 0); // 2, 3, 4 missing
      h.push(3, 50); // first RTT sample: 50 ms, so retries every 50 + 2 * 25 ms
      expect(h.jb.nextDeadlineMs()).toBe(100);
      expect(h.poll(100)).toEqual([{ nack: [2, 4] }]);
      expect(released(h.push(2, 120))).toEqual([2, 3]);
      const retryAt = 100 + h.jb.nackRetryIntervalMs;
      expect(h.jb.nextDeadlineMs()).toBe(retryAt);
      expect(h.poll(retryAt)).toEqual([{ nack: [4] }]);
      expect(released(h.push(4, retryAt + 1))).toEqual([4, 5]);
      expect(h.jb.nextDeadlineMs()).toBeUndefined();
      expect(h.poll(retryAt + 1000)).toEqual([]);
      expect(h.jb.stats).toMatchObject({ recovered: 3, reordered: 3, lost: 0, nackRequests: 3 + 2 + 1 });
    });

    it('sends no NACK after the gap is given up', () => {
      const h = harness({ latencyMs: 150, initialRttMs: 100 });
      h.push(1, 0);
      h.push(3, 0);
      expect(h.poll(100)).toEqual([{ nack: [2] }]);
      h.poll(150);
      expect(h.jb.nextDeadlineMs()).toBeUndefined();
      for (let t = 200; t < 1000; t += 50) expect(h.poll(t)).toEqual([]);
      expect(h.jb.stats.nackMessages).toBe(2);
    });

    /** A stream of single-packet losses, each one's retransmission arriving `delayMs(k)` after its NACK. */
    function lossyStream(h: ReturnType<typeof harness>) {
      const state = { t: 0, seq: 0 };
      h.push(state.seq++, state.t);
      return {
        state,
        losses(count: number, delayMs: (k: number) => number): void {
          for (let k = 0; k < count; k++) {
            const missing = state.seq++;
            h.push(state.seq++, (state.t += 200)); // reveals the gap: NACK now
            h.push(missing, state.t + delayMs(k));
          }
        },
      };
    }

    it('learns the RTT from how long NACKed packets take, and spaces retries by it', () => {
      const h = harness({ latencyMs: 1000, initialRttMs: 100 });
      const stream = lossyStream(h);
      stream.losses(1, () => 30);
      // The first sample replaces the guess; its deviation starts at half of it.
      expect(h.jb.rttMs).toBe(30);
      expect(h.jb.nackRetryIntervalMs).toBe(60);
      stream.losses(40, () => 30);
      expect(h.jb.rttMs).toBeCloseTo(30, 9);
      expect(h.jb.nackRetryIntervalMs).toBeGreaterThan(30);
      expect(h.jb.nackRetryIntervalMs).toBeLessThan(30.01);
      expect(h.jb.stats).toMatchObject({ recovered: 41, duplicates: 0, late: 0 });
      // The next gap's retry comes one learnt interval after its NACK.
      const t = (stream.state.t += 200);
      h.push(stream.state.seq + 1, t);
      expect(h.jb.nextDeadlineMs()).toBe(t + h.jb.nackRetryIntervalMs);
    });

    it('spaces retries beyond the mean when samples vary (reordered packets among retransmissions)', () => {
      const h = harness({ latencyMs: 1000, initialRttMs: 100 });
      lossyStream(h).losses(40, (k) => (k % 2 === 0 ? 1 : 30));
      expect(h.jb.rttMs).toBeLessThan(20);
      // Retries still wait longer than a real retransmission takes.
      expect(h.jb.nackRetryIntervalMs).toBeGreaterThan(30);
    });

    it('measures from the first NACK, so an RTT guess that is too low still converges up', () => {
      const h = harness({ latencyMs: 1000, initialRttMs: 20, maxNackRetries: 20 });
      let t = 0;
      let seq = 0;
      h.push(seq++, t);
      for (let k = 0; k < 40; k++) {
        const missing = seq++;
        h.push(seq++, (t += 200)); // NACK at t
        // Retries go out (every 20 ms at first) before the retransmission is back ...
        for (let p = t; p < t + 80; p += 5) h.poll(p);
        h.push(missing, t + 80); // ... which arrives 80 ms after the first NACK.
      }
      expect(h.jb.rttMs).toBeGreaterThan(79);
      expect(h.jb.rttMs).toBeLessThan(81);
    });

    it(`never retries faster than ${MIN_NACK_RTT_MS} ms, however small the measured RTT`, () => {
      const h = harness({ latencyMs: 1000, initialRttMs: 100 });
      let t = 0;
      let seq = 0;
      h.push(seq++, t);
      for (let k = 0; k < 60; k++) {
        const missing = seq++;
        h.push(seq++, (t += 100));
        h.push(missing, t + 0.5); // back at once (an in-process sender)
      }
      expect(h.jb.rttMs).toBeLessThan(1);
      h.push(seq + 1, (t += 100));
      expect(h.jb.nextDeadlineMs()).toBe(t + MIN_NACK_RTT_MS);
    });

    it('sends nothing with nack: false', () => {
      const h = harness({ nack: false });
      h.push(1, 0);
      h.push(5, 0);
      expect(h.jb.nextDeadlineMs()).toBe(150);
      for (let t = 0; t < 150; t += 5) expect(nacks(h.poll(t))).toEqual([]);
      expect(h.jb.stats.nackMessages).toBe(0);
    });

    it('packs all gaps due at the same time into one sendNack', () => {
      const h = harness({ latencyMs: 1000, initialRttMs: 100 });
      h.push(1, 0);
      h.push(3, 0);
      h.push(6, 0);
      expect(h.poll(100)).toEqual([{ nack: [2, 4, 5] }]);
    });
  });

  describe('huge jumps', () => {
    it('holds a packet far ahead until packets in sequence confirm it, then takes it as a new numbering: nothing counted lost, no NACK', () => {
      const h = harness({ maxJump: 1000 });
      h.push(1, 0);
      h.push(3, 0); // 2 missing
      expect(h.take()).toEqual([]);
      expect(h.push(3000, 10)).toEqual([]);
      expect(h.push(3001, 11)).toEqual([]);
      expect(h.push(3002, 12)).toEqual([
        { loss: 2, count: 1 },
        { packet: 3, ext: 3 },
        { loss: 4, count: 0 },
        { packet: 3000, ext: 4 },
        { packet: 3001, ext: 5 },
        { packet: 3002, ext: 6 },
      ]);
      expect(released(h.push(3003, 13))).toEqual([3003]);
      expect(h.jb.stats).toMatchObject({ restarts: 1, lost: 1, strays: 0, late: 0 });
      expect(h.jb.stats.nackRequests).toBe(1); // only seq 2, before the jump
    });

    it('drops one packet thousands ahead as a stray: no loss, no NACK, the stream goes on untouched (issue 10, defect 2)', () => {
      const h = harness({ maxJump: 1000 });
      for (let s = 100; s < 110; s++) h.push(s, s);
      expect(h.push(110 + 59_000, 110)).toEqual([]);
      const events = [111, 112, 113, 114].flatMap((s) => h.push(s - 1, s));
      expect(events).toEqual([110, 111, 112, 113].map((s) => ({ packet: s, ext: s })));
      expect(h.jb.stats).toMatchObject({ strays: 1, lost: 0, nackRequests: 0, restarts: 0, released: 14 });
      // A stray ahead by less than maxJump but more than the reorder window: the same.
      expect(h.push(114 + 500, 120)).toEqual([]);
      for (let s = 114; s < 120; s++) expect(h.push(s, 121 + s)).toEqual([{ packet: s, ext: s }]);
      expect(h.jb.stats).toMatchObject({ strays: 2, lost: 0, nackRequests: 0 });
      expect(h.jb.stats.received).toBe(h.jb.stats.released + h.jb.stats.strays);
    });

    it('takes a confirmed loss burst longer than the reorder window as a gap: NACKed, then lost', () => {
      const h = harness({ maxJump: 1000, maxUnconfirmedJump: 100, latencyMs: 100 });
      h.push(0, 0);
      expect(h.push(300, 10)).toEqual([]);
      expect(h.push(301, 11)).toEqual([]);
      const events = h.push(302, 12);
      expect(nacks(events)).toHaveLength(1);
      expect(nacks(events)[0]).toHaveLength(299);
      expect(h.poll(200)).toEqual([{ loss: 1, count: 299 }, ...[300, 301, 302].map((s) => ({ packet: s, ext: s }))]);
      expect(h.jb.stats).toMatchObject({ restarts: 0, lost: 299, strays: 0 });
    });

    it('still NACKs a jump of exactly maxUnconfirmedJump at once', () => {
      const h = harness({ maxJump: 1000, maxUnconfirmedJump: 100 });
      h.push(0, 0);
      const events = h.push(100, 0);
      expect(nacks(events)[0]).toHaveLength(99);
      expect(h.jb.stats.restarts).toBe(0);
    });

    it('takes a run of packets far behind as a restart with lower numbers, but not one straggler', () => {
      const h = harness({ maxJump: 1000 });
      for (let s = 20000; s < 20010; s++) h.push(s, s);
      // A lone old packet is dropped as a stray once the stream goes on.
      expect(h.push(15000, 0)).toEqual([]);
      for (let s = 20010; s < 20013; s++) expect(released(h.push(s, 0))).toEqual([s]);
      expect(h.jb.stats.strays).toBe(1);
      // The sender restarted at 5000: held while it is confirmed ...
      expect(h.push(5000, 1)).toEqual([]);
      expect(h.push(5001, 2)).toEqual([]);
      // ... then taken in, numbering going on upwards, nothing counted lost.
      expect(h.push(5002, 3)).toEqual([
        { loss: 20013, count: 0 },
        { packet: 5000, ext: 20013 },
        { packet: 5001, ext: 20014 },
        { packet: 5002, ext: 20015 },
      ]);
      expect(h.push(5003, 5)).toEqual([{ packet: 5003, ext: 20016 }]);
      // NACKs use the wire numbers of the new numbering.
      expect(h.push(5005, 6)).toEqual([{ nack: [5004] }]);
      expect(h.jb.stats).toMatchObject({ restarts: 1, late: 0, lost: 0, strays: 1 });
    });

    it('drops packets on probation at flush() and reset(), counting them', () => {
      const h = harness();
      h.push(1, 0);
      h.push(40_000, 1);
      h.jb.flush();
      expect(h.take()).toEqual([]);
      h.push(30_000, 2);
      h.jb.reset();
      expect(h.jb.stats.strays).toBe(2);
      expect(h.push(7, 3)).toEqual([{ packet: 7, ext: 7 }]);
    });

    it('a run of random 16-bit sequence numbers (junk) costs no loss, NACK or restart, however long', () => {
      const random = rng(7);
      const h = harness();
      let seq = 1000;
      let t = 0;
      for (let k = 0; k < 20_000; k++) {
        h.push(seq++, (t += 1));
        if (random() < 0.2) h.push(Math.floor(random() * 65536), t);
      }
      h.jb.flush();
      expect(h.jb.stats).toMatchObject({ lost: 0, restarts: 0 });
      expect(h.jb.stats.released).toBe(20_000);
      expect(h.jb.stats.strays).toBeGreaterThan(3000);
    });
  });

  it('gives up the oldest gap rather than holding more than capacity packets', () => {
    const h = harness({ capacity: 8, nack: false });
    h.push(0, 0);
    for (let s = 2; s <= 8; s++) expect(h.push(s, s)).toEqual([]); // 1 missing: 1..8 is 8 packets
    expect(h.push(9, 9)).toEqual([
      { loss: 1, count: 1 },
      ...[2, 3, 4, 5, 6, 7, 8, 9].map((s) => ({ packet: s, ext: s })),
    ]);
    expect(h.jb.stats).toMatchObject({ overflows: 1, lost: 1 });
  });

  it('on capacity overflow gives up only as many gaps as needed', () => {
    const h = harness({ capacity: 8, nack: false });
    h.push(0, 0);
    h.push(2, 0); // 1 missing
    h.push(4, 0); // 3 missing
    h.push(8, 0); // 5..7 missing
    expect(h.push(9, 0)).toEqual([
      { loss: 1, count: 1 },
      { packet: 2, ext: 2 },
    ]);
    expect(h.jb.nextDeadlineMs()).toBe(150); // 3 and 5..7 are still awaited
    expect(released(h.push(3, 1))).toEqual([3, 4]);
  });

  it('flush() releases everything held at stop, reporting the gaps as lost', () => {
    const h = harness();
    h.push(1, 0);
    h.push(3, 0);
    h.push(5, 0);
    h.push(6, 0);
    h.take();
    h.jb.flush();
    expect(h.take()).toEqual([
      { loss: 2, count: 1 },
      { packet: 3, ext: 3 },
      { loss: 4, count: 1 },
      { packet: 5, ext: 5 },
      { packet: 6, ext: 6 },
    ]);
    expect(h.jb.nextDeadlineMs()).toBeUndefined();
    expect(h.poll(10_000)).toEqual([]);
    // The stream may go on after a flush.
    expect(released(h.push(7, 1))).toEqual([7]);
  });

  it('reset() forgets the stream: nothing released, the next packet starts a new numbering', () => {
    const h = harness();
    h.push(1, 0);
    h.push(3, 0);
    h.take();
    h.jb.reset();
    expect(h.take()).toEqual([]);
    expect(h.jb.nextDeadlineMs()).toBeUndefined();
    expect(h.push(40000, 1)).toEqual([{ packet: 40000, ext: 40000 }]);
    expect(h.push(40001, 2)).toEqual([{ packet: 40001, ext: 40001 }]);
    // The old stream's sequence number 2 is no longer awaited, and 1 is not a duplicate any more.
    expect(h.poll(1000)).toEqual([]);
  });

  it('survives a random lossy, reordered, duplicated stream: every number released or lost once, in order, on time', () => {
    const random = rng(42);
    const latencyMs = 120;
    type Arrival = { seq: number; atMs: number };
    const arrivals: Arrival[] = [];
    const total = 20_000;
    const start = 60_000; // wraps
    for (let k = 0; k < total; k++) {
      const sentMs = k * 2;
      const r = random();
      if (r < 0.03) continue; // lost
      let delay = 5 + random() * 5;
      if (r < 0.06) delay += random() * 200; // reordered, some beyond the latency
      arrivals.push({ seq: (start + k) & 0xffff, atMs: sentMs + delay });
      if (r > 0.99) arrivals.push({ seq: (start + k) & 0xffff, atMs: sentMs + delay + random() * 50 }); // duplicate
    }
    arrivals.sort((a, b) => a.atMs - b.atMs);

    const arrivalOfExt = new Map<number, number>();
    const outcome: Array<{ ext: number; count: number; atMs: number; lost: boolean }> = [];
    let nowMs = 0;
    const events: Event[] = [];
    const jb = new JitterBuffer(
      { latencyMs, initialRttMs: 40 },
      {
        onPacket: (_p, ext) => outcome.push({ ext, count: 1, atMs: nowMs, lost: false }),
        onLoss: (ext, count) => outcome.push({ ext, count, atMs: nowMs, lost: true }),
        sendNack: (seqs) => events.push({ nack: seqs }),
      },
    );
    // Event loop: the timer fires exactly at nextDeadlineMs(). A deadline must always mean work,
    // and the next one must lie after it.
    let idlePolls = 0;
    let stuckDeadlines = 0;
    for (const a of arrivals) {
      for (let d = jb.nextDeadlineMs(); d !== undefined && d <= a.atMs; d = jb.nextDeadlineMs()) {
        nowMs = d;
        const before = outcome.length + events.length;
        jb.poll(d);
        if (outcome.length + events.length === before) idlePolls++;
        if ((jb.nextDeadlineMs() ?? Infinity) <= d) {
          stuckDeadlines++;
          break;
        }
      }
      nowMs = a.atMs;
      jb.push(packet(a.seq), a.atMs);
    }
    nowMs = Infinity;
    jb.flush();
    expect({ idlePolls, stuckDeadlines }).toEqual({ idlePolls: 0, stuckDeadlines: 0 });
    expect(events.length).toBeGreaterThan(100);

    // Every extended number from the first on is covered exactly once, in increasing order.
    let expected = outcome[0]!.ext;
    let misordered = 0;
    for (const o of outcome) {
      if (o.ext !== expected) misordered++;
      expected = o.ext + o.count;
    }
    expect(misordered).toBe(0);
    expect(expected).toBeGreaterThanOrEqual(start + total - 1);
    const s = jb.stats;
    expect(s.released + s.lost).toBe(expected - outcome[0]!.ext);
    expect(s.received).toBe(arrivals.length);
    expect(s.received).toBe(s.released + s.duplicates + s.late);
    expect(s.recovered).toBeGreaterThan(0);
    expect(s.late).toBeGreaterThan(0);
    expect(s.duplicates).toBeGreaterThan(0);
    // No packet waited longer than the latency (flush aside).
    for (const a of arrivals) arrivalOfExt.set(a.seq, Math.min(arrivalOfExt.get(a.seq) ?? Infinity, a.atMs));
    let worstWaitMs = 0;
    for (const o of outcome) {
      if (o.lost || o.atMs === Infinity) continue;
      worstWaitMs = Math.max(worstWaitMs, o.atMs - arrivalOfExt.get(o.ext & 0xffff)!);
    }
    expect(worstWaitMs).toBeLessThanOrEqual(latencyMs);
    expect(worstWaitMs).toBeGreaterThan(latencyMs / 2); // some packets did wait for a gap
  });
});
