import type { FilePatch, Muxer } from './muxer.js';
import type { Mp4Sample } from './mp4/track.js';

/** A timeline whose tracks' start may still move (the recording's clock), as the muxer sees it. */
export interface SettlingTimeline {
  readonly settled: boolean;
  /** `listener` runs once, when the timeline settles, with how far each track moved, in its timescale. */
  onSettled(listener: (shiftTicks: (track: object) => number) => void): void;
  /** Settles now (the end of the recording came first). */
  settle(): void;
}

/**
 * Holds the samples of every track until the timeline settles, then hands them to the container
 * writer moved by their track's shift, in time order across tracks, and every later sample
 * straight through: the writer (and so any player) only ever sees the tracks' final start.
 * Memory: the samples of the settling time (SETTLE_MS of media), referenced, not copied.
 */
export class SettlingMuxer implements Muxer {
  private held: { trackIndex: number; sample: Mp4Sample }[] | undefined = [];

  /** @param tracks each track's key on the timeline (its stream spec) and timescale, by track index */
  constructor(
    private readonly inner: Muxer,
    private readonly timeline: SettlingTimeline,
    private readonly tracks: readonly { key: object; timescale: number }[],
  ) {
    if (timeline.settled) this.held = undefined;
    else timeline.onSettled((shift) => this.release(shift));
  }

  addSample(trackIndex: number, sample: Mp4Sample): void {
    if (this.held) this.held.push({ trackIndex, sample });
    else this.inner.addSample(trackIndex, sample);
  }

  finish(): FilePatch[] {
    this.timeline.settle();
    return this.inner.finish();
  }

  get unitsWritten(): number {
    return this.inner.unitsWritten;
  }

  private release(shift: (track: object) => number): void {
    const held = this.held ?? [];
    this.held = undefined;
    const ticks = this.tracks.map((t) => shift(t.key));
    const moved = held.map(({ trackIndex, sample }) => ({ trackIndex, sample: ticks[trackIndex] ? { ...sample, dts: sample.dts + ticks[trackIndex]! } : sample }));
    // Stable: each track keeps its order; tracks interleave by time.
    moved.sort((a, b) => a.sample.dts / this.tracks[a.trackIndex]!.timescale - b.sample.dts / this.tracks[b.trackIndex]!.timescale);
    for (const { trackIndex, sample } of moved) this.inner.addSample(trackIndex, sample);
  }
}
