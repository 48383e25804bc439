import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startsKeyframe } from '../src/codec/keyframe-start.js';
import { loadCaptureFiles, type Capture, type CapturedStream } from '../src/source/capture.js';
import {
  captureStartMs,
  changeSsrc,
  delayStart,
  dropSpan,
  editStreams,
  frameStartIndexes,
  keyframeStartIndexes,
  pauseSpan,
  rtpSequenceNumber,
  rtpSsrc,
  rtpTimestamp,
  shiftSequenceNumbers,
  shiftTimestamps,
} from './helpers/stream-events.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const load = (name: string): Capture => loadCaptureFiles(`${FIXTURES}${name}.pcap`, `${FIXTURES}${name}.sdp`);
const captures = { 'h264-opus': load('h264-opus'), 'vp8-opus': load('vp8-opus') };

/** Everything about a stream that an edit could change, to prove it did not. */
function fingerprint(stream: CapturedStream): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ ...stream, packets: stream.packets.length }));
  for (const p of stream.packets) hash.update(`${p.timeMs}`).update(p.data);
  return hash.digest('hex');
}

const seqs = (s: CapturedStream): number[] => s.packets.map(rtpSequenceNumber);
const stamps = (s: CapturedStream): number[] => s.packets.map(rtpTimestamp);
const payloadOf = (d: Buffer): Buffer => d.subarray(12); // header extensions + payload: never rewritten
/** Indexes where a counter of `bits` bits is below its predecessor: where it wrapped. */
const wraps = (values: number[]): number[] => values.flatMap((v, i) => (i > 0 && v < values[i - 1]! ? [i] : []));
const step16 = (values: number[]): number[] => values.slice(1).map((v, i) => (v - values[i]! + 0x10000) % 0x10000);
const step32 = (values: number[]): number[] => values.slice(1).map((v, i) => (v - values[i]! + 2 ** 32) % 2 ** 32);
const relMs = (s: CapturedStream, i: number): number => s.packets[i]!.timeMs - s.packets[0]!.timeMs;

/** For an edit that only removes packets: the index in `input` of each output packet (matched by payload and timestamp, in order). */
function keptIndexes(input: CapturedStream, output: CapturedStream): number[] {
  const kept: number[] = [];
  let i = 0;
  for (const p of output.packets) {
    while (i < input.packets.length && !(payloadOf(input.packets[i]!.data).equals(payloadOf(p.data)) && rtpTimestamp(input.packets[i]!) === rtpTimestamp(p))) i++;
    if (i === input.packets.length) throw new Error('output packet not found in the input, in order');
    kept.push(i++);
  }
  return kept;
}

/** Checks every way an edit can touch its input, then that writing into the output leaves the input alone. */
function expectUntouched(input: CapturedStream, before: string, output: CapturedStream): void {
  expect(fingerprint(input)).toBe(before);
  expect(output).not.toBe(input);
  expect(output.packets).not.toBe(input.packets);
  for (const p of output.packets) p.data[p.data.length - 1] ^= 0xff;
  expect(fingerprint(input)).toBe(before);
}

describe.each(Object.keys(captures) as (keyof typeof captures)[])('stream events on %s', (name) => {
  const capture = captures[name];
  const streamOf = (kind: 'audio' | 'video'): CapturedStream => capture.streams.find((s) => s.kind === kind)!;

  it('the fixture is what the helpers assume: one SSRC, packets in order, video starting at a keyframe every 2 s', () => {
    const video = streamOf('video');
    expect(new Set(video.packets.map(rtpSsrc)).size).toBe(1);
    expect(step16(seqs(video)).every((d) => d === 1)).toBe(true);
    const keys = keyframeStartIndexes(video);
    expect(keys[0]).toBe(0);
    expect(keys).toHaveLength(10);
    expect(step32(keys.map((i) => rtpTimestamp(video.packets[i]!)))).toEqual(Array(9).fill(180_000));
    expect(frameStartIndexes(video)).toHaveLength(600);
    expect(keyframeStartIndexes(streamOf('audio'))).toHaveLength(streamOf('audio').packets.length);
  });

  describe.each(['video', 'audio'] as const)('%s', (kind) => {
    const stream = streamOf(kind);
    const ticksPerMs = stream.clockRate / 1000;

    it('shiftTimestamps: the timestamp wraps 3 s of media into the stream, and nowhere else; steps, sequence numbers, SSRC and payloads unchanged', () => {
      const before = fingerprint(stream);
      const out = shiftTimestamps(stream, { wrapAtMs: 3000 });
      const rel = stamps(stream).map((ts) => (ts - rtpTimestamp(stream.packets[0]!) + 2 ** 32) % 2 ** 32);
      const firstAt3s = rel.findIndex((r) => r >= 3000 * ticksPerMs);
      expect(wraps(stamps(out))).toEqual([firstAt3s]);
      expect(rtpTimestamp(out.packets[firstAt3s]!)).toBe(rel[firstAt3s]! - 3000 * ticksPerMs);
      expect(step32(stamps(out))).toEqual(step32(stamps(stream)));
      expect(seqs(out)).toEqual(seqs(stream));
      expect(out.packets.every((p, i) => p.timeMs === stream.packets[i]!.timeMs && payloadOf(p.data).equals(payloadOf(stream.packets[i]!.data)) && rtpSsrc(p) === stream.ssrc)).toBe(true);
      // A plain offset adds modulo 2^32.
      const plain = shiftTimestamps(stream, 2 ** 32 - 1);
      expect(stamps(plain)).toEqual(stamps(stream).map((ts) => (ts + 2 ** 32 - 1) % 2 ** 32));
      expectUntouched(stream, before, out);
    });

    it('shiftSequenceNumbers: the sequence number wraps at the first packet 3 s in, continuous throughout', () => {
      const before = fingerprint(stream);
      const out = shiftSequenceNumbers(stream, { wrapAtMs: 3000 });
      const at = stream.packets.findIndex((p) => p.timeMs - stream.packets[0]!.timeMs >= 3000);
      expect(wraps(seqs(out))).toEqual([at]);
      expect(seqs(out).slice(at - 1, at + 1)).toEqual([0xffff, 0]);
      expect(step16(seqs(out)).every((d) => d === 1)).toBe(true);
      expect(stamps(out)).toEqual(stamps(stream));
      const byIndex = shiftSequenceNumbers(stream, { wrapAtIndex: 7 });
      expect(wraps(seqs(byIndex))).toEqual([7]);
      expect(seqs(shiftSequenceNumbers(stream, -1))).toEqual(seqs(stream).map((s) => (s + 0xffff) % 0x10000));
      expectUntouched(stream, before, out);
    });

    it('changeSsrc: from the first keyframe at or after 7 s, a new SSRC with new bases; each SSRC continuous', () => {
      const before = fingerprint(stream);
      const out = changeSsrc(stream, 7000, 0xdeadbeef, { sequenceOffset: 12_345, timestampOffset: 3_000_000_000 });
      const at = out.packets.findIndex((p) => rtpSsrc(p) === 0xdeadbeef);
      // Video: the keyframe at 8 s (every 2 s); audio: the first packet at 7 s.
      const expected = keyframeStartIndexes(stream).find((i) => relMs(stream, i) >= 7000)!;
      expect(at).toBe(expected);
      if (kind === 'video') expect(step32([rtpTimestamp(stream.packets[0]!), rtpTimestamp(stream.packets[at]!)])).toEqual([8 * stream.clockRate]);
      expect(startsKeyframe(stream.mimeType, out.packets[at]!.data)).toBe(true);
      expect(out.packets.slice(at).every((p) => rtpSsrc(p) === 0xdeadbeef)).toBe(true);
      expect(out.packets.slice(0, at).every((p) => rtpSsrc(p) === stream.ssrc)).toBe(true);
      expect(out.ssrc).toBe(stream.ssrc);
      expect(seqs(out).slice(0, at)).toEqual(seqs(stream).slice(0, at));
      expect(seqs(out).slice(at)).toEqual(seqs(stream).slice(at).map((s) => (s + 12_345) % 0x10000));
      expect(stamps(out).slice(at)).toEqual(stamps(stream).slice(at).map((t) => (t + 3_000_000_000) % 2 ** 32));
      expect(step16(seqs(out).slice(at)).every((d) => d === 1)).toBe(true);
      // Default bases: random-looking, different from the old ones, the same on every run.
      const auto = changeSsrc(stream, 7000, 0x12345678);
      const again = changeSsrc(stream, 7000, 0x12345678);
      expect(seqs(auto)).toEqual(seqs(again));
      expect(stamps(auto)).toEqual(stamps(again));
      expect(rtpSequenceNumber(auto.packets[at]!)).not.toBe(rtpSequenceNumber(stream.packets[at]!));
      expect(rtpTimestamp(auto.packets[at]!)).not.toBe(rtpTimestamp(stream.packets[at]!));
      // Switching at 0 renames the whole stream.
      expect(changeSsrc(stream, 0, 42).ssrc).toBe(42);
      expect(() => changeSsrc(stream, 60_000, 42)).toThrow(RangeError);
      expectUntouched(stream, before, out);
    });

    it('dropSpan: nothing in [5 s, 7 s), whole frames, resumes at a keyframe, timestamps untouched, sequence numbers without a gap', () => {
      const before = fingerprint(stream);
      const out = dropSpan(stream, 5000, 7000);
      const t0 = stream.packets[0]!.timeMs;
      expect(out.packets.some((p) => p.timeMs - t0 >= 5000 && p.timeMs - t0 < 7000)).toBe(false);
      const kept = keptIndexes(stream, out);
      const gapAt = kept.findIndex((k, j) => j > 0 && k !== kept[j - 1]! + 1);
      expect(gapAt).toBeGreaterThan(0);
      const [lastBefore, firstAfter] = [kept[gapAt - 1]!, kept[gapAt]!];
      // Video: the cut ends a frame (marker) and resumes at the keyframe at 8 s; audio: at the first packet at 7 s.
      expect(startsKeyframe(stream.mimeType, stream.packets[firstAfter]!.data)).toBe(true);
      expect(firstAfter).toBe(keyframeStartIndexes(stream).find((i) => relMs(stream, i) >= 7000));
      if (kind === 'video') {
        expect(stream.packets[lastBefore]!.data[1]! & 0x80).toBe(0x80);
        expect(relMs(stream, firstAfter)).toBeGreaterThanOrEqual(7900);
      }
      expect(kept.slice(gapAt).every((k, j) => k === firstAfter + j)).toBe(true); // one span only
      expect(stamps(out)).toEqual(kept.map((k) => rtpTimestamp(stream.packets[k]!)));
      expect(out.packets.map((p) => p.timeMs)).toEqual(kept.map((k) => stream.packets[k]!.timeMs));
      expect(step16(seqs(out)).every((d) => d === 1)).toBe(true);
      expect(seqs(out)[0]).toBe(seqs(stream)[0]);
      // Options: keep the gap (looks like loss); video resuming at the next frame instead of a keyframe.
      const gap = dropSpan(stream, 5000, 7000, { keepSequenceGap: true });
      expect(seqs(gap)).toEqual(kept.map((k) => rtpSequenceNumber(stream.packets[k]!)));
      const anyFrame = dropSpan(stream, 5000, 7000, { resumeAtKeyframe: false });
      const anyKept = keptIndexes(stream, anyFrame);
      const resumed = anyKept.find((k, j) => j > 0 && k !== anyKept[j - 1]! + 1)!;
      expect(resumed).toBe(frameStartIndexes(stream).find((i) => relMs(stream, i) >= 7000));
      if (kind === 'video') expect(startsKeyframe(stream.mimeType, stream.packets[resumed]!.data)).toBe(false);
      expectUntouched(stream, before, out);
    });

    it('delayStart: the stream arrives 3 s later, from a keyframe, RTP untouched; or (cut) starts at the first keyframe 3 s in', () => {
      const before = fingerprint(stream);
      const out = delayStart(stream, 3000);
      expect(out.packets).toHaveLength(stream.packets.length);
      expect(out.packets.every((p, i) => p.timeMs === stream.packets[i]!.timeMs + 3000 && p.data.equals(stream.packets[i]!.data))).toBe(true);
      expect(startsKeyframe(stream.mimeType, out.packets[0]!.data)).toBe(true);
      const cut = delayStart(stream, 3000, { mode: 'cut' });
      const first = keyframeStartIndexes(stream).find((i) => relMs(stream, i) >= 3000)!;
      expect(cut.packets).toHaveLength(stream.packets.length - first);
      expect(cut.packets.every((p, i) => p.timeMs === stream.packets[first + i]!.timeMs && p.data.equals(stream.packets[first + i]!.data))).toBe(true);
      expect(startsKeyframe(stream.mimeType, cut.packets[0]!.data)).toBe(true);
      if (kind === 'video') expect(relMs(stream, first)).toBeGreaterThanOrEqual(3900); // the keyframe at 4 s
      expectUntouched(stream, before, out);
    });

    it('pauseSpan: nothing in [9 s, 11.5 s), resumes at a keyframe with the timestamps jumping by the span, sequence numbers continuous', () => {
      const before = fingerprint(stream);
      const out = pauseSpan(stream, 9000, 11_500);
      const t0 = stream.packets[0]!.timeMs;
      expect(out.packets.some((p) => p.timeMs - t0 >= 9000 && p.timeMs - t0 < 11_500)).toBe(false);
      const j = out.packets.findIndex((p) => p.timeMs - t0 >= 11_500);
      const [last, resumed] = [out.packets[j - 1]!, out.packets[j]!];
      expect(startsKeyframe(stream.mimeType, resumed.data)).toBe(true);
      expect(rtpSequenceNumber(resumed)).toBe((rtpSequenceNumber(last) + 1) % 0x10000);
      expect(step16(seqs(out)).every((d) => d === 1)).toBe(true);
      // The sender's clock ran on: the timestamp jump matches the wall-clock gap (within a frame),
      // and is at least the span; video waited for the keyframe at 12 s.
      const jumpMs = ((rtpTimestamp(resumed) - rtpTimestamp(last) + 2 ** 32) % 2 ** 32) / ticksPerMs;
      expect(Math.abs(jumpMs - (resumed.timeMs - last.timeMs))).toBeLessThan(40);
      expect(jumpMs).toBeGreaterThanOrEqual(2500);
      if (kind === 'video') expect(step32([rtpTimestamp(stream.packets[0]!), rtpTimestamp(resumed)])).toEqual([12 * stream.clockRate]);
      expect(keptIndexes(stream, out)).toHaveLength(out.packets.length);
      const dropped = dropSpan(stream, 9000, 11_500);
      expect(out.packets.map((p) => p.timeMs)).toEqual(dropped.packets.map((p) => p.timeMs));
      expect(Buffer.concat(out.packets.map((p) => p.data)).equals(Buffer.concat(dropped.packets.map((p) => p.data)))).toBe(true);
      expectUntouched(stream, before, out);
    });
  });

  it('events chain, and editStreams scripts a capture on one timeline without touching it', () => {
    const before = capture.streams.map(fingerprint);
    const origin = captureStartMs(capture);
    const scripted = editStreams(capture, 'video', (v) =>
      pauseSpan(changeSsrc(shiftSequenceNumbers(shiftTimestamps(v, { wrapAtMs: 3000 }), { wrapAtMs: 6000 }), 13_000, 777, { originMs: origin }), 4000, 6000, { originMs: origin }),
    );
    const video = scripted.streams.find((s) => s.kind === 'video')!;
    const audio = scripted.streams.find((s) => s.kind === 'audio')!;
    expect(fingerprint(audio)).toBe(before[capture.streams.findIndex((s) => s.kind === 'audio')]);
    expect(audio).not.toBe(capture.streams.find((s) => s.kind === 'audio'));
    expect(new Set(video.packets.map(rtpSsrc))).toEqual(new Set([streamOf('video').ssrc, 777]));
    expect(video.packets.some((p) => p.timeMs - origin >= 4000 && p.timeMs - origin < 6000)).toBe(false);
    const old = video.packets.filter((p) => rtpSsrc(p) !== 777);
    expect(step16(old.map(rtpSequenceNumber)).every((d) => d === 1)).toBe(true);
    expect(wraps(old.map(rtpTimestamp))).toHaveLength(1);
    expect(capture.streams.map(fingerprint)).toEqual(before);
  });
});

describe('the resize fixtures as the helpers see them', () => {
  it.each(['h264-resize-opus', 'vp8-resize-opus'])('%s: keyframes where the JSON says, the switch among them, one SSRC', (name) => {
    const truth = JSON.parse(readFileSync(`${FIXTURES}${name}.json`, 'utf8'));
    const video = load(name).streams.find((s) => s.kind === 'video')!;
    expect(video.packets).toHaveLength(truth.video.pcap.rtpPackets);
    expect(new Set(video.packets.map(rtpSsrc))).toEqual(new Set([truth.video.ssrc]));
    const frames = frameStartIndexes(video);
    expect(frames).toHaveLength(truth.video.pcap.frames);
    expect(keyframeStartIndexes(video).map((i) => frames.indexOf(i))).toEqual(truth.video.pcap.keyframeIndexes);
    expect(frames[truth.video.resize.frameIndex]).toBe(truth.video.resize.packetIndex);
    // A track replaced at the switch: the new SSRC starts with the new size's keyframe.
    const switched = changeSsrc(video, 4900, 99);
    expect(switched.packets.findIndex((p) => rtpSsrc(p) === 99)).toBe(truth.video.resize.packetIndex);
  });
});
