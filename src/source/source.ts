import type { StreamFeedback } from '../pipeline/stream-pipeline.js';
import type { StreamSpec } from '../pipeline/stream-spec.js';

/** One stream a source delivers: what it is, and how to send feedback to its sender. */
export interface SourceStream {
  spec: StreamSpec;
  feedback: StreamFeedback;
}

/**
 * Why a source ended on its own:
 * - `'router-closed'`: the router the recording consumes from was closed;
 * - `'worker-died'`: the router's mediasoup worker closed under it (crashed, was killed, or the app
 *   closed the worker: a router cannot tell these apart);
 * - `'producer-closed'`: every recorded producer was closed (one closing ends only its own track);
 * - `'source-closed'`: any other source's input went away (e.g. `RtpUdpEndpoint.close()`).
 */
export type SourceEndReason = 'router-closed' | 'worker-died' | 'producer-closed' | 'source-closed';

/** Where a source hands what it receives; streams are named by their index in `open()`'s result. */
export interface SourceListener {
  /** One RTP packet of stream `index`, arrived at `arrivalMs` (performance.now() clock). */
  rtp(index: number, packet: Buffer, arrivalMs: number): void;
  /** The source ended on its own, for `reason`; nothing more is delivered. */
  ended(reason: SourceEndReason): void;
}

/**
 * Where a Recorder's packets come from: mediasoup consumers on a DirectTransport in this process
 * (`DirectSource`), or a UDP socket that a PlainTransport sends to (`RtpUdpEndpoint.source()`).
 */
export interface RecordingSource {
  /** The streams' codecs, known before anything is opened, so an impossible container is refused first. */
  codecs(): StreamSpec['codec'][];
  /** Gets ready (nothing is delivered yet) and describes the streams; rejects, leaving nothing behind, when it cannot. */
  open(): Promise<SourceStream[]>;
  /** Starts delivering to `listener`. */
  start(listener: SourceListener): Promise<void>;
  /** Stops delivering until `resume()`. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Releases what `open()` created; safe to call twice. */
  close(): void;
}
