/** Per-stream start and duration of a media file, per ffprobe's packets (the independent reader). */
import { execFileSync, spawnSync } from 'node:child_process';

export interface StreamTimes {
  /** pts of the stream's first packet, in s. */
  startS: number;
  /** From the first packet's pts to the end of the last packet (pts + duration), in s. */
  durationS: number;
  packets: number;
}

interface Packet {
  stream_index: number;
  pts_time?: string;
  duration_time?: string;
}

/**
 * Audio and video start and duration from ffprobe -show_packets. A packet without a duration
 * (Matroska blocks may carry none) counts as long as the stream's median packet spacing.
 */
export function probeTimes(file: string): Record<'audio' | 'video', StreamTimes> {
  const out = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=index,codec_type:packet=stream_index,pts_time,duration_time', '-of', 'json', file], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    }),
  ) as { streams: { index: number; codec_type: string }[]; packets: Packet[] };
  const times = (kind: 'audio' | 'video'): StreamTimes => {
    const index = out.streams.find((s) => s.codec_type === kind)?.index;
    if (index === undefined) throw new Error(`${file}: no ${kind} stream`);
    const packets = out.packets.filter((p) => p.stream_index === index && p.pts_time !== undefined && p.pts_time !== 'N/A');
    const pts = packets.map((p) => Number(p.pts_time)).sort((a, b) => a - b);
    const gaps = pts.slice(1).map((t, i) => t - pts[i]!).sort((a, b) => a - b);
    const median = gaps[Math.floor(gaps.length / 2)] ?? 0;
    let end = -Infinity;
    for (const p of packets) {
      const duration = p.duration_time !== undefined && p.duration_time !== 'N/A' ? Number(p.duration_time) : median;
      end = Math.max(end, Number(p.pts_time) + duration);
    }
    return { startS: pts[0]!, durationS: end - pts[0]!, packets: packets.length };
  };
  return { audio: times('audio'), video: times('video') };
}

/**
 * `ffmpeg -v error -i file <outputOptions> -f null -`: what it printed (empty when clean). With
 * `-enc_time_base -1` the decoded frames keep the file's own time base instead of 1/frame rate.
 */
export function ffmpegNullDecode(file: string, outputOptions: string[] = []): string {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, ...outputOptions, '-f', 'null', '-'], { encoding: 'utf8' });
  return (r.stdout + r.stderr).trim();
}

/**
 * ffmpeg's CLI muxes decoded video in a 1/frame-rate time base (1/20 s for Chromium's fake camera,
 * whose real rate is ~20.15 fps): two frames 46-50 ms apart can round to the same tick, and the
 * null muxer then complains about non-monotonic dts. That is ffmpeg's rounding, not the file's
 * timestamps (ffmpeg's own `-c copy` remux of such a file prints the same lines); this matches it.
 */
export const FFMPEG_DTS_ROUNDING = /^\[null @ 0x[0-9a-f]+\] Application provided invalid, non monotonically increasing dts to muxer in stream \d+: (\d+) >= \1$/;
