/**
 * Who the active speaker is, from "loudest now" reports (mediasoup's AudioLevelObserver), with
 * hysteresis: a speaker keeps the floor for at least `minDwellMs`, so two people talking over
 * each other do not make the view flap; after that, whoever is loudest in the next report takes it.
 * Silence keeps the current speaker.
 */
export class SpeakerSelector {
  private current: string | undefined;
  private sinceMs = -Infinity;

  /** @param minDwellMs least time, in ms, between two changes of speaker. */
  constructor(private readonly minDwellMs: number) {}

  get speaker(): string | undefined {
    return this.current;
  }

  /**
   * The loudest participant at `nowMs` (ms, any monotonic clock); returns the new speaker when it
   * changes, else undefined.
   */
  loudest(participant: string, nowMs: number): string | undefined {
    if (participant === this.current || nowMs - this.sinceMs < this.minDwellMs) return undefined;
    this.current = participant;
    this.sinceMs = nowMs;
    return participant;
  }

  /** The current speaker left: the next loudest takes over without waiting for the dwell. */
  forget(participant: string): void {
    if (participant !== this.current) return;
    this.current = undefined;
    this.sinceMs = -Infinity;
  }
}
