/**
 * Splices RTP streams from several senders into one continuous stream, switching only where the
 * new sender's keyframe starts: the output keeps one SSRC, one payload type, consecutive sequence
 * numbers and timestamps that advance with arrival time across each switch, so the pipeline
 * downstream sees one sender whose picture changes at a keyframe (a size change included).
 * Pure: no mediasoup, no timers; time comes in as arguments (ms).
 */
export interface SpliceInput {
  /** Whether a raw packet of this input starts a keyframe (see codec/keyframe-start.ts). */
  startsKeyframe(raw: Buffer): boolean;
}

/** Counters of a splicer. */
export interface RtpSplicerStats {
  /** Packets passed on, rewritten. */
  packetsForwarded: number;
  /** Packets of inputs not shown, or from before the shown input's switch point. */
  packetsDropped: number;
  switches: number;
}

interface Segment {
  id: string;
  /** Output sequence number minus input sequence number, mod 2^16. */
  seqOffset: number;
  /** Output timestamp minus input timestamp, mod 2^32. */
  tsOffset: number;
  /** Input sequence number of the segment's first packet. */
  firstSeq: number;
  /** Output sequence number of the segment's first packet. */
  firstOutSeq: number;
}

/** Least time, in ms, between the last picture before a switch and the first after it. */
const MIN_SWITCH_GAP_MS = 10;

export class RtpSplicer {
  readonly stats: RtpSplicerStats = { packetsForwarded: 0, packetsDropped: 0, switches: 0 };
  private shown: Segment | undefined;
  private pending: string | undefined;
  /** Output sequence number, timestamp and arrival time of the last packet passed on. */
  private last: { seq: number; ts: number; arrivalMs: number } | undefined;

  /**
   * @param ssrc the output stream's SSRC
   * @param payloadType the output stream's payload type
   * @param clockRate RTP clock rate of the streams, Hz
   * @param onSwitch called when the output switches to an input, with the arrival time (ms) of the keyframe's first packet
   */
  constructor(
    private readonly ssrc: number,
    private readonly payloadType: number,
    private readonly clockRate: number,
    private readonly inputs: (id: string) => SpliceInput | undefined,
    private readonly onSwitch: (id: string, arrivalMs: number) => void,
  ) {}

  /** The input shown now. */
  get current(): string | undefined {
    return this.shown?.id;
  }

  /** The input waited for: the output switches to it at its next keyframe. */
  get next(): string | undefined {
    return this.pending;
  }

  /** Switch to `id` at its next keyframe (the current one stays until then). */
  switchTo(id: string | undefined): void {
    this.pending = id === this.shown?.id ? undefined : id;
  }

  /**
   * Input `id` ended (its producer closed): if it was shown, nothing is until the next switch,
   * and a new stream under the same id starts, like any other, at its keyframe. Sequence numbers
   * and time continue from the last packet passed on.
   */
  end(id: string): void {
    if (this.shown?.id === id) this.shown = undefined;
    if (this.pending === id) this.pending = undefined;
  }

  /**
   * One packet of input `id`, arrived at `arrivalMs`: returns the rewritten packet (a copy) to pass
   * on, or undefined when it is not shown.
   */
  push(id: string, raw: Buffer, arrivalMs: number): Buffer | undefined {
    if (raw.length < 12) return this.drop();
    const seq = raw.readUInt16BE(2);
    if (id === this.pending && this.inputs(id)?.startsKeyframe(raw)) this.begin(id, seq, raw.readUInt32BE(4), arrivalMs);
    const shown = this.shown;
    if (!shown || id !== shown.id) return this.drop();
    // A packet from before the switch point (reordered or retransmitted): the old segment's, gone.
    if (((seq - shown.firstSeq) & 0xffff) >= 0x8000) return this.drop();
    const out = Buffer.from(raw);
    const outSeq = (seq + shown.seqOffset) & 0xffff;
    const outTs = (raw.readUInt32BE(4) + shown.tsOffset) >>> 0;
    out[1] = (raw[1]! & 0x80) | this.payloadType;
    out.writeUInt16BE(outSeq, 2);
    out.writeUInt32BE(outTs, 4);
    out.writeUInt32BE(this.ssrc, 8);
    if (!this.last || ((outSeq - this.last.seq) & 0xffff) < 0x8000) this.last = { seq: outSeq, ts: outTs, arrivalMs };
    this.stats.packetsForwarded++;
    return out;
  }

  /**
   * Input sequence numbers for output ones (for a NACK), with the input they belong to; only those
   * of the segment shown now can still be asked for.
   */
  toInputSequence(outSeqs: number[]): { id: string; seqs: number[] } | undefined {
    const shown = this.shown;
    if (!shown) return undefined;
    const seqs = outSeqs.filter((s) => ((s - shown.firstOutSeq) & 0xffff) < 0x8000).map((s) => (s - shown.seqOffset) & 0xffff);
    return { id: shown.id, seqs };
  }

  private begin(id: string, seq: number, ts: number, arrivalMs: number): void {
    const last = this.last;
    const outSeq = last ? (last.seq + 1) & 0xffff : seq;
    // The new picture follows the last one after the time that passed between them, at least
    // MIN_SWITCH_GAP_MS: Matroska stamps frames in whole ms, and two frames a tick apart (the new
    // keyframe arriving right behind the old stream's last packet) shared one (seen in CI).
    const outTs = last ? (last.ts + Math.round((Math.max(MIN_SWITCH_GAP_MS, arrivalMs - last.arrivalMs) * this.clockRate) / 1000)) >>> 0 : ts;
    this.shown = { id, seqOffset: (outSeq - seq) & 0xffff, tsOffset: (outTs - ts) >>> 0, firstSeq: seq, firstOutSeq: outSeq };
    this.pending = undefined;
    this.stats.switches++;
    this.onSwitch(id, arrivalMs);
  }

  private drop(): undefined {
    this.stats.packetsDropped++;
    return undefined;
  }
}
