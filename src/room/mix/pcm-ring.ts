/**
 * Decoded audio of one mix input laid out on the mix timeline: a fixed ring of interleaved
 * 16-bit samples indexed by timeline position (48 kHz sample index), so memory is bounded
 * whatever an input does. Writes are accepted only inside the window the mix has not read yet
 * ([head, head + capacity)); a read hands the samples out and zeroes them, so a position nobody
 * wrote reads as silence.
 */
export class PcmRing {
  /** Positions the ring holds, a power of two. */
  readonly capacity: number;
  private readonly samples: Int16Array;
  private readonly mask: number;

  /**
   * @param minCapacity positions (48 kHz samples per channel) the ring must hold at least
   * @param channels interleaved channels per position
   */
  constructor(
    minCapacity: number,
    readonly channels: 1 | 2,
  ) {
    let capacity = 1024;
    while (capacity < minCapacity) capacity *= 2;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.samples = new Int16Array(capacity * channels);
  }

  /**
   * Copies `pcm` (interleaved, `pcmChannels` per position; mono goes to both channels of a stereo
   * ring) to positions from `position` on, leaving out what falls outside [head, head + capacity).
   */
  write(position: number, pcm: Int16Array, pcmChannels: 1 | 2, head: number): void {
    const ch = this.channels;
    const count = pcm.length / pcmChannels;
    const first = Math.max(0, head - position);
    const end = Math.min(count, head + this.capacity - position);
    const right = pcmChannels === 2 ? 1 : 0;
    for (let k = first; k < end; k++) {
      const i = ((position + k) & this.mask) * ch;
      this.samples[i] = pcm[k * pcmChannels]!;
      if (ch === 2) this.samples[i + 1] = pcm[k * pcmChannels + right]!;
    }
  }

  /** Adds positions `from` .. `from + count - 1` into `sum` (interleaved) and zeroes them in the ring. */
  takeInto(from: number, count: number, sum: Float32Array): void {
    const n = count * this.channels;
    let i = (from & this.mask) * this.channels;
    const size = this.samples.length;
    for (let k = 0; k < n; k++) {
      sum[k]! += this.samples[i]!;
      this.samples[i] = 0;
      if (++i === size) i = 0;
    }
  }

  /** Zeroes everything (the mix skipped ahead: what was written no longer has a place). */
  clear(): void {
    this.samples.fill(0);
  }
}
