/**
 * Look-ahead peak limiter for the summed mix, so that loud talkers together never clip. The
 * signal is delayed by `lookahead` samples; the gain each sample needs (ceiling / peak, channels
 * linked) is held as a minimum over the look-ahead window, released exponentially, then smoothed
 * by a moving average as long as the window. That average reaches the needed gain exactly when
 * the loud sample leaves the delay line, because every value averaged for it is at most that
 * gain: the output never exceeds the ceiling, and the gain ramps down over the look-ahead
 * instead of jumping (a jump would itself be a click).
 */

export interface LimiterOptions {
  /** Highest output peak, in dBFS; default -1 (headroom for the Opus encoder's overshoot). */
  ceilingDbfs?: number;
  /** Look-ahead (and so delay), in samples per channel; default 240 (5 ms at 48 kHz). */
  lookahead?: number;
  /** Time constant of the gain's recovery after a peak, in samples per channel; default 7200 (150 ms at 48 kHz). */
  release?: number;
}

/** What the limiter did, for stats. */
export interface LimiterStats {
  /** Frames in which the gain was below 1 somewhere. */
  framesLimited: number;
  /** Lowest gain applied so far (1: never limited). */
  minGain: number;
}

const FULL_SCALE = 32767;

export class Limiter {
  readonly stats: LimiterStats = { framesLimited: 0, minGain: 1 };
  /** Output delay, in samples per channel. */
  readonly lookahead: number;
  private readonly ceiling: number;
  private readonly releaseCoef: number;
  /** Delay line of the input, interleaved, `lookahead` positions. */
  private readonly delay: Float32Array;
  private delayIndex = 0;
  /** Sliding minimum of the needed gain over the last lookahead + 1 samples: a monotonic deque in a ring. */
  private readonly dequeTimes: Float64Array;
  private readonly dequeValues: Float32Array;
  private dequeHead = 0;
  private dequeSize = 0;
  /** Moving average of the released gain over `lookahead` samples. */
  private readonly box: Float64Array;
  private boxIndex = 0;
  private boxSum: number;
  private released = 1;
  private time = 0;

  constructor(
    private readonly channels: 1 | 2,
    options: LimiterOptions = {},
  ) {
    this.lookahead = options.lookahead ?? 240;
    if (!Number.isInteger(this.lookahead) || this.lookahead < 1) throw new RangeError(`lookahead ${this.lookahead} must be a positive integer`);
    const ceilingDbfs = options.ceilingDbfs ?? -1;
    if (!(ceilingDbfs <= 0)) throw new RangeError(`ceilingDbfs ${ceilingDbfs} must be <= 0`);
    this.ceiling = FULL_SCALE * 10 ** (ceilingDbfs / 20);
    const release = options.release ?? 7200;
    if (!(release > 0)) throw new RangeError(`release ${release} must be positive`);
    this.releaseCoef = 1 - Math.exp(-1 / release);
    this.delay = new Float32Array(this.lookahead * channels);
    this.dequeTimes = new Float64Array(this.lookahead + 1);
    this.dequeValues = new Float32Array(this.lookahead + 1);
    this.box = new Float64Array(this.lookahead).fill(1);
    this.boxSum = this.lookahead;
  }

  /**
   * Limits one frame: `input` (interleaved, in 16-bit units, any range) goes in, the frame from
   * `lookahead` samples earlier comes out in `output`, within the ceiling.
   */
  process(input: Float32Array, output: Int16Array): void {
    if (this.dequeValues[this.dequeHead] === 1 && this.released === 1 && this.boxSum === this.lookahead && peakOf(input) <= this.ceiling) {
      this.passThrough(input, output);
      return;
    }
    const ch = this.channels;
    const n = input.length / ch;
    const L = this.lookahead;
    const window = L + 1;
    let minGain = 1;
    for (let k = 0; k < n; k++) {
      const a = input[k * ch]!;
      const b = ch === 2 ? input[k * ch + 1]! : 0;
      const peak = Math.max(Math.abs(a), Math.abs(b));
      const needed = peak > this.ceiling ? this.ceiling / peak : 1;
      // Sliding minimum: older candidates not smaller than this one can never be the minimum again.
      while (this.dequeSize > 0 && this.dequeValues[(this.dequeHead + this.dequeSize - 1) % window]! >= needed) this.dequeSize--;
      const slot = (this.dequeHead + this.dequeSize) % window;
      this.dequeTimes[slot] = this.time;
      this.dequeValues[slot] = needed;
      this.dequeSize++;
      if (this.dequeTimes[this.dequeHead]! < this.time - L) {
        this.dequeHead = (this.dequeHead + 1) % window;
        this.dequeSize--;
      }
      const held = this.dequeValues[this.dequeHead]!;
      this.released = held < this.released ? held : this.released + (held - this.released) * this.releaseCoef;
      // An exponential never arrives: within a millionth (inaudible) it is there, so the gain
      // becomes exactly 1 again and the pass-through path takes over.
      if (held === 1 && this.released > 1 - 1e-6) this.released = 1;
      this.boxSum += this.released - this.box[this.boxIndex]!;
      this.box[this.boxIndex] = this.released;
      if (++this.boxIndex === L) this.boxIndex = 0;
      const gain = Math.min(1, this.boxSum / L);
      if (gain < minGain) minGain = gain;
      const d = this.delayIndex * ch;
      output[k * ch] = clamp(this.delay[d]! * gain);
      this.delay[d] = a;
      if (ch === 2) {
        output[k * ch + 1] = clamp(this.delay[d + 1]! * gain);
        this.delay[d + 1] = b;
      }
      if (++this.delayIndex === L) this.delayIndex = 0;
      this.time++;
    }
    // The running sum gathers rounding error; recomputing it once a frame keeps the bound exact.
    let sum = 0;
    for (let i = 0; i < L; i++) sum += this.box[i]!;
    this.boxSum = sum;
    if (minGain < 1) {
      this.stats.framesLimited++;
      if (minGain < this.stats.minGain) this.stats.minGain = minGain;
    }
  }

  /**
   * The common case, most of a call: no gain reduction pending (every gain in the window is 1)
   * and none needed in this frame, so the frame only goes through the delay line. The state
   * left is the one the full loop would leave: one candidate of gain 1, at the last sample.
   */
  private passThrough(input: Float32Array, output: Int16Array): void {
    const ch = this.channels;
    const n = input.length;
    const delayLength = this.delay.length;
    let d = this.delayIndex * ch;
    for (let i = 0; i < n; i++) {
      output[i] = clamp(this.delay[d]!);
      this.delay[d] = input[i]!;
      if (++d === delayLength) d = 0;
    }
    this.delayIndex = d / ch;
    this.time += n / ch;
    this.dequeHead = 0;
    this.dequeSize = 1;
    this.dequeTimes[0] = this.time - 1;
    this.dequeValues[0] = 1;
  }
}

function peakOf(samples: Float32Array): number {
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = Math.abs(samples[i]!);
    if (v > peak) peak = v;
  }
  return peak;
}

function clamp(x: number): number {
  const r = Math.round(x);
  return r > FULL_SCALE ? FULL_SCALE : r < -FULL_SCALE ? -FULL_SCALE : r;
}
