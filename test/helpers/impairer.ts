/**
 * A seeded, deterministic network impairer for RTP: loss (independent, Gilbert-Elliott, bursts),
 * reordering, duplication and jitter, placed in a packet path (the replayer's `send` option, the
 * ImpairingUdpProxy). Which packets are lost, held back or duplicated, and by how much they are
 * delayed, is a pure function of the profile, its seed and the order of the pushed packets, so a
 * failing run reproduces and two recorders can be compared on the same impairment. First copies
 * and retransmissions draw from separate processes: when NACKs arrive depends on timing, and
 * must not change which original packets are lost.
 */
import { rng } from './random.js';

/** What the path does to RTP packets. Probabilities are per packet, 0..1; times are in ms. */
export interface ImpairmentProfile {
  /** e.g. 'loss 5%'. */
  name: string;
  /** Default 1. */
  seed?: number;
  /** Independent random loss probability. */
  loss?: number;
  /**
   * Burst loss, a two-state Markov chain: p = P(good -> bad), r = P(bad -> good) per packet.
   * lossInBad (default 1) and lossInGood (default 0) are the loss probabilities in each state.
   */
  gilbertElliott?: { p: number; r: number; lossInBad?: number; lossInGood?: number };
  /** `length` consecutive packets lost once in every window of `every` packets, at a seeded position. */
  burst?: { every: number; length: number };
  /** Probability a packet is held back by `reorderDelayMs`, letting later packets overtake it. */
  reorder?: number;
  /** Default 20. */
  reorderDelayMs?: number;
  /** Probability a packet is delivered twice, the second copy 0-10 ms after the first. */
  duplicate?: number;
  /** Each packet is delayed by a random 0..jitterMs, behind the packets before it (a queue): order is kept. */
  jitterMs?: number;
  /**
   * Default true: a packet seen again (same SSRC and sequence number, e.g. a retransmission) is
   * impaired like any other, by the same kind of process with its own draws.
   */
  impairRetransmissions?: boolean;
}

/** One RTP packet that went through the impairer, as pushed. */
export interface ImpairedPacket {
  ssrc: number;
  /** 16-bit sequence number as on the wire. */
  sequenceNumber: number;
  /** Sequence number unwrapped per SSRC, in push order: equal for a packet and its retransmissions. */
  extendedSequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payloadType: number;
  /** Whether this copy got through (at once or later); false when it was lost. */
  delivered: boolean;
  /** Whether this (SSRC, sequence number) had been pushed before. */
  retransmission: boolean;
  packet: Buffer;
}

export interface ImpairerStats {
  /** RTP packets that went through the impairer (retransmissions included). */
  packets: number;
  dropped: number;
  /** Packets delivered twice. */
  duplicated: number;
  /** Packets held back by reorderDelayMs. */
  reordered: number;
  /** Packets delivered later than pushed (jitter, reordering, or queued behind such a packet). */
  delayed: number;
  retransmissionsSeen: number;
  /** Packets passed untouched because `applies` said so (audio, RTCP...). */
  bypassed: number;
  /** Packets passed untouched because they are not RTP v2. */
  malformed: number;
}

export interface ImpairerOptions {
  /** Packets for which this is false pass untouched and unlogged, e.g. audio or RTCP. Default: all. */
  applies?: (packet: Buffer) => boolean;
}

const DUPLICATE_MAX_DELAY_MS = 10;
/** Timers fire on a ms-granular clock and may look up to ~1 ms early against performance.now(). */
const TIMER_SLACK_MS = 1;

/** A delivery waiting for its time. */
interface Pending {
  dueMs: number;
  packet: Buffer;
  /** Part of the in-order queue (not reordered, not a duplicate copy). */
  queued: boolean;
}

/** The random draws for one packet, one independent stream per kind of impairment. */
interface Decision {
  lost: boolean;
  reorder: boolean;
  duplicate: boolean;
  jitterMs: number;
  duplicateDelayMs: number;
}

export class Impairer {
  readonly stats: ImpairerStats = {
    packets: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    delayed: 0,
    retransmissionsSeen: 0,
    bypassed: 0,
    malformed: 0,
  };
  readonly log: ImpairedPacket[] = [];
  private readonly decideOriginal: () => Decision;
  private readonly decideRetransmission: () => Decision;
  private readonly applies: (packet: Buffer) => boolean;
  /** Highest extended sequence number per SSRC, to unwrap the next one against. */
  private readonly highest = new Map<number, number>();
  /** `${ssrc}:${extended seq}` of every packet pushed / delivered at least once. */
  private readonly seen = new Set<string>();
  private readonly delivered = new Set<string>();
  private pending: Pending[] = [];
  private pendingQueued = 0;
  /** Delivery time of the last in-order packet: later in-order packets are not delivered before it. */
  private queueTailMs = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private timerDueMs = Infinity;
  private drainWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    readonly profile: ImpairmentProfile,
    private readonly deliver: (packet: Buffer) => void,
    options: ImpairerOptions = {},
  ) {
    const seed = profile.seed ?? 1;
    this.decideOriginal = decider(profile, seed);
    // Any other seed would do: it only has to differ from the originals' one.
    this.decideRetransmission = decider(profile, seed ^ 0x5eed);
    this.applies = options.applies ?? (() => true);
  }

  /** An RTP packet entering the path: delivered now (synchronously) when not delayed, else later by a timer. */
  push(packet: Buffer): void {
    if (this.closed) return;
    if (!this.applies(packet)) {
      this.stats.bypassed++;
      this.deliver(packet);
      return;
    }
    if (packet.length < 12 || packet[0]! >> 6 !== 2) {
      this.stats.malformed++;
      this.deliver(packet);
      return;
    }
    const ssrc = packet.readUInt32BE(8);
    const sequenceNumber = packet.readUInt16BE(2);
    const extendedSequenceNumber = this.extend(ssrc, sequenceNumber);
    if (extendedSequenceNumber > (this.highest.get(ssrc) ?? -Infinity)) this.highest.set(ssrc, extendedSequenceNumber);
    const key = `${ssrc}:${extendedSequenceNumber}`;
    const retransmission = this.seen.has(key);
    this.seen.add(key);
    this.stats.packets++;
    if (retransmission) this.stats.retransmissionsSeen++;
    const d: Decision = !retransmission
      ? this.decideOriginal()
      : this.profile.impairRetransmissions === false
        ? { lost: false, reorder: false, duplicate: false, jitterMs: 0, duplicateDelayMs: 0 }
        : this.decideRetransmission();
    this.log.push({
      ssrc,
      sequenceNumber,
      extendedSequenceNumber,
      timestamp: packet.readUInt32BE(4),
      marker: (packet[1]! & 0x80) !== 0,
      payloadType: packet[1]! & 0x7f,
      delivered: !d.lost,
      retransmission,
      packet,
    });
    if (d.lost) {
      this.stats.dropped++;
      return;
    }
    this.delivered.add(key);
    const nowMs = performance.now();
    let dueMs: number;
    if (d.reorder) {
      this.stats.reordered++;
      dueMs = nowMs + d.jitterMs + (this.profile.reorderDelayMs ?? 20);
    } else {
      dueMs = Math.max(nowMs + d.jitterMs, this.queueTailMs);
      this.queueTailMs = dueMs;
    }
    if (!d.reorder && dueMs <= nowMs && this.pendingQueued === 0) {
      this.deliver(packet);
    } else {
      this.stats.delayed++;
      this.schedule(packet, dueMs, !d.reorder);
    }
    if (d.duplicate) {
      this.stats.duplicated++;
      this.schedule(packet, dueMs + d.duplicateDelayMs, false);
    }
  }

  /**
   * Whether a packet with this SSRC and 16-bit sequence number was delivered at least once,
   * retransmissions included. The number is taken as the one nearest the SSRC's newest packet, so
   * answers are exact for the last 32768 sequence numbers of a stream.
   */
  wasDelivered(ssrc: number, sequenceNumber: number): boolean {
    return this.highest.has(ssrc) && this.delivered.has(`${ssrc}:${this.extend(ssrc, sequenceNumber)}`);
  }

  /** Resolves when every delayed packet has been delivered (at once when none is pending or after close()). */
  drain(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Drops pending deliveries; later pushes are dropped too. Safe to call twice. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueMs = Infinity;
    this.pending = [];
    this.pendingQueued = 0;
    this.settleDrain();
  }

  /** The extended sequence number nearest the SSRC's highest (the first packet maps to itself). */
  private extend(ssrc: number, sequenceNumber: number): number {
    const highest = this.highest.get(ssrc);
    if (highest === undefined) return sequenceNumber & 0xffff;
    return highest + (((sequenceNumber - highest) << 16) >> 16);
  }

  private schedule(packet: Buffer, dueMs: number, queued: boolean): void {
    const entry: Pending = { dueMs, packet, queued };
    // After every entry due at the same time or earlier: equal times keep push order.
    let i = this.pending.length;
    while (i > 0 && this.pending[i - 1]!.dueMs > dueMs) i--;
    this.pending.splice(i, 0, entry);
    if (queued) this.pendingQueued++;
    this.arm();
  }

  private arm(): void {
    const next = this.pending[0];
    if (!next || next.dueMs >= this.timerDueMs) return;
    clearTimeout(this.timer);
    this.timerDueMs = next.dueMs;
    this.timer = setTimeout(() => this.flush(), Math.max(0, next.dueMs - performance.now()));
  }

  private flush(): void {
    this.timer = undefined;
    this.timerDueMs = Infinity;
    const nowMs = performance.now() + TIMER_SLACK_MS;
    while (!this.closed && this.pending.length > 0 && this.pending[0]!.dueMs <= nowMs) {
      const entry = this.pending.shift()!;
      if (entry.queued) this.pendingQueued--;
      this.deliver(entry.packet);
    }
    if (this.pending.length > 0) this.arm();
    else this.settleDrain();
  }

  private settleDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/**
 * Draws one Decision per packet. Each kind of impairment has its own PRNG, seeded from `seed`,
 * and draws the same number of values per packet whatever else happens: so 'loss 5%' and
 * 'loss 5% + reorder 5% + jitter 40 ms' with one seed lose the same packets.
 */
function decider(profile: ImpairmentProfile, seed: number): () => Decision {
  const master = rng(seed);
  const stream = (): (() => number) => rng(Math.floor(master() * 2 ** 32));
  const loss = stream();
  const ge = stream();
  const burst = stream();
  const reorder = stream();
  const duplicate = stream();
  const jitter = stream();
  let bad = false;
  let index = 0;
  let burstStart = 0;
  return () => {
    let lost = profile.loss !== undefined && loss() < profile.loss;
    const g = profile.gilbertElliott;
    if (g) {
      bad = bad ? ge() >= g.r : ge() < g.p;
      if (ge() < (bad ? (g.lossInBad ?? 1) : (g.lossInGood ?? 0))) lost = true;
    }
    const b = profile.burst;
    if (b) {
      const offset = index % b.every;
      if (offset === 0) burstStart = Math.floor(burst() * (Math.max(0, b.every - b.length) + 1));
      if (offset >= burstStart && offset < burstStart + b.length) lost = true;
    }
    index++;
    return {
      lost,
      reorder: profile.reorder !== undefined && reorder() < profile.reorder,
      duplicate: profile.duplicate !== undefined && duplicate() < profile.duplicate,
      duplicateDelayMs: profile.duplicate !== undefined ? duplicate() * DUPLICATE_MAX_DELAY_MS : 0,
      jitterMs: profile.jitterMs !== undefined ? jitter() * profile.jitterMs : 0,
    };
  };
}

/**
 * The named profiles the tests and bench/ share. Rates are per video packet: the fixtures send
 * about 46 video packets/s with a keyframe every 2 s. The last one is "recoverable": with NACK and
 * the recorder's default 150 ms latency every loss can be repaired.
 */
export const IMPAIRMENT_PROFILES: ImpairmentProfile[] = [
  { name: 'none' },
  { name: 'loss 1%', loss: 0.01 },
  { name: 'loss 5%', loss: 0.05 },
  { name: 'loss 20%', loss: 0.2 },
  { name: 'bursts of 10', burst: { every: 200, length: 10 } },
  // Mean burst 1/r = 4 packets, bad 1/(1 + r/p) ~ 3.8% of the time.
  { name: 'gilbert-elliott', gilbertElliott: { p: 0.01, r: 0.25 } },
  { name: 'reorder 5%', reorder: 0.05, reorderDelayMs: 20 },
  { name: 'duplicate 5%', duplicate: 0.05 },
  { name: 'jitter 40 ms', jitterMs: 40 },
  { name: 'loss 5% + reorder 5% + jitter 40 ms', loss: 0.05, reorder: 0.05, reorderDelayMs: 20, jitterMs: 40 },
];

/** The shared profile called `name`; throws for an unknown name so a typo fails loudly. */
export function impairmentProfile(name: string): ImpairmentProfile {
  const profile = IMPAIRMENT_PROFILES.find((p) => p.name === name);
  if (!profile) throw new Error(`no impairment profile '${name}'`);
  return profile;
}
