/** What every stage shares: the input, a scratch directory, a log, and running one point with its file checks. */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchCapture } from './capture.js';
import { checkFile, mapLimit, uncheckedFile, type FileCheck } from './check.js';
import type { HostConfig } from './protocol.js';
import { runPoint, type PointPlan, type PointResult } from './point.js';

export interface BenchContext {
  capture: BenchCapture;
  /** Scratch directory for recordings (deleted as soon as they are checked). */
  work: string;
  log: (line: string) => void;
  /** RTP packets per second of one recording's streams (video + audio). */
  packetsPerS: number;
}

let points = 0;
const MAX_FAILED_CHECKS = 10;

/** Runs a point in a fresh directory; then checks every file (two decodes at a time: two cores) and deletes them. */
export async function runChecked(
  ctx: BenchContext,
  plan: Omit<PointPlan, 'config'> & { config: Omit<HostConfig, 'dir'> },
  minSeconds: number,
  keepFiles = false,
): Promise<{ result: PointResult; checks: FileCheck[]; dir: string }> {
  const dir = join(ctx.work, `point-${++points}`);
  mkdirSync(dir, { recursive: true });
  const result = await runPoint({ ...plan, config: { ...plan.config, dir } });
  // Once this many files failed the point has failed: decoding hundreds more broken files would only cost time.
  let failures = 0;
  const checks = await mapLimit(result.recordings, 2, async (r) => {
    if (failures >= MAX_FAILED_CHECKS) return uncheckedFile(r.output, `not checked: ${MAX_FAILED_CHECKS} files of this point had already failed`);
    const check = await checkFile(r.output, minSeconds, ctx.capture.frameCrc);
    if (!check.ok || !r.ok) failures++;
    return check;
  });
  // What the first failing ffmpeg or gst-launch said last, for the report's "why".
  const failed = result.recordings.find((r, i) => (!r.ok || !checks[i]!.ok) && existsSync(`${r.output}.log`));
  if (failed) {
    const tail = readFileSync(`${failed.output}.log`, 'utf8').split(/[\r\n]+/).filter((l) => l.trim() && !/^(frame=|size=)/.test(l.trim())).slice(-3);
    checks[result.recordings.indexOf(failed)]!.problems.push(`its log ends: ${tail.join(' | ').slice(0, 160)}`);
  }
  if (!keepFiles) rmSync(dir, { recursive: true, force: true });
  return { result, checks, dir };
}

/** Problems of failed checks (and of recorders that failed to start or stop), alike ones counted once with an example. */
export function problemsOf(result: PointResult, checks: FileCheck[]): string[] {
  const kinds = new Map<string, { example: string; count: number }>();
  const add = (text: string): void => {
    const key = text.replace(/\d+(\.\d+)?/g, 'N');
    const kind = kinds.get(key) ?? { example: text, count: 0 };
    kind.count++;
    kinds.set(key, kind);
  };
  for (const f of result.failed) add(`${f.approach} did not start: ${f.error}`);
  result.recordings.forEach((r, i) => {
    if (!r.ok) add(`${r.approach} stop: ${r.detail}`);
    for (const p of checks[i]?.problems ?? []) add(`${r.approach}: ${p}`);
  });
  return [...kinds.values()].map((k) => (k.count > 1 ? `${k.example} (and ${k.count - 1} alike)` : k.example));
}
