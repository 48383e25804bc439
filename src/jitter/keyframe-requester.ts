/**
 * Asks the sender for a keyframe (PLI/FIR, or consumer.requestKeyFrame()) when the video cannot be
 * decoded, without flooding it: losses tend to come in bursts, and each would otherwise trigger a
 * request while the first keyframe is still on its way.
 */

export interface KeyframeRequesterOptions {
  /** Shortest time, in ms of wall-clock time, between two requests; default 200. Raised to the RTT set with setRttMs(), since no keyframe can come back sooner. */
  minIntervalMs?: number;
  /** How long, in ms of wall-clock time, to wait for a keyframe after a request before asking again (the request or the keyframe may be lost); default 1000. */
  retryIntervalMs?: number;
  /** Sends one request. */
  request: () => void;
}

/** Counters of a KeyframeRequester. */
export interface KeyframeRequesterStats {
  /** Requests sent. */
  requests: number;
  /** keyframeReceived() calls. */
  keyframes: number;
  /** Time, in ms, from the first request of the last satisfied wait to its keyframe; NaN before one. */
  lastResponseMs: number;
}

/**
 * Keyframe request throttle for one video stream. `needKeyframe()` when the decoder needs one,
 * `keyframeReceived()` when one arrives, `poll()` at `nextDeadlineMs()`.
 */
export class KeyframeRequester {
  /** Counters; see KeyframeRequesterStats. */
  readonly stats: KeyframeRequesterStats = { requests: 0, keyframes: 0, lastResponseMs: NaN };

  private readonly minIntervalOptionMs: number;
  private readonly retryIntervalMs: number;
  private readonly request: () => void;
  private rttMs = 0;
  private waiting = false;
  /** Whether a request has gone out during the current wait. */
  private requested = false;
  private firstRequestMs = NaN;
  private lastRequestMs = -Infinity;

  /** @throws RangeError for negative intervals (a programming error). */
  constructor(options: KeyframeRequesterOptions) {
    this.minIntervalOptionMs = options.minIntervalMs ?? 200;
    this.retryIntervalMs = options.retryIntervalMs ?? 1000;
    if (!(this.minIntervalOptionMs >= 0)) throw new RangeError(`minIntervalMs ${this.minIntervalOptionMs} must be >= 0`);
    if (!(this.retryIntervalMs > 0)) throw new RangeError(`retryIntervalMs ${this.retryIntervalMs} must be > 0`);
    this.request = options.request;
  }

  /** Whether a keyframe is wanted and has not come yet. */
  get isWaiting(): boolean {
    return this.waiting;
  }

  /**
   * The decoder needs a keyframe: requests one now unless the last request was under
   * minIntervalMs ago (then at that point). Repeated calls while waiting change nothing.
   * @param nowMs current time, in ms of wall-clock time
   */
  needKeyframe(nowMs: number): void {
    if (this.waiting) return;
    this.waiting = true;
    this.requested = false;
    this.poll(nowMs);
  }

  /**
   * A keyframe arrived: stop asking.
   * @param nowMs current time, in ms of wall-clock time
   */
  keyframeReceived(nowMs: number): void {
    this.stats.keyframes++;
    if (this.waiting && this.requested) this.stats.lastResponseMs = nowMs - this.firstRequestMs;
    this.waiting = false;
  }

  /**
   * Sets the RTT, in ms, that the minimum interval is raised to (e.g. JitterBuffer.rttMs, or
   * from RTCP); non-finite or negative values are ignored.
   */
  setRttMs(rttMs: number): void {
    if (rttMs >= 0 && rttMs !== Infinity) this.rttMs = rttMs;
  }

  /**
   * Sends the request if one is due.
   * @param nowMs current time, in ms of wall-clock time
   */
  poll(nowMs: number): void {
    const due = this.nextDeadlineMs();
    if (due === undefined || !(nowMs >= due)) return;
    if (!this.requested) {
      this.requested = true;
      this.firstRequestMs = nowMs;
    }
    this.lastRequestMs = nowMs;
    this.stats.requests++;
    this.request();
  }

  /** When, in ms of wall-clock time, poll() next has work; undefined when not waiting. May be in the past (then poll now). */
  nextDeadlineMs(): number | undefined {
    if (!this.waiting) return undefined;
    const minIntervalMs = Math.max(this.minIntervalOptionMs, this.rttMs);
    return this.lastRequestMs + (this.requested ? Math.max(this.retryIntervalMs, minIntervalMs) : minIntervalMs);
  }
}
