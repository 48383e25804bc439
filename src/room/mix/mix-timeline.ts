/** Samples per ms at the mix's 48 kHz. */
export const SAMPLES_PER_MS = 48;

/**
 * The mix's one timeline, shared by the mixer and its inputs: position p (a 48 kHz sample index)
 * is the wall-clock instant `zeroMs + p / 48` (performance.now() clock). `head` is the next
 * position the mixer reads; what lies before it is mixed and sent, and an input may write only
 * from it on.
 */
export class MixTimeline {
  /** Wall-clock ms of position 0; undefined until the mix starts. */
  zeroMs: number | undefined;
  /** Next position to mix. */
  head = 0;
  /** False before start and while paused: inputs then take no audio. */
  running = false;

  /** Timeline position of a wall-clock instant (ms), to the nearest sample. */
  toPosition(wallMs: number): number {
    return Math.round((wallMs - this.zeroMs!) * SAMPLES_PER_MS);
  }

  /** Wall-clock ms of a timeline position. */
  wallMsOf(position: number): number {
    return this.zeroMs! + position / SAMPLES_PER_MS;
  }
}
