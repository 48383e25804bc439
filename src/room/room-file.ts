import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Container } from '../mux/container.js';
import type { StreamGap } from '../pipeline/stream-pipeline.js';
import { Recorder, RecorderError, type RecorderOptions } from '../recorder.js';
import type { ManifestFile, ManifestTrack } from './manifest.js';

/** What a room file reports to the room, already placed on the room's timeline. */
export interface RoomFileEvents {
  gap(file: RoomFile, stream: string, gap: StreamGap): void;
  error(error: RecorderError): void;
}

/** Where a track of a file came from: producer changes by stream label (`video:<producerId>`). */
export interface TrackSource {
  producerId: string;
  fromMs: number;
}

/**
 * One output file of a room: a Recorder whose own timeline (zero at its first frame) is placed
 * on the room's timeline (zero at the room's start), so its gaps, tracks and length can be
 * written in room time.
 */
export class RoomFile {
  private readonly recorder: Recorder;
  private readonly gaps = new Map<string, ManifestTrack['gaps']>();
  /** Producers each stream was recorded from, by stream label; absent for streams of no producer. */
  private readonly sources = new Map<string, TrackSource[]>();
  private stopping: Promise<ManifestFile> | undefined;

  constructor(
    readonly info: { path: string; relativePath: string; kind: ManifestFile['kind']; container: Container; participant?: string },
    options: RecorderOptions,
    /** performance.now() time of the room timeline's zero. */
    private readonly roomZeroMs: number,
    events: RoomFileEvents,
  ) {
    this.recorder = new Recorder({ ...options, output: info.path, format: info.container });
    this.recorder.on('error', (error) => events.error(new RecorderError(`${info.relativePath}: ${error.message}`, error.stream, { cause: error })));
    this.recorder.on('gap', ({ stream, ...gap }) => {
      const roomGap = { ...gap, startMs: this.toRoomMs(gap.startMs) };
      let list = this.gaps.get(stream);
      if (!list) this.gaps.set(stream, (list = []));
      list.push(roomGap);
      events.gap(this, stream, roomGap);
    });
  }

  /** Opens the file and starts recording; rejects (leaving no file) as Recorder.start() does. */
  start(): Promise<void> {
    return this.recorder.start();
  }

  /** Notes that stream `label` is recorded from `producerId` from room time `fromMs` on. */
  noteSource(label: string, producerId: string, fromMs: number): void {
    let list = this.sources.get(label);
    if (!list) this.sources.set(label, (list = []));
    list.push({ producerId, fromMs });
  }

  /** Continues the track of `oldProducerId` with a new producer of the same kind and codec. */
  replaceProducer(...args: Parameters<Recorder['replaceProducer']>): Promise<void> {
    return this.recorder.replaceProducer(...args);
  }

  /** Room time (ms) of a time on this file's timeline; the file's zero is its first frame. */
  toRoomMs(fileMs: number): number {
    return fileMs + ((this.recorder.zeroWallMs ?? performance.now()) - this.roomZeroMs);
  }

  /** Per-stream statistics so far. */
  stats(): ReturnType<Recorder['stats']> {
    return this.recorder.stats();
  }

  /** Closes the file and describes it; safe to call twice. */
  stop(): Promise<ManifestFile> {
    this.stopping ??= this.finish();
    return this.stopping;
  }

  private async finish(): Promise<ManifestFile> {
    const summary = await this.recorder.stop();
    const endMs = performance.now() - this.roomZeroMs;
    const size = await stat(this.info.path).then((s) => s.size, () => 0);
    const started = this.recorder.zeroWallMs !== undefined;
    const tracks: ManifestTrack[] = summary.streams.map((s) => {
      const sources = this.sources.get(s.label) ?? [];
      const written = started && s.framesWritten > 0;
      return {
        kind: s.kind,
        codec: s.codec,
        ...(sources[0] ? { producerId: sources[0].producerId } : {}),
        ...(sources.length > 1 ? { producers: sources.map(({ producerId, fromMs }) => ({ id: producerId, fromMs })) } : {}),
        startMs: written ? this.toRoomMs(s.firstSampleMs) : undefined,
        endMs: written ? this.toRoomMs(s.lastSampleMs) : undefined,
        frames: s.framesWritten,
        gaps: this.gaps.get(s.label) ?? [],
      };
    });
    const { relativePath, kind, container, participant } = this.info;
    return {
      path: relativePath,
      kind,
      ...(participant !== undefined ? { participant } : {}),
      container,
      size,
      durationMs: summary.durationMs,
      startMs: started ? this.toRoomMs(0) : endMs,
      endMs,
      tracks,
      ...(summary.outputError ? { outputError: summary.outputError } : {}),
    };
  }
}
