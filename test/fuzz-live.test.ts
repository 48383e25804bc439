/**
 * Seeded fuzzer over the live pipeline (issue 10's campaign): the fixtures' H264, VP8, VP9 and AV1
 * streams with Opus, looped into sessions and fed with time passed in as the live recorder feeds
 * them, with a share of packets given malformed headers (every field, every length, strays of
 * sequence number, timestamp and SSRC, junk datagrams; see helpers/header-fuzzer.ts), in place of
 * the real packet or on top of it. Nothing may throw, memory stays bounded, every file decodes with
 * `ffmpeg -v error` silent and none is longer than its session.
 *
 * Size: FUZZ_PACKETS packets in all (default 40,000, which still uses every mutation on every
 * codec). The campaign's figure, 10^6 packets, with its figures printed:
 *   FUZZ_PACKETS=1000000 npx vitest run --config test/vitest.config.ts test/fuzz-live.test.ts
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecordingSession } from '../src/pipeline/recording-session.js';
import { openFileSink } from '../src/sink/file.js';
import { streamSpecOf } from '../src/source/capture.js';
import { MUTATIONS, mutate, type Mutation } from './helpers/header-fuzzer.js';
import { feedLive, loopCapture, loopSpanMs, type LoopedPacket } from './helpers/looped-capture.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { rng } from './helpers/random.js';
import { videoOpusFixture } from './helpers/replay.js';

const TOTAL = Number(process.env.FUZZ_PACKETS ?? 40_000);
const CODECS = [
  { codec: 'h264', container: 'mp4' },
  { codec: 'vp8', container: 'webm' },
  { codec: 'vp9', container: 'webm' },
  { codec: 'av1', container: 'mp4' },
] as const;
/** Share of packets mutated, by session in turn. */
const RATES = [0.2, 0.05, 0.01];
/** Fixture loops per session (a session of ~200 s); fewer for small runs, so each codec gets sessions. */
const LOOPS = TOTAL >= 400_000 ? 10 : 1;
const LATENCY_MS = 300;
const dir = tempDir('fuzz-live-');

interface SessionFigures {
  n: number;
  codec: string;
  rate: number;
  packets: number;
  mutated: number;
  sessionS: number;
  fileS: number;
  decodeErrors: string;
}

describe('seeded header fuzzer over the live pipeline', () => {
  it(`${TOTAL} packets into H264, VP8, VP9, AV1 and Opus: no exception, bounded memory, every file decodes clean and is no longer than its session`, async () => {
    const captures = CODECS.map(({ codec }) => videoOpusFixture(codec).capture);
    const byKind = new Map<Mutation, number>(MUTATIONS.map((m) => [m, 0]));
    const sessions: SessionFigures[] = [];
    let fed = 0;
    let maxRss = 0;
    let maxHeap = 0;
    for (let n = 0; fed < TOTAL; n++) {
      const c = n % CODECS.length;
      const { codec, container } = CODECS[c]!;
      const capture = captures[c]!;
      const rate = RATES[Math.floor(n / CODECS.length) % RATES.length]!;
      const random = rng(0xf022 + n);
      const file = join(dir, `${n}-${codec}.${container}`);
      const session = new RecordingSession(
        capture.streams.map((s) => ({ spec: streamSpecOf(s), feedback: { requestKeyFrame: () => undefined, sendNack: () => undefined } })),
        container,
        await openFileSink(file, (e) => expect.fail(e.message)),
        { onGap: () => undefined, onKeyframe: () => undefined },
        { latencyMs: LATENCY_MS },
      );
      let mutated = 0;
      function* fuzzed(): Generator<LoopedPacket> {
        for (const p of loopCapture(capture, LOOPS, { sequenceOffset: Math.floor(random() * 65536), timestampOffset: Math.floor(random() * 2 ** 32) })) {
          if (random() >= rate) {
            yield p;
            continue;
          }
          const kind = MUTATIONS[Math.floor(random() * MUTATIONS.length)]!;
          byKind.set(kind, byKind.get(kind)! + 1);
          mutated++;
          const bad = { ...p, data: mutate(p.data, kind, random, capture.streams[p.stream]!.clockRate) };
          // In place of the real packet, or on top of it (junk always on top).
          if (kind !== 'junk' && random() < 0.5) yield bad;
          else {
            yield p;
            yield bad;
          }
        }
      }
      const sampleMemory = (): void => {
        const m = process.memoryUsage();
        maxRss = Math.max(maxRss, m.rss);
        maxHeap = Math.max(maxHeap, m.heapUsed);
      };
      const result = feedLive(session, fuzzed(), (_p, k) => {
        if (k % 1000 === 0) sampleMemory();
      });
      sampleMemory();
      session.poll(result.lastMs + LATENCY_MS);
      await session.finish();
      fed += result.packets;
      const probe = ffprobeStreams(file, false);
      const fileS = Math.max(...probe.streams.map((s) => Number(s.start_time ?? 0) + Number(s.duration ?? 0)), Number(probe.format.duration ?? 0));
      sessions.push({ n, codec, rate, packets: result.packets, mutated, sessionS: (result.lastMs - result.firstMs + LATENCY_MS) / 1000, fileS, decodeErrors: ffmpegDecodeErrors(file).slice(0, 300) });
      if (process.env.FUZZ_KEEP === undefined) rmSync(file);
      else console.log(file, sessions.at(-1)!.decodeErrors.slice(0, 300));
    }
    const mutatedTotal = sessions.reduce((a, s) => a + s.mutated, 0);
    console.log(
      `fuzz: ${fed} packets in ${sessions.length} sessions (${LOOPS} x ${(loopSpanMs(captures[0]!) / 1000).toFixed(1)} s each), ${mutatedTotal} malformed ` +
        `(${[...byKind].map(([k, v]) => `${k} ${v}`).join(', ')}); exceptions 0; outputs decoded clean ${sessions.filter((s) => s.decodeErrors === '').length}/${sessions.length}; ` +
        `max file - session ${Math.max(...sessions.map((s) => s.fileS - s.sessionS)).toFixed(3)} s; max RSS ${(maxRss / 2 ** 20).toFixed(0)} MB, max heap ${(maxHeap / 2 ** 20).toFixed(0)} MB`,
    );
    expect(fed).toBeGreaterThanOrEqual(TOTAL);
    for (const m of MUTATIONS) expect(byKind.get(m), m).toBeGreaterThan(0);
    // Every failing session at once, to read them all from one run.
    expect(sessions.filter((s) => s.decodeErrors !== '' || !(s.fileS <= s.sessionS) || !(s.fileS > s.sessionS * 0.9))).toEqual([]);
    expect(new Set(sessions.map((s) => s.codec)).size).toBe(CODECS.length);
    // Bounded memory: a session holds its jitter buffers and one fragment, whatever it is fed.
    expect(maxHeap).toBeGreaterThan(0);
    expect(maxHeap).toBeLessThan(400 * 2 ** 20);
  }, Math.max(120_000, TOTAL * 2));
});
