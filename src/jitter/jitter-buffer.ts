import type { RtpPacket } from '../rtp/packet.js';
import { ProbationRun } from '../rtp/probation.js';
import { SequenceUnwrapper } from '../rtp/unwrap.js';

/**
 * Puts one RTP stream (one SSRC) back in sequence order, asks for missing packets with generic
 * NACKs (RFC 4585) and gives a gap up after a bounded wait. Packets live in a ring indexed by
 * extended sequence number, so an in-order packet costs a few field reads and one callback, with
 * no allocation; gaps are kept as ranges (a loss burst is one record), so work on the loss path
 * scales with the number of gaps, not of packets. Time is only ever passed in: no clock is read.
 *
 * A packet far from the stream's numbering (ahead by more than maxUnconfirmedJump, or behind by
 * more than maxJump) is held on probation (RFC 3550's MIN_SEQUENTIAL, see rtp/probation.ts) rather
 * than opening a gap of thousands of packets to NACK and count as lost: packets in sequence after
 * it confirm it (a loss burst, or the sender's new numbering), packets of the current numbering
 * refute it (a stray: dropped and counted).
 */

export interface JitterBufferOptions {
  /** How long, in ms of wall-clock time, packets are held waiting for a missing predecessor, counted from when the gap was detected (the arrival of the first packet after it); default 150. */
  latencyMs?: number;
  /** Whether to send generic NACKs for missing packets; default true. */
  nack?: boolean;
  /** How many times a missing packet is NACKed again after the first NACK (so at most 1 + this many NACKs per packet); default 10. The latency usually ends the gap first. */
  maxNackRetries?: number;
  /** Round-trip time, in ms, assumed for spacing NACK retries until one is measured; default 100. */
  initialRttMs?: number;
  /** Most packets held at once, counted as the span of sequence numbers from the oldest missing one to the newest received; default 1024. When a new packet would exceed it, the oldest gap is given up. */
  capacity?: number;
  /** Largest forward jump, in packets, treated as a gap to recover; a larger one (once confirmed) is a new numbering: nothing counted lost, no NACKs. Also the largest backward distance taken as a late packet rather than a possible new numbering. Default 1000, and never more than capacity - 1. */
  maxJump?: number;
  /** Largest forward jump, in packets, taken as a gap at once; a larger one is held until packets in sequence after it confirm it. Default 100 (RFC 3550's MAX_MISORDER), and never more than maxJump. */
  maxUnconfirmedJump?: number;
}

/** Where the buffer's results go. Callbacks must not call back into the same buffer. */
export interface JitterBufferOutput {
  /** A packet released in sequence order; each extended sequence number is released at most once. */
  onPacket(packet: RtpPacket, extSeq: number): void;
  /**
   * Packets `firstExtSeq` .. `firstExtSeq + count - 1` are given up; called before the packet that
   * follows them is released. `count` 0: a discontinuity, the sender's numbering restarted (nothing
   * is known lost, but what follows does not continue what came before).
   */
  onLoss(firstExtSeq: number, count: number): void;
  /** 16-bit sequence numbers to NACK now; the caller packs them into an RTCP generic NACK (RFC 4585). The array is the callee's to keep. */
  sendNack(sequenceNumbers: number[]): void;
}

/** Counters of a JitterBuffer, cumulative over reset(). */
export interface JitterBufferStats {
  /** Packets pushed, whatever became of them. */
  received: number;
  /** Packets released through onPacket. */
  released: number;
  /** Packets dropped because the same sequence number was already held or released. */
  duplicates: number;
  /** Packets dropped because their sequence number had already been passed (given up as lost, or older than the first packet). */
  late: number;
  /** Packets dropped because their sequence number was far from the stream's and no packets in sequence with it followed (strays, e.g. a corrupted header). */
  strays: number;
  /** Sequence numbers reported through onLoss (given-up gaps, capacity overflow). */
  lost: number;
  /** Packets that arrived after a later packet, in time to be released in order. */
  reordered: number;
  /** Reordered packets that had been NACKed (a subset of `reordered`). */
  recovered: number;
  /** Sequence numbers put in NACKs, each retry counted again. */
  nackRequests: number;
  /** sendNack calls. */
  nackMessages: number;
  /** Confirmed jumps beyond maxJump (either way), handled as a new numbering. */
  restarts: number;
  /** Pushes that made the buffer give up gaps to stay within capacity. */
  overflows: number;
}

/** Floor of the NACK retry spacing, in ms: below this a retry is more likely to duplicate a retransmission on its way than to help. */
export const MIN_NACK_RTT_MS = 10;
/** Weights of a new RTT sample in the smoothed RTT and in its mean deviation (TCP's, RFC 6298). */
const RTT_GAIN = 1 / 8;
const RTT_VAR_GAIN = 1 / 4;
/** Deviations added to the smoothed RTT for the retry spacing. TCP uses 4; 2 keeps a retry or two within a 150 ms latency. */
const RTT_VAR_FACTOR = 2;

/** A run of sequence numbers found missing together; they share detection time and NACK schedule. */
class Gap {
  /** First extended sequence number of the run. */
  start = 0;
  /** One past the last. */
  end = 0;
  /** When the run was detected, in ms; it is given up at detectedMs + latencyMs. */
  detectedMs = 0;
  /** Sequence numbers of the run still missing. */
  missing = 0;
  /** NACKs sent for the run. */
  nacks = 0;
  firstNackMs = 0;
  lastNackMs = 0;
}

/**
 * Jitter buffer for one RTP stream; audio and video alike (the codec-specific reaction to loss is
 * downstream). Call `push()` for every packet, then `poll()` at `nextDeadlineMs()`; `flush()` at
 * stop. In-order packets are released from within `push()`.
 *
 * NACK timing: the first NACK for a gap goes out at once, from the `push()` that reveals it (the
 * wait is bounded by latencyMs, so waiting out possible reordering would spend the budget a retry
 * needs). Retries follow every max(srtt + 2 * rttvar, MIN_NACK_RTT_MS) (initialRttMs until a
 * sample), up to maxNackRetries, and never after the gap is given up. RTT samples come from
 * recovered packets: time from the gap's first NACK to the packet's arrival, smoothed as TCP does
 * (RFC 6298: the first sample replaces the guess, then gains 1/8 and 1/4). The deviation term keeps
 * retries from firing early when samples are mixed, e.g. merely reordered packets (a few ms) among
 * real retransmissions. Measuring from the first NACK (not the last) keeps an underestimate from
 * hiding itself: if retries go out faster than the real RTT, the retransmission asked for first
 * still arrives one real RTT after it; the error is the other way, on the safe side, only when that
 * retransmission is lost.
 */
export class JitterBuffer {
  /** Counters; see JitterBufferStats. */
  readonly stats: JitterBufferStats = {
    received: 0,
    released: 0,
    duplicates: 0,
    late: 0,
    strays: 0,
    lost: 0,
    reordered: 0,
    recovered: 0,
    nackRequests: 0,
    nackMessages: 0,
    restarts: 0,
    overflows: 0,
  };

  private readonly latencyMs: number;
  private readonly nack: boolean;
  private readonly maxNackRetries: number;
  private readonly capacity: number;
  private readonly maxJump: number;
  private readonly maxUnconfirmedJump: number;
  private readonly mask: number;
  private readonly unwrapper = new SequenceUnwrapper();
  /** Added to unwrapped sequence numbers; changes only at a backward restart, to keep numbering increasing. */
  private extOffset = 0;
  /** Held packets by `extSeq & mask`. */
  private readonly slots: (RtpPacket | undefined)[];
  /** Extended sequence number last stored in each slot; tells a duplicate of a released packet from a late one. */
  private readonly slotSeq: Float64Array;
  /** Next extended sequence number to release or give up; NaN before the first packet. */
  private next = NaN;
  /** Highest extended sequence number received; `next - 1` when nothing is held. */
  private highest = NaN;
  /** Gaps in sequence order (and so in detection-time order), as a ring. */
  private readonly gaps: Gap[];
  private gapHead = 0;
  private gapCount = 0;
  /** nextDeadlineMs() cached: the caller asks after every packet, most of which change no gap. */
  private deadlineMs: number | undefined;
  private deadlineStale = true;
  /** Smoothed RTT and its mean deviation, in ms. */
  private srtt: number;
  private rttVar = 0;
  private rttSampled = false;
  private lastNowMs = 0;
  /** Packets far from the numbering, held until confirmed or refuted. */
  private readonly probation = new ProbationRun<RtpPacket>();

  /** @throws RangeError for options out of range (a programming error, not stream data). */
  constructor(
    options: JitterBufferOptions,
    private readonly output: JitterBufferOutput,
  ) {
    this.latencyMs = options.latencyMs ?? 150;
    this.nack = options.nack ?? true;
    this.maxNackRetries = options.maxNackRetries ?? 10;
    this.srtt = options.initialRttMs ?? 100;
    this.capacity = options.capacity ?? 1024;
    if (!(this.latencyMs >= 0)) throw new RangeError(`latencyMs ${this.latencyMs} must be >= 0`);
    if (!(this.maxNackRetries >= 0)) throw new RangeError(`maxNackRetries ${this.maxNackRetries} must be >= 0`);
    if (!(this.srtt >= 0)) throw new RangeError(`initialRttMs ${this.srtt} must be >= 0`);
    if (!Number.isInteger(this.capacity) || this.capacity < 2 || this.capacity > 32768) throw new RangeError(`capacity ${this.capacity} must be an integer in 2..32768`);
    this.maxJump = Math.min(options.maxJump ?? 1000, this.capacity - 1);
    if (!(this.maxJump >= 1)) throw new RangeError(`maxJump ${options.maxJump} must be >= 1`);
    this.maxUnconfirmedJump = Math.min(options.maxUnconfirmedJump ?? 100, this.maxJump);
    if (!(this.maxUnconfirmedJump >= 1)) throw new RangeError(`maxUnconfirmedJump ${options.maxUnconfirmedJump} must be >= 1`);
    let size = 2;
    while (size < this.capacity) size *= 2;
    this.mask = size - 1;
    this.slots = new Array<RtpPacket | undefined>(size).fill(undefined);
    this.slotSeq = new Float64Array(size).fill(NaN);
    this.gaps = Array.from({ length: size }, () => new Gap());
  }

  /** Smoothed round-trip time in ms, learnt from NACKed packets (initialRttMs until then); e.g. for KeyframeRequester.setRttMs. */
  get rttMs(): number {
    return this.srtt;
  }

  /** Current spacing of NACK retries, in ms: max(srtt + 2 * rttvar, MIN_NACK_RTT_MS). */
  get nackRetryIntervalMs(): number {
    return Math.max(this.srtt + RTT_VAR_FACTOR * this.rttVar, MIN_NACK_RTT_MS);
  }

  /**
   * Takes one packet. Releases it at once when it is the next in sequence and nothing is held,
   * else holds or drops it; also does whatever `poll(arrivalMs)` would, in case the timer is late.
   * @param arrivalMs when the packet arrived, in ms of wall-clock time
   */
  push(packet: RtpPacket, arrivalMs: number): void {
    this.stats.received++;
    const ext = this.unwrapper.peek(packet.sequenceNumber) + this.extOffset;
    if (ext === this.next && this.highest < ext) {
      // Common case: in order with nothing held.
      this.unwrapper.unwrap(packet.sequenceNumber);
      if (this.probation.size > 0) this.stats.strays += this.probation.rival();
      this.highest = ext;
      this.next = ext + 1;
      this.slotSeq[ext & this.mask] = ext;
      this.stats.released++;
      this.output.onPacket(packet, ext);
      return;
    }
    this.pushSlow(packet, ext, arrivalMs === arrivalMs ? arrivalMs : this.lastNowMs);
  }

  /**
   * Does the work that is due at `nowMs`: gives up gaps that waited latencyMs (onLoss, then the
   * packets behind them are released) and sends due NACK retries.
   * @param nowMs current time, in ms of wall-clock time
   */
  poll(nowMs: number): void {
    if (this.gapCount === 0 || !(nowMs >= this.nextDeadlineMs()!)) return;
    this.lastNowMs = nowMs;
    while (this.gapCount > 0 && this.gaps[this.gapHead]!.detectedMs + this.latencyMs <= nowMs) this.giveUpHeadGap();
    if (this.nack && this.gapCount > 0) this.sendDueNacks(nowMs);
  }

  /** When, in ms of wall-clock time, `poll()` next has work; undefined while nothing is held. May be in the past if poll() is overdue. */
  nextDeadlineMs(): number | undefined {
    if (this.gapCount === 0) return undefined;
    if (!this.deadlineStale) return this.deadlineMs;
    let deadline = this.gaps[this.gapHead]!.detectedMs + this.latencyMs;
    if (this.nack) {
      const spacing = this.nackRetryIntervalMs;
      for (let k = 0; k < this.gapCount; k++) {
        const gap = this.gaps[(this.gapHead + k) & this.mask]!;
        if (gap.missing > 0 && gap.nacks <= this.maxNackRetries && gap.lastNackMs + spacing < deadline) deadline = gap.lastNackMs + spacing;
      }
    }
    this.deadlineMs = deadline;
    this.deadlineStale = false;
    return deadline;
  }

  /** Releases everything held, reporting the gaps among it as lost (at stop); packets on probation are dropped as strays. Later pushes continue the sequence. */
  flush(): void {
    this.stats.strays += this.probation.clear();
    this.giveUpAllGaps();
  }

  /**
   * Forgets the stream without releasing anything (SSRC change, stream restart); call flush()
   * first to keep what is held. The next packet starts a new numbering. Stats and RTT are kept.
   */
  reset(): void {
    this.unwrapper.reset();
    this.extOffset = 0;
    this.next = NaN;
    this.highest = NaN;
    this.slots.fill(undefined);
    this.slotSeq.fill(NaN);
    this.gapHead = 0;
    this.gapCount = 0;
    this.deadlineStale = true;
    this.stats.strays += this.probation.clear();
  }

  private pushSlow(packet: RtpPacket, ext: number, arrivalMs: number): void {
    if (this.next !== this.next) {
      // First packet: it sets the base.
      this.next = ext;
      this.highest = ext - 1;
    } else if (ext - this.highest > this.maxUnconfirmedJump || this.next - ext > this.maxJump) {
      this.pushFar(packet, arrivalMs);
      return;
    }
    if (this.probation.size > 0) this.stats.strays += this.probation.rival();
    this.unwrapper.unwrap(packet.sequenceNumber);
    this.pushNear(packet, ext, arrivalMs);
  }

  /** A packet within reach of the numbering: in order, late, a duplicate, or opening a gap. */
  private pushNear(packet: RtpPacket, ext: number, arrivalMs: number): void {
    if (this.gapCount > 0) this.poll(arrivalMs);
    this.lastNowMs = arrivalMs;
    if (ext < this.next) {
      if (this.slotSeq[ext & this.mask] === ext) this.stats.duplicates++;
      else this.stats.late++;
      return;
    }
    if (ext <= this.highest) this.fillHole(packet, ext, arrivalMs);
    else this.pushAhead(packet, ext, arrivalMs);
  }

  /** A packet far from the numbering: held on probation; once confirmed, the run is taken in. */
  private pushFar(packet: RtpPacket, arrivalMs: number): void {
    this.stats.strays += this.probation.hold(packet, packet.sequenceNumber, arrivalMs);
    if (!this.probation.confirmed) return;
    const run = this.probation.take();
    const ext = this.unwrapper.peek(run[0]!.sequenceNumber) + this.extOffset;
    if (ext <= this.highest || ext - this.highest > this.maxJump) {
      // A new numbering: extended numbers go on from `next`, so they keep increasing; nothing is
      // counted lost, but downstream hears that what follows does not continue what came before.
      this.giveUpAllGaps();
      this.stats.restarts++;
      this.output.onLoss(this.next, 0);
      this.unwrapper.reset();
      this.extOffset = this.next - this.unwrapper.peek(run[0]!.sequenceNumber);
    }
    // Else a loss burst longer than maxUnconfirmedJump: a gap like any other.
    for (const p of run) this.pushNear(p, this.unwrapper.unwrap(p.sequenceNumber) + this.extOffset, arrivalMs);
  }

  /** A packet inside the held span: fills a hole unless it is already held. */
  private fillHole(packet: RtpPacket, ext: number, arrivalMs: number): void {
    const i = ext & this.mask;
    if (this.slots[i] !== undefined) {
      this.stats.duplicates++;
      return;
    }
    this.slots[i] = packet;
    this.slotSeq[i] = ext;
    this.stats.reordered++;
    this.deadlineStale = true; // a gap may be complete, and the RTT may change
    const gap = this.findGap(ext);
    if (gap !== undefined) {
      gap.missing--;
      if (gap.nacks > 0) {
        this.stats.recovered++;
        const sample = arrivalMs - gap.firstNackMs;
        if (sample >= 0) this.addRttSample(sample);
      }
    }
    if (ext === this.next) {
      this.releaseRun();
      this.dropPassedGaps();
    }
  }

  /** A packet beyond the highest: opens a gap if it skipped any, or restarts on a huge jump. */
  private pushAhead(packet: RtpPacket, ext: number, arrivalMs: number): void {
    const jump = ext - this.highest;
    if (ext - this.next >= this.capacity) {
      this.stats.overflows++;
      // Terminates: with no gap left, next = highest + 1 and ext - next < maxJump < capacity.
      while (ext - this.next >= this.capacity && this.gapCount > 0) this.giveUpHeadGap();
    }
    let gap: Gap | undefined;
    if (jump > 1) {
      gap = this.gaps[(this.gapHead + this.gapCount) & this.mask]!;
      this.gapCount++;
      this.deadlineStale = true;
      gap.start = this.highest + 1;
      gap.end = ext;
      gap.detectedMs = arrivalMs;
      gap.missing = jump - 1;
      gap.nacks = 0;
    }
    this.highest = ext;
    if (ext === this.next) {
      this.releaseOne(packet, ext);
      return;
    }
    const i = ext & this.mask;
    this.slots[i] = packet;
    this.slotSeq[i] = ext;
    if (gap !== undefined && this.nack) {
      const seqs = new Array<number>(gap.missing);
      for (let k = 0; k < gap.missing; k++) seqs[k] = this.wireSeq(gap.start + k);
      gap.nacks = 1;
      gap.firstNackMs = gap.lastNackMs = arrivalMs;
      this.stats.nackRequests += seqs.length;
      this.stats.nackMessages++;
      this.output.sendNack(seqs);
    }
  }

  private giveUpAllGaps(): void {
    while (this.gapCount > 0) this.giveUpHeadGap();
  }

  /** Gives up the oldest gap: its missing runs are reported lost, the packets among and behind it released. */
  private giveUpHeadGap(): void {
    const gap = this.gaps[this.gapHead]!;
    while (this.next < gap.end) {
      const packet = this.slots[this.next & this.mask];
      if (packet !== undefined) {
        this.slots[this.next & this.mask] = undefined;
        this.releaseOne(packet, this.next);
        continue;
      }
      const start = this.next;
      let end = start + 1;
      while (end < gap.end && this.slots[end & this.mask] === undefined) end++;
      this.next = end;
      this.reportLoss(start, end - start);
    }
    this.gapHead = (this.gapHead + 1) & this.mask;
    this.gapCount--;
    this.deadlineStale = true;
    this.releaseRun();
    this.dropPassedGaps();
  }

  /** Releases held packets from `next` on while they are contiguous. */
  private releaseRun(): void {
    while (this.next <= this.highest) {
      const i = this.next & this.mask;
      const packet = this.slots[i];
      if (packet === undefined) return;
      this.slots[i] = undefined;
      this.releaseOne(packet, this.next);
    }
  }

  /** Removes gaps wholly before `next` (filled in by reordered or recovered packets). */
  private dropPassedGaps(): void {
    while (this.gapCount > 0 && this.gaps[this.gapHead]!.end <= this.next) {
      this.gapHead = (this.gapHead + 1) & this.mask;
      this.gapCount--;
      this.deadlineStale = true;
    }
  }

  private releaseOne(packet: RtpPacket, ext: number): void {
    this.slotSeq[ext & this.mask] = ext;
    this.next = ext + 1;
    this.stats.released++;
    this.output.onPacket(packet, ext);
  }

  private reportLoss(firstExtSeq: number, count: number): void {
    this.stats.lost += count;
    this.output.onLoss(firstExtSeq, count);
  }

  /** The gap containing `ext`, by binary search over the ring (gaps are in sequence order). */
  private findGap(ext: number): Gap | undefined {
    let lo = 0;
    let hi = this.gapCount - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const gap = this.gaps[(this.gapHead + mid) & this.mask]!;
      if (ext < gap.start) hi = mid - 1;
      else if (ext >= gap.end) lo = mid + 1;
      else return gap;
    }
    return undefined;
  }

  private sendDueNacks(nowMs: number): void {
    const spacing = this.nackRetryIntervalMs;
    let seqs: number[] | undefined;
    for (let k = 0; k < this.gapCount; k++) {
      const gap = this.gaps[(this.gapHead + k) & this.mask]!;
      if (gap.missing === 0 || gap.nacks > this.maxNackRetries || gap.lastNackMs + spacing > nowMs) continue;
      for (let ext = Math.max(gap.start, this.next); ext < gap.end; ext++) {
        if (this.slots[ext & this.mask] === undefined) (seqs ??= []).push(this.wireSeq(ext));
      }
      gap.nacks++;
      gap.lastNackMs = nowMs;
      this.deadlineStale = true;
    }
    if (seqs === undefined) return;
    this.stats.nackRequests += seqs.length;
    this.stats.nackMessages++;
    this.output.sendNack(seqs);
  }

  private addRttSample(sampleMs: number): void {
    if (!this.rttSampled) {
      this.rttSampled = true;
      this.srtt = sampleMs;
      this.rttVar = sampleMs / 2;
      return;
    }
    this.rttVar += (Math.abs(this.srtt - sampleMs) - this.rttVar) * RTT_VAR_GAIN;
    this.srtt += (sampleMs - this.srtt) * RTT_GAIN;
  }

  /** The 16-bit sequence number on the wire for an extended one. */
  private wireSeq(ext: number): number {
    return (ext - this.extOffset) & 0xffff;
  }
}
