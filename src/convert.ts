import type { Writable } from 'node:stream';
import { checkContainerCodecs, containerFor, type Container } from './mux/container.js';
import { RecordingSession, type RecordingOptions, type RecordingSummary } from './pipeline/recording-session.js';
import { openFileSink } from './sink/file.js';
import { Sink } from './sink/sink.js';
import { packetsInTimeOrder, streamSpecOf, type Capture, type CapturedStream } from './source/capture.js';

/** Options of an offline conversion. */
export interface ConvertOptions extends Omit<RecordingOptions, 'nack'> {
  /** Container; default from the output path's extension, 'mp4' for a Writable. */
  format?: Container;
  /** Called now and then with packets done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** A conversion's result: the recording summary plus what the capture held that was not used. */
export interface ConvertSummary extends RecordingSummary {
  /** UDP datagrams that belonged to no recordable stream. */
  unmatchedDatagrams: number;
  /** Packets in the capture that were not UDP over IP. */
  skippedPackets: number;
  /** Set when the capture was cut short; everything before the cut was converted. */
  truncated: string | undefined;
}

/**
 * Converts captured RTP to fragmented MP4 with the recording pipeline, mediasoup left out: capture
 * times stand in for arrival times, and there is no sender to NACK, so gaps are given up after
 * `latencyMs` of capture time and video resumes at the next keyframe.
 */
export async function convertCapture(capture: Capture, output: string | Writable, options: ConvertOptions = {}): Promise<ConvertSummary> {
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
  feedInCaptureTime(session, capture.streams, options.onProgress);
  const summary = await session.finish().catch(() => session.summary());
  if (outputError) throw outputError;
  const skipped = Object.values(capture.pcap.skipped).reduce((a, b) => a + b, 0);
  return { ...summary, unmatchedDatagrams: capture.unmatchedDatagrams, skippedPackets: skipped, truncated: capture.truncated };
}

/**
 * Feeds captured streams (session stream i = `streams[i]`) into a session in capture-time order,
 * capture times standing in for arrival times, with the session's timers run in that same time.
 */
export function feedInCaptureTime(session: RecordingSession, streams: CapturedStream[], onProgress?: (done: number, total: number) => void): void {
  const queue = packetsInTimeOrder(streams);
  const index = new Map(streams.map((s, i) => [s, i]));
  for (let i = 0; i < queue.length; i++) {
    const { stream, timeMs, data } = queue[i]!;
    runTimersUntil(session, timeMs);
    session.receive(index.get(stream)!, data, timeMs);
    if (onProgress && i % 4096 === 0) onProgress(i, queue.length);
  }
  onProgress?.(queue.length, queue.length);
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
