import type { StreamSpec } from '../pipeline/stream-spec.js';
import type { Container } from './container.js';
import { Mp4Fragmenter } from './mp4/fragmenter.js';
import type { Mp4Sample, Mp4TrackSpec } from './mp4/track.js';
import { OggOpusWriter } from './ogg.js';
import { SettlingMuxer, type SettlingTimeline } from './settling-muxer.js';
import { MatroskaWriter, type MatroskaTrackSpec } from './webm/writer.js';

/** Bytes to write over a finished file at `offset` (durations, sizes, seek entries known only at the end). */
export interface FilePatch {
  offset: number;
  data: Buffer;
}

/**
 * A container writer, whatever the container: samples in, units (init segment, fragments,
 * clusters, pages) out through the `write` callback it was made with, each unit a list of Buffers
 * to write together.
 */
export interface Muxer {
  /** One frame of track `trackIndex` (the stream's index), dts in the track's timescale from the recording start. */
  addSample(trackIndex: number, sample: Mp4Sample): void;
  /** Writes what is held and the container's tail; returns patches for an output that can seek back (a file). */
  finish(): FilePatch[];
  /** Units written so far (init segment excluded): fragments, clusters or pages. */
  readonly unitsWritten: number;
}

/** Writer options common to the containers. */
export interface MuxerOptions {
  /** Target length of one fragment or cluster, in ms of media. Default 1000. */
  fragmentDurationMs?: number;
  /** The recording's timeline, when the tracks' start may still move: samples wait until it settles (SettlingMuxer). */
  timeline?: SettlingTimeline;
}

/** The writer for `container`, one track per stream, in the streams' order. */
export function createMuxer(container: Container, streams: readonly StreamSpec[], write: (unit: Buffer[]) => void, options: MuxerOptions = {}): Muxer {
  const muxer = containerMuxer(container, streams, write, options);
  const tracks = streams.map((spec) => ({ key: spec, timescale: spec.clockRate }));
  return options.timeline ? new SettlingMuxer(muxer, options.timeline, tracks, options.fragmentDurationMs ?? 1000) : muxer;
}

function containerMuxer(container: Container, streams: readonly StreamSpec[], write: (unit: Buffer[]) => void, options: MuxerOptions): Muxer {
  switch (container) {
    case 'mp4':
      return new Mp4Muxer(streams.map(mp4Track), write, options);
    case 'ogg':
      return new TailMuxer(new OggOpusWriter({ tracks: streams.map(audioTrack), write, pageDurationMs: options.fragmentDurationMs }), write, (w) => w.stats.pagesWritten);
    default: {
      const tracks = streams.map((spec): MatroskaTrackSpec => (spec.codec === 'opus' ? audioTrack(spec) : { kind: 'video', codec: spec.codec, timescale: spec.clockRate }));
      const writer = new MatroskaWriter({ tracks, doctype: container === 'webm' ? 'webm' : 'matroska', write, flushIntervalMs: options.fragmentDurationMs });
      return new TailMuxer(writer, write, (w) => w.stats.clustersWritten);
    }
  }
}

/** A writer that hands back its last unit and patches at finish() (Matroska, Ogg). */
interface TailWriter {
  addSample(trackIndex: number, sample: Mp4Sample): void;
  finish(): { tail: Buffer[]; patches: FilePatch[] };
}

class TailMuxer<W extends TailWriter> implements Muxer {
  constructor(
    private readonly writer: W,
    private readonly write: (unit: Buffer[]) => void,
    private readonly units: (writer: W) => number,
  ) {}

  addSample(trackIndex: number, sample: Mp4Sample): void {
    this.writer.addSample(trackIndex, sample);
  }

  finish(): FilePatch[] {
    const { tail, patches } = this.writer.finish();
    if (tail.length > 0) this.write(tail);
    return patches;
  }

  get unitsWritten(): number {
    return this.units(this.writer);
  }
}

class Mp4Muxer implements Muxer {
  private readonly fragmenter: Mp4Fragmenter;

  constructor(tracks: Mp4TrackSpec[], write: (unit: Buffer[]) => void, options: MuxerOptions) {
    this.fragmenter = new Mp4Fragmenter({ tracks, write, fragmentDurationMs: options.fragmentDurationMs });
  }

  addSample(trackIndex: number, sample: Mp4Sample): void {
    this.fragmenter.addSample(trackIndex, sample);
  }

  finish(): FilePatch[] {
    this.fragmenter.finish();
    return this.fragmenter.durationPatches();
  }

  get unitsWritten(): number {
    return this.fragmenter.stats.fragmentsWritten;
  }
}

/**
 * libopus's decoder delay in 48 kHz samples (6.5 ms: 2.5 ms look-ahead plus 4 ms delay compensation),
 * libopus's OPUS_GET_LOOKAHEAD for the VoIP and audio applications WebRTC uses. RTP
 * does not carry it, so it is declared for every Opus stream.
 */
export const OPUS_PRE_SKIP = 312;

/**
 * Opus as every container declares it: pre-skip OPUS_PRE_SKIP (RFC 7845), so that the decoder's
 * first OPUS_PRE_SKIP output samples are dropped and the sample captured at a packet's RTP time
 * plays at that packet's dts, the timeline's zero unmoved (each container applies it, see
 * the writers: Matroska CodecDelay, MP4 edit list media time, Ogg granule positions).
 */
function audioTrack(spec: StreamSpec): { kind: 'audio'; codec: 'opus'; timescale: number; channels: number; preSkip: number } {
  return { kind: 'audio', codec: 'opus', timescale: 48000, channels: spec.channels ?? 2, preSkip: OPUS_PRE_SKIP };
}

function mp4Track(spec: StreamSpec): Mp4TrackSpec {
  if (spec.codec === 'opus') return audioTrack(spec);
  if (spec.codec === 'vp8') throw new Error('VP8 cannot go into MP4 (checked before recording starts)');
  return { kind: 'video', codec: spec.codec, timescale: spec.clockRate };
}
