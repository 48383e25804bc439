/**
 * Peak memory of `mediasoup-recorder convert` against capture length (issue 10, defect 5): the
 * H264+Opus fixture repeated into captures of growing size (up to 24 hours, ~4.8 GB of pcap),
 * each converted by the CLI under `/usr/bin/time -v` (peak RSS, CPU, wall time), the output
 * checked by ffprobe (duration, packets) and by ffmpeg decoding its first and last 20 s.
 * Captures and outputs are deleted after each size.
 *
 *   node --import tsx bench/convert-memory.ts [--hours 0.5,2,24] [--dir /tmp]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeLongCapture } from '../test/helpers/long-capture.js';

const FIXTURE = new URL('../fixtures/h264-opus', import.meta.url).pathname;
const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
/** Bytes of pcap per hour of the fixture repeated (measured: 1 lap = 1.13 MB per 20.04 s). */
const BYTES_PER_HOUR = 202.6e6;

interface Row {
  hours: number;
  pcapBytes: number;
  packets: number;
  outputBytes: number;
  peakRssMB: number;
  cpuS: number;
  wallS: number;
  pcapMBps: number;
  probedDurationS: number;
  videoFramesWritten: number;
  decodeErrors: string;
}

function timeValue(report: string, label: string): string {
  const line = report.split('\n').find((l) => l.trim().startsWith(label));
  if (!line) throw new Error(`/usr/bin/time -v printed no "${label}"`);
  return line.slice(line.lastIndexOf(': ') + 2).trim();
}

function wallSeconds(elapsed: string): number {
  return elapsed.split(':').reduce((s, part) => s * 60 + Number(part), 0);
}

function measure(hours: number, dir: string): Row {
  const pcap = join(dir, `capture-${hours}h.pcap`);
  const out = join(dir, `capture-${hours}h.mp4`);
  try {
    const capture = writeLongCapture(FIXTURE, pcap, hours * BYTES_PER_HOUR);
    const r = spawnSync('/usr/bin/time', ['-v', process.execPath, '--import', 'tsx', MAIN, 'convert', pcap, '--sdp', `${FIXTURE}.sdp`, '-o', out, '--json'], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    if (r.status !== 0) throw new Error(`convert failed (${r.status}): ${r.stderr}`);
    const summary = JSON.parse(r.stdout) as { bytes: number; streams: { kind: string; framesWritten: number }[] };
    const cpuS = Number(timeValue(r.stderr, 'User time')) + Number(timeValue(r.stderr, 'System time'));
    const wallS = wallSeconds(timeValue(r.stderr, 'Elapsed (wall clock) time'));
    const probed = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', out], { encoding: 'utf8' })) as {
      format: { duration: string };
    };
    const decode = (position: string[]): string =>
      spawnSync('ffmpeg', ['-nostdin', '-v', 'error', ...position, '-i', out, '-t', '20', '-f', 'null', '-'], { encoding: 'utf8' }).stderr.trim();
    return {
      hours,
      pcapBytes: capture.bytes,
      packets: capture.packets,
      outputBytes: summary.bytes,
      peakRssMB: Number(timeValue(r.stderr, 'Maximum resident set size')) / 1024,
      cpuS,
      wallS,
      pcapMBps: capture.bytes / 1e6 / wallS,
      probedDurationS: Number(probed.format.duration),
      videoFramesWritten: summary.streams.find((s) => s.kind === 'video')!.framesWritten,
      decodeErrors: decode([]) + decode(['-sseof', '-20']),
    };
  } finally {
    rmSync(pcap, { force: true });
    rmSync(out, { force: true });
  }
}

const { values } = parseArgs({ options: { hours: { type: 'string', default: '0.5,2,24' }, dir: { type: 'string', default: tmpdir() } } });
const dir = mkdtempSync(join(values.dir, 'convert-memory-'));
const rows: Row[] = [];
try {
  for (const hours of values.hours.split(',').map(Number)) {
    const row = measure(hours, dir);
    rows.push(row);
    process.stderr.write(
      `${hours} h: ${(row.pcapBytes / 1e9).toFixed(2)} GB pcap, ${row.packets} packets -> ${(row.outputBytes / 1e9).toFixed(2)} GB mp4 ` +
        `(${row.probedDurationS.toFixed(0)} s), peak RSS ${row.peakRssMB.toFixed(0)} MB, ${row.cpuS.toFixed(1)} s CPU, ${row.wallS.toFixed(1)} s wall ` +
        `(${row.pcapMBps.toFixed(0)} MB/s), decode errors: ${row.decodeErrors === '' ? 'none' : row.decodeErrors}\n`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
