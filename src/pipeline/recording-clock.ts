/**
 * The one clock all tracks of a recording share. Recording time zero is the wall-clock instant of
 * the first frame any track delivers; time spent paused is cut out, so a paused recording resumes
 * where it stopped instead of leaving a hole.
 */
export class RecordingClock {
  private zeroWallMs: number | undefined;
  private pausedAtWallMs: number | undefined;
  private pausedTotalMs = 0;

  /** Milliseconds of recording time for a wall-clock instant (ms); the first call defines zero. */
  toRecordingMs(wallMs: number): number {
    this.zeroWallMs ??= wallMs;
    return wallMs - this.zeroWallMs - this.pausedTotalMs;
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
