import { afterEach, describe, expect, it, vi } from 'vitest';
import { IMPAIRMENT_PROFILES, Impairer, impairmentProfile, type ImpairmentProfile } from './helpers/impairer.js';

/** A minimal RTP packet whose payload byte identifies it. */
function rtp(seq: number, { ssrc = 1111, timestamp = seq * 3000, marker = false } = {}): Buffer {
  const b = Buffer.alloc(13);
  b[0] = 0x80;
  b[1] = (marker ? 0x80 : 0) | 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(timestamp >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  b[12] = seq & 0xff;
  return b;
}

/** Pushes `count` packets (sequence numbers from `first`) and returns the sequence numbers delivered, in delivery order. */
function run(profile: ImpairmentProfile, count: number, first = 0): { impairer: Impairer; delivered: number[] } {
  const delivered: number[] = [];
  const impairer = new Impairer(profile, (p) => delivered.push(p.readUInt16BE(2)));
  for (let i = 0; i < count; i++) impairer.push(rtp(first + i));
  return { impairer, delivered };
}

const lostSeqs = (impairer: Impairer): number[] => impairer.log.filter((p) => !p.delivered).map((p) => p.sequenceNumber);

afterEach(() => {
  vi.useRealTimers();
});

describe('Impairer', () => {
  it("'none' delivers every packet synchronously, in order, and logs it", () => {
    const { impairer, delivered } = run(impairmentProfile('none'), 100);
    expect(delivered).toEqual([...Array(100).keys()]);
    expect(impairer.stats).toMatchObject({ packets: 100, dropped: 0, delayed: 0, duplicated: 0, reordered: 0 });
    expect(impairer.log).toHaveLength(100);
    expect(impairer.log[7]).toMatchObject({ ssrc: 1111, sequenceNumber: 7, timestamp: 21000, marker: false, payloadType: 96, delivered: true });
  });

  it('decides the same packets for the same seed and other packets for another seed', () => {
    const a = run({ name: 'a', loss: 0.1, seed: 7 }, 2000).impairer;
    const b = run({ name: 'b', loss: 0.1, seed: 7 }, 2000).impairer;
    const c = run({ name: 'c', loss: 0.1, seed: 8 }, 2000).impairer;
    expect(lostSeqs(a)).toEqual(lostSeqs(b));
    expect(lostSeqs(a)).not.toEqual(lostSeqs(c));
  });

  it('loses about the configured fraction, independently per packet', () => {
    const { impairer, delivered } = run(impairmentProfile('loss 5%'), 20_000);
    expect(impairer.stats.dropped / 20_000).toBeGreaterThan(0.045);
    expect(impairer.stats.dropped / 20_000).toBeLessThan(0.055);
    expect(delivered).toHaveLength(20_000 - impairer.stats.dropped);
    const lost = new Set(lostSeqs(impairer));
    expect(impairer.wasDelivered(1111, [...lost][0]!)).toBe(false);
    expect(impairer.wasDelivered(1111, delivered[0]!)).toBe(true);
    expect(impairer.wasDelivered(2222, delivered[0]!)).toBe(false);
  });

  it('loses the same packets when other impairments are added (one PRNG per kind of impairment)', () => {
    vi.useFakeTimers();
    const alone = run(impairmentProfile('loss 5%'), 3000).impairer;
    const combined = run(impairmentProfile('loss 5% + reorder 5% + jitter 40 ms'), 3000).impairer;
    expect(lostSeqs(combined)).toEqual(lostSeqs(alone));
    expect(combined.stats.reordered).toBeGreaterThan(0);
    combined.close();
  });

  it('bursts: exactly one run of `length` lost packets in each window of `every` packets', () => {
    const { impairer } = run({ name: 'bursts', burst: { every: 100, length: 10 }, seed: 3 }, 1000);
    expect(impairer.stats.dropped).toBe(100);
    const starts = new Set<number>();
    for (let w = 0; w < 10; w++) {
      const lost = impairer.log.slice(w * 100, w * 100 + 100).flatMap((p, i) => (p.delivered ? [] : [i]));
      expect(lost).toEqual([...Array(10).keys()].map((k) => lost[0]! + k));
      starts.add(lost[0]!);
    }
    expect(starts.size).toBeGreaterThan(1); // positions are random, not every window alike
  });

  it('gilbert-elliott: loss rate p/(p+r) in bursts of mean length 1/r', () => {
    const n = 200_000;
    const { impairer } = run({ name: 'ge', gilbertElliott: { p: 0.02, r: 0.25 } }, n);
    const lost = impairer.log.map((p) => !p.delivered);
    const runs = lost.filter((l, i) => l && !lost[i - 1]).length;
    expect(impairer.stats.dropped / n).toBeCloseTo(0.02 / 0.27, 2);
    expect(impairer.stats.dropped / runs).toBeGreaterThan(3.6);
    expect(impairer.stats.dropped / runs).toBeLessThan(4.4);
  });

  it('a retransmission goes through the same random process and counts for wasDelivered', () => {
    const impairer = new Impairer({ name: 'heavy', loss: 0.5 }, () => {});
    for (let seq = 0; seq < 200; seq++) impairer.push(rtp(seq));
    const lost = lostSeqs(impairer);
    for (const seq of lost) impairer.push(rtp(seq));
    expect(impairer.stats.retransmissionsSeen).toBe(lost.length);
    const retransmissions = impairer.log.filter((p) => p.retransmission);
    expect(retransmissions).toHaveLength(lost.length);
    const recovered = retransmissions.filter((p) => p.delivered).map((p) => p.sequenceNumber);
    expect(recovered.length).toBeGreaterThan(lost.length * 0.3);
    expect(recovered.length).toBeLessThan(lost.length * 0.7);
    for (const seq of lost) expect(impairer.wasDelivered(1111, seq)).toBe(recovered.includes(seq));
  });

  it('retransmissions, whenever they come, do not change which first copies are lost', () => {
    const profile = { name: 'mixed', loss: 0.1, gilbertElliott: { p: 0.02, r: 0.3 }, burst: { every: 50, length: 3 } };
    const plain = run(profile, 1000).impairer;
    const nacked = new Impairer(profile, () => {});
    for (let seq = 0; seq < 1000; seq++) {
      nacked.push(rtp(seq));
      if (seq % 7 === 3) nacked.push(rtp(seq - 3)); // NACK answers interleaved with the stream
    }
    const firstCopiesLost = (impairer: Impairer) => impairer.log.filter((p) => !p.retransmission && !p.delivered).map((p) => p.sequenceNumber);
    expect(nacked.stats.retransmissionsSeen).toBeGreaterThan(100);
    expect(nacked.log.some((p) => p.retransmission && !p.delivered)).toBe(true);
    expect(firstCopiesLost(nacked)).toEqual(firstCopiesLost(plain));
  });

  it('impairRetransmissions: false lets every retransmission through', () => {
    const impairer = new Impairer({ name: 'heavy', loss: 0.5, impairRetransmissions: false }, () => {});
    for (let seq = 0; seq < 100; seq++) impairer.push(rtp(seq));
    const lost = lostSeqs(impairer);
    for (const seq of lost) impairer.push(rtp(seq));
    expect(lost.length).toBeGreaterThan(20);
    expect(impairer.stats.dropped).toBe(lost.length);
    for (let seq = 0; seq < 100; seq++) expect(impairer.wasDelivered(1111, seq)).toBe(true);
  });

  it('unwraps sequence numbers per SSRC across 65535 -> 0', () => {
    const impairer = new Impairer({ name: 'heavy', loss: 0.5 }, () => {});
    for (let i = 0; i < 40; i++) impairer.push(rtp(65_520 + i));
    const ext = impairer.log.map((p) => p.extendedSequenceNumber);
    expect(ext).toEqual([...Array(40).keys()].map((i) => 65_520 + i));
    impairer.push(rtp(65_530)); // a retransmission from before the wrap
    expect(impairer.log.at(-1)).toMatchObject({ extendedSequenceNumber: 65_530, retransmission: true });
    const before = impairer.log[10]!;
    const after = impairer.log[30]!; // wire seq 14
    expect(impairer.wasDelivered(1111, 65_530)).toBe(before.delivered || impairer.log.at(-1)!.delivered);
    expect(impairer.wasDelivered(1111, 14)).toBe(after.delivered);
  });

  it('jitter delays packets but keeps their order (a queue), and drain() waits for them', async () => {
    vi.useFakeTimers();
    const { impairer, delivered } = run({ name: 'jitter', jitterMs: 40 }, 200);
    expect(delivered.length).toBeLessThan(200);
    expect(impairer.stats.delayed).toBeGreaterThan(100);
    const drained = impairer.drain();
    await vi.advanceTimersByTimeAsync(100);
    await drained;
    expect(delivered).toEqual([...Array(200).keys()]);
  });

  it('jitter spreads deliveries over 0..jitterMs', async () => {
    vi.useFakeTimers();
    const at: number[] = [];
    const impairer = new Impairer({ name: 'jitter', jitterMs: 40 }, () => at.push(performance.now()));
    const start = performance.now();
    for (let i = 0; i < 50; i++) {
      impairer.push(rtp(i));
      await vi.advanceTimersByTimeAsync(20); // a packet every 20 ms: the queue rarely builds up
    }
    await vi.advanceTimersByTimeAsync(100);
    const lateness = at.map((t, i) => t - (start + i * 20));
    expect(Math.min(...lateness)).toBeLessThan(5);
    expect(Math.max(...lateness)).toBeGreaterThan(25);
    expect(Math.max(...lateness)).toBeLessThanOrEqual(41 + 20);
  });

  it('reorder holds packets back so later ones overtake them; nothing is lost', async () => {
    vi.useFakeTimers();
    const delivered: number[] = [];
    const impairer = new Impairer({ name: 'reorder', reorder: 0.1, reorderDelayMs: 20 }, (p) => delivered.push(p.readUInt16BE(2)));
    for (let i = 0; i < 300; i++) {
      impairer.push(rtp(i));
      await vi.advanceTimersByTimeAsync(5);
    }
    await vi.advanceTimersByTimeAsync(50);
    expect(impairer.stats.reordered).toBeGreaterThan(10);
    expect([...delivered].sort((a, b) => a - b)).toEqual([...Array(300).keys()]);
    const overtaken = delivered.filter((seq, i) => delivered.slice(0, i).some((earlier) => earlier > seq)).length;
    expect(overtaken).toBe(impairer.stats.reordered);
  });

  it('duplicate delivers some packets twice, the copy within 10 ms', async () => {
    vi.useFakeTimers();
    const { impairer, delivered } = run({ name: 'dup', duplicate: 0.2 }, 500);
    await vi.advanceTimersByTimeAsync(11);
    expect(impairer.stats.duplicated).toBeGreaterThan(60);
    expect(delivered).toHaveLength(500 + impairer.stats.duplicated);
    expect(new Set(delivered).size).toBe(500);
  });

  it('close() drops pending deliveries and later pushes, and settles drain()', async () => {
    vi.useFakeTimers();
    const { impairer, delivered } = run({ name: 'jitter', jitterMs: 40 }, 50);
    const before = delivered.length;
    const drained = impairer.drain();
    impairer.close();
    await drained;
    impairer.push(rtp(1000));
    await vi.advanceTimersByTimeAsync(100);
    expect(delivered).toHaveLength(before);
    expect(before).toBeLessThan(50);
    impairer.close();
  });

  it('passes malformed packets and packets it does not apply to untouched and unlogged', () => {
    const delivered: Buffer[] = [];
    const impairer = new Impairer({ name: 'all lost', loss: 1 }, (p) => delivered.push(p), {
      applies: (p) => p.length < 2 || p[1] !== 200,
    });
    const rtcp = Buffer.from([0x80, 200, 0, 6]);
    const short = Buffer.from([0x80, 96, 0]);
    const notV2 = Buffer.alloc(20);
    for (const p of [rtcp, short, notV2, rtp(1)]) impairer.push(p);
    expect(delivered).toEqual([rtcp, short, notV2]);
    expect(impairer.stats).toMatchObject({ bypassed: 1, malformed: 2, packets: 1, dropped: 1 });
    expect(impairer.log).toHaveLength(1);
  });

  it('shares the named profiles the tests and bench use', () => {
    expect(IMPAIRMENT_PROFILES.map((p) => p.name)).toEqual([
      'none',
      'loss 1%',
      'loss 5%',
      'loss 20%',
      'bursts of 10',
      'gilbert-elliott',
      'reorder 5%',
      'duplicate 5%',
      'jitter 40 ms',
      'loss 5% + reorder 5% + jitter 40 ms',
    ]);
    expect(() => impairmentProfile('loss 50%')).toThrow(/no impairment profile/);
  });
});
