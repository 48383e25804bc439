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
import { consumeProducers, recordableCodecs, type DirectStream } from './source/mediasoup-direct.js';

/** How to record: which producers, where to, and tuning. */
export interface RecorderOptions extends RecordingOptions {
  /** The router the producers live on. */
  router: types.Router;
  /** One track per producer (H264 video, Opus audio). */
  producers: types.Producer[];
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

/** `stop()`'s result: the recording's totals, plus where it went. */
export interface RecorderSummary extends RecordingSummary {
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
}

type State = 'new' | 'starting' | 'recording' | 'paused' | 'stopped';

/**
 * Records mediasoup producers into one fragmented MP4, in this process: a DirectTransport
 * consumer per producer feeds the jitter buffer, depacketizer and muxer. Errors met inside
 * mediasoup's event handlers are reported as `error` events, never thrown back into mediasoup.
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
  private transport: types.DirectTransport | undefined;
  private streams: DirectStream[] = [];
  private session: RecordingSession | undefined;
  private sink: Sink | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Infinity;
  private statsTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<RecorderSummary> | undefined;

  constructor(private readonly options: RecorderOptions) {
    super();
    if (options.producers.length === 0) throw new RecorderError('no producers to record');
  }

  /**
   * Opens the output, consumes the producers and starts recording. Rejects (and leaves nothing
   * behind) when the output cannot be opened, a producer's codec is not supported, or the
   * container cannot hold the codecs (the error names the containers that can).
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new RecorderError(`start() called on a ${this.state} recorder`);
    this.state = 'starting';
    let container: Container;
    try {
      // Codecs first: an unsupported one must not leave an empty output file behind.
      const { output, format } = this.options;
      container = containerFor(typeof output === 'string' ? output : undefined, format);
      checkContainerCodecs(container, recordableCodecs(this.options.producers));
      this.sink = await this.openSink();
      const { transport, streams } = await consumeProducers(this.options.router, this.options.producers);
      this.transport = transport;
      this.streams = streams;
    } catch (error) {
      this.state = 'stopped';
      if (this.sink) {
        await this.sink.end().catch(() => undefined);
        if (typeof this.options.output === 'string') await rm(this.options.output, { force: true });
      }
      throw error instanceof RecorderError ? error : new RecorderError((error as Error).message, undefined, { cause: error });
    }
    const session = new RecordingSession(this.streams, container, this.sink!, {
      onGap: (spec, gap) => this.emit('gap', { stream: spec.label, ...gap }),
      onKeyframe: (spec) => this.emit('keyframe', { stream: spec.label }),
    }, this.options);
    this.session = session;
    this.streams.forEach(({ consumer, spec }, index) => {
      consumer.on('rtp', (packet: Buffer) => this.guard(spec.label, () => {
        session.receive(index, packet, performance.now());
        this.arm();
      }));
    });
    this.transport!.on('routerclose', () => void this.stop().catch(() => undefined));
    this.state = 'recording';
    await Promise.all(this.streams.map(({ consumer }) => consumer.resume()));
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
    await Promise.all(this.streams.map(({ consumer }) => consumer.pause()));
  }

  /** Continues a paused recording; video resumes at the next keyframe, which is requested now. */
  async resume(): Promise<void> {
    if (this.state !== 'paused') return;
    this.state = 'recording';
    this.session!.resume(performance.now());
    await Promise.all(this.streams.map(({ consumer }) => consumer.resume()));
    this.arm();
  }

  /** Per-stream statistics so far. */
  stats(): StreamStats[] {
    return this.session?.summary().streams ?? [];
  }

  /** Ends the recording: releases held packets, writes the last fragment, closes the output. Safe to call twice. */
  stop(): Promise<RecorderSummary> {
    this.stopping ??= this.finish();
    return this.stopping;
  }

  private async finish(): Promise<RecorderSummary> {
    const wasStarted = this.session !== undefined;
    this.state = 'stopped';
    clearTimeout(this.timer);
    clearInterval(this.statsTimer);
    this.transport?.close();
    if (!wasStarted) throw new RecorderError('stop() called before start() completed');
    const summary: RecorderSummary = await this.session!.finish().catch(() => this.session!.summary());
    if (typeof this.options.output === 'string') summary.path = this.options.output;
    if (this.sink!.error) summary.outputError = this.sink!.error.message;
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
