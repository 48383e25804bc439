import { EventEmitter } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { types } from 'mediasoup';
import { checkContainerCodecs } from '../mux/container.js';
import { outputPath } from '../output/paths.js';
import type { RecordingOptions } from '../pipeline/recording-session.js';
import type { StreamGap, StreamStats } from '../pipeline/stream-pipeline.js';
import { RecorderError } from '../recorder.js';
import { producerMimeType, recordableCodecs } from '../source/mediasoup-direct.js';
import type { RecordingSource } from '../source/source.js';
import { CombinedSource } from './combined-source.js';
import type { ManifestFile, ManifestParticipant, ManifestSpeakerView, RoomManifest } from './manifest.js';
import { MixFeed } from './mix-feed.js';
import { MixSource } from './mix/mix-source.js';
import { RoomFile } from './room-file.js';
import { SpeakerSelector } from './speaker-selector.js';
import { SpeakerVideoSource, type SpeakerSwitch } from './speaker-video-source.js';

/** How to record a room. Recording tuning (latencyMs, ...) applies to every file. */
export interface RoomRecorderOptions extends RecordingOptions {
  /** The router the room's producers live on. */
  router: types.Router;
  /** Every output goes here (created if missing); names built from participant ids are confined to it. */
  directory: string;
  /** Container of the participant and speaker files. Default 'mp4'. */
  container?: 'mp4' | 'webm' | 'mkv';
  /** Write speaker.<ext>: the active speaker's video (no transcoding) + the room's audio mix when the mix is available. Default false. */
  speakerView?: boolean;
  /** Write mix.ogg: the room's audio mix alone. Default false. */
  mix?: boolean;
  /** Channels of the mix, 1 or 2. Default 2. */
  mixChannels?: 1 | 2;
  /** Least time, in ms, a speaker keeps the speaker view before another may take it. Default 1500. */
  speakerMinDwellMs?: number;
  /** How often audio levels are read to find the speaker, in ms. Default 300. */
  audioLevelIntervalMs?: number;
  /** Producers of a participant added within this many ms of the first one start their file together. Default 200. */
  joinWindowMs?: number;
  /** Interval of `stats` events, in ms; 0 turns them off. Default 0. */
  statsIntervalMs?: number;
}

/** Statistics of every open file. */
export interface RoomStats {
  files: { path: string; streams: StreamStats[] }[];
}

/** Typed events of a RoomRecorder. Every `...Ms` is room time: ms since `start()`. */
export interface RoomRecorderEvents {
  error: [RecorderError];
  /** A hole in a track; `startMs` on the room timeline. */
  gap: [{ file: string; participant?: string; stream: string } & StreamGap];
  stats: [RoomStats];
  participantjoined: [{ participant: string; atMs: number }];
  participantleft: [{ participant: string; atMs: number }];
  /** The speaker view switched (at the new speaker's keyframe), `latencyMs` after the switch was decided. */
  speakerchanged: [{ participant: string; previous?: string; atMs: number; latencyMs?: number }];
}

/** One stay of a participant in the room. */
interface Presence {
  readonly participant: string;
  readonly record: ManifestParticipant['presences'][number];
  readonly producers: types.Producer[];
  file: RoomFile | undefined;
  /** Current producer of each stream of the open file, by stream label. */
  fileProducers: Map<string, types.Producer>;
  joinTimer: NodeJS.Timeout | undefined;
  /** Operations on the presence's files, one after the other. */
  queue: Promise<void>;
}

const EXTENSION = { mp4: 'mp4', webm: 'webm', mkv: 'mkv' } as const;

/**
 * Records a room: a file per participant (their producers, as they come and go), optionally a
 * speaker view and an audio mix, all placed on one timeline that `stop()` writes down as a
 * manifest (`<directory>/manifest.json`).
 *
 * A participant who leaves (removeParticipant(), or all their producers closed) and comes back
 * gets a numbered next file (`alice-2.mp4`): each file then ends when its stay does, complete and
 * playable at once, may hold other tracks than the last (camera off this time), and holds no
 * frozen picture or silence for the time away; the manifest places every file on the timeline.
 *
 * ```ts
 * const room = new RoomRecorder({ router, directory: 'recordings/room-42', speakerView: true });
 * await room.start();
 * room.addProducer(producer, { participant: 'alice' });
 * const manifest = await room.stop();
 * ```
 */
export class RoomRecorder extends EventEmitter<RoomRecorderEvents> {
  private state: 'new' | 'recording' | 'stopping' | 'stopped' = 'new';
  private zeroMs = 0;
  private startedAt = '';
  private readonly container: 'mp4' | 'webm' | 'mkv';
  private readonly current = new Map<string, Presence>();
  private readonly presences = new Map<string, Presence[]>();
  private readonly usedNames = new Set<string>();
  private readonly files: ManifestFile[] = [];
  private readonly openFiles = new Set<RoomFile>();
  private readonly producerParticipant = new Map<string, string>();
  private levels: types.AudioLevelObserver | undefined;
  private readonly selector: SpeakerSelector;
  private speaker: { video: SpeakerVideoSource; file: RoomFile; ready: Promise<void> } | undefined;
  private speakerManifest: ManifestSpeakerView | undefined;
  private mixes: MixSource[] = [];
  private mixFeed: MixFeed | undefined;
  private mixFile: RoomFile | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<RoomManifest> | undefined;

  constructor(private readonly options: RoomRecorderOptions) {
    super();
    this.container = options.container ?? 'mp4';
    if (!(this.container in EXTENSION)) throw new RecorderError(`container '${String(this.container)}' is not one of ${Object.keys(EXTENSION).join(', ')}`);
    this.selector = new SpeakerSelector(options.speakerMinDwellMs ?? 1500);
  }

  /** Creates the directory, the audio-level observer and the mix, and starts the room's timeline. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new RecorderError(`start() called on a ${this.state} room recorder`);
    const { router, directory } = this.options;
    await mkdir(join(directory, 'participants'), { recursive: true });
    this.zeroMs = performance.now();
    this.startedAt = new Date().toISOString();
    this.state = 'recording';
    if (this.options.mix || this.options.speakerView) {
      const channels = this.options.mixChannels ?? 2;
      const mixOut = this.options.mix ? new MixSource({ channels }) : undefined;
      const speakerMix = this.options.speakerView ? new MixSource({ channels }) : undefined;
      this.mixes = [mixOut, speakerMix].filter((m): m is MixSource => m !== undefined);
      this.mixFeed = new MixFeed(router, this.mixes);
      await this.mixFeed.open();
      if (mixOut) {
        this.mixFile = this.newFile({ relativePath: 'mix.ogg', kind: 'mix', container: 'ogg' }, mixOut);
        await this.mixFile.start();
      }
    }
    if (this.options.speakerView) {
      this.speakerManifest = { speakerChanges: [], excluded: [] };
      this.levels = await router.createAudioLevelObserver({ maxEntries: 1, threshold: -70, interval: this.options.audioLevelIntervalMs ?? 300 });
      this.levels.on('volumes', (volumes: types.AudioLevelObserverVolume[]) => this.guard(() => this.onLoudest(volumes[0]?.producer.id)));
    }
    if (this.options.statsIntervalMs) {
      this.statsTimer = setInterval(() => this.guard(() => this.emit('stats', this.stats())), this.options.statsIntervalMs);
      this.statsTimer.unref();
    }
  }

  /** Room time now, in ms since start(). */
  get nowMs(): number {
    return performance.now() - this.zeroMs;
  }

  /**
   * Records `producer` as part of `participant`'s stay: the first producer of a stay starts their
   * file (with the producers added within `joinWindowMs`); a later one continues a track whose
   * producer closed (same kind and codec), or else starts their next file with all their
   * producers. A closed producer ends its track; when all of a participant's producers are
   * closed, the participant has left. Throws RecorderError at once for a codec the room's
   * container cannot hold.
   */
  addProducer(producer: types.Producer, { participant }: { participant: string }): void {
    if (this.state !== 'recording') throw new RecorderError(`addProducer() called on a ${this.state} room recorder`);
    if (producer.closed) throw new RecorderError(`producer ${producer.id} is closed`);
    try {
      checkContainerCodecs(this.container, recordableCodecs([producer]));
    } catch (error) {
      throw new RecorderError(`participant ${participant}: ${(error as Error).message}`, `${producer.kind}:${producer.id}`, { cause: error });
    }
    if (this.producerParticipant.has(producer.id)) return;
    this.producerParticipant.set(producer.id, participant);
    let presence = this.current.get(participant);
    if (!presence) presence = this.join(participant);
    presence.producers.push(producer);
    const stay = presence;
    producer.observer.once('close', () => this.guard(() => this.producerClosed(stay, producer)));
    if (producer.kind === 'audio') this.addAudio(participant, producer);
    else if (this.speakerManifest) this.addVideo(participant, producer);
    if (presence.joinTimer) return;
    if (!presence.file) {
      presence.joinTimer = setTimeout(() => {
        stay.joinTimer = undefined;
        this.enqueue(stay, () => this.openFile(stay));
      }, this.options.joinWindowMs ?? 200);
    } else {
      this.enqueue(stay, () => this.attach(stay, producer));
    }
  }

  /** Ends `participant`'s stay now: their file is closed (resolves when it is). Nothing happens for someone not in the room. */
  async removeParticipant(id: string): Promise<void> {
    const presence = this.current.get(id);
    if (!presence) return;
    this.leave(presence);
    await presence.queue;
  }

  /** Statistics of every open file. */
  stats(): RoomStats {
    return { files: [...this.openFiles].map((f) => ({ path: f.info.relativePath, streams: f.stats() })) };
  }

  /** Closes every file and writes `<directory>/manifest.json`; resolves to the manifest. Safe to call twice. */
  stop(): Promise<RoomManifest> {
    this.stopping ??= this.finish();
    return this.stopping;
  }

  private async finish(): Promise<RoomManifest> {
    if (this.state === 'new') throw new RecorderError('stop() called before start()');
    this.state = 'stopping';
    clearInterval(this.statsTimer);
    for (const presence of [...this.current.values()]) this.leave(presence, false);
    await Promise.all([...this.presences.values()].flat().map((p) => p.queue));
    const durationMs = this.nowMs;
    this.levels?.close();
    if (this.speaker) {
      await this.speaker.ready.catch(() => undefined);
      const last = this.speakerManifest!.speakerChanges.at(-1);
      if (last) last.toMs ??= durationMs;
      this.files.push(await this.closeFile(this.speaker.file));
    }
    if (this.mixFile) this.files.push(await this.closeFile(this.mixFile));
    this.mixFeed?.close();
    const manifest: RoomManifest = {
      version: 1,
      startedAt: this.startedAt,
      durationMs,
      files: this.files,
      participants: [...this.presences].map(([id, stays]) => ({ id, presences: stays.map((s) => s.record) })),
      ...(this.speakerManifest ? { speakerView: this.speakerManifest } : {}),
    };
    await writeFile(join(this.options.directory, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    this.state = 'stopped';
    return manifest;
  }

  private join(participant: string): Presence {
    const presence: Presence = {
      participant,
      record: { joinMs: this.nowMs, files: [] },
      producers: [],
      file: undefined,
      fileProducers: new Map(),
      joinTimer: undefined,
      queue: Promise.resolve(),
    };
    this.current.set(participant, presence);
    const stays = this.presences.get(participant) ?? [];
    stays.push(presence);
    this.presences.set(participant, stays);
    this.emit('participantjoined', { participant, atMs: presence.record.joinMs });
    return presence;
  }

  /** Ends a stay; at stop() (`announce` false) the stay ends with the recording, without an event. */
  private leave(presence: Presence, announce = true): void {
    if (this.current.get(presence.participant) !== presence) return;
    this.current.delete(presence.participant);
    clearTimeout(presence.joinTimer);
    presence.joinTimer = undefined;
    presence.record.leaveMs = this.nowMs;
    if (announce) this.emit('participantleft', { participant: presence.participant, atMs: presence.record.leaveMs });
    for (const producer of presence.producers) this.dropProducer(presence.participant, producer);
    this.enqueue(presence, () => this.closeParticipantFile(presence));
  }

  private producerClosed(presence: Presence, producer: types.Producer): void {
    const index = presence.producers.indexOf(producer);
    if (index < 0) return;
    presence.producers.splice(index, 1);
    this.dropProducer(presence.participant, producer);
    if (presence.producers.length === 0) this.leave(presence);
  }

  /** Takes a producer out of the speaker view and the level observer (its file track simply ends). */
  private dropProducer(participant: string, producer: types.Producer): void {
    if (producer.kind === 'video' && this.speaker?.video.has(participant)) {
      const video = this.speaker.video;
      void this.speaker.ready.then(() => {
        video.remove(participant, producer);
        if (video.shown === participant || video.shown === undefined) this.showSomeone();
      });
    }
    if (producer.kind === 'audio' && this.levels && !producer.closed && !this.levels.closed) {
      this.levels.removeProducer({ producerId: producer.id }).catch(() => undefined);
    }
    if (producer.kind === 'audio') this.mixFeed?.remove(producer.id);
    this.selector.forget(participant);
  }

  private enqueue(presence: Presence, work: () => Promise<void>): void {
    presence.queue = presence.queue.then(work).catch((error: Error) => this.emitError(error));
  }

  /** The participant's next file: `participants/<escaped id>[-<n>].<ext>`, n counting the stays whose name is taken. */
  private async nextFilePath(participant: string): Promise<{ path: string; relativePath: string }> {
    for (let n = 1; ; n++) {
      const name = n === 1 ? participant : `${participant}-${n}`;
      const path = await outputPath(this.options.directory, ['participants', name], { extension: `.${EXTENSION[this.container]}` });
      const relativePath = relative(resolve(this.options.directory), path).split(sep).join('/');
      if (!this.usedNames.has(relativePath)) {
        this.usedNames.add(relativePath);
        return { path, relativePath };
      }
    }
  }

  private async openFile(presence: Presence): Promise<void> {
    if (this.current.get(presence.participant) !== presence) return;
    const producers = presence.producers.filter((p) => !p.closed);
    if (producers.length === 0) return;
    const { path, relativePath } = await this.nextFilePath(presence.participant);
    const file = new RoomFile(
      { path, relativePath, kind: 'participant', container: this.container, participant: presence.participant },
      { ...this.recordingOptions(), router: this.options.router, producers, output: '' },
      this.zeroMs,
      this.fileEvents(presence.participant),
    );
    await file.start();
    this.openFiles.add(file);
    presence.file = file;
    presence.record.files.push(relativePath);
    presence.fileProducers = new Map(producers.map((p) => [`${p.kind}:${p.id}`, p]));
    for (const [label, p] of presence.fileProducers) file.noteSource(label, p.id, this.nowMs);
  }

  /** A producer that came after the participant's file started: continues a track, or starts the next file. */
  private async attach(presence: Presence, producer: types.Producer): Promise<void> {
    const file = presence.file;
    if (!file || producer.closed || [...presence.fileProducers.values()].includes(producer)) {
      if (!file) await this.openFile(presence);
      return;
    }
    const mimeType = producerMimeType(producer).toLowerCase();
    const free = [...presence.fileProducers].find(([, p]) => p.closed && p.kind === producer.kind && producerMimeType(p).toLowerCase() === mimeType);
    if (free) {
      const [label, old] = free;
      try {
        await file.replaceProducer(old.id, producer);
        presence.fileProducers.set(label, producer);
        file.noteSource(label, producer.id, this.nowMs);
        return;
      } catch {
        // Payload types differ: the next file takes it.
      }
    }
    await this.closeParticipantFile(presence);
    await this.openFile(presence);
  }

  private async closeParticipantFile(presence: Presence): Promise<void> {
    const file = presence.file;
    if (!file) return;
    presence.file = undefined;
    this.files.push(await this.closeFile(file));
  }

  private async closeFile(file: RoomFile): Promise<ManifestFile> {
    const manifest = await file.stop();
    this.openFiles.delete(file);
    return manifest;
  }

  private newFile(info: { relativePath: string; kind: ManifestFile['kind']; container: 'ogg' | 'mp4' | 'webm' | 'mkv' }, source: RecordingSource): RoomFile {
    const file = new RoomFile(
      { ...info, path: join(this.options.directory, info.relativePath) },
      { ...this.recordingOptions(), source, output: '' },
      this.zeroMs,
      this.fileEvents(undefined),
    );
    this.openFiles.add(file);
    return file;
  }

  private fileEvents(participant: string | undefined): ConstructorParameters<typeof RoomFile>[3] {
    return {
      gap: (file, stream, gap) => this.emit('gap', { file: file.info.relativePath, ...(participant !== undefined ? { participant } : {}), stream, ...gap }),
      error: (error) => this.emitError(error),
    };
  }

  private recordingOptions(): RecordingOptions {
    const { latencyMs, nack, keyframeMinIntervalMs, keyframeRetryIntervalMs, driftToleranceMs, gapThresholdMs, fragmentDurationMs } = this.options;
    return { latencyMs, nack, keyframeMinIntervalMs, keyframeRetryIntervalMs, driftToleranceMs, gapThresholdMs, fragmentDurationMs };
  }

  private addAudio(participant: string, producer: types.Producer): void {
    this.levels?.addProducer({ producerId: producer.id }).catch((error: Error) => this.emitError(error));
    this.mixFeed?.add(participant, producer).catch((error: Error) => this.emitError(error));
  }

  /** A video producer for the speaker view: the first one sets the track's codec; other codecs are left out. */
  private addVideo(participant: string, producer: types.Producer): void {
    const codec = recordableCodecs([producer])[0]!;
    if (!this.speaker) this.speaker = this.openSpeaker(codec);
    const { video } = this.speaker;
    if (codec !== video.codec) {
      if (!this.speakerManifest!.excluded.some((e) => e.participant === participant)) {
        this.speakerManifest!.excluded.push({ participant, codec, reason: `sends ${codec}; the speaker track is ${video.codec}` });
      }
      return;
    }
    this.speaker.ready = this.speaker.ready.then(async () => {
      if (producer.closed) return;
      await video.add(participant, producer);
      const wanted = this.selector.speaker;
      if (video.shown === undefined && video.next === undefined) await video.show(participant);
      else if (wanted === participant) await video.show(participant);
    });
    this.speaker.ready.catch((error: Error) => this.emitError(error));
  }

  private openSpeaker(codec: StreamStats['codec']): NonNullable<RoomRecorder['speaker']> {
    const video = new SpeakerVideoSource(this.options.router, codec, (change) => this.onSwitch(change));
    const speakerMix = this.options.speakerView ? this.mixes.at(-1) : undefined;
    const source = speakerMix ? new CombinedSource([video, speakerMix]) : video;
    const relativePath = `speaker.${EXTENSION[this.container]}`;
    const file = this.newFile({ relativePath, kind: 'speaker', container: this.container }, source);
    this.speakerManifest!.file = relativePath;
    this.speakerManifest!.codec = codec;
    return { video, file, ready: file.start() };
  }

  private onLoudest(producerId: string | undefined): void {
    const participant = producerId === undefined ? undefined : this.producerParticipant.get(producerId);
    if (participant === undefined || !this.current.has(participant)) return;
    const speaker = this.selector.loudest(participant, performance.now());
    // Audio-only speakers (or ones left out of the view) leave the last video speaker on screen.
    if (speaker === undefined || !this.speaker?.video.has(speaker)) return;
    const video = this.speaker.video;
    video.show(speaker).catch((error: Error) => this.emitError(error));
  }

  /** The one shown left: the current speaker if they have video, else anyone who has. */
  private showSomeone(): void {
    const video = this.speaker!.video;
    const wanted = this.selector.speaker;
    const next = wanted !== undefined && video.has(wanted) ? wanted : [...this.current.keys()].find((id) => video.has(id));
    if (next !== undefined) video.show(next).catch((error: Error) => this.emitError(error));
  }

  private onSwitch({ participant, requestedAtMs, atMs }: SpeakerSwitch): void {
    const changes = this.speakerManifest!.speakerChanges;
    const previous = changes.at(-1);
    const fromMs = atMs - this.zeroMs;
    if (previous) previous.toMs = fromMs;
    const latencyMs = requestedAtMs === undefined ? undefined : atMs - requestedAtMs;
    changes.push({ participant, fromMs, ...(requestedAtMs !== undefined ? { requestedMs: requestedAtMs - this.zeroMs, latencyMs } : {}) });
    this.emit('speakerchanged', { participant, ...(previous ? { previous: previous.participant } : {}), atMs: fromMs, ...(latencyMs !== undefined ? { latencyMs } : {}) });
  }

  private guard(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.emitError(error as Error);
    }
  }

  private emitError(error: Error): void {
    const wrapped = error instanceof RecorderError ? error : new RecorderError(`room: ${error.message}`, undefined, { cause: error });
    // An 'error' event with no listener would throw into whoever called us (mediasoup's handlers).
    if (this.listenerCount('error') > 0) this.emit('error', wrapped);
    else process.emitWarning(wrapped);
  }
}
