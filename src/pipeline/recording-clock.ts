import { SenderClock } from '../rtp/clock-mapper.js';

/**
 * The one clock all tracks of a recording share. Recording time zero is the wall-clock instant of
 * the first frame any track delivers; time spent paused is cut out, so a paused recording resumes
 * where it stopped instead of leaving a hole.
 */
export class RecordingClock {
  /**
   * The NTP clock of the RTCP sender reports, one for all tracks: a recording's streams come from
   * one mediasoup worker (or one sender), whose SRs share a clock, so SRs align the tracks.
   */
  readonly sender = new SenderClock();
  private zeroWallMs: number | undefined;
  private pausedAtWallMs: number | undefined;
  private pausedTotalMs = 0;

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

  pause(nowWallMs: number): void {
    this.pausedAtWallMs ??= nowWallMs;
  }

  resume(nowWallMs: number): void {
    if (this.pausedAtWallMs === undefined) return;
    if (this.zeroWallMs !== undefined) this.pausedTotalMs += nowWallMs - this.pausedAtWallMs;
    this.pausedAtWallMs = undefined;
  }
}
