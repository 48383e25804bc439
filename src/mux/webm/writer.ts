/**
 * Matroska / WebM writer for live recording: samples in, a streamable file out.
 *
 * ```ts
 * const w = new MatroskaWriter({ tracks, doctype: 'webm', write: (unit) => sink.writev(unit) });
 * w.addSample(0, { dts, data, keyframe, config });   // per frame, roughly in time order across tracks
 * const { tail, patches } = w.finish();
 * sink.writev(tail);                                  // the last blocks and the Cues
 * for (const p of patches) fileHandle.write(p.data, 0, p.data.length, p.offset);  // only if the output can seek
 * ```
 *
 * Layout, written front to back and never sought back while recording:
 * - EBML header; Segment with unknown size; SeekHead (Info, Tracks) followed by a Void that
 *   `finish()` can turn into the Cues entry; Info (TimestampScale 1 ms, a Void where Duration goes);
 *   Tracks. Written once, as the first unit, when every video track has its first configuration
 *   (size, and CodecPrivate for AV1/H264) or `videoConfigWaitMs` of media time after the first
 *   sample. Audio never holds it back; blocks completed meanwhile wait in memory and follow the
 *   header. Past the wait, a video track without configuration is
 *   declared with a placeholder size (patched at finish if it came later) and no CodecPrivate (H264:
 *   an avcC without parameter sets; the decoder takes them in-band). A video track that never got a
 *   sample is left out if the recording ends before the header was written.
 * - Clusters of unknown size, each a Cluster ID, the 8-byte unknown size, a Timestamp, then
 *   SimpleBlocks (no lacing, no BlockGroups). A cluster starts at every video keyframe, and when a
 *   cluster reaches `clusterMaxDurationMs` (default 5 s with a video track, 1 s in an audio-only
 *   file; at most 32767 ms, the reach of a block's signed 16-bit relative timestamp) or a block would
 *   fall before its reach. Every cluster whose first block is a keyframe (any audio block) gets a
 *   CuePoint for that block's track (audio cues let an audio-only stretch seek too).
 * - Blocks are handed to `write()` about every `flushIntervalMs` (default 1 s) of media time, one
 *   unit per flush (a SimpleBlock header Buffer and the payload, by reference, per sample). A killed
 *   process leaves a file that ends after the last flushed block: every player reads it up to there.
 *   It loses the last flush interval plus what the interleaver held (at most `interleaveWindowMs`).
 * - At `finish()`: everything held, then Cues, returned as `tail`; and `patches` for an output that
 *   can seek (a file): the Segment size, each Cluster's size, Info/Duration, the SeekHead with the
 *   Cues entry and late-known pixel sizes. Without the patches (a pipe) the file is still valid:
 *   unknown sizes end where the next element begins, and the Cues are there for a reader that scans.
 *
 * Timestamps: the Segment's TimestampScale is 1 ms (1000000 ns), what WebM players expect. Sample
 * dts (track timescale, from the recording start, all tracks on one timeline) are rounded to ms.
 * Opus: the block timestamp is the sample's dts; CodecDelay (= pre-skip, in ns) is subtracted by
 * players (ffprobe shows the audio starting pre-skip early, its first pre-skip samples trimmed);
 * SeekPreRoll is 80 ms (RFC 7845's recommendation for Opus seeking).
 *
 * Interleaving: samples wait in per-track queues and go out in time order across tracks. A sample
 * goes when every track has one waiting (then the earliest is safe), or when it is
 * `interleaveWindowMs` older than the newest sample of any track (so a silent track holds nothing
 * back). A sample later than that window is still written (its track's timeline is kept), just after
 * later blocks of other tracks (`stats.blocksOutOfOrder`).
 *
 * Memory: per track a queue of waiting samples (references) bounded by the interleave window, the
 * unit being built (references), and per cluster one Cue entry and its position and size (a few
 * numbers). Payloads are never copied: the caller must not modify a Buffer after handing it over.
 *
 * Video samples before a track's first keyframe are dropped (nothing can decode them).
 */
import type { VideoConfig, Vp9Config } from '../../codec/frame.js';
import { av1CodecConfigurationRecord, opusHead, vpCodecConfigurationRecord } from '../codec-private.js';
import { avcC } from '../mp4/boxes.js';
import type { Mp4Sample } from '../mp4/track.js';
import * as E from './ebml.js';
import { ID } from './ebml.js';

/** A track as declared before recording starts; track numbers in the file are index + 1. */
export type MatroskaTrackSpec =
  | { kind: 'video'; codec: 'vp8' | 'vp9' | 'av1' | 'h264'; /** units per second of sample times; 90000 for RTP video */ timescale: number }
  | { kind: 'audio'; codec: 'opus'; /** 48000 for Opus */ timescale: number; channels: number; /** Opus pre-skip in 48 kHz samples */ preSkip: number };

/** One sample: the same model as the MP4 fragmenter's (dts in the track's timescale from the recording start). */
export type MatroskaSample = Mp4Sample;

export interface MatroskaWriterOptions {
  tracks: MatroskaTrackSpec[];
  /** 'webm' (VP8, VP9, AV1, Opus) or 'matroska' (also H264). */
  doctype: 'webm' | 'matroska';
  /** Receives the header, then the clusters' blocks about every flushIntervalMs; one call is one unit to write together. */
  write: (unit: Buffer[]) => void;
  /** Longest cluster, in ms of media (a cluster also ends at every video keyframe). Default 5000 with a video track, 1000 without; at most 32767. */
  clusterMaxDurationMs?: number;
  /** How much media time the blocks of one write() unit span: about what a killed process loses. Default 1000. */
  flushIntervalMs?: number;
  /** How long (media time from the first sample) the header may wait for video configurations. Default 5000. */
  videoConfigWaitMs?: number;
  /** How far behind the newest sample a waiting sample may fall before it is written without its turn. Default 500. */
  interleaveWindowMs?: number;
}

/** Bytes to write over the finished file at `offset` (from the start of the file). */
export interface MatroskaPatch {
  offset: number;
  data: Buffer;
}

export interface MatroskaFinish {
  /** Everything not yet handed to write(): the last blocks and the Cues (and the header if it never went). One unit. */
  tail: Buffer[];
  /** For an output that can seek back, applied after the tail is written; skip them for a stream. */
  patches: MatroskaPatch[];
}

export interface MatroskaWriterStats {
  headerWritten: boolean;
  /** Video tracks declared in the header without their configuration (none came in time). */
  videoTracksWithoutConfig: number;
  /** Video tracks left out of the header: the recording ended before they got any sample. */
  tracksOmitted: number;
  /** Clusters started. */
  clustersWritten: number;
  cuePoints: number;
  /** write() calls, header included. */
  unitsWritten: number;
  /** Samples handed to write() as SimpleBlocks. */
  samplesWritten: number;
  /** Everything handed to write(). */
  bytesWritten: number;
  /** Accepted samples not handed to write() yet (interleaver, unit being built, units waiting for the header). */
  samplesPending: number;
  /** Video samples dropped because they came before the track's first keyframe. */
  samplesDroppedBeforeKeyframe: number;
  /** Samples whose dts was negative, not a number or below the track's previous one, and was raised to it. */
  timestampsClamped: number;
  /** Blocks written with a timestamp before an already written block of another track (came later than the interleave window). */
  blocksOutOfOrder: number;
  /** New video configurations after a track's first (resolution changes): the decoder takes them in-band, the header keeps the first. */
  configChanges: number;
  /** Sum over tracks of the interleaver queue capacity (entries): bounded by the interleave window. */
  queueCapacity: number;
}

const TIMESTAMP_SCALE_NS = 1_000_000;
const MAX_RELATIVE_MS = 32767;
const MIN_RELATIVE_MS = -32768;
/** Pixel size declared for a video track whose configuration did not come in time (patched at finish if it came later). */
const PLACEHOLDER_WIDTH = 640;
const PLACEHOLDER_HEIGHT = 360;
/** SeekHead entry: Seek(SeekID(4-byte ID), SeekPosition(8-byte uint)) = 3 + 7 + 11 bytes. */
const SEEK_ENTRY_SIZE = 21;
/** SeekHead with three entries: 4-byte ID, 1-byte size, 3 entries. */
const SEEK_HEAD_SIZE = 5 + 3 * SEEK_ENTRY_SIZE;
/** Info's Duration: 2-byte ID, 1-byte size, 8-byte float. */
const DURATION_SIZE = 11;
/** Cluster ID (4) and unknown size (8): where a cluster's data starts. */
const CLUSTER_HEADER_SIZE = 12;
const SIMPLE_BLOCK_ID = 0xa3;
const CODEC_IDS = { vp8: 'V_VP8', vp9: 'V_VP9', av1: 'V_AV1', h264: 'V_MPEG4/ISO/AVC', opus: 'A_OPUS' } as const;
const EMPTY = Buffer.alloc(0);
const INITIAL_QUEUE = 16;

class TrackState {
  readonly number: number;
  readonly isVideo: boolean;
  readonly timescale: number;
  config: VideoConfig | undefined;
  /** Display rotation from the first keyframe that stated one (Projection, declared once in the header). */
  rotation: 0 | 90 | 180 | 270 | undefined;
  seenKeyframe = false;
  minDts = 0;
  /** Timeline end bookkeeping, in ms. */
  lastMs = -1;
  lastDeltaMs = -1;
  lastStatedMs = -1;
  readonly fallbackMs: number;
  /** Absolute file offset of the 4-byte PixelWidth value when declared without configuration, else -1. */
  pixelSizeOffset = -1;

  // Waiting samples (a ring).
  times: Float64Array = new Float64Array(INITIAL_QUEUE);
  keys: Uint8Array = new Uint8Array(INITIAL_QUEUE);
  datas: Buffer[] = new Array<Buffer>(INITIAL_QUEUE).fill(EMPTY);
  head = 0;
  length = 0;

  constructor(readonly spec: MatroskaTrackSpec, index: number) {
    this.number = index + 1;
    this.isVideo = spec.kind === 'video';
    this.timescale = spec.timescale;
    this.fallbackMs = this.isVideo ? 1000 / 30 : 20;
  }

  /** Queues a sample; returns true when the queue had to grow. */
  push(ms: number, data: Buffer, key: boolean): boolean {
    let cap = this.times.length;
    const grows = this.length === cap;
    if (this.length === cap) {
      // Grow, unrolling the ring to the front.
      const times = new Float64Array(cap * 2);
      const keys = new Uint8Array(cap * 2);
      const datas = new Array<Buffer>(cap * 2).fill(EMPTY);
      for (let i = 0; i < this.length; i++) {
        const j = (this.head + i) % cap;
        times[i] = this.times[j]!;
        keys[i] = this.keys[j]!;
        datas[i] = this.datas[j]!;
      }
      this.times = times;
      this.keys = keys;
      this.datas = datas;
      this.head = 0;
      cap *= 2;
    }
    const at = (this.head + this.length) % cap;
    this.times[at] = ms;
    this.keys[at] = key ? 1 : 0;
    this.datas[at] = data;
    this.length++;
    return grows;
  }
}

export class MatroskaWriter {
  readonly stats: MatroskaWriterStats = {
    headerWritten: false,
    videoTracksWithoutConfig: 0,
    tracksOmitted: 0,
    clustersWritten: 0,
    cuePoints: 0,
    unitsWritten: 0,
    samplesWritten: 0,
    bytesWritten: 0,
    samplesPending: 0,
    samplesDroppedBeforeKeyframe: 0,
    timestampsClamped: 0,
    blocksOutOfOrder: 0,
    configChanges: 0,
    queueCapacity: 0,
  };

  private readonly tracks: TrackState[];
  private readonly doctype: 'webm' | 'matroska';
  private readonly writeUnit: (unit: Buffer[]) => void;
  private readonly clusterMaxMs: number;
  private readonly flushMs: number;
  private readonly configWaitMs: number;
  private readonly windowMs: number;

  private videoWithoutConfig: number;
  private tracksWaiting = 0;
  private firstMs = NaN;
  private latestMs = -Infinity;
  private lastEmittedMs = -Infinity;

  // Header: absolute offsets known once it is built.
  private headerSize = -1;
  private segmentDataStart = 0;
  private durationOffset = 0;
  private infoPosition = 0;
  private tracksPosition = 0;

  // Body: bytes of clusters, counted from the end of the header (known before the header is).
  private bodyBytes = 0;
  private clusterMs = NaN;
  private clusterPosition = -1;
  /** Per cluster: its body position and (once closed) data size, for the size patches. */
  private clusterPositions = new Float64Array(64);
  private clusterSizes = new Float64Array(64);
  private clusterCount = 0;
  /** Per CuePoint: time (ms), track number, cluster body position. */
  private cueTimes = new Float64Array(64);
  private cueTracks = new Uint8Array(64);
  private cuePositions = new Float64Array(64);

  // The unit being built, and units completed before the header was written.
  private unit: Buffer[] = [];
  private unitBytes = 0;
  private unitSamples = 0;
  private unitFlushAtMs = Infinity;
  private waiting: { unit: Buffer[]; bytes: number; samples: number }[] = [];
  /** Set during finish(): units go here instead of write(). */
  private tail: Buffer[] | undefined;
  private finished = false;

  constructor(options: MatroskaWriterOptions) {
    const { tracks, doctype } = options;
    if (tracks.length === 0) throw new Error('MatroskaWriter: no tracks');
    if (tracks.length > 126) throw new RangeError('MatroskaWriter: at most 126 tracks');
    if (doctype !== 'webm' && doctype !== 'matroska') throw new Error(`MatroskaWriter: doctype must be 'webm' or 'matroska', not '${String(doctype)}'`);
    for (const t of tracks) {
      if (!(t.timescale > 0) || !Number.isInteger(t.timescale)) throw new RangeError(`MatroskaWriter: bad timescale ${t.timescale}`);
      if (!(t.codec in CODEC_IDS) || (t.kind === 'audio') !== (t.codec === 'opus')) throw new Error(`MatroskaWriter: unsupported ${t.kind} codec '${t.codec}'`);
      if (doctype === 'webm' && t.codec === 'h264') {
        throw new Error('MatroskaWriter: H264 cannot be written to WebM (WebM takes VP8, VP9, AV1 and Opus); use Matroska (.mkv, doctype "matroska") or MP4');
      }
    }
    this.tracks = tracks.map((spec, i) => new TrackState(spec, i));
    this.doctype = doctype;
    this.writeUnit = options.write;
    const hasVideo = this.tracks.some((t) => t.isVideo);
    this.clusterMaxMs = options.clusterMaxDurationMs ?? (hasVideo ? 5000 : 1000);
    this.flushMs = options.flushIntervalMs ?? 1000;
    this.configWaitMs = options.videoConfigWaitMs ?? 5000;
    this.windowMs = options.interleaveWindowMs ?? 500;
    if (!(this.clusterMaxMs > 0 && this.clusterMaxMs <= MAX_RELATIVE_MS)) throw new RangeError(`MatroskaWriter: clusterMaxDurationMs must be in (0, ${MAX_RELATIVE_MS}]`);
    if (!(this.flushMs > 0)) throw new RangeError('MatroskaWriter: flushIntervalMs must be > 0');
    if (!(this.windowMs >= 0)) throw new RangeError('MatroskaWriter: interleaveWindowMs must be >= 0');
    this.videoWithoutConfig = this.tracks.filter((t) => t.isVideo).length;
    this.stats.queueCapacity = this.tracks.length * INITIAL_QUEUE;
  }

  /**
   * Adds one sample to track `trackIndex` (index into `tracks`). Within a track dts should not
   * decrease; a dts below the previous one (or negative) is raised to it and counted in
   * `stats.timestampsClamped`. The sample's Buffer is referenced until its unit is written.
   */
  addSample(trackIndex: number, sample: MatroskaSample): void {
    if (this.finished) throw new Error('MatroskaWriter: addSample() after finish()');
    const t = this.tracks[trackIndex];
    if (t === undefined) throw new RangeError(`MatroskaWriter: no track ${trackIndex}`);
    let dts = sample.dts;
    if (!(dts >= t.minDts)) {
      dts = t.minDts;
      this.stats.timestampsClamped++;
    }
    t.minDts = dts;
    if (t.isVideo) {
      if (sample.keyframe) {
        t.seenKeyframe = true;
      } else if (!t.seenKeyframe) {
        this.stats.samplesDroppedBeforeKeyframe++;
        return;
      }
      if (sample.rotation !== undefined && t.rotation === undefined) t.rotation = sample.rotation;
      const config = sample.config;
      if (config !== undefined && config.codec === t.spec.codec) {
        if (t.config === undefined) {
          t.config = config;
          if (this.headerSize < 0) this.videoWithoutConfig--;
        } else {
          this.stats.configChanges++;
        }
      }
    }

    const ms = Math.round((dts * 1000) / t.timescale);
    if (t.lastMs >= 0) t.lastDeltaMs = ms - t.lastMs;
    t.lastMs = ms;
    t.lastStatedMs = sample.duration !== undefined ? (sample.duration * 1000) / t.timescale : -1;
    if (this.firstMs !== this.firstMs) this.firstMs = ms;
    if (ms > this.latestMs) this.latestMs = ms;

    if (this.headerSize < 0 && (this.videoWithoutConfig === 0 || ms - this.firstMs >= this.configWaitMs)) this.writeHeader(false);

    if (t.length === 0) this.tracksWaiting++;
    if (t.push(ms, sample.data, sample.keyframe || !t.isVideo)) this.stats.queueCapacity += t.times.length / 2;
    this.stats.samplesPending++;
    this.drain(false);
  }

  /**
   * Ends the recording: returns everything held and the Cues as `tail` (write it as one unit), and
   * the patches for an output that can seek back. Further addSample() calls throw; a second call
   * returns nothing.
   */
  finish(): MatroskaFinish {
    if (this.finished) return { tail: [], patches: [] };
    this.finished = true;
    const tail: Buffer[] = [];
    this.tail = tail;
    this.drain(true);
    this.closeCluster();
    if (this.headerSize < 0) this.writeHeader(true);
    this.flush();

    const patches: MatroskaPatch[] = [];
    const bodyStart = this.headerSize - this.segmentDataStart; // Segment-relative position of the first cluster
    let segmentSize = bodyStart + this.bodyBytes;
    const cueCount = this.stats.cuePoints;
    if (cueCount > 0) {
      const points: Buffer[] = [];
      for (let i = 0; i < cueCount; i++) {
        points.push(
          E.master(ID.CuePoint, [
            E.uint(ID.CueTime, this.cueTimes[i]!),
            E.master(ID.CueTrackPositions, [E.uint(ID.CueTrack, this.cueTracks[i]!), E.uint(ID.CueClusterPosition, bodyStart + this.cuePositions[i]!)]),
          ]),
        );
      }
      const cues = E.master(ID.Cues, points);
      tail.push(cues);
      this.stats.bytesWritten += cues.length;
      patches.push({
        offset: this.segmentDataStart,
        data: seekHead([
          [ID.Info, this.infoPosition],
          [ID.Tracks, this.tracksPosition],
          [ID.Cues, segmentSize],
        ]),
      });
      segmentSize += cues.length;
    }

    const sizeVint = Buffer.allocUnsafe(8);
    E.writeVint(sizeVint, 0, segmentSize, 8);
    patches.push({ offset: this.segmentDataStart - 8, data: sizeVint });

    const durationMs = this.durationMs();
    if (durationMs > 0) patches.push({ offset: this.durationOffset, data: E.float(ID.Duration, durationMs) });

    for (const t of this.tracks) {
      if (t.pixelSizeOffset < 0 || t.config === undefined) continue;
      const dims = Buffer.alloc(10);
      dims.writeUInt32BE(t.config.width, 0);
      dims.writeUInt8(ID.PixelHeight, 4);
      dims.writeUInt8(0x84, 5); // size 4
      dims.writeUInt32BE(t.config.height, 6);
      patches.push({ offset: t.pixelSizeOffset, data: dims });
    }

    for (let i = 0; i < this.clusterCount; i++) {
      const size = Buffer.allocUnsafe(8);
      E.writeVint(size, 0, this.clusterSizes[i]!, 8);
      patches.push({ offset: this.headerSize + this.clusterPositions[i]! + 4, data: size });
    }
    this.tail = undefined;
    return { tail, patches };
  }

  /** Length of the recorded timeline in ms: the latest track end (last sample's time plus its duration). */
  durationMs(): number {
    let end = 0;
    for (const t of this.tracks) {
      if (t.lastMs < 0) continue;
      const d = t.lastStatedMs >= 0 ? t.lastStatedMs : t.lastDeltaMs >= 0 ? t.lastDeltaMs : t.fallbackMs;
      end = Math.max(end, t.lastMs + d);
    }
    return end;
  }

  /** Writes waiting samples in time order, as far as the interleaving rule allows (all of them when `all`). */
  private drain(all: boolean): void {
    const tracks = this.tracks;
    for (;;) {
      let best: TrackState | undefined;
      let bestMs = Infinity;
      for (let k = 0; k < tracks.length; k++) {
        const t = tracks[k]!;
        if (t.length === 0) continue;
        const ms = t.times[t.head]!;
        // Ties: video first, so a keyframe opens its cluster before audio of the same ms goes in.
        if (ms < bestMs || (ms === bestMs && t.isVideo && !best!.isVideo)) {
          best = t;
          bestMs = ms;
        }
      }
      if (best === undefined) return;
      if (!all && this.tracksWaiting < tracks.length && bestMs > this.latestMs - this.windowMs) return;
      const at = best.head;
      const data = best.datas[at]!;
      const key = best.keys[at] === 1;
      best.datas[at] = EMPTY;
      best.head = at + 1 === best.times.length ? 0 : at + 1;
      if (--best.length === 0) this.tracksWaiting--;
      this.writeBlock(best, bestMs, data, key);
    }
  }

  private writeBlock(t: TrackState, ms: number, data: Buffer, key: boolean): void {
    if (ms < this.lastEmittedMs) this.stats.blocksOutOfOrder++;
    else this.lastEmittedMs = ms;
    if (this.unit.length > 0 && ms >= this.unitFlushAtMs) this.flush();

    let rel = ms - this.clusterMs;
    if (this.clusterPosition < 0 || (t.isVideo && key) || rel >= this.clusterMaxMs || rel < MIN_RELATIVE_MS) {
      this.closeCluster();
      this.openCluster(t, ms, key);
      rel = 0;
    }

    // SimpleBlock: ID, size, track number (1-byte VINT), 16-bit relative timestamp, flags; then the
    // payload. Written inline (per sample; the ebml.ts helpers do the same for the header).
    const blockSize = 4 + data.length;
    const sizeLength = blockSize < 0x7f ? 1 : blockSize < 0x3fff ? 2 : blockSize < 0x1fffff ? 3 : E.vintLength(blockSize);
    const h = Buffer.allocUnsafe(5 + sizeLength);
    h[0] = SIMPLE_BLOCK_ID;
    let v = blockSize;
    for (let i = sizeLength; i > 1; i--) {
      h[i] = v & 0xff;
      v = Math.floor(v / 256);
    }
    h[1] = (0x100 >> sizeLength) | v;
    const off = 1 + sizeLength;
    h[off] = 0x80 | t.number;
    h[off + 1] = (rel >> 8) & 0xff;
    h[off + 2] = rel & 0xff;
    h[off + 3] = key ? 0x80 : 0;
    this.unit.push(h, data);
    const bytes = h.length + data.length;
    this.unitBytes += bytes;
    this.unitSamples++;
    this.bodyBytes += bytes;
    if (this.unitFlushAtMs === Infinity) this.unitFlushAtMs = ms + this.flushMs;
  }

  private openCluster(t: TrackState, ms: number, key: boolean): void {
    const timestamp = E.uint(ID.Timestamp, ms);
    const h = Buffer.allocUnsafe(CLUSTER_HEADER_SIZE + timestamp.length);
    E.writeId(h, 0, ID.Cluster);
    E.UNKNOWN_SIZE.copy(h, 4);
    timestamp.copy(h, CLUSTER_HEADER_SIZE);
    this.unit.push(h);
    this.unitBytes += h.length;
    this.clusterMs = ms;
    this.clusterPosition = this.bodyBytes;
    this.bodyBytes += h.length;
    this.stats.clustersWritten++;
    // A cue for a cluster that starts with a keyframe (CuePoints stay in time order: a straggler gets none).
    const cues = this.stats.cuePoints;
    if (key && (cues === 0 || ms >= this.cueTimes[cues - 1]!)) {
      const i = this.stats.cuePoints++;
      if (i === this.cueTimes.length) {
        this.cueTimes = grow(this.cueTimes);
        this.cuePositions = grow(this.cuePositions);
        const tracks = new Uint8Array(i * 2);
        tracks.set(this.cueTracks);
        this.cueTracks = tracks;
      }
      this.cueTimes[i] = ms;
      this.cueTracks[i] = t.number;
      this.cuePositions[i] = this.clusterPosition;
    }
  }

  private closeCluster(): void {
    if (this.clusterPosition < 0) return;
    const i = this.clusterCount++;
    if (i === this.clusterPositions.length) {
      this.clusterPositions = grow(this.clusterPositions);
      this.clusterSizes = grow(this.clusterSizes);
    }
    this.clusterPositions[i] = this.clusterPosition;
    this.clusterSizes[i] = this.bodyBytes - this.clusterPosition - CLUSTER_HEADER_SIZE;
    this.clusterPosition = -1;
  }

  /** Hands the unit being built to write() (or keeps it until the header is written). */
  private flush(): void {
    if (this.unit.length === 0) return;
    const unit = this.unit;
    const bytes = this.unitBytes;
    const samples = this.unitSamples;
    this.unit = [];
    this.unitBytes = 0;
    this.unitSamples = 0;
    this.unitFlushAtMs = Infinity;
    if (this.headerSize < 0) this.waiting.push({ unit, bytes, samples });
    else this.emit(unit, bytes, samples);
  }

  private emit(unit: Buffer[], bytes: number, samples: number): void {
    this.stats.bytesWritten += bytes;
    this.stats.samplesWritten += samples;
    this.stats.samplesPending -= samples;
    if (this.tail !== undefined) {
      for (const b of unit) this.tail.push(b);
    } else {
      this.stats.unitsWritten++;
      this.writeUnit(unit);
    }
  }

  private writeHeader(finishing: boolean): void {
    const ebml = E.master(ID.EBML, [
      E.uint(ID.EBMLVersion, 1),
      E.uint(ID.EBMLReadVersion, 1),
      E.uint(ID.EBMLMaxIDLength, 4),
      E.uint(ID.EBMLMaxSizeLength, 8),
      E.string(ID.DocType, this.doctype),
      E.uint(ID.DocTypeVersion, 4), // CodecDelay, SeekPreRoll, Colour are version 4 elements
      E.uint(ID.DocTypeReadVersion, 2), // SimpleBlock
    ]);
    const segment = E.unknownSizeHeader(ID.Segment);
    const segmentDataStart = ebml.length + segment.length;

    const info = E.master(ID.Info, [
      E.uint(ID.TimestampScale, TIMESTAMP_SCALE_NS),
      E.string(ID.MuxingApp, 'mediasoup-recorder'),
      E.string(ID.WritingApp, 'mediasoup-recorder'),
      E.voidElement(DURATION_SIZE), // becomes Duration at finish (a float cannot say "unknown")
    ]);
    const infoPosition = SEEK_HEAD_SIZE;
    const tracksPosition = infoPosition + info.length;

    // Tracks, noting where placeholder pixel sizes sit (relative to the Tracks element first).
    const entries: Buffer[] = [];
    const pixelOffsets: { track: TrackState; at: number }[] = [];
    let entriesBytes = 0;
    let omitted = 0;
    let withoutConfig = 0;
    // A recording that ends before the header leaves out video tracks that never got a sample
    // (unless that would leave no track at all: Tracks needs one).
    const omit = (t: TrackState): boolean => finishing && t.isVideo && t.config === undefined && t.lastMs < 0;
    const omitAny = !this.tracks.every(omit);
    for (const t of this.tracks) {
      if (omitAny && omit(t)) {
        omitted++;
        continue;
      }
      const { entry, pixelSizeAt } = trackEntry(t);
      if (pixelSizeAt >= 0) {
        pixelOffsets.push({ track: t, at: entriesBytes + pixelSizeAt });
        withoutConfig++;
      }
      entries.push(entry);
      entriesBytes += entry.length;
    }
    const tracksHeader = E.header(ID.Tracks, entriesBytes);
    const tracksStart = segmentDataStart + tracksPosition + tracksHeader.length;

    const seek = seekHead([
      [ID.Info, infoPosition],
      [ID.Tracks, tracksPosition],
    ]);
    const parts = [ebml, segment, seek, E.voidElement(SEEK_HEAD_SIZE - seek.length), info, tracksHeader, ...entries];
    const header = Buffer.concat(parts);

    this.headerSize = header.length;
    this.segmentDataStart = segmentDataStart;
    this.infoPosition = infoPosition;
    this.tracksPosition = tracksPosition;
    this.durationOffset = segmentDataStart + infoPosition + info.length - DURATION_SIZE;
    for (const p of pixelOffsets) p.track.pixelSizeOffset = tracksStart + p.at;
    this.stats.headerWritten = true;
    this.stats.tracksOmitted = omitted;
    this.stats.videoTracksWithoutConfig = withoutConfig;

    this.stats.bytesWritten += header.length;
    if (this.tail !== undefined) {
      this.tail.push(header);
    } else {
      this.stats.unitsWritten++;
      this.writeUnit([header]);
    }
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) this.emit(w.unit, w.bytes, w.samples);
  }
}

/** SeekHead with fixed-size entries (8-byte positions), so the finish patch has the size of the header's SeekHead + Void. */
function seekHead(entries: [id: number, position: number][]): Buffer {
  return E.master(
    ID.SeekHead,
    entries.map(([id, position]) => {
      const idBytes = Buffer.allocUnsafe(E.idLength(id));
      E.writeId(idBytes, 0, id);
      return E.master(ID.Seek, [E.binary(ID.SeekID, idBytes), E.uint(ID.SeekPosition, position, 8)]);
    }),
  );
}

/**
 * One TrackEntry. `pixelSizeAt` is the offset, inside the entry, of PixelWidth's 4-byte value when
 * the track is declared without configuration (PixelHeight follows as a 4-byte element), else -1.
 */
function trackEntry(t: TrackState): { entry: Buffer; pixelSizeAt: number } {
  const spec = t.spec;
  const children: Buffer[] = [
    E.uint(ID.TrackNumber, t.number),
    E.uint(ID.TrackUID, t.number),
    E.uint(ID.TrackType, spec.kind === 'video' ? 1 : 2),
    E.uint(ID.FlagLacing, 0),
    E.string(ID.CodecID, CODEC_IDS[spec.codec]),
  ];
  let pixelSizeAt = -1;
  if (spec.kind === 'audio') {
    children.push(
      E.binary(ID.CodecPrivate, opusHead(spec.channels, spec.preSkip)),
      E.uint(ID.CodecDelay, Math.round((spec.preSkip * 1e9) / 48000)),
      E.uint(ID.SeekPreRoll, 80_000_000),
      E.master(ID.Audio, [E.float(ID.SamplingFrequency, 48000), E.uint(ID.Channels, spec.channels)]),
    );
  } else {
    const config = t.config;
    const codecPrivate = videoCodecPrivate(spec.codec, config);
    if (codecPrivate !== undefined) children.push(E.binary(ID.CodecPrivate, codecPrivate));
    const video: Buffer[] = config
      ? [E.uint(ID.PixelWidth, config.width), E.uint(ID.PixelHeight, config.height)]
      : [E.uint(ID.PixelWidth, PLACEHOLDER_WIDTH, 4), E.uint(ID.PixelHeight, PLACEHOLDER_HEIGHT, 4)];
    if (config?.codec === 'vp9') video.push(vp9Colour(config));
    // Rotation as a rectangular projection's roll, counter-clockwise degrees (Matroska's sense);
    // only with a known config, so the placeholder layout patched later stays as it is.
    if (config && t.rotation) {
      const roll = t.rotation > 180 ? 360 - t.rotation : -t.rotation;
      video.push(E.master(ID.Projection, [E.uint(ID.ProjectionType, 0), E.float(ID.ProjectionPoseRoll, roll)]));
    }
    const videoElement = E.master(ID.Video, video);
    if (config === undefined) {
      let before = 0;
      for (const c of children) before += c.length;
      const videoHeaderSize = videoElement.length - 12; // two 6-byte pixel elements
      pixelSizeAt = before + videoHeaderSize + 2; // past PixelWidth's ID and size
    }
    children.push(videoElement);
  }
  const entry = E.master(ID.TrackEntry, children);
  if (pixelSizeAt >= 0) pixelSizeAt += entry.length - children.reduce((n, c) => n + c.length, 0);
  return { entry, pixelSizeAt };
}

function videoCodecPrivate(codec: 'vp8' | 'vp9' | 'av1' | 'h264', config: VideoConfig | undefined): Buffer | undefined {
  switch (codec) {
    case 'h264':
      // AVCDecoderConfigurationRecord: the avcC box without its header. Without a configuration,
      // one with no parameter sets: it still tells the 4-byte NAL lengths; SPS/PPS come in-band.
      return avcC(config?.codec === 'h264' ? config : undefined).subarray(8);
    case 'av1':
      return config?.codec === 'av1' ? av1CodecConfigurationRecord(config) : undefined;
    case 'vp9': {
      if (config?.codec !== 'vp9') return undefined;
      // WebM's VP9 CodecPrivate: ID, length, value triplets for profile, level, bit depth, chroma subsampling.
      const record = vpCodecConfigurationRecord(config);
      return Buffer.from([1, 1, config.profile, 2, 1, record[1]!, 3, 1, config.bitDepth, 4, 1, config.chromaSubsampling]);
    }
    case 'vp8':
      return undefined;
  }
}

/** Colour elements from the VP9 header fields (2 = unspecified code points are left out). */
function vp9Colour(config: Vp9Config): Buffer {
  const c: Buffer[] = [E.uint(ID.BitsPerChannel, config.bitDepth)];
  const sub = config.chromaSubsampling;
  c.push(E.uint(ID.ChromaSubsamplingHorz, sub === 3 ? 0 : 1), E.uint(ID.ChromaSubsamplingVert, sub <= 1 ? 1 : 0));
  if (sub <= 1) {
    // vpcC 0: 4:2:0 with chroma between luma rows (left, half); 1: co-located with the top-left luma sample.
    c.push(E.uint(ID.ChromaSitingHorz, 1), E.uint(ID.ChromaSitingVert, sub === 0 ? 2 : 1));
  }
  c.push(E.uint(ID.Range, config.fullRange ? 2 : 1));
  if (config.matrixCoefficients !== 2) c.push(E.uint(ID.MatrixCoefficients, config.matrixCoefficients));
  if (config.transferCharacteristics !== 2) c.push(E.uint(ID.TransferCharacteristics, config.transferCharacteristics));
  if (config.colourPrimaries !== 2) c.push(E.uint(ID.Primaries, config.colourPrimaries));
  return E.master(ID.Colour, c);
}

function grow(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}
