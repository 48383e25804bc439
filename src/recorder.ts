import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Writable } from 'node:stream';
import type { types } from 'mediasoup';
import { RecordingSession, type RecordingOptions, type RecordingSummary } from './pipeline/recording-session.js';
import type { StreamGap, StreamStats } from './pipeline/stream-pipeline.js';
import { openFileSink } from './sink/file.js';
import { Sink } from './sink/sink.js';
import { checkContainerCodecs, containerFor, type Container } from './mux/container.js';
import { DirectSource } from './source/mediasoup-direct.js';
import type { RecordingSource, SourceEndReason, SourceStream } from './source/source.js';

/** Where to record to, and tuning. */
export interface RecorderOutputOptions extends RecordingOptions {
  /** A file path (created or truncated) or any Writable; a Writable is not ended by the recorder. */
  output: string | Writable;
  /**
   * Container: 'mp4' (fragmented), 'webm', 'mkv', 'mka' (audio only) or 'ogg' (Opus only).
   * Default: from the output path's extension; 'mp4' for a Writable.
   */
  format?: Container;
  /** Interval of `stats` events, in ms; 0 turns them off. Default 0. */
  statsIntervalMs?: number;
}

/** Producers of a router in this process, recorded through a DirectTransport. */
export interface RecorderProducersOptions extends RecorderOutputOptions {
  /** The router the producers live on. */
  router: types.Router;
  /** One track per producer. */
  producers: types.Producer[];
}

/** Any other source, e.g. `RtpUdpEndpoint.source()` for RTP that a PlainTransport sends over UDP. */
export interface RecorderSourceOptions extends RecorderOutputOptions {
  source: RecordingSource;
}

/** How to record: what (producers, or a source) and where to. */
export type RecorderOptions = RecorderProducersOptions | RecorderSourceOptions;

/** An error met while recording, with the stream it concerns when there is one. */
export class RecorderError extends Error {
  override name = 'RecorderError';
  constructor(
    message: string,
    /** Label of the stream concerned (`video:<producerId>`), if any. */
    readonly stream?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Why a recording ended: `'stopped'` (the app called `stop()`), or the source ended on its own:
 * `'router-closed'`, `'worker-died'` (the router's worker closed: crashed, killed, or closed by the
 * app), `'producer-closed'` (every recorded producer closed), `'source-closed'` (another source's
 * input went away, e.g. `RtpUdpEndpoint.close()`).
 */
export type RecorderEndReason = 'stopped' | SourceEndReason;

/** `stop()`'s result: the recording's totals, plus where it went and why it ended. */
export interface RecorderSummary extends RecordingSummary {
  /** Why the recording ended (the first cause: a `stop()` after the router closed keeps `'router-closed'`). */
  endReason: RecorderEndReason;
  /** The output path, when the output is a file. */
  path?: string;
  /** The first output error (e.g. disk full), if writing stopped early. */
  outputError?: string;
}

/** Typed events of a Recorder. */
export interface RecorderEvents {
  started: [];
  keyframe: [{ stream: string }];
  gap: [{ stream: string } & StreamGap];
  error: [RecorderError];
  stats: [StreamStats[]];
  /** The recording is over and its output finished (closed, or cut back after an output error), for `reason`. */
  ended: [{ reason: RecorderEndReason; summary: RecorderSummary }];
}

type State = 'new' | 'starting' | 'recording' | 'paused' | 'stopped';

/**
 * Records mediasoup producers into one file, in this process: a DirectTransport consumer per
 * producer (or another source: RTP over UDP) feeds the jitter buffer, depacketizer and muxer.
 * Errors met inside mediasoup's or a socket's event handlers are reported as `error` events,
 * never thrown back into them.
 *
 * ```ts
 * const recorder = new Recorder({ router, producers: [videoProducer, audioProducer], output: 'call.mp4' });
 * await recorder.start();
 * // ...
 * const summary = await recorder.stop();
 * ```
 */
export class Recorder extends EventEmitter<RecorderEvents> {
  private state: State = 'new';
  private readonly source: RecordingSource;
  private session: RecordingSession | undefined;
  private sink: Sink | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Infinity;
  private statsTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<RecorderSummary> | undefined;

  constructor(private readonly options: RecorderOptions) {
    super();
    if ('source' in options) {
      this.source = options.source;
    } else {
      if (options.producers.length === 0) throw new RecorderError('no producers to record');
      this.source = new DirectSource(options.router, options.producers);
    }
  }

  /**
   * Opens the output and the source (consumes the producers) and starts recording. Rejects (and
   * leaves nothing behind) when the output cannot be opened, a codec is not supported, or the
   * container cannot hold the codecs (the error names the containers that can).
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new RecorderError(`start() called on a ${this.state} recorder`);
    this.state = 'starting';
    let container: Container;
    let streams: SourceStream[];
    try {
      // Codecs first: an unsupported one must not leave an empty output file behind.
      const { output, format } = this.options;
      container = containerFor(typeof output === 'string' ? output : undefined, format);
      checkContainerCodecs(container, this.source.codecs());
      this.sink = await this.openSink();
      streams = await this.source.open();
    } catch (error) {
      this.state = 'stopped';
      this.source.close();
      if (this.sink) {
        await this.sink.end().catch(() => undefined);
        if (typeof this.options.output === 'string') await rm(this.options.output, { force: true });
      }
      throw error instanceof RecorderError ? error : new RecorderError((error as Error).message, undefined, { cause: error });
    }
    const session = new RecordingSession(streams, container, this.sink!, {
      onGap: (spec, gap) => this.emit('gap', { stream: spec.label, ...gap }),
      onKeyframe: (spec) => this.emit('keyframe', { stream: spec.label }),
    }, this.options);
    this.session = session;
    this.state = 'recording';
    await this.source.start({
      rtp: (index, packet, arrivalMs) => this.guard(streams[index]?.spec.label, () => {
        session.receive(index, packet, arrivalMs);
        this.arm();
      }),
      ended: (reason) => void this.end(reason).catch(() => undefined),
    });
    session.requestKeyframes(performance.now());
    this.arm();
    if (this.options.statsIntervalMs) {
      this.statsTimer = setInterval(() => this.guard(undefined, () => this.emit('stats', this.stats())), this.options.statsIntervalMs);
      this.statsTimer.unref();
    }
    this.emit('started');
  }

  /** Stops writing media until `resume()`; the paused time is left out of the file. */
  async pause(): Promise<void> {
    if (this.state !== 'recording') return;
    this.state = 'paused';
    this.session!.pause(performance.now());
    await this.source.pause();
  }

  /** Continues a paused recording; video resumes at the next keyframe, which is requested now. */
  async resume(): Promise<void> {
    if (this.state !== 'paused') return;
    this.state = 'recording';
    this.session!.resume(performance.now());
    await this.source.resume();
    this.arm();
  }

  /**
   * Continues the track of producer `oldProducerId` with `producer` (same kind and codec): for a
   * participant who closed a producer and published a new one. The track goes on in the same
   * file, without compressing the time in between; video resumes at the new producer's first
   * keyframe. Only for recorders of producers (not other sources).
   */
  async replaceProducer(oldProducerId: string, producer: types.Producer): Promise<void> {
    if (!(this.source instanceof DirectSource)) throw new RecorderError('replaceProducer() needs a recorder of producers');
    if (this.state !== 'recording' && this.state !== 'paused') throw new RecorderError(`replaceProducer() called on a ${this.state} recorder`);
    try {
      await this.source.replaceProducer(oldProducerId, producer);
    } catch (error) {
      throw new RecorderError((error as Error).message, undefined, { cause: error });
    }
  }

  /** performance.now() time, in ms, of the file's time zero (its first frame): places the file on a wider timeline. Undefined before that frame. */
  get zeroWallMs(): number | undefined {
    return this.session?.zeroWallMs;
  }

  /** Per-stream statistics so far. */
  stats(): StreamStats[] {
    return this.session?.summary().streams ?? [];
  }

  /**
   * Ends the recording: releases held packets, writes the last fragment, closes the output, emits
   * `ended`. Safe to call twice, and after the recording ended on its own (same summary).
   */
  stop(): Promise<RecorderSummary> {
    return this.end('stopped');
  }

  private end(reason: RecorderEndReason): Promise<RecorderSummary> {
    this.stopping ??= this.finish(reason);
    return this.stopping;
  }

  private async finish(reason: RecorderEndReason): Promise<RecorderSummary> {
    const wasStarted = this.session !== undefined;
    this.state = 'stopped';
    clearTimeout(this.timer);
    clearInterval(this.statsTimer);
    this.source.close();
    if (!wasStarted) throw new RecorderError('stop() called before start() completed');
    const totals = await this.session!.finish().catch(() => this.session!.summary());
    const summary: RecorderSummary = { ...totals, endReason: reason };
    if (typeof this.options.output === 'string') summary.path = this.options.output;
    if (this.sink!.error) summary.outputError = this.sink!.error.message;
    try {
      this.emit('ended', { reason, summary });
    } catch (error) {
      // A throwing listener must not reject stop(), nor vanish when the recording ended on its own.
      this.emitError(new RecorderError(`an 'ended' listener threw: ${(error as Error).message}`, undefined, { cause: error }));
    }
    return summary;
  }

  private async openSink(): Promise<Sink> {
    const onError = (error: Error): void =>
      this.emitError(new RecorderError(`output failed, recording stops writing: ${error.message}`, undefined, { cause: error }));
    const { output } = this.options;
    return typeof output === 'string' ? openFileSink(output, onError) : new Sink(output, { onError, endDestination: false });
  }

  /** Keeps one timer armed for the earliest pending deadline (held packets, NACK and keyframe retries). */
  private arm(): void {
    const deadline = this.session?.nextDeadlineMs();
    if (deadline === undefined || deadline >= this.timerAtMs || this.state === 'stopped') return;
    clearTimeout(this.timer);
    this.timerAtMs = deadline;
    this.timer = setTimeout(() => {
      this.timerAtMs = Infinity;
      this.guard(undefined, () => this.session!.poll(performance.now()));
      this.arm();
    }, Math.max(0, deadline - performance.now()));
  }

  private guard(stream: string | undefined, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.emitError(new RecorderError(`internal error: ${(error as Error).message}`, stream, { cause: error }));
    }
  }

  private emitError(error: RecorderError): void {
    // An 'error' event with no listener would throw into whoever called us (mediasoup's handlers).
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error);
  }
}
