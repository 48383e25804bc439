/**
 * A disk that fills up while recording, for every container, at seeded random points, through a
 * real mediasoup 3.8.4 worker in a child process and real kernel errors:
 * - ENOSPC: the child writes into a tmpfs of a seeded size, mounted in its own user and mount
 *   namespace (`unshare`), and copies the file out once the recorder has finished with it;
 * - EFBIG: the child may write files of at most a seeded size (`prlimit --fsize`, RLIMIT_FSIZE).
 * Each time: one `error` event naming the error, the recording goes on to its end and stop()
 * resolves (nothing thrown, exit 0), the summary carries the error, and the file is cut back to
 * its last whole unit: ffmpeg decodes it silently, every packet decodes, top-level MP4 boxes and
 * Ogg pages end exactly at the end of the file. An output that cannot be opened at all (missing
 * directory, a file for a directory, a directory, a read-only file system) fails start() with the
 * reason and leaves no file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { OutputOpenError, Recorder, type RecorderSummary } from '../src/index.js';
import type { ChildOptions } from './helpers/record-child.js';
import { ffmpegDecodeErrors, ffprobeStreams, parseMp4, tempDir } from './helpers/oracles.js';
import { rng } from './helpers/random.js';
import { h264OpusFixture, replayRig } from './helpers/replay.js';
import { mp4BoxesTile, oggPagesTile } from './helpers/unit-ends.js';

const CHILD = new URL('./helpers/record-child.ts', import.meta.url).pathname;
const SPEED = 8;
type Container = 'mp4' | 'webm' | 'mkv' | 'ogg';
/** The child's recording of each container, and about how large the whole 20 s file gets (bytes). */
const CONTAINERS: Record<Container, { child: ChildOptions; fullBytes: number }> = {
  mp4: { child: { fixture: 'h264' }, fullBytes: 990_000 },
  webm: { child: { fixture: 'vp8' }, fullBytes: 1_300_000 },
  mkv: { child: { fixture: 'h264' }, fullBytes: 1_000_000 },
  ogg: { child: { fixture: 'h264', kind: 'audio' }, fullBytes: 165_000 },
};
const POINTS_PER_ERROR = 2;

interface Run {
  container: Container;
  code: 'ENOSPC' | 'EFBIG';
  limitBytes: number;
  file: string;
  status: number | null;
  stderr: string;
  summary: RecorderSummary | undefined;
}

function childArgs(output: string, container: Container): string[] {
  return [process.execPath, '--import', 'tsx', CHILD, output, String(SPEED), JSON.stringify(CONTAINERS[container].child)];
}

/** Runs the recording child with its output limited to `limitBytes`, by a small tmpfs (ENOSPC) or RLIMIT_FSIZE (EFBIG). */
async function recordOnFullDisk(container: Container, code: Run['code'], limitBytes: number, dir: string): Promise<Run> {
  const file = join(dir, `${code}-${limitBytes}.${container}`);
  let command: string[];
  if (code === 'EFBIG') {
    command = ['prlimit', `--fsize=${limitBytes}`, ...childArgs(file, container)];
  } else {
    const mount = join(dir, `mnt-${container}-${limitBytes}`);
    mkdirSync(mount);
    const inside = join(mount, `out.${container}`);
    // The tmpfs lives as long as the namespace, i.e. the shell: the file is copied out after the child.
    const script = 'out="$0"; dest="$3"; mount -t tmpfs -o size="$1" tmpfs "$2" && shift 4 && "$@"; rc=$?; cp "$out" "$dest" 2>/dev/null; exit $rc';
    command = ['unshare', '--user', '--map-root-user', '--mount', 'sh', '-c', script, inside, `${limitBytes}`, mount, file, 'x', ...childArgs(inside, container)];
  }
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let [stdout, stderr] = ['', ''];
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [status] = (await once(child, 'exit')) as [number | null];
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return { container, code, limitBytes, file, status, stderr, summary: last.startsWith('{') ? (JSON.parse(last) as RecorderSummary) : undefined };
}

/** Seeded limits between 3 % and 90 % of the whole file; tmpfs sizes in whole 4 KiB pages. */
function limits(container: Container, code: Run['code']): number[] {
  const random = rng((code === 'ENOSPC' ? 0x5e00 : 0xfb00) + Object.keys(CONTAINERS).indexOf(container));
  return Array.from({ length: POINTS_PER_ERROR }, () => {
    const bytes = Math.round(CONTAINERS[container].fullBytes * (0.03 + random() * 0.87));
    return code === 'ENOSPC' ? Math.ceil(bytes / 4096) * 4096 : bytes;
  });
}

function checkCutBack(run: Run): void {
  const label = `${run.container} ${run.code} at ${run.limitBytes} bytes`;
  expect(run.status, `${label}: ${run.stderr}`).toBe(0);
  const errors = run.stderr.split('\n').filter((l) => l.startsWith('recorder error'));
  expect(errors, label).toHaveLength(1);
  expect(errors[0], label).toMatch(new RegExp(`^recorder error: output failed, recording stops writing: ${run.code}`));
  expect(run.summary?.outputError, label).toMatch(new RegExp(run.code));
  expect(run.summary?.endReason, label).toBe('stopped');
  const data = readFileSync(run.file);
  expect(data.length, label).toBeLessThanOrEqual(run.limitBytes);
  expect(data.length, label).toBeLessThan(run.summary!.bytes); // the unit that failed is not in the file
  expect(ffmpegDecodeErrors(run.file), label).toBe('');
  const streams = ffprobeStreams(run.file).streams;
  expect(streams.length, label).toBeGreaterThan(0);
  for (const s of streams) expect(Number(s.nb_read_frames), `${label}: ${s.codec_type} frames`).toBeGreaterThan(0);
  if (run.container === 'mp4') {
    expect(mp4BoxesTile(data), `${label}: top-level boxes end at the end of the file`).toBe(true);
    const mp4 = parseMp4(data);
    for (const t of mp4.info.tracks) {
      const probed = streams.find((s) => s.codec_type === (t.video ? 'video' : 'audio'))!;
      expect(mp4.samples(t.id).length, label).toBe(Number(probed.nb_read_frames));
    }
  }
  if (run.container === 'ogg') expect(oggPagesTile(data), `${label}: Ogg pages end at the end of the file`).toBe(true);
}

describe('full disk (ENOSPC, EFBIG) at seeded random points, every container', () => {
  const cases = (Object.keys(CONTAINERS) as Container[]).flatMap((container) => (['ENOSPC', 'EFBIG'] as const).map((code) => [container, code] as const));
  const runs: Run[] = [];
  beforeAll(async () => {
    const dir = tempDir('disk-full-');
    const jobs = cases.flatMap(([container, code]) => limits(container, code).map((limit) => () => recordOnFullDisk(container, code, limit, dir)));
    // Two children at a time: two cores.
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < jobs.length) runs.push(await jobs[next++]!());
    };
    await Promise.all([lane(), lane()]);
    const sizes = runs.map(({ container, code, limitBytes, file, summary }) => ({ container, code, limitBytes, size: existsSync(file) ? statSync(file).size : undefined, handedOut: summary?.bytes }));
    writeFileSync(join(dir, 'runs.json'), JSON.stringify(sizes, null, 1));
    console.info(`disk-full campaign: ${JSON.stringify(sizes)}`);
  }, 300_000);

  it.each(cases)('%s, %s: error event, file cut back to its last whole unit, nothing thrown', (container, code) => {
    const mine = runs.filter((r) => r.container === container && r.code === code);
    expect(mine).toHaveLength(POINTS_PER_ERROR);
    for (const run of mine) checkCutBack(run);
  });
});

describe('an output that cannot be opened', () => {
  it('fails start() with the reason for a missing directory, a file as directory and a directory, for every container; no file left', async () => {
    const rig = await replayRig(h264OpusFixture().capture);
    try {
      const dir = tempDir('unwritable-');
      writeFileSync(join(dir, 'a-file'), '');
      mkdirSync(join(dir, 'a-dir.mp4'));
      for (const ext of ['mp4', 'webm', 'mkv', 'ogg']) {
        const producers = ext === 'webm' || ext === 'ogg' ? rig.replayer.producers.filter((p) => p.kind === 'audio') : rig.replayer.producers;
        for (const [output, reason] of [
          [join(dir, 'missing', `out.${ext}`), 'ENOENT'],
          [join(dir, 'a-file', `out.${ext}`), 'ENOTDIR'],
          [join(dir, 'a-dir.mp4'), 'EISDIR'],
        ] as const) {
          const recorder = new Recorder({ router: rig.router, producers, output, format: ext as Container });
          const failed = await recorder.start().then(
            () => undefined,
            (error: Error) => error,
          );
          expect(failed, `${output}`).toBeInstanceOf(Error);
          expect(failed!.message).toBe(`cannot open output file ${output} for writing: ${reason}`);
          expect((failed as Error & { cause?: unknown }).cause).toBeInstanceOf(OutputOpenError);
          if (reason !== 'EISDIR') expect(existsSync(output)).toBe(false);
        }
      }
    } finally {
      rig.close();
    }
  });

  it('fails start() on a read-only file system (EROFS), in a child with its own mount namespace', () => {
    const dir = tempDir('read-only-');
    const mount = join(dir, 'mnt');
    mkdirSync(mount);
    const output = join(mount, 'out.mp4');
    const child = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs "$0" && "$@"', mount, ...childArgs(output, 'mp4')], {
      encoding: 'utf8',
    });
    expect(child.status).not.toBe(0);
    expect(child.stdout).not.toContain('recording');
    expect(child.stderr).toContain(`cannot open output file ${output} for writing: EROFS`);
  });
});
