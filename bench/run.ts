/**
 * Ours against ffmpeg and GStreamer recordings of the same streams, side by side in one run on this
 * machine; the method is in the report it writes.
 *
 *   npm run bench         every stage (~45 min on 2 quiet cores): bench/results/<date>.json, report.md, cost.svg, quality.svg
 *   npm run bench:smoke   one recording per approach, 10 s of media, every file checked; exit 1 if one is not whole (CI)
 *   npm run bench -- --stages=cost,offline --repeats=1 --counts=1,10    a part (stages: cost scale quality pause offline profile)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureCapture, LAP_MS } from './capture.js';
import { problemsOf, runChecked, type BenchContext } from './context.js';
import { COUNTS, costStage, DEFAULT_WINDOW_MS, scaleStage, SETTLE_MS } from './cost.js';
import { offlineStage } from './offline.js';
import { runPoint } from './point.js';
import { summarizeProfile } from './profile.js';
import { APPROACHES } from './protocol.js';
import { pauseStage, qualityStage } from './quality.js';
import { costChart, qualityChart, report, type BenchResults } from './report.js';

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    stages: { type: 'string', default: 'cost,scale,quality,pause,offline,profile' },
    repeats: { type: 'string', default: '3' },
    counts: { type: 'string', default: COUNTS.join(',') },
  },
});
/** Tried upward from the largest count the cost stage passed, until the first failure. */
const SCALE_COUNTS = [250, 300, 400, 500, 650, 800, 1000];
const SCALE_WINDOW_MS = 3000;
const started = Date.now();
const log = (line: string): void => void process.stdout.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const capture = ensureCapture(log);
const work = mkdtempSync(join(tmpdir(), 'mediasoup-recorder-bench-'));
const lapBytes = (packets: { data: Buffer }[]): number => packets.reduce((sum, p) => sum + p.data.length, 0);
const ctx: BenchContext = { capture, work, log, packetsPerS: ((capture.video.packets.length + capture.audio.packets.length) * 1000) / LAP_MS };

// Interrupted: the scratch recordings go too (the host processes stop theirs when the IPC channel closes).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
}
try {
  if (args.smoke) await smoke();
  else await full();
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** One recording per approach at once, 10 s: every file must be whole. */
async function smoke(): Promise<void> {
  const { result, checks } = await runChecked(ctx, { config: { streams: 1, groups: APPROACHES.map((approach) => ({ approach, count: 1 })) }, settleMs: 3000, windowMs: 7000 }, 6);
  result.recordings.forEach((r, i) => {
    const c = checks[i]!;
    log(`${r.approach.padEnd(12)} ${c.ok && r.ok ? 'ok  ' : 'FAIL'} ${c.pictures} pictures (${c.intact} intact, ${c.skipped} missing), audio ${c.audioS.toFixed(1)} s, ${c.decodeErrors.length} decode errors${c.problems.length ? `: ${c.problems.join('; ')}` : ''}`);
  });
  const problems = problemsOf(result, checks);
  if (problems.length > 0 || result.recordings.length !== APPROACHES.length) {
    log(`smoke FAILED: ${problems.join('; ') || 'a recorder did not start'}`);
    process.exitCode = 1;
  } else log('smoke ok');
}

function version(command: string, args: string[], pattern: RegExp): string {
  try {
    return pattern.exec(execFileSync(command, args, { encoding: 'utf8' }))?.[0] ?? '?';
  } catch {
    return '?';
  }
}

async function full(): Promise<void> {
  const stages = new Set(args.stages!.split(','));
  const repeats = Number(args.repeats);
  const counts = args.counts!.split(',').map(Number);
  const date = new Date().toISOString();
  const results: BenchResults = {
    date,
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: totalmem() / 2 ** 30,
      node: process.version,
      mediasoup: (JSON.parse(readFileSync(new URL('../node_modules/mediasoup/package.json', import.meta.url), 'utf8')) as { version: string }).version,
      ffmpeg: version('ffmpeg', ['-version'], /ffmpeg version \S+/),
      gstreamer: version('gst-launch-1.0', ['--version'], /\d+\.\d+\.\d+/),
      loadBefore: loadavg(),
    },
    input: {
      description: '20 s loop of 1280x720 30 fps H264 (constrained baseline, keyframe every 2 s, SPS/PPS with every IDR) + Opus 48 kHz stereo 20 ms (bench/capture.ts)',
      packetsPerS: ctx.packetsPerS,
      videoMbps: (lapBytes(capture.video.packets) * 8) / (LAP_MS / 1000) / 1e6,
      audioKbps: (lapBytes(capture.audio.packets) * 8) / (LAP_MS / 1000) / 1e3,
    },
    settings: {
      repeats,
      counts,
      settleS: SETTLE_MS / 1000,
      windowS: Object.fromEntries(counts.map((n) => [n, DEFAULT_WINDOW_MS(n) / 1000])),
      scaleCounts: SCALE_COUNTS,
      scaleWindowS: SCALE_WINDOW_MS / 1000,
    },
  };
  const dir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  if (stages.has('cost') || stages.has('scale')) results.cost = await costStage(ctx, { repeats, counts, windowMs: DEFAULT_WINDOW_MS });
  if (stages.has('scale')) {
    results.scale = await scaleStage(ctx, results.cost!, { counts: SCALE_COUNTS, windowMs: SCALE_WINDOW_MS, memoryShare: 0.7 });
  }
  if (stages.has('quality')) results.quality = await qualityStage(ctx, { repeats, windowMs: 10_000 });
  if (stages.has('pause')) results.pause = await pauseStage(ctx, { repeats, beforeMs: 6000, pauseMs: 30_000, afterMs: 8000 });
  const offlineProfile = join(work, 'offline.cpuprofile');
  if (stages.has('offline')) results.offline = await offlineStage(ctx, repeats, stages.has('profile') ? offlineProfile : undefined);
  if (stages.has('profile')) {
    const n = 50;
    const live = join(work, 'live.cpuprofile');
    await runPoint({ config: { streams: 10, dir: join(work, 'profile'), groups: [{ approach: 'ours-direct', count: n }] }, settleMs: SETTLE_MS, windowMs: 6000, cpuProfile: live });
    results.profiles = { live: summarizeProfile(live), liveOf: `${n} recordings`, ...(results.offline ? { offline: summarizeProfile(offlineProfile) } : {}) };
  }
  results.machine.loadAfter = loadavg();

  const charts: { cost?: string; quality?: string } = {};
  if (results.cost) writeFileSync(join(dir, (charts.cost = 'cost.svg')), costChart(results.cost));
  if (results.quality) writeFileSync(join(dir, (charts.quality = 'quality.svg')), qualityChart(results.quality));
  writeFileSync(join(dir, `${date.slice(0, 10)}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, 'report.md'), report(results, charts));
  log(`done in ${((Date.now() - started) / 60_000).toFixed(1)} min: bench/results/report.md, ${date.slice(0, 10)}.json${charts.cost ? ', cost.svg' : ''}${charts.quality ? ', quality.svg' : ''}`);
}
