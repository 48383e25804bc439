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
 * The timeline is settled early, at the latest when a sample reaches `fragmentDurationMs` of media
 * past the first held one: where the writer would have cut its first unit, so a killed process
 * loses no more than it would without the settling (a fragment). Memory: at most a fragment of
 * samples, referenced, not copied.
 */
export class SettlingMuxer implements Muxer {
  private held: { trackIndex: number; sample: Mp4Sample }[] | undefined = [];
  /** Media time of the earliest held sample, in ms. */
  private firstHeldMs = Infinity;

  /** @param tracks each track's key on the timeline (its stream spec) and timescale, by track index */
  constructor(
    private readonly inner: Muxer,
    private readonly timeline: SettlingTimeline,
    private readonly tracks: readonly { key: object; timescale: number }[],
    private readonly fragmentDurationMs: number,
  ) {
    if (timeline.settled) this.held = undefined;
    else timeline.onSettled((shift) => this.release(shift));
  }

  addSample(trackIndex: number, sample: Mp4Sample): void {
    if (!this.held) {
      this.inner.addSample(trackIndex, sample);
      return;
    }
    this.held.push({ trackIndex, sample });
    const ms = (sample.dts * 1000) / this.tracks[trackIndex]!.timescale;
    if (ms < this.firstHeldMs) this.firstHeldMs = ms;
    // Settling releases this sample too, moved with its track.
    if (ms - this.firstHeldMs >= this.fragmentDurationMs) this.timeline.settle();
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
