import { describe, expect, it } from 'vitest';
import { ReceptionStats } from '../src/rtp/reception-stats.js';

describe('ReceptionStats (RFC 3550 receiver report blocks)', () => {
  it('says nothing before the first packet', () => {
    expect(new ReceptionStats(1, 90000).report(0)).toBeUndefined();
  });

  it('counts expected and lost packets across a sequence wrap, with fraction lost per interval', () => {
    const stats = new ReceptionStats(7, 48000);
    // 65530..65535, 0..13 (20 packets) with 65534 and 3 missing.
    for (let i = 0; i < 20; i++) if (i !== 4 && i !== 9) stats.packet((65530 + i) & 0xffff, i * 960, i * 20);
    expect(stats.report(400)).toMatchObject({ ssrc: 7, packetsLost: 2, fractionLost: Math.floor((2 * 256) / 20), highestSequence: 65536 + 13 });
    for (let i = 20; i < 30; i++) stats.packet((65530 + i) & 0xffff, i * 960, i * 20);
    // The next interval lost nothing; the cumulative count stays.
    expect(stats.report(600)).toMatchObject({ packetsLost: 2, fractionLost: 0, highestSequence: 65536 + 23 });
  });

  it('does not count a reordered packet as a new highest, nor a duplicate as loss', () => {
    const stats = new ReceptionStats(1, 90000);
    for (const seq of [100, 102, 101, 103, 103]) stats.packet(seq, 0, 0);
    expect(stats.report(0)).toMatchObject({ highestSequence: 103, packetsLost: -1 });
  });

  it('estimates interarrival jitter in RTP units: 0 for perfect pacing, about the mean deviation otherwise', () => {
    const steady = new ReceptionStats(1, 48000);
    for (let i = 0; i < 200; i++) steady.packet(i, (i * 960 + 0xfffff000) >>> 0, i * 20); // timestamps wrap on the way
    expect(steady.report(4000)!.jitter).toBe(0);
    const jittery = new ReceptionStats(1, 48000);
    for (let i = 0; i < 2000; i++) jittery.packet(i, i * 960, i * 20 + (i % 2) * 10); // every other packet 10 ms late
    // |D| is 10 ms = 480 units on every packet: J converges to 480.
    expect(jittery.report(40000)!.jitter).toBeGreaterThan(470);
    expect(jittery.report(40000)!.jitter).toBeLessThanOrEqual(480);
  });

  it('echoes the last sender report: LSR and the delay since it in 1/65536 s', () => {
    const stats = new ReceptionStats(1, 90000);
    stats.packet(1, 0, 0);
    expect(stats.report(10)).toMatchObject({ lsr: 0, dlsr: 0 });
    stats.senderReport(0x12345678, 1000);
    expect(stats.report(1500)).toMatchObject({ lsr: 0x12345678, dlsr: 32768 });
  });
});
