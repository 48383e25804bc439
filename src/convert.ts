import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { checkContainerCodecs, containerFor, type Container } from './mux/container.js';
import { RecordingSession, type RecordingOptions, type RecordingSummary } from './pipeline/recording-session.js';
import { openFileSink } from './sink/file.js';
import { Sink } from './sink/sink.js';
import {
  capturePackets,
  openCaptureFile,
  streamSpecOf,
  timedPackets,
  type Capture,
  type CapturedStream,
  type CapturePackets,
  type TimedPacket,
} from './source/capture.js';

/** Options of an offline conversion. */
export interface ConvertOptions extends Omit<RecordingOptions, 'nack'> {
  /** Container; default from the output path's extension, 'mp4' for a Writable. */
  format?: Container;
  /** Called now and then with the share of the capture converted, 0..1. */
  onProgress?: (fraction: number) => void;
}

/** A conversion's result: the recording summary plus what the capture held that was not used. */
export interface ConvertSummary extends RecordingSummary {
  /** UDP datagrams that belonged to no recordable stream. */
  unmatchedDatagrams: number;
  /** Packets in the capture that were not UDP over IP. */
  skippedPackets: number;
  /** Packets more than the reorder window (2 s) out of capture-time order, fed late (0 for an in-memory capture, which is sorted). */
  packetsOutOfOrder: number;
  /** Set when the capture was cut short; everything before the cut was converted. */
  truncated: string | undefined;
}

/**
 * Converts captured RTP to fragmented MP4 with the recording pipeline, mediasoup left out: capture
 * times stand in for arrival times, and there is no sender to NACK, so gaps are given up after
 * `latencyMs` of capture time and video resumes at the next keyframe.
 */
export async function convertCapture(capture: Capture, output: string | Writable, options: ConvertOptions = {}): Promise<ConvertSummary> {
  return convertPackets(capturePackets(capture), output, options);
}

/**
 * Converts a capture file (pcap or pcapng) and its SDP file like convertCapture, streaming: the
 * file is read a chunk at a time and the output is written as it is made, waiting for the output
 * when it falls behind, so memory stays constant whatever the capture's length. A capture that is
 * cut short is converted up to the cut (`truncated` says where); a structural corruption found
 * part-way is thrown after the output was closed with what came before it.
 */
export async function convertCaptureFile(pcapPath: string, sdpPath: string, output: string | Writable, options: ConvertOptions = {}): Promise<ConvertSummary> {
  return convertPackets(openCaptureFile(pcapPath, readFileSync(sdpPath, 'utf8')), output, options);
}

async function convertPackets(capture: CapturePackets, output: string | Writable, options: ConvertOptions): Promise<ConvertSummary> {
  if (capture.streams.length === 0) throw new Error('the capture holds no RTP stream of a supported codec described by the SDP');
  let outputError: Error | undefined;
  const onError = (error: Error): void => {
    outputError ??= error;
  };
  const streams = capture.streams.map((s) => ({ spec: streamSpecOf(s) }));
  const container = containerFor(typeof output === 'string' ? output : undefined, options.format);
  checkContainerCodecs(container, streams.map(({ spec }) => spec.codec));
  const sink = typeof output === 'string' ? await openFileSink(output, onError) : new Sink(output, { onError, endDestination: false });
  const session = new RecordingSession(streams, container, sink, { onGap: () => undefined, onKeyframe: () => undefined }, options);
  let inputError: unknown;
  try {
    await feedWithBackpressure(session, sink, capture, options.onProgress);
  } catch (error) {
    inputError = error;
  }
  const summary = await session.finish().catch(() => session.summary());
  if (inputError) throw inputError;
  if (outputError) throw outputError;
  const skipped = Object.values(capture.pcap.skipped).reduce((a, b) => a + b, 0);
  return {
    ...summary,
    unmatchedDatagrams: capture.unmatchedDatagrams,
    skippedPackets: skipped,
    packetsOutOfOrder: capture.packetsOutOfOrder,
    truncated: capture.truncated,
  };
}

/** Packets fed between two looks at the output: about 1 MB of media. */
const PACKETS_PER_TURN = 1024;
/** Output the converter lets wait in memory before it waits for the destination, in bytes. */
const MAX_QUEUED_OUTPUT_BYTES = 8 * 1024 * 1024;

/**
 * Feeds the packets as feedInCaptureTime does, giving the event loop a turn every
 * PACKETS_PER_TURN packets so the output gets written (and other work in the process runs), and
 * waiting while more than MAX_QUEUED_OUTPUT_BYTES of output are queued.
 */
async function feedWithBackpressure(session: RecordingSession, sink: Sink, capture: CapturePackets, onProgress?: (fraction: number) => void): Promise<void> {
  let count = 0;
  for (const packet of capture.packets()) {
    feedPacket(session, packet);
    if (++count % PACKETS_PER_TURN !== 0) continue;
    onProgress?.(capture.progress());
    await new Promise(setImmediate);
    while (sink.queuedBytes > MAX_QUEUED_OUTPUT_BYTES && !sink.error) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  onProgress?.(1);
}

/**
 * Feeds captured streams (session stream i = `streams[i]`) into a session in capture-time order,
 * capture times standing in for arrival times, with the session's timers run in that same time.
 */
export function feedInCaptureTime(session: RecordingSession, streams: CapturedStream[]): void {
  for (const packet of timedPackets(streams)) feedPacket(session, packet);
}

/** One packet into the session at its capture time, after the timers due by then. */
function feedPacket(session: RecordingSession, { index, timeMs, data }: TimedPacket): void {
  runTimersUntil(session, timeMs);
  session.receive(index, data, timeMs);
}

/** Fires, in order, the pipeline timers due by `timeMs` of capture time. */
function runTimersUntil(session: RecordingSession, timeMs: number): void {
  let due = session.nextDeadlineMs();
  while (due !== undefined && due <= timeMs) {
    session.poll(due);
    const next = session.nextDeadlineMs();
    if (next !== undefined && next <= due) break; // poll(due) handled everything up to due; never spin
    due = next;
  }
}
