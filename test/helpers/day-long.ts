/**
 * A long recording simulated at speed (issue 10's campaign): the H264+Opus fixture looped into one
 * continuous session of `hours`, fed to the live pipeline (RecordingSession) with time passed in,
 * with what a long session meets: counters starting near the top so they wrap early (sequence
 * numbers then every ~20 minutes, video timestamps every 13.3 hours), audio DTX spans, a recording
 * paused and resumed, and the camera replaced mid-session (new SSRC and new bases). Memory is
 * sampled as it goes; the caller reads the file with independent tools.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { RecordingSession, type RecordingSummary } from '../../src/pipeline/recording-session.js';
import { openFileSink } from '../../src/sink/file.js';
import { streamSpecOf, type Capture } from '../../src/source/capture.js';
import { feedLive, loopCapture, loopSpanMs, type LoopedPacket } from './looped-capture.js';

export interface DayLongOptions {
  capture: Capture;
  /** Simulated length, in hours. */
  hours: number;
  /** Output file (mp4). */
  file: string;
  /** Called about every `sampleEveryMs` of simulated time (and at the end) to sample memory. */
  sampleEveryMs?: number;
  /** Runs before each memory sample (e.g. global.gc). */
  beforeSample?: () => void;
}

export interface MemorySample {
  simulatedHours: number;
  heapUsed: number;
  rss: number;
}

export interface DayLongResult {
  summary: RecordingSummary;
  packets: number;
  loops: number;
  /** Wraps of the sequence numbers and timestamps delivered, per stream kind (each SSRC counted apart). */
  sequenceWraps: Record<'audio' | 'video', number>;
  timestampWraps: Record<'audio' | 'video', number>;
  /** Simulated session length, in s: first to last arrival, with the pause. */
  sessionS: number;
  pausedS: number;
  dtxSpans: number;
  memory: MemorySample[];
}

/** DTX: 5 s of audio silence in one loop out of DTX_EVERY (sequence numbers go on without a gap). */
const DTX_EVERY = 12;
const DTX_FROM_MS = 5000;
const DTX_TO_MS = 10_000;

/** Least-squares slope of `y` over `x`. */
export function slope(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (x[i]! - mx) * (y[i]! - my);
    den += (x[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export async function simulateDay(options: DayLongOptions): Promise<DayLongResult> {
  const { capture } = options;
  const spanMs = loopSpanMs(capture);
  const loops = Math.max(4, Math.round((options.hours * 3_600_000) / spanMs));
  const pauseLoop = Math.floor(loops / 2);
  const ssrcLoop = Math.floor((loops * 3) / 4);
  const kinds = capture.streams.map((s) => s.kind);
  const video = kinds.indexOf('video');
  const sink = await openFileSink(options.file, (e) => {
    throw e;
  });
  const session = new RecordingSession(
    capture.streams.map((s) => ({ spec: streamSpecOf(s), feedback: { requestKeyFrame: () => undefined, sendNack: () => undefined } })),
    'mp4',
    sink,
    { onGap: () => undefined, onKeyframe: () => undefined },
  );
  // Near the top: each stream's sequence numbers wrap after 1000 packets, its timestamps 30 s in
  // (then video's every 13.3 h, audio's every 24.9 h).
  const start = {
    sequenceOffset: capture.streams.map((s) => 0x1_0000 - 1000 - s.packets[0]!.data.readUInt16BE(2)),
    timestampOffset: capture.streams.map((s) => 2 ** 32 - s.clockRate * 30 - s.packets[0]!.data.readUInt32BE(4)),
  };
  const seqShift = kinds.map(() => 0);
  const last = kinds.map(() => ({ seq: -1, ts: -1, ssrc: -1 }));
  const result = { sequenceWraps: { audio: 0, video: 0 }, timestampWraps: { audio: 0, video: 0 }, dtxSpans: 0 };
  let paused = false;
  let pausedMs = 0;
  function* script(): Generator<LoopedPacket> {
    for (const p of loopCapture(capture, loops, start)) {
      const loop = Math.floor(p.timeMs / spanMs);
      const inLoopMs = p.timeMs - loop * spanMs;
      const kind = kinds[p.stream]!;
      // The recording is paused for one loop: the consumers deliver nothing (mediasoup numbers on
      // without a gap on resume); video resumes at the next loop's first frame, a keyframe.
      const dtx = kind === 'audio' && loop % DTX_EVERY === DTX_EVERY / 2 && inLoopMs >= DTX_FROM_MS && inLoopMs < DTX_TO_MS;
      if (loop === pauseLoop || dtx) {
        seqShift[p.stream]!++;
        continue;
      }
      if (seqShift[p.stream]) p.data.writeUInt16BE((p.data.readUInt16BE(2) - seqShift[p.stream]! + 0x1_0000) & 0xffff, 2);
      // The camera is replaced: a new SSRC with new bases, from a loop's first frame (a keyframe).
      if (p.stream === video && loop >= ssrcLoop) {
        p.data.writeUInt32BE(0x0c0ffee0, 8);
        p.data.writeUInt16BE((p.data.readUInt16BE(2) + 12_345) & 0xffff, 2);
        p.data.writeUInt32BE((p.data.readUInt32BE(4) + 1_234_567_890) >>> 0, 4);
      }
      const seq = p.data.readUInt16BE(2);
      const ts = p.data.readUInt32BE(4);
      const ssrc = p.data.readUInt32BE(8);
      const prev = last[p.stream]!;
      if (prev.ssrc === ssrc && seq < prev.seq && prev.seq - seq > 0x8000) result.sequenceWraps[kind]++;
      if (prev.ssrc === ssrc && ts < prev.ts && prev.ts - ts > 2 ** 31) result.timestampWraps[kind]++;
      last[p.stream] = { seq, ts, ssrc };
      yield p;
    }
  }
  const memory: MemorySample[] = [];
  const sampleEveryMs = options.sampleEveryMs ?? 3_600_000;
  let nextSampleMs = 0;
  let packets = 0;
  let firstMs = NaN;
  let lastMs = 0;
  // Fed a loop at a time, letting the file sink write in between (as the event loop would live).
  const all = script();
  let pending: LoopedPacket | undefined;
  for (let loop = 0; loop < loops; loop++) {
    const until = (loop + 1) * spanMs;
    function* oneLoop(): Generator<LoopedPacket> {
      if (pending) yield pending;
      pending = undefined;
      for (let n = all.next(); !n.done; n = all.next()) {
        if (n.value.timeMs >= until) {
          pending = n.value;
          return;
        }
        yield n.value;
      }
    }
    if (loop === pauseLoop) {
      session.pause(loop * spanMs);
      paused = true;
    } else if (paused) {
      session.resume(loop * spanMs);
      pausedMs += spanMs;
      paused = false;
    }
    const fed = feedLive(session, oneLoop());
    if (fed.packets > 0) {
      packets += fed.packets;
      if (firstMs !== firstMs) firstMs = fed.firstMs;
      lastMs = fed.lastMs;
    }
    if (loop % DTX_EVERY === DTX_EVERY / 2 && loop !== pauseLoop) result.dtxSpans++;
    while (sink.bytesWritten - sink.committedBytes > 4 * 2 ** 20 || sink.queuedBytes > 0) await sleep(1);
    if (until >= nextSampleMs || loop === loops - 1) {
      nextSampleMs += sampleEveryMs;
      options.beforeSample?.();
      const m = process.memoryUsage();
      memory.push({ simulatedHours: until / 3_600_000, heapUsed: m.heapUsed, rss: m.rss });
    }
  }
  session.poll(lastMs + 1000);
  const summary = await session.finish();
  return { ...result, summary, packets, loops, sessionS: (lastMs - firstMs) / 1000, pausedS: pausedMs / 1000, memory };
}

interface ProbedPacket {
  type: string;
  pts: number;
  size: number;
  key: boolean;
}

/** Packets of a file between `fromS` and `toS` of presentation time, read by ffprobe. */
function probePackets(file: string, fromS: number, toS: number): ProbedPacket[] {
  const csv = execFileSync('ffprobe', ['-v', 'error', '-read_intervals', `${fromS}%${toS}`, '-show_entries', 'packet=codec_type,pts_time,size,flags', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
  });
  return csv
    .trim()
    .split('\n')
    .map((line) => {
      const [type, pts, size, flags] = line.split(',');
      return { type: type!, pts: Number(pts), size: Number(size), key: flags!.startsWith('K') };
    });
}

/**
 * Audio-to-video offset, in s, at the start of the file and at the last loop start in its last
 * `tailS` seconds, read by ffprobe: the loop's first video frame (a keyframe, known by its size,
 * as every loop is the same fixture) against its first audio frame (known by the sizes of the
 * frames from it on). Equal offsets: audio and video as aligned at the end as at the start.
 */
export function avOffsets(file: string, durationS: number, tailS = 60): { startS: number; endS: number } {
  const head = probePackets(file, 0, 25);
  const video = head.filter((p) => p.type === 'video');
  const audio = head.filter((p) => p.type === 'audio');
  const keySize = video[0]!.size;
  const signature = audio.slice(0, 8).map((p) => p.size);
  const startS = video[0]!.pts - audio[0]!.pts;
  const tail = probePackets(file, Math.max(0, durationS - tailS), durationS + 10);
  const tailVideo = tail.filter((p) => p.type === 'video' && p.key && p.size === keySize);
  const tailAudio = tail.filter((p) => p.type === 'audio');
  const key = tailVideo.at(-1);
  if (!key) throw new Error('no loop start in the tail');
  let best: ProbedPacket | undefined;
  for (let i = 0; i + signature.length <= tailAudio.length; i++) {
    if (!signature.every((size, k) => tailAudio[i + k]!.size === size)) continue;
    if (!best || Math.abs(tailAudio[i]!.pts - key.pts) < Math.abs(best.pts - key.pts)) best = tailAudio[i];
  }
  if (!best) throw new Error('no loop start in the tail audio');
  return { startS, endS: key.pts - best.pts };
}
