/**
 * Cost per recording at 1, 10, 50 and 200 concurrent recordings, and scale: how many concurrent
 * real-time recordings each approach sustains with every file whole.
 *
 * Recorder-side CPU over the measurement window:
 * - ours over a DirectTransport: the mediasoup-owning Node process (router control + our
 *   recorders) minus its own idle rate measured in the same run just before (streams flowing,
 *   nothing recorded);
 * - ours over UDP: the recorder process (all recordings on one socket);
 * - ffmpeg, GStreamer: the sum of their processes.
 * The mediasoup worker is reported apart, likewise net of its idle rate (which is the producers'
 * receiving); the sender's CPU is reported and never counted.
 * Memory per recording: ffmpeg/GStreamer the RSS (and PSS) of one process; ours the growth of
 * the recording process's RSS over its idle RSS, divided by the recordings (its fixed size is
 * reported apart: the Node process hosting mediasoup exists anyway for DirectTransport), and the
 * growth of its live heap and buffers, which unlike RSS is not swamped by V8's heap sizing when
 * there are few recordings.
 */
import { freemem } from 'node:os';
import type { BenchContext } from './context.js';
import { problemsOf, runChecked } from './context.js';
import { APPROACHES, type Approach } from './protocol.js';
import type { PointResult } from './point.js';
import { median, spread, type Spread } from './stats.js';

export const COUNTS = [1, 10, 50, 200];
/** Distinct live streams at most: enough that keyframes do not all arrive together, few enough that the sender stays cheap. */
const MAX_STREAMS = 10;
/** Start-up and the first keyframe (a GOP is 2 s) before measuring. */
export const SETTLE_MS = 2500;

export interface CostOptions {
  repeats: number;
  counts: number[];
  /** Measurement window per count: longer where few packets flow, shorter where many files must be decoded afterwards. */
  windowMs: (n: number) => number;
}

/**
 * The least video and audio a file must hold: its recording spans the settle time and the window,
 * but video starts at the first keyframe after the consumer resumed (up to a 2 s GOP later, and
 * later still when many recorders start at once), so only the window less a second is certain. A
 * recorder that stalls falls short; one that merely lags loses frames, which the checks catch.
 */
function minSeconds(windowMs: number): number {
  return windowMs / 1000 - 1;
}

export const DEFAULT_WINDOW_MS = (n: number): number => (n <= 1 ? 8000 : n <= 10 ? 6000 : n <= 50 ? 4000 : 3000);

export interface CostPoint {
  approach: Approach;
  n: number;
  repeat: number;
  windowS: number;
  /** CPU s per minute of recorded media, per recording. */
  recorderCpuPerMin: number;
  workerCpuPerMin: number;
  /** CPU of the host process (control only, for all but ours over a DirectTransport), s per minute per recording, net of idle. */
  hostCpuPerMin: number;
  senderCpuPerMin: number;
  /** µs of recorder CPU per RTP packet delivered to the recorders. */
  recorderUsPerPacket: number;
  workerUsPerPacket: number;
  /** Bytes per recording. */
  rssPerRecording: number;
  pssPerRecording: number;
  /** Ours only: growth of live V8 heap + buffers per recording (RSS growth of a Node process is noisy by tens of MB at few recordings). */
  livePerRecording: number;
  /** Size of the recording process before it recorded (ours only: the Node process). */
  fixedRss: number;
  workerRssPerRecording: number;
  loopDelayP99Ms: number;
  startS: number;
  filesOk: number;
  files: number;
  problems: string[];
}

function costPoint(ctx: BenchContext, approach: Approach, n: number, repeat: number, r: PointResult, filesOk: number, problems: string[]): CostPoint {
  const w = r.windowS;
  const perMin = (cpuS: number): number => cpuS / ((n * w) / 60);
  const packets = n * ctx.packetsPerS * w;
  const hostNet = r.host.cpuS - r.idle.hostCpuRate * w;
  // A recorder process that died during the window took its CPU count with it: the others' average stands for it.
  const alive = r.recorders.filter((u) => Number.isFinite(u.cpuS));
  const recorderCpuS =
    approach === 'ours-direct' ? hostNet : approach === 'ours-udp' ? r.udpRecorder!.cpuS : (alive.reduce((sum, u) => sum + u.cpuS, 0) * n) / Math.max(1, alive.length);
  if (alive.length < r.recorders.length) problems.push(`${approach}: ${r.recorders.length - alive.length} of ${r.recorders.length} processes exited during the window`);
  const workerNet = r.worker.cpuS - r.idle.workerCpuRate * w;
  const perProcess = (key: 'rss' | 'pss'): number => alive.reduce((sum, u) => sum + u[key], 0) / Math.max(1, alive.length);
  const memory =
    approach === 'ours-direct'
      ? { rss: (r.host.rss - r.idle.hostRss) / n, pss: (r.host.rss - r.idle.hostRss) / n, live: (r.live.host - r.idle.hostLive) / n, fixed: r.idle.hostRss }
      : approach === 'ours-udp'
        ? { rss: (r.udpRecorder!.rss - r.idle.udpRecorderRss) / n, pss: (r.udpRecorder!.rss - r.idle.udpRecorderRss) / n, live: (r.live.udpRecorder - r.idle.udpRecorderLive) / n, fixed: r.idle.udpRecorderRss }
        : { rss: perProcess('rss'), pss: perProcess('pss'), live: NaN, fixed: 0 };
  return {
    approach,
    n,
    repeat,
    windowS: w,
    recorderCpuPerMin: perMin(recorderCpuS),
    workerCpuPerMin: perMin(workerNet),
    hostCpuPerMin: perMin(approach === 'ours-direct' ? 0 : hostNet),
    senderCpuPerMin: perMin(r.sender.cpuS),
    recorderUsPerPacket: (recorderCpuS / packets) * 1e6,
    workerUsPerPacket: (workerNet / packets) * 1e6,
    rssPerRecording: memory.rss,
    pssPerRecording: memory.pss,
    livePerRecording: memory.live,
    fixedRss: memory.fixed,
    workerRssPerRecording: (r.worker.rss - r.idle.workerRss) / n,
    loopDelayP99Ms: r.loopDelayMs.p99,
    startS: r.startS,
    filesOk,
    files: n,
    problems,
  };
}

export interface CostSummary {
  approach: Approach;
  n: number;
  recorderCpuPerMin: Spread;
  workerCpuPerMin: Spread;
  hostCpuPerMin: Spread;
  recorderUsPerPacket: Spread;
  workerUsPerPacket: Spread;
  rssPerRecording: Spread;
  pssPerRecording: Spread;
  livePerRecording: Spread;
  fixedRss: number;
  filesOk: number;
  files: number;
}

export interface CostResult {
  points: CostPoint[];
  summary: CostSummary[];
  /** ours / baseline of the medians, per count: recorder CPU and memory per recording. */
  ratios: { ours: Approach; baseline: Approach; n: number; cpu: number; rss: number; pss: number }[];
}

export async function costStage(ctx: BenchContext, options: CostOptions): Promise<CostResult> {
  const points: CostPoint[] = [];
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    for (const n of options.counts) {
      // A different order each repeat, so drift in the machine's load does not always favour the same approach.
      const order = APPROACHES.map((_, i) => APPROACHES[(i + repeat + n) % APPROACHES.length]!);
      for (const approach of order) {
        const { result, checks } = await runChecked(
          ctx,
          { config: { streams: Math.min(n, MAX_STREAMS), groups: [{ approach, count: n }] }, settleMs: SETTLE_MS, windowMs: options.windowMs(n) },
          minSeconds(options.windowMs(n)),
        );
        const okFiles = checks.filter((c, i) => c.ok && result.recordings[i]!.ok).length;
        const point = costPoint(ctx, approach, n, repeat, result, okFiles, problemsOf(result, checks));
        points.push(point);
        ctx.log(
          `cost ${approach} x${n} #${repeat + 1}: recorder ${point.recorderCpuPerMin.toFixed(3)} CPU s/min (${point.recorderUsPerPacket.toFixed(1)} µs/packet), ` +
            `worker ${point.workerUsPerPacket.toFixed(1)} µs/packet, ${(point.rssPerRecording / 1e6).toFixed(2)} MB/recording; files ${okFiles}/${n} ok` +
            (point.problems.length ? `; ${point.problems.slice(0, 2).join('; ')}` : ''),
        );
      }
    }
  }
  const summary = summarize(points);
  return { points, summary, ratios: ratios(summary) };
}

function summarize(points: CostPoint[]): CostSummary[] {
  const counts = [...new Set(points.map((p) => p.n))];
  return APPROACHES.flatMap((approach) =>
    counts.flatMap((n) => {
      const ps = points.filter((p) => p.approach === approach && p.n === n);
      if (ps.length === 0) return [];
      const s = (key: keyof CostPoint): Spread => spread(ps.map((p) => p[key] as number));
      return [
        {
          approach,
          n,
          recorderCpuPerMin: s('recorderCpuPerMin'),
          workerCpuPerMin: s('workerCpuPerMin'),
          hostCpuPerMin: s('hostCpuPerMin'),
          recorderUsPerPacket: s('recorderUsPerPacket'),
          workerUsPerPacket: s('workerUsPerPacket'),
          rssPerRecording: s('rssPerRecording'),
          pssPerRecording: s('pssPerRecording'),
          livePerRecording: s('livePerRecording'),
          fixedRss: median(ps.map((p) => p.fixedRss)),
          filesOk: ps.reduce((sum, p) => sum + p.filesOk, 0),
          files: ps.reduce((sum, p) => sum + p.files, 0),
        },
      ];
    }),
  );
}

function ratios(summary: CostSummary[]): CostResult['ratios'] {
  const counts = [...new Set(summary.map((s) => s.n))];
  const find = (a: Approach, n: number): CostSummary | undefined => summary.find((s) => s.approach === a && s.n === n);
  return (['ours-direct', 'ours-udp'] as const).flatMap((ours) =>
    (['ffmpeg', 'gstreamer'] as const).flatMap((baseline) =>
      counts.flatMap((n) => {
        const [o, b] = [find(ours, n), find(baseline, n)];
        if (!o || !b) return [];
        return [
          {
            ours,
            baseline,
            n,
            cpu: o.recorderCpuPerMin.median / b.recorderCpuPerMin.median,
            rss: o.rssPerRecording.median / b.rssPerRecording.median,
            pss: o.pssPerRecording.median / b.pssPerRecording.median,
          },
        ];
      }),
    ),
  );
}

export interface ScaleStep {
  n: number;
  ok: boolean;
  filesOk: number;
  /** CPU of every process (host, worker, sender, recorders) over the window, in cores of this machine. */
  cores: number;
  workerCores: number;
  loopDelayP99Ms: number;
  problems: string[];
}

export interface ScaleResult {
  approach: Approach;
  /** Most concurrent recordings with every file whole (0: not even the first step). */
  max: number;
  steps: ScaleStep[];
  /** Where and why it stopped. */
  stoppedAt: string;
  /** Smaller counts at which the cost stage saw a file not whole in some repeat (not capacity: one-off holes). */
  oneOffFailures: string[];
}

export interface ScaleOptions {
  /** Counts to try upward, when the cost stage passed at every count. */
  counts: number[];
  windowMs: number;
  /** A step whose estimated memory exceeds this share of free memory is not run (the OOM killer would pick its own victims). */
  memoryShare: number;
}

/** The event loop of ours over a DirectTransport is the recorder: this late and it no longer records in real time. */
const MAX_LOOP_DELAY_MS = 500;

export async function scaleStage(ctx: BenchContext, cost: CostResult, options: ScaleOptions): Promise<ScaleResult[]> {
  const results: ScaleResult[] = [];
  for (const approach of APPROACHES) {
    const costs = cost.summary.filter((s) => s.approach === approach);
    // Where to look: above the largest count the cost stage passed in every repeat, below the next one that failed. A
    // failure at a smaller count (a one-off hole) stays in the cost table: it says nothing about capacity.
    let lo = Math.max(0, ...costs.filter((s) => s.filesOk === s.files).map((s) => s.n));
    const firstFailed = costs.filter((s) => s.n > lo && s.filesOk < s.files).sort((a, b) => a.n - b.n)[0];
    let hi: { n: number; why: string } | undefined = firstFailed && {
      n: firstFailed.n,
      why: `${firstFailed.files - firstFailed.filesOk} of ${firstFailed.files} files not whole in the cost stage: ${cost.points.find((p) => p.approach === approach && p.n === firstFailed.n && p.problems.length)?.problems.slice(0, 2).join('; ')}`,
    };
    const steps: ScaleStep[] = [];
    // Memory a count needs: the recording process once (ours) plus the per-recording growth seen at the largest cost count.
    const largest = costs.reduce((a, b) => (b.n > a.n ? b : a));
    const memoryPerRecording = Math.max(largest.rssPerRecording.median, largest.livePerRecording.median || 0, 0);
    /** Runs one count; false when it was not run (memory). */
    const attempt = async (n: number): Promise<boolean> => {
      const needed = largest.fixedRss + n * memoryPerRecording;
      if (needed > freemem() * options.memoryShare) {
        hi = { n, why: `not run: needs about ${(needed / 2 ** 30).toFixed(1)} GiB (${(memoryPerRecording / 1e6).toFixed(1)} MB per recording), ${(freemem() / 2 ** 30).toFixed(1)} GiB free` };
        return false;
      }
      const step = await scaleStep(ctx, approach, n, options.windowMs);
      steps.push(step);
      if (step.ok) lo = n;
      else hi = { n, why: `${step.problems.slice(0, 3).join('; ')}; ${step.cores.toFixed(2)} of 2 cores busy, worker ${step.workerCores.toFixed(2)}` };
      return true;
    };
    if (!hi) for (const n of options.counts.filter((c) => c > lo)) if (!(await attempt(n)) || hi) break;
    // Then halve the interval between the last count that passed and the first that did not, to 25 recordings or 15 %.
    while (hi) {
      const mid = Math.round((lo + hi.n) / 2 / 25) * 25;
      if (mid <= lo || mid >= hi.n || hi.n - lo <= Math.max(25, lo * 0.15)) break;
      if (!(await attempt(mid))) break;
    }
    const oneOffFailures = costs.filter((c) => c.n < lo && c.filesOk < c.files).map((c) => `${c.n}: ${c.files - c.filesOk} of ${c.files} files`);
    results.push({ approach, max: lo, steps, stoppedAt: hi ? `${hi.n}: ${hi.why}` : `not stopped: every count tried up to ${lo} passed`, oneOffFailures });
  }
  return results;
}

async function scaleStep(ctx: BenchContext, approach: Approach, n: number, windowMs: number): Promise<ScaleStep> {
  const { result, checks } = await runChecked(ctx, { config: { streams: Math.min(n, MAX_STREAMS), groups: [{ approach, count: n }] }, settleMs: SETTLE_MS, windowMs }, minSeconds(windowMs));
  const filesOk = checks.filter((c, i) => c.ok && result.recordings[i]!.ok).length;
  const cpu = [result.host, result.worker, result.sender, ...(result.udpRecorder ? [result.udpRecorder] : []), ...result.recorders].reduce((sum, u) => sum + (Number.isFinite(u.cpuS) ? u.cpuS : 0), 0);
  const problems = problemsOf(result, checks);
  const lagging = approach === 'ours-direct' && result.loopDelayMs.p99 > MAX_LOOP_DELAY_MS;
  if (lagging) problems.push(`event loop delay p99 ${result.loopDelayMs.p99.toFixed(0)} ms: not keeping up`);
  const step: ScaleStep = {
    n,
    ok: filesOk === n && result.failed.length === 0 && !lagging,
    filesOk,
    cores: cpu / result.windowS,
    workerCores: result.worker.cpuS / result.windowS,
    loopDelayP99Ms: result.loopDelayMs.p99,
    problems,
  };
  ctx.log(`scale ${approach} x${n}: ${step.ok ? 'ok' : 'FAILED'}, ${filesOk}/${n} files whole, ${step.cores.toFixed(2)} cores busy (worker ${step.workerCores.toFixed(2)})${problems.length ? `; ${problems.slice(0, 3).join('; ')}` : ''}`);
  return step;
}
