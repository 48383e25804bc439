/**
 * Fragmented MP4 writer: samples in, init segment and moof+mdat fragments out.
 *
 * ```ts
 * const f = new Mp4Fragmenter({ tracks, write: (chunks) => sink.writev(chunks) });
 * f.addSample(0, { dts, data, keyframe, config });   // per frame, in dts order per track
 * f.finish();                                         // flushes what is held
 * ```
 *
 * Output, through `write()` (each call is one complete unit, so a file cut after any call plays;
 * a unit comes as a list of Buffers to be written together, e.g. with one writev):
 * - the init segment (ftyp + moov) once, before the first fragment. It waits until every video
 *   track has its first H264Config, at most `videoConfigWaitMs` of media time; past that a video
 *   track without configuration is declared with an avc3 entry holding no parameter sets (the
 *   decoder takes them from the stream). Audio never holds it back: an Opus entry is complete from
 *   the track spec alone. Fragments completed while the init segment waits are kept and written
 *   right after it. If the recording ends while it still waits, a video track that never got a
 *   sample is left out of it.
 * - one moof+mdat per fragment: the boxes' headers in one new Buffer, followed by the sample
 *   payloads as they were handed in (not copied: saves a copy and fresh memory per sample). A fragment is cut when a sample of any track reaches
 *   the next multiple of `fragmentDurationMs` of media time (counted from the first sample), so
 *   fragments do not wait for video keyframes; each sample carries sync/non-sync flags.
 *
 * Sample durations are exact: a sample's duration is the next sample's dts minus its own (same
 * track), so the last sample of each track is held back until its successor arrives (it goes into
 * the next fragment). At `finish()` held samples get their stated `duration` (Opus), else the
 * previous sample's duration.
 *
 * Sample dts are in the track's timescale, counted from the recording start, shared by all
 * tracks. A track that starts late (video at 0.3 s) is placed on the timeline by an edit list
 * when its first sample comes before the init segment is written: its media time then starts at
 * 0 (tfdt = dts - start, start rounded down to the movie's ms). A track starting after the init
 * segment carries its start in tfdt instead.
 *
 * Memory: per track, sample tables (typed arrays) for the fragment being built only, grown by
 * doubling up to the largest fragment seen; sample payloads are referenced, not copied, until the
 * fragment is serialized (the caller must not modify a Buffer after handing it over).
 *
 * Video samples before a track's first keyframe are dropped (nothing can decode them).
 *
 * Cost per sample: its trun entry and a reference; payload bytes are not touched.
 */
import type { VideoConfig } from '../../codec/frame.js';
import {
  type InitSegment,
  type InitTrack,
  initSegment,
  MDAT_HEADER_SIZE,
  MFHD_SIZE,
  MOOF_HEADER_SIZE,
  SAMPLE_FLAGS_NON_SYNC,
  SAMPLE_FLAGS_SYNC,
  trafSize,
  writeMdatHeader,
  writeMoofStart,
  writeTraf,
  writeUInt64BE,
} from './boxes.js';
import type { Mp4Sample, Mp4TrackSpec } from './track.js';

export interface Mp4FragmenterOptions {
  tracks: Mp4TrackSpec[];
  /**
   * Receives the init segment, then each fragment: moof + mdat header, then the sample payloads.
   * One call is one unit to write together (one writev); the Buffers are the receiver's to keep.
   */
  write: (chunks: Buffer[]) => void;
  /** Target fragment length in media time. Default 1000 ms. */
  fragmentDurationMs?: number;
  /** How long (media time from the first sample) the init segment may wait for video configurations. Default 5000 ms. */
  videoConfigWaitMs?: number;
  /** A track reaching this many samples in one fragment forces a cut (guards against stuck timestamps). Default 8192. */
  maxSamplesPerFragment?: number;
}

export interface Mp4FragmenterStats {
  initSegmentWritten: boolean;
  /** Video tracks declared in the init segment without parameter sets (no configuration in time). */
  videoTracksWithoutConfig: number;
  /** Video tracks left out of the init segment: the recording ended before they got any sample or configuration. */
  tracksOmitted: number;
  fragmentsWritten: number;
  samplesWritten: number;
  /** Everything handed to write(), init segment included. */
  bytesWritten: number;
  /** Video samples dropped because they came before the track's first keyframe. */
  samplesDroppedBeforeKeyframe: number;
  /** Samples whose dts was negative, not a number or below the track's previous one, and was raised to it. */
  timestampsClamped: number;
  /** Samples accepted but not written yet (held last samples and the fragment being built). */
  samplesPending: number;
  /** Fragments complete but waiting for the init segment. */
  fragmentsWaitingForInit: number;
  /** Sum over tracks of the sample-table capacity (entries); bounded by the largest fragment. */
  sampleTableCapacity: number;
}

/** Where to write the movie's total duration into the file once it is known (optional; see durationPatches()). */
export interface DurationPatch {
  /** Byte offset from the start of the init segment (= start of the file). */
  offset: number;
  data: Buffer;
}

const EMPTY = Buffer.alloc(0);
const INITIAL_CAPACITY = 64;
const MAX_U32 = 0xffffffff;

class TrackState {
  readonly trackId: number;
  readonly isVideo: boolean;
  readonly timescale: number;
  readonly msPerTick: number;
  /** Duration for a held last sample with no stated and no previous duration. */
  readonly fallbackDuration: number;
  config: VideoConfig | undefined;
  /** Display rotation from the first keyframe that stated one; fMP4 declares it once, in the init segment. */
  rotation: 0 | 90 | 180 | 270 | undefined;
  /** Sample entry codec, fixed by the track spec; a config of another codec is ignored. */
  readonly codec: Mp4TrackSpec['codec'];
  seenKeyframe = false;

  // Samples of the fragment being built; entry count-1 has no duration yet when `open`.
  count = 0;
  open = false;
  sizes: Uint32Array = new Uint32Array(INITIAL_CAPACITY);
  durations: Uint32Array = new Uint32Array(INITIAL_CAPACITY);
  flags: Uint32Array = new Uint32Array(INITIAL_CAPACITY);
  datas: Buffer[] = new Array<Buffer>(INITIAL_CAPACITY).fill(EMPTY);
  bytes = 0;
  firstDts = 0;
  lastDts = 0;
  /** Smallest dts the next sample may have (the last accepted one; 0 at first). */
  minDts = 0;
  lastStatedDuration = -1;
  lastDuration = -1;
  /** Samples of the current cut (set by cut()). */
  emitCount = 0;
  /** End of the written timeline (dts + duration of the last written sample), -1 before any. */
  endDts = -1;
  /** Whether a sample was accepted. */
  started = false;
  /** Where the init segment's edit list puts the track's media time 0, in ms of movie time. */
  delayMs = 0;
  /** dts of the track's media time 0 (tfdt = dts - mediaStart). */
  mediaStart = 0;

  constructor(spec: Mp4TrackSpec, trackId: number) {
    this.trackId = trackId;
    this.codec = spec.codec;
    this.isVideo = spec.kind === 'video';
    this.timescale = spec.timescale;
    this.msPerTick = 1000 / spec.timescale;
    this.fallbackDuration = Math.max(1, Math.round(spec.kind === 'video' ? spec.timescale / 30 : spec.timescale / 50));
  }

  grow(): void {
    const cap = this.sizes.length * 2;
    const sizes = new Uint32Array(cap);
    sizes.set(this.sizes);
    const durations = new Uint32Array(cap);
    durations.set(this.durations);
    const flags = new Uint32Array(cap);
    flags.set(this.flags);
    for (let i = this.datas.length; i < cap; i++) this.datas.push(EMPTY);
    this.sizes = sizes;
    this.durations = durations;
    this.flags = flags;
  }
}

export class Mp4Fragmenter {
  readonly stats: Mp4FragmenterStats = {
    initSegmentWritten: false,
    videoTracksWithoutConfig: 0,
    tracksOmitted: 0,
    fragmentsWritten: 0,
    samplesWritten: 0,
    bytesWritten: 0,
    samplesDroppedBeforeKeyframe: 0,
    timestampsClamped: 0,
    samplesPending: 0,
    fragmentsWaitingForInit: 0,
    sampleTableCapacity: 0,
  };

  private readonly specs: Mp4TrackSpec[];
  private readonly tracks: TrackState[];
  private readonly writeChunks: (chunks: Buffer[]) => void;
  private readonly fragmentMs: number;
  private readonly configWaitMs: number;
  private readonly maxSamples: number;

  private firstTimeMs = NaN;
  private nextCutMs = -Infinity;
  private sequence = 0;
  private videoWithoutConfig: number;
  private init: InitSegment | undefined;
  private waiting: { chunks: Buffer[]; bytes: number; samples: number }[] = [];
  private finished = false;

  constructor(options: Mp4FragmenterOptions) {
    if (options.tracks.length === 0) throw new Error('Mp4Fragmenter: no tracks');
    for (const t of options.tracks) {
      if (!(t.timescale > 0) || !Number.isInteger(t.timescale)) throw new RangeError(`Mp4Fragmenter: bad timescale ${t.timescale}`);
    }
    this.specs = options.tracks;
    this.tracks = options.tracks.map((spec, i) => new TrackState(spec, i + 1));
    this.writeChunks = options.write;
    this.fragmentMs = options.fragmentDurationMs ?? 1000;
    this.configWaitMs = options.videoConfigWaitMs ?? 5000;
    this.maxSamples = Math.max(2, options.maxSamplesPerFragment ?? 8192);
    if (!(this.fragmentMs > 0)) throw new RangeError('Mp4Fragmenter: fragmentDurationMs must be > 0');
    this.videoWithoutConfig = this.tracks.filter((t) => t.isVideo).length;
    this.updateCapacityStat();
  }

  /**
   * Adds one sample to track `trackIndex` (index into `tracks`). Within a track dts should not
   * decrease; a dts below the previous one (or negative) is raised to it and counted in
   * `stats.timestampsClamped`. The sample's Buffer is referenced until its fragment is written.
   */
  addSample(trackIndex: number, sample: Mp4Sample): void {
    if (this.finished) throw new Error('Mp4Fragmenter: addSample() after finish()');
    const t = this.tracks[trackIndex];
    if (t === undefined) throw new RangeError(`Mp4Fragmenter: no track ${trackIndex}`);
    let dts = sample.dts;
    if (!(dts >= t.minDts)) {
      // Negative, NaN or going back: keep the track's timeline monotonic.
      dts = t.minDts;
      this.stats.timestampsClamped++;
    }
    let sampleFlags = SAMPLE_FLAGS_SYNC;
    if (t.isVideo) {
      if (!sample.keyframe) {
        if (!t.seenKeyframe) {
          this.stats.samplesDroppedBeforeKeyframe++;
          return;
        }
        sampleFlags = SAMPLE_FLAGS_NON_SYNC;
      } else {
        t.seenKeyframe = true;
      }
      if (sample.rotation !== undefined && t.rotation === undefined) t.rotation = sample.rotation;
      if (sample.config !== undefined && t.config === undefined && sample.config.codec === t.codec) {
        t.config = sample.config;
        if (this.init === undefined) this.videoWithoutConfig--;
      }
    }

    if (!t.started) {
      t.started = true;
      if (this.init === undefined) {
        // Whole ms, so that the edit list (movie timescale: ms) places the media exactly.
        t.delayMs = Math.floor((dts * 1000) / t.timescale);
        t.mediaStart = Math.floor((t.delayMs * t.timescale) / 1000);
      }
    }

    // The previous sample of this track now has its duration.
    if (t.open) {
      const d = dts - t.lastDts;
      const duration = d > 0 ? (d < MAX_U32 ? d : MAX_U32) : 0;
      t.durations[t.count - 1] = duration;
      t.lastDuration = duration;
      t.open = false;
    }

    const timeMs = dts * t.msPerTick;
    if (timeMs >= this.nextCutMs) {
      if (this.firstTimeMs !== this.firstTimeMs) {
        this.firstTimeMs = timeMs;
      } else {
        this.cut();
      }
      this.nextCutMs = this.firstTimeMs + (Math.floor((timeMs - this.firstTimeMs) / this.fragmentMs) + 1) * this.fragmentMs;
    } else if (t.count >= this.maxSamples) {
      this.cut();
    }
    if (this.init === undefined && (this.videoWithoutConfig === 0 || timeMs - this.firstTimeMs >= this.configWaitMs)) {
      this.writeInit();
    }

    if (t.count === t.sizes.length) {
      t.grow();
      this.updateCapacityStat();
    }
    const i = t.count++;
    if (i === 0) t.firstDts = dts;
    const data = sample.data;
    t.sizes[i] = data.length;
    t.flags[i] = sampleFlags;
    t.datas[i] = data;
    t.bytes += data.length;
    t.lastDts = dts;
    t.minDts = dts;
    t.lastStatedDuration = sample.duration ?? -1;
    t.open = true;
    this.stats.samplesPending++;
  }

  /**
   * Writes everything held: the last sample of each track (stated duration, else the previous
   * sample's), the init segment if it was still waiting. Further addSample() calls throw.
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const t of this.tracks) {
      if (!t.open) continue;
      const d = t.lastStatedDuration >= 0 ? t.lastStatedDuration : t.lastDuration >= 0 ? t.lastDuration : t.fallbackDuration;
      t.durations[t.count - 1] = Math.min(Math.round(d), MAX_U32);
      t.open = false;
    }
    this.cut();
    // Still no init segment (short recording): a video track that never got a sample is left out
    // rather than declared without parameter sets (ffmpeg cannot set up an empty, unconfigured stream).
    if (this.init === undefined) this.writeInit(true);
  }

  /**
   * Byte patches that record the total duration in the init segment (mvhd duration and mehd
   * fragment_duration, movie timescale = ms): for a sink that can seek back, e.g. at stop. Without
   * them the file is complete and plays; readers just learn the length by scanning the fragments.
   * Empty before the init segment is written.
   */
  durationPatches(): DurationPatch[] {
    const init = this.init;
    if (init === undefined) return [];
    let endMs = 0;
    for (const t of this.tracks) {
      if (t.endDts >= 0) endMs = Math.max(endMs, (t.endDts * init.movieTimescale) / t.timescale);
    }
    const total = Math.round(endMs);
    const mvhd = Buffer.allocUnsafe(4);
    mvhd.writeUInt32BE(Math.min(total, MAX_U32), 0);
    const mehd = Buffer.allocUnsafe(8);
    writeUInt64BE(mehd, total, 0);
    return [
      { offset: init.mvhdDurationOffset, data: mvhd },
      { offset: init.mehdDurationOffset, data: mehd },
    ];
  }

  /** Serializes the samples whose durations are known into one fragment. */
  private cut(): void {
    let moofSize = MOOF_HEADER_SIZE + MFHD_SIZE;
    let dataSize = 0;
    let samples = 0;
    const tracks = this.tracks;
    for (let k = 0; k < tracks.length; k++) {
      const t = tracks[k]!;
      const n = t.open ? t.count - 1 : t.count;
      t.emitCount = n;
      if (n === 0) continue;
      moofSize += trafSize(n);
      dataSize += t.open ? t.bytes - t.sizes[n]! : t.bytes;
      samples += n;
    }
    if (samples === 0) return;

    const buf = Buffer.allocUnsafe(moofSize + MDAT_HEADER_SIZE);
    const chunks: Buffer[] = [buf];
    let off = writeMoofStart(buf, 0, moofSize, ++this.sequence);
    let dataOffset = moofSize + MDAT_HEADER_SIZE;
    for (let k = 0; k < tracks.length; k++) {
      const t = tracks[k]!;
      const n = t.emitCount;
      if (n === 0) continue;
      off = writeTraf(buf, off, t.trackId, t.firstDts - t.mediaStart, dataOffset, n, t.durations, t.sizes, t.flags);
      dataOffset += t.open ? t.bytes - t.sizes[n]! : t.bytes;
    }
    writeMdatHeader(buf, off, dataSize);
    for (let k = 0; k < tracks.length; k++) {
      const t = tracks[k]!;
      const n = t.emitCount;
      if (n === 0) continue;
      const datas = t.datas;
      for (let i = 0; i < n; i++) {
        chunks.push(datas[i]!);
        datas[i] = EMPTY;
      }
      if (t.open) {
        // The held sample (no successor yet) moves to the front of the next fragment.
        t.endDts = t.lastDts;
        t.sizes[0] = t.sizes[n]!;
        t.flags[0] = t.flags[n]!;
        datas[0] = datas[n]!;
        datas[n] = EMPTY;
        t.count = 1;
        t.bytes = t.sizes[0]!;
        t.firstDts = t.lastDts;
      } else {
        t.endDts = t.lastDts + t.durations[n - 1]!;
        t.count = 0;
        t.bytes = 0;
      }
    }
    this.stats.samplesPending -= samples;
    const bytes = buf.length + dataSize;
    if (this.init !== undefined) {
      this.emit(chunks, bytes, samples);
    } else {
      this.waiting.push({ chunks, bytes, samples });
      this.stats.fragmentsWaitingForInit++;
    }
  }

  private writeInit(omitEmptyVideo = false): void {
    const tracks: InitTrack[] = [];
    this.specs.forEach((spec, i) => {
      const t = this.tracks[i]!;
      if (omitEmptyVideo && t.isVideo && t.config === undefined && t.endDts < 0) return;
      const delay = t.delayMs;
      tracks.push(spec.kind === 'video'
        ? { kind: 'video', trackId: t.trackId, timescale: spec.timescale, codec: spec.codec, config: t.config, rotation: t.rotation, delay }
        : { kind: 'audio', trackId: t.trackId, timescale: spec.timescale, channels: spec.channels, preSkip: spec.preSkip, delay });
    });
    const init = initSegment(tracks);
    this.init = init;
    this.stats.initSegmentWritten = true;
    this.stats.videoTracksWithoutConfig = tracks.filter((t) => t.kind === 'video' && t.config === undefined).length;
    this.stats.tracksOmitted = this.tracks.length - tracks.length;
    this.writeChunks([init.data]);
    this.stats.bytesWritten += init.data.length;
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) {
      this.stats.fragmentsWaitingForInit--;
      this.emit(w.chunks, w.bytes, w.samples);
    }
  }

  private emit(chunks: Buffer[], bytes: number, samples: number): void {
    this.writeChunks(chunks);
    this.stats.fragmentsWritten++;
    this.stats.samplesWritten += samples;
    this.stats.bytesWritten += bytes;
  }

  private updateCapacityStat(): void {
    let cap = 0;
    for (const t of this.tracks) cap += t.sizes.length;
    this.stats.sampleTableCapacity = cap;
  }
}
