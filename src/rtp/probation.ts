/**
 * Probation of packets that do not fit the stream they arrive on (a foreign SSRC, a sequence number
 * far from the stream's, a timestamp far from what arrival time says), after RFC 3550's
 * MIN_SEQUENTIAL (appendix A.1): such a packet is held, not acted on. A run of them in sequence
 * confirms a new stream state (a new SSRC, a new numbering, a new timestamp base), and the held
 * packets are then used; a lone stray is dropped and counted. One bad packet thus costs itself,
 * never the stream.
 */

/** Packets in sequence that confirm a new stream state: the first one and two that follow it. */
export const PROBATION_PACKETS = 3;
/** Largest sequence-number step between consecutive packets of a run (a few may be lost or reordered). */
export const PROBATION_SPAN = 64;
/** Longest wait, in ms of arrival time, between consecutive packets of a run. */
export const PROBATION_GAP_MS = 1000;

/** Held packets that may start a new stream state, with what is needed to tell whether they are confirmed or refuted. */
export class ProbationRun<T> {
  private items: T[] = [];
  private lastSeq = 0;
  private lastArrivalMs = 0;
  /** Packets of the current stream state that arrived since the run began. */
  private rivals = 0;

  /** Packets held. */
  get size(): number {
    return this.items.length;
  }

  /** Enough packets in sequence: the run is a new stream state. */
  get confirmed(): boolean {
    return this.items.length >= PROBATION_PACKETS;
  }

  /**
   * Holds a packet that does not fit the current stream state. It continues the run when its
   * sequence number is 1..PROBATION_SPAN after the run's last one, within PROBATION_GAP_MS; else it
   * starts a new run and the packets held so far are dropped.
   * @param seq the packet's 16-bit sequence number
   * @param arrivalMs its arrival time, in ms
   * @returns how many held packets were dropped (strays)
   */
  hold(item: T, seq: number, arrivalMs: number): number {
    const step = (seq - this.lastSeq) & 0xffff;
    const continues = this.items.length > 0 && step >= 1 && step <= PROBATION_SPAN && arrivalMs - this.lastArrivalMs <= PROBATION_GAP_MS;
    const dropped = continues ? 0 : this.clear();
    this.items.push(item);
    this.lastSeq = seq & 0xffff;
    this.lastArrivalMs = arrivalMs;
    return dropped;
  }

  /**
   * A packet that fits the current stream state arrived. As many of them as confirm a run refute
   * it: the held packets were strays.
   * @returns how many held packets were dropped
   */
  rival(): number {
    if (this.items.length === 0 || ++this.rivals < PROBATION_PACKETS) return 0;
    return this.clear();
  }

  /** Hands the held packets over (in arrival order) and empties the run. */
  take(): T[] {
    const items = this.items;
    this.items = [];
    this.rivals = 0;
    return items;
  }

  /** Drops the held packets. @returns how many */
  clear(): number {
    const n = this.items.length;
    if (n > 0) this.items = [];
    this.rivals = 0;
    return n;
  }
}
