/**
 * Maps a stream's RTP time to local wall-clock time. Each packet gives a sample of
 * `arrivalMs - rtpMs` (rtpMs: the RTP timestamp in ms), which is the true offset plus that packet's
 * delay (network queueing, pacing, being the n-th packet of a frame sent in one burst). Delays
 * are never negative, so the smallest sample over a sliding window is the best estimate; the window
 * lets the estimate follow route changes and clock drift instead of sticking to one old minimum.
 */

/** Sliding-window minimum over timed samples: a monotonic deque in a ring, O(1) amortized per push. */
export class SlidingMinimum {
  private times = new Float64Array(64);
  private values = new Float64Array(64);
  private mask = 63;
  private head = 0;
  private size = 0;
  private lastTimeMs = -Infinity;

  /** @param windowMs how long, in ms of sample time, a sample stays a candidate for the minimum. */
  constructor(readonly windowMs: number) {}

  /** Adds a sample taken at `timeMs` (ms; a time earlier than the previous one is taken as the previous one). */
  push(timeMs: number, value: number): void {
    if (timeMs < this.lastTimeMs) timeMs = this.lastTimeMs;
    this.lastTimeMs = timeMs;
    // Older samples that are not smaller can never be the minimum again.
    while (this.size > 0 && this.values[(this.head + this.size - 1) & this.mask]! >= value) this.size--;
    if (this.size === this.times.length) this.grow();
    const i = (this.head + this.size) & this.mask;
    this.times[i] = timeMs;
    this.values[i] = value;
    this.size++;
    const oldest = timeMs - this.windowMs;
    // Stops at the latest sample at the latest, whose time is timeMs.
    while (this.times[this.head]! < oldest) {
      this.head = (this.head + 1) & this.mask;
      this.size--;
    }
  }

  /** Smallest value among the samples in the window; undefined before the first sample. */
  get min(): number | undefined {
    return this.size > 0 ? this.values[this.head] : undefined;
  }

  /**
   * Smallest value among the samples of the last `windowMs` (at most the window): the first kept
   * candidate in that span, since every sample dropped was followed by one no larger.
   * O(candidates); for occasional use, not per sample.
   */
  minOverLast(windowMs: number): number | undefined {
    const timeMs = this.lastTimeMs - windowMs;
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) & this.mask;
      if (this.times[i]! >= timeMs) return this.values[i];
    }
    return undefined;
  }

  private grow(): void {
    const n = this.times.length;
    const times = new Float64Array(n * 2);
    const values = new Float64Array(n * 2);
    for (let k = 0; k < this.size; k++) {
      times[k] = this.times[(this.head + k) & this.mask]!;
      values[k] = this.values[(this.head + k) & this.mask]!;
    }
    this.times = times;
    this.values = values;
    this.mask = n * 2 - 1;
    this.head = 0;
  }
}

/** Default sliding-window length, in ms: long enough to contain an uncongested packet, short enough to follow drift. */
export const DEFAULT_CLOCK_WINDOW_MS = 10_000;

/**
 * Window of the recent-arrival estimate (`toRecentWallMs`), in ms: short, so that a sender clock
 * running slower than ours (e.g. an audio device that skips buffers) shows within about a second,
 * yet holding ~50 audio packets, so that queueing delay shorter than that is not taken for drift.
 */
export const RECENT_CLOCK_WINDOW_MS = 1_000;

/**
 * Window of the latest-arrival estimate (`toLatestWallMs`), in ms: only what a stream's last
 * packets (5 of audio) say, for the end of a recording, where a sender clock that fell behind
 * within the last RECENT_CLOCK_WINDOW_MS has not yet shown in the recent estimate. A sender that
 * skips audio when starved of CPU falls behind in steps, which this sees 100 ms after each.
 */
export const LATEST_CLOCK_WINDOW_MS = 100;

/**
 * A pause in arrivals longer than this, in ms, restarts the recent-arrival estimate: after a stall
 * of this process (GC, blocking work) the queued packets arrive late all at once, which must not
 * pass for a slow sender clock; nor may a sender that paused. The estimate counts again once a
 * whole window of arrivals follows the pause.
 */
export const ARRIVAL_PAUSE_MS = 200;

export interface ClockMapperOptions {
  /** RTP clock rate of the stream in Hz (90000 for video, 48000 for Opus). */
  clockRate: number;
  /** Sliding-window length, in ms of wall-clock time, over which the smallest delay is taken; default 10000. */
  windowMs?: number;
}

/** Counters of a ClockMapper. */
export interface ClockMapperStats {
  /** Arrival samples taken. */
  observed: number;
  /** Calls ignored because an argument was not a finite number. */
  ignored: number;
}

/**
 * Maps one stream's unwrapped RTP timestamps to local wall-clock ms (the clock `arrivalMs` is
 * read from, e.g. performance.now()): `rtpMs + min(arrivalMs - rtpMs)` over the window. The
 * estimate can move by a few ms when the window's smallest sample expires; callers that need
 * monotonic output clamp.
 *
 * Arrivals alone, no RTCP sender reports: an SR from an SFU such as mediasoup 3.8.4 states when it
 * forwarded one packet (the latest frame's first), so it carries that packet's delay, not the
 * smallest; over UDP, mapping by SRs put audio against video 6-38 ms further off the browser's
 * capture than arrivals did.
 */
export class ClockMapper {
  /** Counters; see ClockMapperStats. */
  readonly stats: ClockMapperStats = { observed: 0, ignored: 0 };

  private readonly msPerTick: number;
  /** Samples of `arrivalMs - rtpMs`. */
  private readonly arrivalOffsets: SlidingMinimum;
  /** The same samples over RECENT_CLOCK_WINDOW_MS only; the latest estimate reads a suffix of it. */
  private readonly recentOffsets = new SlidingMinimum(RECENT_CLOCK_WINDOW_MS);
  /** Arrival time of the first packet after the last pause in arrivals (ARRIVAL_PAUSE_MS). */
  private arrivalsSinceMs = NaN;
  private lastArrivalMs = NaN;

  /**
   * @param options the options, or just the clock rate in Hz
   * @throws RangeError when clockRate or windowMs is not a positive number (a programming error, not stream data)
   */
  constructor(options: ClockMapperOptions | number) {
    if (typeof options === 'number') options = { clockRate: options };
    if (!(options.clockRate > 0) || !Number.isFinite(options.clockRate)) throw new RangeError(`clockRate ${options.clockRate} must be a positive number of Hz`);
    const windowMs = options.windowMs ?? DEFAULT_CLOCK_WINDOW_MS;
    if (!(windowMs > 0)) throw new RangeError(`windowMs ${windowMs} must be positive`);
    this.msPerTick = 1000 / options.clockRate;
    this.arrivalOffsets = new SlidingMinimum(windowMs);
  }

  /**
   * Takes one packet's timing. Call for every packet (cheap), in arrival order, before any
   * reordering: the jitter buffer's hold time is not network delay.
   * @param rtpTimestamp unwrapped RTP timestamp, in clock-rate units
   * @param arrivalMs when the packet arrived, in ms of local wall-clock time
   */
  observe(rtpTimestamp: number, arrivalMs: number): void {
    if (!Number.isFinite(rtpTimestamp) || !Number.isFinite(arrivalMs)) {
      this.stats.ignored++;
      return;
    }
    this.stats.observed++;
    if (!(arrivalMs - this.lastArrivalMs <= ARRIVAL_PAUSE_MS)) this.arrivalsSinceMs = arrivalMs;
    this.lastArrivalMs = arrivalMs;
    const sample = arrivalMs - rtpTimestamp * this.msPerTick;
    this.arrivalOffsets.push(arrivalMs, sample);
    this.recentOffsets.push(arrivalMs, sample);
  }

  /**
   * Local wall-clock time, in ms, at which the sender's RTP clock read `rtpTimestamp`, shifted by
   * the smallest delay seen (so "when it would have arrived with no queueing"); undefined until
   * the first packet has been observed.
   * @param rtpTimestamp unwrapped RTP timestamp, in clock-rate units
   */
  toWallMs(rtpTimestamp: number): number | undefined {
    const offset = this.arrivalOffsets.min;
    return offset === undefined ? undefined : rtpTimestamp * this.msPerTick + offset;
  }

  /**
   * Like `toWallMs` over the last RECENT_CLOCK_WINDOW_MS: where the sender's RTP clock stands
   * against ours now. Comparing it with an earlier mapping shows clock drift (and a sender that
   * resumed without advancing its timestamps). Undefined until arrivals have gone on without a
   * pause (ARRIVAL_PAUSE_MS) for a whole window.
   */
  toRecentWallMs(rtpTimestamp: number): number | undefined {
    return this.fromArrivals(RECENT_CLOCK_WINDOW_MS, this.recentOffsets.min, rtpTimestamp);
  }

  /**
   * Like `toRecentWallMs` over the last LATEST_CLOCK_WINDOW_MS only: quicker to follow a sender
   * clock that fell behind, more exposed to queueing delay. For the end of a stream, where a
   * delay taken for drift costs no more than a little trailing silence.
   */
  toLatestWallMs(rtpTimestamp: number): number | undefined {
    // A suffix of the recent window's samples (LATEST_CLOCK_WINDOW_MS < RECENT_CLOCK_WINDOW_MS).
    return this.fromArrivals(LATEST_CLOCK_WINDOW_MS, this.recentOffsets.minOverLast(LATEST_CLOCK_WINDOW_MS), rtpTimestamp);
  }

  /** Maps with an arrival estimate (`offset`, over `windowMs`) once arrivals have gone on without a pause for that whole window. */
  private fromArrivals(windowMs: number, offset: number | undefined, rtpTimestamp: number): number | undefined {
    if (!(this.lastArrivalMs - this.arrivalsSinceMs >= windowMs)) return undefined;
    return offset === undefined ? undefined : rtpTimestamp * this.msPerTick + offset;
  }
}
