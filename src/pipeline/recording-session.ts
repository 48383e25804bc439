import type { Container } from '../mux/container.js';
import { createMuxer, type FilePatch, type Muxer } from '../mux/muxer.js';
import type { Sink } from '../sink/sink.js';
import { RecordingClock } from './recording-clock.js';
import type { StreamSpec } from './stream-spec.js';
import {
  StreamPipeline,
  type StreamFeedback,
  type StreamGap,
  type StreamPipelineOptions,
  type StreamStats,
} from './stream-pipeline.js';

/** Tuning for a whole recording. */
export interface RecordingOptions extends StreamPipelineOptions {
  /** Target length of one fragment (MP4) or cluster (Matroska), in ms of media: about what a killed process loses. Default 1000. */
  fragmentDurationMs?: number;
}

/** Notices from a recording, each naming the stream it concerns. */
export interface RecordingEvents {
  onGap(stream: StreamSpec, gap: StreamGap): void;
  onKeyframe(stream: StreamSpec): void;
}

/** Totals of a recording, as `stop()` and the CLI report them. */
export interface RecordingSummary {
  /** Length of the recorded timeline, in ms (the longest track). */
  durationMs: number;
  /** Bytes written to the output. */
  bytes: number;
  /** Most output held in memory at once while the destination was slower than the media (backpressure). */
  maxQueuedBytes: number;
  /** Container units written: MP4 fragments, Matroska clusters, Ogg pages. */
  fragments: number;
  streams: StreamStats[];
}

/**
 * Everything between a source and the output for one recording: a pipeline per stream, one
 * shared clock, the fMP4 fragmenter and the sink. Knows nothing of where packets come from;
 * time is passed in (`nowMs`, wall clock in ms) so it runs live and over captures alike.
 */
export class RecordingSession {
  private readonly clock = new RecordingClock();
  private readonly pipelines: StreamPipeline[];
  private readonly muxer: Muxer;
  private finished = false;
  private patches: FilePatch[] = [];

  constructor(
    streams: { spec: StreamSpec; feedback?: StreamFeedback }[],
    container: Container,
    private readonly sink: Sink,
    events: RecordingEvents,
    options: RecordingOptions = {},
  ) {
    this.muxer = createMuxer(container, streams.map(({ spec }) => spec), (unit) => sink.writev(unit), { ...options, timeline: this.clock });
    this.pipelines = streams.map(
      ({ spec, feedback }, index) =>
        new StreamPipeline(
          spec,
          this.clock,
          {
            onSample: (sample) => this.muxer.addSample(index, sample),
            onGap: (gap) => events.onGap(spec, gap),
            onKeyframe: () => events.onKeyframe(spec),
          },
          feedback,
          options,
        ),
    );
  }

  /** One raw RTP packet of stream `index`, arrived at `nowMs`. */
  receive(index: number, raw: Buffer, nowMs: number): void {
    if (this.finished) return;
    this.pipelines[index]!.receive(raw, nowMs);
  }

  /**
   * Wall-clock time (ms, the clock `nowMs` is read from) of the recording's time zero, as known
   * now: an audio track's estimate (one packet per frame: the sharpest), else a video track's,
   * else the first frame's arrival; undefined before the first frame. For an unpaused recording.
   */
  get zeroWallMs(): number | undefined {
    const tracks = [...this.pipelines].sort((a, b) => Number(b.spec.kind === 'audio') - Number(a.spec.kind === 'audio'));
    for (const pipeline of tracks) {
      const estimate = pipeline.zeroWallMs();
      if (estimate !== undefined) return estimate;
    }
    return this.clock.zeroMs;
  }

  /** Runs due timers of every stream. */
  poll(nowMs: number): void {
    if (this.finished) return;
    for (const pipeline of this.pipelines) pipeline.poll(nowMs);
  }

  /** Earliest time any stream's `poll()` has work, in wall-clock ms. */
  nextDeadlineMs(): number | undefined {
    let next: number | undefined;
    for (const pipeline of this.pipelines) {
      const d = pipeline.nextDeadlineMs();
      if (d !== undefined && (next === undefined || d < next)) next = d;
    }
    return next;
  }

  /** Asks every video stream for a keyframe (at start). */
  requestKeyframes(nowMs: number): void {
    for (const pipeline of this.pipelines) pipeline.requestKeyframe(nowMs);
  }

  pause(nowMs: number): void {
    this.clock.pause(nowMs);
  }

  resume(nowMs: number): void {
    this.clock.resume(nowMs);
    for (const pipeline of this.pipelines) pipeline.resume(nowMs);
  }

  /** Releases what is held, writes the last fragment and closes the output. */
  async finish(): Promise<RecordingSummary> {
    if (!this.finished) {
      this.finished = true;
      for (const pipeline of this.pipelines) pipeline.finish();
      this.patches = this.muxer.finish();
    }
    await this.sink.end(this.patches);
    return this.summary();
  }

  summary(): RecordingSummary {
    const streams = this.pipelines.map((p) => p.stats());
    return {
      durationMs: Math.max(0, ...streams.map((s) => s.lastSampleMs)),
      bytes: this.sink.bytesWritten,
      maxQueuedBytes: this.sink.maxQueuedBytes,
      fragments: this.muxer.unitsWritten,
      streams,
    };
  }
}
