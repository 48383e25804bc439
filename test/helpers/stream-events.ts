/**
 * Scripted stream events over a captured RTP stream: pure functions that rewrite a fixture's
 * packets into what a real session sends around an event (a counter wrapping, an SSRC change, a
 * sender going quiet, a late track, a producer paused and resumed). Each returns a new
 * CapturedStream and never touches its input: every packet of the result is a fresh copy, so results
 * can be chained, edited and replayed (Replayer, RecordingSession, convert) freely.
 *
 * Times (`atMs`, `fromMs`, `toMs`) are ms of capture time after the stream's first packet, unless
 * `originMs` (absolute capture time, ms since the epoch; e.g. `captureStartMs(capture)` to script two
 * streams on one timeline) says otherwise. Spans are half-open: [fromMs, toMs).
 *
 * The streams are taken as the fixtures are: one RTP stream per CapturedStream, packets in capture
 * order = sending order. A frame is a run of packets with one RTP timestamp (and SSRC); a video
 * keyframe is a frame one of whose packets starts a keyframe (startsKeyframe, as mediasoup judges),
 * so an H264 keyframe starts at its STAP-A with SPS/PPS, not at the IDR's first FU-A. Every audio
 * packet is a frame and a "keyframe". Video is never cut inside a frame: what is dropped or switched is
 * whole frames.
 *
 * Note: mediasoup drops packets whose SSRC its Producer does not know, so a changeSsrc stream
 * replayed through a Replayer (whose producer declares the stream's first SSRC) stops at the switch in
 * mediasoup; it is for the capture-fed paths (convert, RecordingSession), where SSRC changes arrive.
 */
import { startsKeyframe } from '../../src/codec/keyframe-start.js';
import type { Capture, CapturedPacket, CapturedStream } from '../../src/source/capture.js';
import { rng } from './random.js';

const SEQ_MOD = 0x1_0000;
const TS_MOD = 0x1_0000_0000;

/** Where the ms arguments count from: absolute capture time in ms (default: the stream's first packet). */
export interface TimeOrigin {
  originMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Reading a stream

export const rtpSequenceNumber = (p: CapturedPacket): number => p.data.readUInt16BE(2);
export const rtpTimestamp = (p: CapturedPacket): number => p.data.readUInt32BE(4);
export const rtpSsrc = (p: CapturedPacket): number => p.data.readUInt32BE(8);

/** Capture time of the earliest packet of any stream: a shared origin for scripting several streams. */
export function captureStartMs(capture: Pick<Capture, 'streams'>): number {
  return Math.min(...capture.streams.map((s) => s.packets[0]?.timeMs ?? Infinity));
}

/** Indexes of the packets that start a frame (RTP timestamp or SSRC differs from the packet before). */
export function frameStartIndexes(stream: CapturedStream): number[] {
  const { packets } = stream;
  return packets.flatMap((p, i) => {
    const prev = packets[i - 1];
    return !prev || rtpTimestamp(p) !== rtpTimestamp(prev) || rtpSsrc(p) !== rtpSsrc(prev) ? [i] : [];
  });
}

/** Indexes of the packets that start a keyframe (for audio: every packet). */
export function keyframeStartIndexes(stream: CapturedStream): number[] {
  const starts = frameStartIndexes(stream);
  return starts.filter((start, k) => {
    const end = starts[k + 1] ?? stream.packets.length;
    for (let i = start; i < end; i++) if (startsKeyframe(stream.mimeType, stream.packets[i]!.data)) return true;
    return false;
  });
}

// ---------------------------------------------------------------------------------------------
// Counter wraps

/** The offset that makes the RTP timestamp wrap (2^32 -> 0) `atMs` of RTP time after the first packet: the first packet at or after that media time gets timestamp 0 (or the first past 0). */
export function timestampOffsetToWrapAt(stream: CapturedStream, atMs: number): number {
  const first = stream.packets[0];
  if (!first) throw new RangeError('timestampOffsetToWrapAt: the stream has no packets');
  const atTicks = Math.round((atMs * stream.clockRate) / 1000);
  return (TS_MOD - ((rtpTimestamp(first) + atTicks) % TS_MOD)) % TS_MOD;
}

/**
 * Adds `offset` (mod 2^32) to every packet's RTP timestamp, or, given `{ wrapAtMs }`, the offset that
 * makes it wrap that much RTP time after the first packet (e.g. 3000: between the last frame before
 * 3 s of media and the first at or after it).
 */
export function shiftTimestamps(stream: CapturedStream, offset: number | { wrapAtMs: number }): CapturedStream {
  const delta = typeof offset === 'number' ? offset : timestampOffsetToWrapAt(stream, offset.wrapAtMs);
  return withPackets(stream, stream.packets.map((p) => rewrite(p, { timestamp: rtpTimestamp(p) + delta })));
}

/** The offset that makes the sequence number wrap (65535 -> 0) at a packet: the first at or after `atMs` of capture time, or the one at `atIndex`; that packet gets 0. */
export function sequenceOffsetToWrapAt(stream: CapturedStream, at: ({ atMs: number } & TimeOrigin) | { atIndex: number }): number {
  const index = 'atIndex' in at ? at.atIndex : firstIndexAtOrAfter(stream, originOf(stream, at) + at.atMs);
  const packet = stream.packets[index];
  if (!packet) throw new RangeError(`sequenceOffsetToWrapAt: no packet at ${JSON.stringify(at)}`);
  return (SEQ_MOD - rtpSequenceNumber(packet)) % SEQ_MOD;
}

/** Adds `offset` (mod 2^16) to every packet's sequence number, or the offset that makes it wrap at a chosen packet (see sequenceOffsetToWrapAt). */
export function shiftSequenceNumbers(
  stream: CapturedStream,
  offset: number | ({ wrapAtMs: number } & TimeOrigin) | { wrapAtIndex: number },
): CapturedStream {
  const delta =
    typeof offset === 'number'
      ? offset
      : 'wrapAtIndex' in offset
        ? sequenceOffsetToWrapAt(stream, { atIndex: offset.wrapAtIndex })
        : sequenceOffsetToWrapAt(stream, { atMs: offset.wrapAtMs, originMs: offset.originMs });
  return withPackets(stream, stream.packets.map((p) => rewrite(p, { sequenceNumber: rtpSequenceNumber(p) + delta })));
}

// ---------------------------------------------------------------------------------------------
// Events

export interface ChangeSsrcOptions extends TimeOrigin {
  /** Added (mod 2^16) to the sequence numbers from the switch on. Default: random-looking, seeded by newSsrc. */
  sequenceOffset?: number;
  /** Added (mod 2^32) to the RTP timestamps from the switch on. Default: random-looking, seeded by newSsrc. */
  timestampOffset?: number;
}

/**
 * From the first keyframe at or after `atMs` (audio: the first packet) on, the stream comes with
 * SSRC `newSsrc` and new sequence-number and timestamp bases, as from a browser whose sending track
 * was replaced with a new encoder: the offsets keep each counter's steps, so the new stream is
 * continuous in itself. The result's `ssrc` stays the first packet's. Throws if there is no keyframe
 * to switch at.
 */
export function changeSsrc(stream: CapturedStream, atMs: number, newSsrc: number, options: ChangeSsrcOptions = {}): CapturedStream {
  const random = rng(newSsrc ^ 0x5eed);
  const sequenceOffset = options.sequenceOffset ?? 1 + Math.floor(random() * (SEQ_MOD - 1));
  const timestampOffset = options.timestampOffset ?? 1 + Math.floor(random() * (TS_MOD - 1));
  const switchAt = keyframeAtOrAfter(stream, firstIndexAtOrAfter(stream, originOf(stream, options) + atMs));
  if (switchAt === undefined) throw new RangeError(`changeSsrc: no ${stream.kind === 'video' ? 'keyframe' : 'packet'} at or after ${atMs} ms`);
  return withPackets(
    stream,
    stream.packets.map((p, i) =>
      i < switchAt
        ? rewrite(p, {})
        : rewrite(p, { ssrc: newSsrc, sequenceNumber: rtpSequenceNumber(p) + sequenceOffset, timestamp: rtpTimestamp(p) + timestampOffset }),
    ),
  );
}

export interface DropSpanOptions extends TimeOrigin {
  /** Video: resume at the first keyframe at or after `toMs` (default true), else at the first frame start. */
  resumeAtKeyframe?: boolean;
  /**
   * Keep the dropped packets' sequence numbers unused, so the span looks like loss to a receiver.
   * Default false: the packets after the span are renumbered to follow on from the last one before
   * it, as a sender numbers only what it sends.
   */
  keepSequenceGap?: boolean;
}

/**
 * No packets in [fromMs, toMs): a sender that stops sending (audio DTX, a muted or stalled video
 * sender), RTP timestamps untouched (the sender's clock runs on, so they jump across the span by
 * about its length) and capture times untouched. Video drops whole frames: the cut starts at the
 * start of the frame being sent at `fromMs`, and sending resumes at the first keyframe at or after
 * `toMs` (or, with resumeAtKeyframe false, the first frame start); when there is none, the stream
 * ends at the cut. Sequence numbers run on without a gap unless keepSequenceGap.
 */
export function dropSpan(stream: CapturedStream, fromMs: number, toMs: number, options: DropSpanOptions = {}): CapturedStream {
  if (!(toMs >= fromMs)) throw new RangeError(`dropSpan: span ${fromMs}..${toMs} ms is reversed`);
  const origin = originOf(stream, options);
  const { packets } = stream;
  const firstInSpan = firstIndexAtOrAfter(stream, origin + fromMs);
  const cutFrom = frameStartAtOrBefore(stream, firstInSpan);
  const firstAfter = firstIndexAtOrAfter(stream, origin + toMs);
  const resume =
    (options.resumeAtKeyframe ?? true) ? (keyframeAtOrAfter(stream, firstAfter) ?? packets.length) : (frameStartAtOrAfter(stream, firstAfter) ?? packets.length);
  const dropped = new Map<number, number>(); // per SSRC
  const out: CapturedPacket[] = [];
  packets.forEach((p, i) => {
    const ssrc = rtpSsrc(p);
    if (i >= cutFrom && i < resume) {
      dropped.set(ssrc, (dropped.get(ssrc) ?? 0) + 1);
      return;
    }
    const shift = options.keepSequenceGap ? 0 : (dropped.get(ssrc) ?? 0);
    out.push(rewrite(p, shift ? { sequenceNumber: rtpSequenceNumber(p) - shift } : {}));
  });
  return withPackets(stream, out);
}

/**
 * A producer paused at `fromMs` and resumed at `toMs`, as a recorder's consumer sees it: nothing in
 * the span, then sending resumes with the sender's clock having run on, so the RTP timestamps jump
 * by about the span (plus the wait for a keyframe); video resumes at the first keyframe at or after
 * `toMs`; sequence numbers continue without a gap (mediasoup's consumer renumbers on resume). The
 * media in the span is not sent, not delayed: the stream stays in step with the session's other
 * tracks. (This is dropSpan with its defaults, under the name a test reads as what it means.)
 */
export function pauseSpan(stream: CapturedStream, fromMs: number, toMs: number, options: TimeOrigin = {}): CapturedStream {
  return dropSpan(stream, fromMs, toMs, { originMs: options.originMs, resumeAtKeyframe: true, keepSequenceGap: false });
}

export interface DelayStartOptions extends TimeOrigin {
  /**
   * 'shift' (default): the whole stream arrives `ms` later (capture times + ms, RTP header untouched),
   * as a track whose sender starts later: it begins with the stream's first frame.
   * 'cut': the stream's packets before `ms` are not sent: it begins at the first keyframe at or after
   * `ms`, still in step with the session's other tracks (a track added to a running session).
   */
  mode?: 'shift' | 'cut';
}

/** A track that starts `ms` after the others (see DelayStartOptions.mode); video starts at a keyframe. */
export function delayStart(stream: CapturedStream, ms: number, options: DelayStartOptions = {}): CapturedStream {
  const mode = options.mode ?? 'shift';
  const from = mode === 'cut' ? firstIndexAtOrAfter(stream, originOf(stream, options) + ms) : 0;
  const start = keyframeAtOrAfter(stream, from) ?? stream.packets.length;
  const timeShift = mode === 'cut' ? 0 : ms;
  return withPackets(
    stream,
    stream.packets.slice(start).map((p) => rewrite(p, { timeMs: p.timeMs + timeShift })),
  );
}

/** The capture with the streams that `which` selects (a kind, or a predicate) replaced by `edit(stream)`; the others copied. */
export function editStreams(capture: Capture, which: CapturedStream['kind'] | ((s: CapturedStream) => boolean), edit: (s: CapturedStream) => CapturedStream): Capture {
  const selected = typeof which === 'function' ? which : (s: CapturedStream) => s.kind === which;
  return { ...capture, pcap: structuredClone(capture.pcap), streams: capture.streams.map((s) => (selected(s) ? edit(s) : withPackets(s, s.packets.map((p) => rewrite(p, {}))))) };
}

// ---------------------------------------------------------------------------------------------
// Internals

function originOf(stream: CapturedStream, options: TimeOrigin): number {
  if (options.originMs !== undefined) return options.originMs;
  const first = stream.packets[0];
  if (!first) throw new RangeError('the stream has no packets (give originMs)');
  return first.timeMs;
}

/** Index of the first packet captured at or after `timeMs` (packets.length if none). */
function firstIndexAtOrAfter(stream: CapturedStream, timeMs: number): number {
  const index = stream.packets.findIndex((p) => p.timeMs >= timeMs);
  return index < 0 ? stream.packets.length : index;
}

function frameStartAtOrBefore(stream: CapturedStream, index: number): number {
  if (index >= stream.packets.length) return index;
  return frameStartIndexes(stream).filter((s) => s <= index).at(-1) ?? 0;
}

function frameStartAtOrAfter(stream: CapturedStream, index: number): number | undefined {
  return frameStartIndexes(stream).find((s) => s >= index);
}

function keyframeAtOrAfter(stream: CapturedStream, index: number): number | undefined {
  return keyframeStartIndexes(stream).find((s) => s >= index);
}

/** A copy of `p` with header fields and capture time replaced (counters taken modulo their size). */
function rewrite(p: CapturedPacket, change: { sequenceNumber?: number; timestamp?: number; ssrc?: number; timeMs?: number }): CapturedPacket {
  const data = Buffer.from(p.data);
  if (change.sequenceNumber !== undefined) data.writeUInt16BE(mod(change.sequenceNumber, SEQ_MOD), 2);
  if (change.timestamp !== undefined) data.writeUInt32BE(mod(change.timestamp, TS_MOD), 4);
  if (change.ssrc !== undefined) data.writeUInt32BE(change.ssrc >>> 0, 8);
  return { timeMs: change.timeMs ?? p.timeMs, data };
}

const mod = (value: number, m: number): number => ((value % m) + m) % m;

/** `stream` with new packets (fresh objects throughout); `ssrc` follows the first packet, as loadCapture sets it. */
function withPackets(stream: CapturedStream, packets: CapturedPacket[]): CapturedStream {
  return {
    ...stream,
    parameters: { ...stream.parameters },
    headerExtensions: stream.headerExtensions.map((e) => ({ ...e })),
    ssrc: packets[0] ? rtpSsrc(packets[0]) : stream.ssrc,
    packets,
  };
}
