/**
 * Judges each packet of one track's RTP stream against the stream so far, before anything acts on
 * it: a packet with a foreign SSRC, or with a timestamp that disagrees with its arrival time by far
 * more than any jitter, is held on probation (rtp/probation.ts). A run of such packets in sequence
 * confirms a new SSRC (the track continues from a new sender stream) or a new timestamp base (the
 * stream is re-anchored: its timestamps are rebased to go on from arrival time); a lone stray is
 * dropped and counted. So is a packet whose header layout is not the stream's: padded in a stream
 * that does not pad (or the reverse), another CSRC count, or without the header-extension block
 * every packet so far has had. These decide where the payload starts and ends, so a wrong field
 * hands the depacketizer a cut or shifted payload that no later check can tell from a whole
 * one. (Padding-only packets, with no payload, are left alone; so is a stream whose packets carry
 * extensions only now and then.) Sequence numbers are the jitter buffer's to judge. Time is
 * passed in.
 */
import type { RtpPacket } from './packet.js';
import { ProbationRun } from './probation.js';

/**
 * How far, in ms, a packet's media time may run ahead of the newest packet's plus the arrival time
 * between them. Media cannot be sent before it is captured, so a real stream runs ahead only by
 * jitter in the newest packet's delay; a replay faster than real time moves ahead by a few ms a
 * packet, well within this. A packet further ahead would be placed where nothing can be yet.
 */
export const FORWARD_TOLERANCE_MS = 250;
/**
 * How far, in ms, a packet's media time may lag behind the newest packet's plus the arrival time
 * between them: a stall of this process or of the network delays packets this much, and a sender
 * that resumes without advancing its timestamps lags by its pause (which the pipeline's drift
 * correction then makes up). A lagging packet does little harm: it is late downstream.
 */
export const BACKWARD_TOLERANCE_MS = 60_000;

/** Counters of a StreamGuard. */
export interface StreamGuardStats {
  /** Packets dropped because their SSRC was not the stream's and not confirmed by packets in sequence. */
  straySsrc: number;
  /** Packets dropped because their timestamp disagreed with arrival time and no packets in sequence confirmed it. */
  timestampJumps: number;
  /** Confirmed timestamp discontinuities: the stream's timestamps were rebased to go on from arrival time. */
  timestampRebases: number;
  /** Packets dropped because their header layout (padding, CSRC count, extension block) was not the stream's, unconfirmed by packets in sequence. */
  layoutStrays: number;
}

/** Where a StreamGuard's packets go. */
export interface StreamGuardOutput {
  /** A packet that fits the stream, its `timestamp` rebased if the stream was re-anchored. */
  onPacket(packet: RtpPacket, raw: Buffer, arrivalMs: number): void;
  /** A new SSRC was confirmed; called before its first packet. Not called for the first SSRC. */
  onSsrcChange(ssrc: number): void;
}

interface Held {
  packet: RtpPacket;
  raw: Buffer;
  arrivalMs: number;
}

/** The newest packet of a timeline: what the next packet's timestamp is judged against. */
class Newest {
  /** Unwrapped timestamp, in clock-rate units; NaN before the first packet. */
  ext = NaN;
  arrivalMs = 0;

  constructor(private readonly ticksPerMs: number) {}

  /** The unwrapped value of a 32-bit timestamp: the nearest one to the newest. */
  extend(timestamp: number): number {
    return this.ext !== this.ext ? timestamp : this.ext + ((timestamp - this.ext) | 0);
  }

  /** Whether a packet at `ext`, arriving at `arrivalMs`, fits: neither too far ahead nor behind. */
  fits(ext: number, arrivalMs: number): boolean {
    if (this.ext !== this.ext) return true;
    const aheadMs = (ext - this.ext) / this.ticksPerMs - (arrivalMs - this.arrivalMs);
    return aheadMs <= FORWARD_TOLERANCE_MS && aheadMs >= -BACKWARD_TOLERANCE_MS;
  }

  /** Takes a packet in: it becomes the newest if its media time is. */
  take(ext: number, arrivalMs: number): void {
    if (this.ext === this.ext && ext <= this.ext) return;
    this.ext = ext;
    this.arrivalMs = arrivalMs;
  }

  reset(): void {
    this.ext = NaN;
  }
}

/** One track's stream guard: SSRC and timestamp probation in front of the jitter buffer. */
export class StreamGuard {
  /** Counters; see StreamGuardStats. */
  readonly stats: StreamGuardStats = { straySsrc: 0, timestampJumps: 0, timestampRebases: 0, layoutStrays: 0 };
  private currentSsrc: number | undefined;
  private readonly ticksPerMs: number;
  /** Packets of a foreign SSRC (`runSsrc`), held until confirmed. */
  private readonly ssrcRun = new ProbationRun<Held>();
  private runSsrc = 0;
  /** Packets whose timestamps do not fit the stream, held until confirmed or refuted. */
  private readonly timestampRun = new ProbationRun<Held>();
  private readonly newest: Newest;
  /** The timestamp run's newest packet (raw timestamps): its packets must fit each other. */
  private readonly runNewest: Newest;
  /** Added (mod 2^32) to every timestamp since the last rebase. */
  private offset = 0;
  /** Whether the stream's packets are padded (the first packet's, or the last confirmed change). */
  private padded: boolean | undefined;
  /** The stream's CSRC count (the first packet's, or the last confirmed change). */
  private csrcCount: number | undefined;
  /** Whether every packet so far had a header-extension block (the rule lapses once one confirmed without). */
  private alwaysExtended: boolean | undefined;
  /** Packets whose layout differs from the stream's, held until confirmed or refuted. */
  private readonly layoutRun = new ProbationRun<Held>();

  /** @param clockRate the stream's RTP clock rate, in Hz */
  constructor(
    clockRate: number,
    private readonly output: StreamGuardOutput,
  ) {
    this.ticksPerMs = clockRate / 1000;
    this.newest = new Newest(this.ticksPerMs);
    this.runNewest = new Newest(this.ticksPerMs);
  }

  /** The stream's SSRC: the first one, or the last confirmed; undefined before the first packet. */
  get ssrc(): number | undefined {
    return this.currentSsrc;
  }

  /**
   * Takes one parsed packet of the track (payload type already checked), arrived at `arrivalMs`.
   * Packets of the current SSRC's predecessor are not held against a new SSRC: after a legitimate
   * switch a few stragglers of the old one may still come.
   */
  push(packet: RtpPacket, raw: Buffer, arrivalMs: number): void {
    if (packet.ssrc === this.currentSsrc || this.currentSsrc === undefined) {
      this.currentSsrc = packet.ssrc;
      this.pushLaidOut(packet, raw, arrivalMs);
      return;
    }
    if (this.ssrcRun.size > 0 && this.runSsrc !== packet.ssrc) this.stats.straySsrc += this.ssrcRun.clear();
    this.runSsrc = packet.ssrc;
    this.stats.straySsrc += this.ssrcRun.hold({ packet, raw, arrivalMs }, packet.sequenceNumber, arrivalMs);
    if (!this.ssrcRun.confirmed) return;
    const run = this.ssrcRun.take();
    this.currentSsrc = packet.ssrc;
    this.stats.timestampJumps += this.timestampRun.clear();
    this.stats.layoutStrays += this.layoutRun.clear();
    this.newest.reset();
    this.offset = 0;
    this.padded = undefined;
    this.csrcCount = undefined;
    this.alwaysExtended = undefined;
    this.output.onSsrcChange(packet.ssrc);
    for (const held of run) this.pushLaidOut(held.packet, held.raw, held.arrivalMs);
  }

  /** A 32-bit RTP timestamp of the stream on its rebased timeline. */
  private rebased(rtpTimestamp: number): number {
    return (rtpTimestamp + this.offset) >>> 0;
  }

  /** Drops and counts the packets still on probation (end of input, or the track restarts). */
  flush(): void {
    this.stats.straySsrc += this.ssrcRun.clear();
    this.stats.timestampJumps += this.timestampRun.clear();
    this.stats.layoutStrays += this.layoutRun.clear();
  }

  /** A packet of the stream's SSRC: its header layout judged against the stream's. */
  private pushLaidOut(packet: RtpPacket, raw: Buffer, arrivalMs: number): void {
    const padded = (raw[0]! & 0x20) !== 0 && packet.payload.length > 0;
    const extended = (raw[0]! & 0x10) !== 0;
    const csrcCount = raw[0]! & 0x0f;
    this.padded ??= padded;
    this.csrcCount ??= csrcCount;
    this.alwaysExtended ??= extended;
    if (padded === this.padded && csrcCount === this.csrcCount && (extended || !this.alwaysExtended)) {
      this.stats.layoutStrays += this.layoutRun.rival();
      this.pushTimed(packet, raw, arrivalMs);
      return;
    }
    this.stats.layoutStrays += this.layoutRun.hold({ packet, raw, arrivalMs }, packet.sequenceNumber, arrivalMs);
    if (!this.layoutRun.confirmed) return;
    this.padded = padded;
    this.csrcCount = csrcCount;
    if (!extended) this.alwaysExtended = false;
    for (const held of this.layoutRun.take()) this.pushTimed(held.packet, held.raw, held.arrivalMs);
  }

  /** A packet of the stream's SSRC: its timestamp judged against arrival time. */
  private pushTimed(packet: RtpPacket, raw: Buffer, arrivalMs: number): void {
    const timestamp = this.rebased(packet.timestamp);
    const ext = this.newest.extend(timestamp);
    if (this.newest.fits(ext, arrivalMs)) {
      this.stats.timestampJumps += this.timestampRun.rival();
      this.accept(packet, raw, arrivalMs, timestamp, ext);
      return;
    }
    // The run's packets must fit each other as a stream's do, and follow in sequence.
    if (this.timestampRun.size > 0 && !this.runNewest.fits(this.runNewest.extend(packet.timestamp), arrivalMs)) {
      this.stats.timestampJumps += this.timestampRun.clear();
    }
    this.stats.timestampJumps += this.timestampRun.hold({ packet, raw, arrivalMs }, packet.sequenceNumber, arrivalMs);
    if (this.timestampRun.size === 1) this.runNewest.reset();
    this.runNewest.take(this.runNewest.extend(packet.timestamp), arrivalMs);
    if (!this.timestampRun.confirmed) return;
    // A new timestamp base: it goes on from the newest packet by the arrival time between them.
    const run = this.timestampRun.take();
    const first = run[0]!;
    const target = this.newest.ext + Math.round((first.arrivalMs - this.newest.arrivalMs) * this.ticksPerMs);
    this.offset = (target - first.packet.timestamp) >>> 0;
    this.stats.timestampRebases++;
    for (const held of run) {
      const rebased = this.rebased(held.packet.timestamp);
      this.accept(held.packet, held.raw, held.arrivalMs, rebased, this.newest.extend(rebased));
    }
  }

  private accept(packet: RtpPacket, raw: Buffer, arrivalMs: number, timestamp: number, ext: number): void {
    this.newest.take(ext, arrivalMs);
    packet.timestamp = timestamp;
    this.output.onPacket(packet, raw, arrivalMs);
  }
}
