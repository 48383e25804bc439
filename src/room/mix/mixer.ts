import { Limiter, type LimiterOptions } from './limiter.js';
import { MixInputStream, type MixInputStats } from './mix-input.js';
import { MixTimeline } from './mix-timeline.js';
import { MIX_FRAME_SAMPLES } from './opus-rtp-packetizer.js';

/**
 * Sums the inputs' audio frame by frame along the timeline and limits the sum. Time is not read
 * here: the caller says when to mix (MixSource from its timer, tests from a simulated clock).
 */
export class Mixer {
  readonly timeline = new MixTimeline();
  readonly limiter: Limiter;
  private inputs: MixInputStream[] = [];
  /** Stats of inputs that closed and left the mix. */
  private readonly departed: MixInputStats[] = [];
  private readonly sum: Float32Array;
  private readonly frame: Int16Array;

  constructor(
    readonly channels: 1 | 2,
    limiter: LimiterOptions,
  ) {
    this.limiter = new Limiter(channels, limiter);
    this.sum = new Float32Array(MIX_FRAME_SAMPLES * channels);
    this.frame = new Int16Array(MIX_FRAME_SAMPLES * channels);
  }

  add(input: MixInputStream): void {
    this.inputs.push(input);
  }

  /**
   * Mixes the frame at `timeline.head` (MIX_FRAME_SAMPLES positions) and moves the head past
   * it. The result, interleaved 16-bit PCM, is the limiter's output, `limiter.lookahead`
   * positions behind the head; it is overwritten by the next call.
   */
  mixFrame(): Int16Array {
    const from = this.timeline.head;
    const to = from + MIX_FRAME_SAMPLES;
    for (const input of this.inputs) input.prepare(to);
    this.sum.fill(0);
    for (const input of this.inputs) input.takeInto(from, MIX_FRAME_SAMPLES, this.sum);
    this.limiter.process(this.sum, this.frame);
    this.timeline.head = to;
    if (this.inputs.some((input) => input.drained)) {
      for (const input of this.inputs) if (input.drained) this.departed.push(input.stats());
      this.inputs = this.inputs.filter((input) => !input.drained);
    }
    return this.frame;
  }

  /** Moves the head to `position` without mixing what lies between (a stall, a pause). */
  skipTo(position: number, restartInputs: boolean): void {
    this.timeline.head = position;
    for (const input of this.inputs) {
      if (restartInputs) input.restart();
      else input.skipped();
    }
  }

  /** Closes every input. */
  closeInputs(): void {
    for (const input of this.inputs) input.close();
  }

  /** Per-input stats, those that left the mix first. */
  inputStats(): MixInputStats[] {
    return [...this.departed, ...this.inputs.map((input) => input.stats())];
  }
}
