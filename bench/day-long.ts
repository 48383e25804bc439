/**
 * A whole day of recording simulated at speed (issue 10's campaign), with its figures: the H264+Opus
 * fixture looped for HOURS (argv[2], default 24) through the live pipeline with time passed in,
 * counters wrapping, DTX spans, a pause and a camera replaced (test/helpers/day-long.ts). Prints
 * the wraps, the heap and RSS slope in kB per simulated hour (after gc, first hour left out as
 * warm-up), the A/V offset at the start and the end, and checks that the file plays: ffmpeg
 * decodes its first and last two minutes without a message. test/day-long.test.ts runs a short
 * version on every test run.
 *   node --expose-gc --import tsx bench/day-long.ts 24
 */
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { avOffsets, simulateDay, slope } from '../test/helpers/day-long.js';
import { ffprobeStreams, tempDir } from '../test/helpers/oracles.js';
import { h264OpusFixture } from '../test/helpers/replay.js';

const hours = Number(process.argv[2] ?? 24);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.warn('run with node --expose-gc for a steady heap figure');
const file = join(tempDir('day-long-bench-'), 'day.mp4');
const started = Date.now();
const r = await simulateDay({ capture: h264OpusFixture().capture, hours, file, sampleEveryMs: 3_600_000 / 4, beforeSample: gc });
const simulatedS = (Date.now() - started) / 1000;
const steady = r.memory.filter((m) => m.simulatedHours >= Math.min(1, hours / 4));
const kbPerHour = (key: 'heapUsed' | 'rss'): number => slope(steady.map((m) => m.simulatedHours), steady.map((m) => m[key])) / 1024;
const durationS = Number(ffprobeStreams(file, false).format.duration);
const decode = (from: string[]): string => {
  const p = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', ...from, '-i', file, '-t', '120', '-enc_time_base', '-1', '-f', 'null', '-'], { encoding: 'utf8' });
  return (p.stdout + p.stderr).trim();
};
const av = avOffsets(file, durationS);
const [video, audio] = ['video', 'audio'].map((k) => r.summary.streams.find((s) => s.kind === k)!);
const figures = {
  simulatedHours: hours,
  wallClockS: Math.round(simulatedS),
  packets: r.packets,
  loops: r.loops,
  sequenceWraps: r.sequenceWraps,
  timestampWraps: r.timestampWraps,
  dtxSpans: r.dtxSpans,
  pausedS: r.pausedS,
  ssrcChanges: video!.ssrcChanges,
  silenceInsertedS: audio!.silenceInsertedMs / 1000,
  fileBytes: statSync(file).size,
  fileS: durationS,
  sessionLessPauseS: r.sessionS - r.pausedS,
  decodeFirst2Min: decode([]) || 'clean',
  decodeLast2Min: decode(['-ss', String(Math.max(0, durationS - 120))]) || 'clean',
  avOffsetStartMs: +(av.startS * 1000).toFixed(1),
  avOffsetEndMs: +(av.endS * 1000).toFixed(1),
  heapSlopeKbPerHour: +kbPerHour('heapUsed').toFixed(1),
  rssSlopeKbPerHour: +kbPerHour('rss').toFixed(1),
  heapMB: r.memory.map((m) => +(m.heapUsed / 2 ** 20).toFixed(1)),
  rssMB: r.memory.map((m) => +(m.rss / 2 ** 20).toFixed(0)),
  drops: Object.fromEntries(['packetsLost', 'packetsTimestampJump', 'packetsSequenceStray', 'packetsStraySsrc', 'packetsLayoutStray', 'timestampRebases', 'trackReanchors', 'framesDroppedOutOfOrder'].map((k) => [k, [video![k as 'packetsLost'], audio![k as 'packetsLost']]])),
};
console.log(JSON.stringify(figures, null, 1));
rmSync(file);
