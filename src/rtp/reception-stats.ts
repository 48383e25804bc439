/**
 * What a receiver states about one incoming stream in its RTCP receiver reports (RFC 3550 6.4.1,
 * A.3 and A.8): packets expected and lost, interarrival jitter, and the echo of the last sender
 * report that lets the sender measure the round trip.
 */
import type { ReportBlock } from './rtcp.js';
import { SequenceUnwrapper } from './unwrap.js';

export class ReceptionStats {
  private readonly sequences = new SequenceUnwrapper();
  private firstSeq = NaN;
  private highestSeq = NaN;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  /** RFC 3550's J, in RTP clock units. */
  private jitter = 0;
  private lastTransit = NaN;
  private lastSr: { ntpMiddle: number; arrivalMs: number } | undefined;

  /** @param clockRate the stream's RTP clock rate, in Hz */
  constructor(
    readonly ssrc: number,
    private readonly clockRate: number,
  ) {}

  /** One RTP packet of the stream (retransmissions included), arrived at `arrivalMs`. */
  packet(sequenceNumber: number, rtpTimestamp: number, arrivalMs: number): void {
    const seq = this.sequences.unwrap(sequenceNumber);
    if (this.received === 0) this.firstSeq = seq;
    if (!(seq <= this.highestSeq)) this.highestSeq = seq;
    this.received++;
    // Transit time in RTP units; its variation from packet to packet is the jitter (A.8).
    const transit = (arrivalMs * this.clockRate) / 1000 - rtpTimestamp;
    if (this.lastTransit === this.lastTransit) {
      // Timestamps are 32-bit: a wrap between two packets must not look like a huge jump.
      const d = Math.abs(((transit - this.lastTransit + 2 ** 31) % 2 ** 32 + 2 ** 32) % 2 ** 32 - 2 ** 31);
      this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
  }

  /** A sender report of the stream, arrived at `arrivalMs`: echoed in the next report as LSR/DLSR. */
  senderReport(ntpMiddle: number, arrivalMs: number): void {
    this.lastSr = { ntpMiddle, arrivalMs };
  }

  /** The report block as of `nowMs`; undefined before the first packet. Starts a new fraction-lost interval. */
  report(nowMs: number): ReportBlock | undefined {
    if (this.received === 0) return undefined;
    const expected = this.highestSeq - this.firstSeq + 1;
    const expectedInterval = expected - this.expectedPrior;
    const lostInterval = expectedInterval - (this.received - this.receivedPrior);
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    return {
      ssrc: this.ssrc,
      fractionLost: expectedInterval > 0 && lostInterval > 0 ? Math.floor((lostInterval * 256) / expectedInterval) : 0,
      packetsLost: expected - this.received,
      highestSequence: this.highestSeq >>> 0,
      jitter: Math.floor(this.jitter),
      lsr: this.lastSr?.ntpMiddle ?? 0,
      dlsr: this.lastSr ? Math.floor(((nowMs - this.lastSr.arrivalMs) * 65536) / 1000) >>> 0 : 0,
    };
  }
}
