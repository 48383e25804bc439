/**
 * Unwrapping of RTP's wrapping counters into plain increasing numbers. Both unwrappers pick, for
 * each wire value, the candidate nearest to a reference (within half the counter's range), so they
 * work across a wrap in either direction. The first value maps to itself; values from before it
 * (across a wrap) map below it and can be negative. Results stay exact up to 2^53.
 */

/**
 * 16-bit RTP sequence number -> extended sequence number. The reference is the highest value seen,
 * so a reordered packet slightly older than the highest maps just below it even across a wrap
 * (highest 65537 = wire 1, then wire 65535 -> 65535), and it does not pull the reference back.
 */
export class SequenceUnwrapper {
  private highest = 0;
  private started = false;

  /** Extends a 16-bit sequence number (only its low 16 bits are used). */
  unwrap(sequenceNumber: number): number {
    const ext = this.peek(sequenceNumber);
    this.started = true;
    if (ext > this.highest) this.highest = ext;
    return ext;
  }

  /**
   * What `unwrap` would return, without taking the value in: for a packet that may be a stray,
   * which must not move the reference (a stray far ahead would misplace every packet after it).
   */
  peek(sequenceNumber: number): number {
    const seq = sequenceNumber & 0xffff;
    if (!this.started) return seq;
    // Signed 16-bit distance from the highest: the shifts keep the low 16 bits of the exact
    // integer difference and sign-extend them (wire 0 after 65535 -> +1, 65535 after 0 -> -1).
    return this.highest + (((seq - this.highest) << 16) >> 16);
  }

  /** Forgets everything: the next value sets a new base (SSRC change, stream restart). */
  reset(): void {
    this.started = false;
    this.highest = 0;
  }
}

/**
 * 32-bit RTP timestamp -> unwrapped timestamp in the same clock-rate units, which may exceed 2^32
 * (a 90 kHz clock wraps every 13.3 hours, a 48 kHz one every 24.9 hours). The reference is the last
 * value, which suits timestamps: they jump by whole frames and are not deduplicated like sequence
 * numbers, so any value within 2^31 of the last is taken as the nearest.
 */
export class TimestampUnwrapper {
  private last = 0;
  private started = false;

  /** Unwraps a 32-bit RTP timestamp (only its value modulo 2^32 is used). */
  unwrap(timestamp: number): number {
    if (!this.started) {
      this.started = true;
      this.last = timestamp >>> 0;
      return this.last;
    }
    // `| 0` reduces the exact integer difference modulo 2^32 into [-2^31, 2^31).
    this.last += (timestamp - this.last) | 0;
    return this.last;
  }

  /** Forgets everything: the next value sets a new base. */
  reset(): void {
    this.started = false;
    this.last = 0;
  }
}
