/**
 * Independent readers used as oracles by the tests: ffmpeg (decode errors), ffprobe (streams,
 * frames, packets) and mp4box (box structure and samples). Never our own parser.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFile } from 'mp4box';

export function tempDir(prefix = 'mp4-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Runs `ffmpeg -v error -i file -enc_time_base -1 -f null -` and returns what it printed (empty
 * when clean). `-enc_time_base -1` keeps the decoded frames in the file's own time base: by
 * default ffmpeg's CLI re-times video to 1/frame-rate, and two frames whose millisecond
 * timestamps sit half a frame off that grid (video starting 16 ms after audio) can round to the
 * same tick, which its null muxer reports as non-monotonic dts although the file's are increasing.
 * Non-monotonic timestamps in the file itself are still reported.
 */
export function ffmpegDecodeErrors(file: string, extraInput: string[] = []): string {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', ...extraInput, '-i', file, '-enc_time_base', '-1', '-f', 'null', '-'], { encoding: 'utf8' });
  return (r.stdout + r.stderr).trim();
}

export interface ProbeStream {
  index: number;
  codec_type: string;
  codec_name: string;
  codec_tag_string?: string;
  width?: number;
  height?: number;
  start_time?: string;
  duration?: string;
  nb_read_frames?: string;
  nb_read_packets?: string;
  sample_rate?: string;
  channels?: number;
}

export function ffprobeStreams(file: string, countFrames = true): { streams: ProbeStream[]; format: { duration?: string } } {
  const args = ['-v', 'error', '-show_streams', '-show_format', '-of', 'json'];
  if (countFrames) args.push('-count_frames');
  return JSON.parse(execFileSync('ffprobe', [...args, file], { encoding: 'utf8' }));
}

export interface ProbeFrame {
  media_type: string;
  stream_index: number;
  width?: number;
  height?: number;
  pts_time?: string;
  pkt_dts_time?: string;
  best_effort_timestamp_time?: string;
  key_frame?: number;
}

/** Decoded frames of one stream (ffprobe -show_frames). */
export function ffprobeFrames(file: string, stream: string): ProbeFrame[] {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', stream, '-show_entries', 'frame=media_type,stream_index,width,height,pts_time,pkt_dts_time,best_effort_timestamp_time,key_frame', '-of', 'json', file],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  return (JSON.parse(out) as { frames: ProbeFrame[] }).frames;
}

export interface ProbePacket {
  stream_index: number;
  pts: number;
  dts: number;
  duration?: number;
  size: string;
  flags: string;
}

export function ffprobePackets(file: string): ProbePacket[] {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'packet=stream_index,pts,dts,duration,size,flags', '-of', 'json', file], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return (JSON.parse(out) as { packets: ProbePacket[] }).packets;
}

export interface ParsedSample {
  dts: number;
  cts: number;
  duration: number;
  size: number;
  is_sync: boolean;
  timescale: number;
}

export interface ParsedTrack {
  id: number;
  codec: string;
  timescale: number;
  nb_samples: number;
  track_width: number;
  track_height: number;
  video?: { width: number; height: number };
  audio?: { sample_rate: number; channel_count: number; sample_size: number };
}

export interface ParsedMp4 {
  info: { isFragmented: boolean; timescale: number; duration: number; tracks: ParsedTrack[] };
  /** mp4box's box tree, loosely typed: moov, moofs, boxes. */
  file: any;
  /** Sample times are media times: a track's samples are presented this much later (empty edits), in its timescale. */
  emptyEdit(trackId: number): number;
  samples(trackId: number): ParsedSample[];
}

/** Parses a whole file with mp4box (the independent reader); throws on a parse error. */
export function parseMp4(data: Buffer): ParsedMp4 {
  const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer & { fileStart: number };
  ab.fileStart = 0;
  const file = createFile();
  let error: unknown;
  let info: ParsedMp4['info'] | undefined;
  file.onError = (module: string, message: string) => {
    error = new Error(`mp4box: ${module}: ${message}`);
  };
  file.onReady = (movie: unknown) => {
    info = movie as ParsedMp4['info'];
  };
  file.appendBuffer(ab as never);
  file.flush();
  if (error) throw error;
  if (!info) throw new Error('mp4box: not ready (no moov?)');
  const f = file as any;
  const trak = (trackId: number): any => f.moov.traks.find((t: any) => t.tkhd.track_id === trackId);
  return {
    info,
    file: f,
    emptyEdit: (trackId: number) => {
      const t = trak(trackId);
      const entries: { segment_duration: number; media_time: number }[] = t?.edts?.elst?.entries ?? [];
      const movieTicks = entries.filter((e) => e.media_time === -1).reduce((sum, e) => sum + e.segment_duration, 0);
      return (movieTicks * t.mdia.mdhd.timescale) / f.moov.mvhd.timescale;
    },
    samples: (trackId: number) => {
      return (trak(trackId)?.samples ?? []) as ParsedSample[];
    },
  };
}

/**
 * mkvinfo (mkvtoolnix) of a Matroska/WebM file with every element (`--all`: cues, seek entries and
 * each SimpleBlock), element positions (`-v -v`: "at N", absolute byte offset) and sizes (`-z`:
 * "size N data size M", or "size is unknown"). Throws when mkvinfo fails.
 */
export function mkvinfo(file: string): string {
  const r = spawnSync('mkvinfo', ['--ui-language', 'en_US', '--all', '-v', '-v', '-z', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`mkvinfo failed (${r.status}): ${r.stdout}${r.stderr}`);
  return r.stdout;
}
