import { describe, expect, it } from 'vitest';
import { FrameAssembler } from '../src/codec/frame-assembler.js';
import type { DepacketizerStats, Frame } from '../src/codec/frame.js';
import type { RtpPacket } from '../src/rtp/packet.js';

/**
 * A payload format of one letter per packet, to watch the frame boundaries alone: `m` malformed,
 * `x` out of place, `(` opens a fragment and `)` closes it; any other letter is data. After a loss,
 * a frame provably starts with `S` when `startLetter` is set, else by the default rule.
 */
class LetterAssembler extends FrameAssembler {
  override readonly stats: DepacketizerStats = { framesEmitted: 0, framesDroppedIncomplete: 0, packetsMalformed: 0 };
  readonly frames: Frame[] = [];
  /** Hook calls, in order. */
  readonly calls: string[] = [];
  private letters = '';
  private open = false;

  constructor(private readonly startLetter = false) {
    super((frame) => this.frames.push(frame));
  }

  protected override addPacket(payload: Buffer, first: boolean): void {
    const letter = payload.toString();
    this.calls.push(first ? `first ${letter}` : letter);
    if (letter === 'm') return this.malformed();
    if (letter === 'x') return this.breakFrame();
    if (letter === '(') this.open = true;
    if (letter === ')') this.open = false;
    this.letters += letter;
  }

  protected override frameComplete(): boolean {
    return !this.open;
  }

  protected override startsAfterLoss(payload: Buffer, timestamp: number): boolean {
    return this.startLetter ? payload.toString() === 'S' : super.startsAfterLoss(payload, timestamp);
  }

  protected override emitFrame(): void {
    if (this.letters === 'bad') return this.dropMalformed();
    this.output(Buffer.from(this.letters), this.letters.startsWith('K'), undefined);
  }

  protected override noteDroppedFrame(): void {
    this.calls.push('dropped');
  }

  protected override clearFrame(): void {
    this.letters = '';
    this.open = false;
  }
}

const packet = (letters: string, marker = false): RtpPacket => ({
  payloadType: 96,
  sequenceNumber: 0,
  timestamp: 0,
  ssrc: 1,
  marker,
  payload: Buffer.from(letters),
  extensionProfile: 0,
  extensionOffset: 0,
  extensionLength: 0,
});

/** Pushes `[letter, timestamp, marker?]` steps, or 'reset'. */
function feed(a: LetterAssembler, steps: ([string, number, boolean?] | 'reset')[]): void {
  for (const step of steps) {
    if (step === 'reset') a.reset();
    else a.push(packet(step[0], step[2]), step[1]);
  }
}

const emitted = (a: LetterAssembler): string[] => a.frames.map((f) => `${f.timestamp}:${f.data.toString()}`);

describe('FrameAssembler boundaries', () => {
  it('the marker bit ends a frame; the frame has the timestamp, the codec data and flags', () => {
    const a = new LetterAssembler();
    feed(a, [['K', 100], ['a', 100, true], ['b', 200, true]]);
    expect(a.frames).toEqual([
      { timestamp: 100, data: Buffer.from('Ka'), keyframe: true, config: undefined, duration: undefined },
      { timestamp: 200, data: Buffer.from('b'), keyframe: false, config: undefined, duration: undefined },
    ]);
    expect(a.stats).toEqual({ framesEmitted: 2, framesDroppedIncomplete: 0, packetsMalformed: 0 });
    expect(a.calls).toEqual(['first K', 'a', 'first b']);
  });

  it('a new timestamp ends a frame whose marker was lost', () => {
    const a = new LetterAssembler();
    feed(a, [['a', 100], ['b', 100], ['c', 200, true]]);
    expect(emitted(a)).toEqual(['100:ab', '200:c']);
  });

  it('a frame left open at its end is dropped and counted', () => {
    const a = new LetterAssembler();
    feed(a, [['(', 100], ['a', 100, true], ['(', 200], [')', 200, true]]);
    expect(emitted(a)).toEqual(['200:()']);
    expect(a.stats.framesDroppedIncomplete).toBe(1);
    expect(a.calls).toContain('dropped');
  });

  it('emitFrame() may still drop the frame as malformed', () => {
    const a = new LetterAssembler();
    feed(a, [['b', 100], ['a', 100], ['d', 100, true]]);
    expect(a.frames).toEqual([]);
    expect(a.stats).toEqual({ framesEmitted: 0, framesDroppedIncomplete: 1, packetsMalformed: 1 });
  });
});

describe('FrameAssembler broken frames', () => {
  it('a malformed packet drops its frame whole and is counted; the rest of the frame is not parsed', () => {
    const a = new LetterAssembler();
    feed(a, [['a', 100], ['m', 100], ['b', 100, true], ['c', 200, true]]);
    expect(emitted(a)).toEqual(['200:c']);
    expect(a.stats).toEqual({ framesEmitted: 1, framesDroppedIncomplete: 1, packetsMalformed: 1 });
    expect(a.calls).toEqual(['first a', 'm', 'dropped', 'first c']);
  });

  it('a packet out of place drops its frame without counting a malformed packet', () => {
    const a = new LetterAssembler();
    feed(a, [['x', 100], ['a', 100, true]]);
    expect(a.stats).toEqual({ framesEmitted: 0, framesDroppedIncomplete: 1, packetsMalformed: 0 });
  });

  it('a loss while a frame is assembled drops it; a new timestamp starts the next', () => {
    const a = new LetterAssembler();
    feed(a, [['a', 100], 'reset', ['b', 100, true], ['c', 200, true]]);
    expect(emitted(a)).toEqual(['200:c']);
    expect(a.stats.framesDroppedIncomplete).toBe(1);
  });

  it('a loss between frames: further packets of the last timestamp are one dropped frame, a new timestamp starts again', () => {
    const a = new LetterAssembler();
    feed(a, [['a', 100, true], 'reset', ['b', 100], ['c', 100, true], ['d', 200, true]]);
    expect(emitted(a)).toEqual(['100:a', '200:d']);
    expect(a.stats.framesDroppedIncomplete).toBe(1);
    expect(a.calls).toEqual(['first a', 'dropped', 'first d']);
  });

  it('a loss between frames followed by a new timestamp drops nothing', () => {
    const a = new LetterAssembler();
    feed(a, [['a', 100, true], 'reset', 'reset', ['b', 200, true]]);
    expect(emitted(a)).toEqual(['100:a', '200:b']);
    expect(a.stats.framesDroppedIncomplete).toBe(0);
  });

  it('a loss is only checked at the first packet after it: a frame ended after the loss lets its timestamp start a frame again', () => {
    const a = new LetterAssembler();
    feed(a, [['a', 100, true], 'reset', ['b', 100, true], ['c', 100, true]]);
    expect(emitted(a)).toEqual(['100:a', '100:c']);
  });

  it('the first packet of a stream starts a frame by the default rule', () => {
    const a = new LetterAssembler();
    feed(a, ['reset', ['a', 100, true]]);
    expect(emitted(a)).toEqual(['100:a']);
  });

  it("a codec's start rule is asked after a loss and at the start of a stream, and only then", () => {
    const a = new LetterAssembler(true);
    feed(a, [['a', 100, true], ['S', 200, true], ['b', 300, true], 'reset', ['c', 400, true], 'reset', ['S', 500], ['d', 500, true]]);
    expect(emitted(a)).toEqual(['200:S', '300:b', '500:Sd']);
    expect(a.stats.framesDroppedIncomplete).toBe(2);
  });
});
