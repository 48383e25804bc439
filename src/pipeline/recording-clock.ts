/**
 * How long, in ms of wall-clock time from the first sample placed, the tracks' start stays open
 * to revision (`RecordingClock.settle`): long enough for the clock mapping's minimum delay to be
 * found past a late read at start (a stall of this process, a keyframe's paced packets: the
 * small frames after it arrive with less delay). The muxer settles it sooner when its held samples
 * reach a fragment (SettlingMuxer), so that a killed process loses no more than a fragment.
 */
export const SETTLE_MS = 1500;

/** A track's first sample as placed on the timeline, for the clock to revise while it settles. */
export interface TrackPlacement {
  /** The track's clock rate, in Hz. */
  clockRate: number;
  /** Track time the first sample was given, in clock-rate units. */
  dts: number;
  /** Where the track's clock mapping now puts that sample, in wall-clock ms; undefined if nowhere. */
  wallMs(): number | undefined;
  /** Moves the track, and what it has handed out, by `ticks` (clock-rate units; may be negative). */
  move(ticks: number): void;
}

/**
 * The one clock all tracks of a recording share. Recording time zero is the wall-clock instant of
 * the first frame any track delivers; time spent paused is cut out, so a paused recording resumes
 * where it stopped instead of leaving a hole.
 *
 * The tracks' start settles over SETTLE_MS (per track): each track's first sample is placed from what its
 * clock mapping knows then (a few packets, one of which may have been read late), and at
 * `settle()` the clock places every track again from the smallest delay seen since, and zero
 * again at the earliest; the muxer holds the samples until then (SettlingMuxer),
 * so no player sees the move.
 */
export class RecordingClock {
  private zeroWallMs: number | undefined;
  private pausedAtWallMs: number | undefined;
  private pausedTotalMs = 0;
  private readonly placements = new Map<object, TrackPlacement>();
  private settleAtMs: number | undefined;
  private firstSettleAtMs = NaN;
  private isSettled = false;
  private readonly settledListeners: ((shiftTicks: (track: object) => number) => void)[] = [];

  /** Milliseconds of recording time for a wall-clock instant (ms); the first call defines zero. */
  toRecordingMs(wallMs: number): number {
    this.zeroWallMs ??= wallMs;
    return wallMs - this.zeroWallMs - this.pausedTotalMs;
  }

  /** The wall-clock instant (ms) of recording time zero; undefined until the first frame. */
  get zeroMs(): number | undefined {
    return this.zeroWallMs;
  }

  get started(): boolean {
    return this.zeroWallMs !== undefined;
  }

  /** Whether the tracks' start is final (`settle()` ran). */
  get settled(): boolean {
    return this.isSettled;
  }

  /**
   * A track's first sample, placed at wall-clock `nowMs`: revised at `settle()`. Only the first
   * placement of each `track` (a key, e.g. its spec) counts; none after the clock settled.
   */
  place(track: object, placement: TrackPlacement, nowMs: number): void {
    if (this.isSettled || this.placements.has(track)) return;
    this.placements.set(track, placement);
    // Each track placed before the first one's time is up gets its own whole SETTLE_MS (video's
    // first keyframe comes hundreds of ms after audio): at most 2 x SETTLE_MS in all.
    if (this.settleAtMs === undefined) this.firstSettleAtMs = nowMs + SETTLE_MS;
    if (nowMs < this.firstSettleAtMs) this.settleAtMs = Math.max(this.settleAtMs ?? 0, nowMs + SETTLE_MS);
  }

  /** Settles once SETTLE_MS have passed since the last placement within SETTLE_MS of the first (`nowMs`: wall-clock ms). */
  settleIfDue(nowMs: number): void {
    if (this.settleAtMs !== undefined && nowMs >= this.settleAtMs) this.settle();
  }

  /** `listener` runs once, when the clock settles, with how far each track was moved (clock-rate units). */
  onSettled(listener: (shiftTicks: (track: object) => number) => void): void {
    if (this.isSettled) listener(() => 0);
    else this.settledListeners.push(listener);
  }

  /**
   * Places the tracks for good: zero at the earliest first sample as the mappings now see it, each
   * track moved to where its mapping now puts its first sample. Safe to call more than once.
   */
  settle(): void {
    if (this.isSettled) return;
    this.isSettled = true;
    const shifts = new Map<object, number>();
    const placed = [...this.placements].map(([track, p]) => ({ track, p, wallMs: p.wallMs() })).filter((x) => x.wallMs !== undefined);
    if (placed.length > 0 && this.zeroWallMs !== undefined) {
      this.zeroWallMs = Math.min(...placed.map((x) => x.wallMs!));
      for (const { track, p, wallMs } of placed) {
        const ticks = Math.round((this.toRecordingMs(wallMs!) * p.clockRate) / 1000) - p.dts;
        if (ticks !== 0) p.move(ticks);
        shifts.set(track, ticks);
      }
    }
    this.placements.clear();
    for (const listener of this.settledListeners.splice(0)) listener((track) => shifts.get(track) ?? 0);
  }

  pause(nowWallMs: number): void {
    // Time paused is cut out from then on: the start is decided before.
    this.settle();
    this.pausedAtWallMs ??= nowWallMs;
  }

  resume(nowWallMs: number): void {
    if (this.pausedAtWallMs === undefined) return;
    if (this.zeroWallMs !== undefined) this.pausedTotalMs += nowWallMs - this.pausedAtWallMs;
    this.pausedAtWallMs = undefined;
  }
}
