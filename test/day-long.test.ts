/**
 * A long recording simulated at speed (issue 10's campaign), small enough for every run: DAY_HOURS
 * of the H264+Opus fixture looped (default 0.2 h) through the live pipeline with time passed in,
 * counters wrapping, DTX, a pause and a camera replaced (helpers/day-long.ts). The whole day, with
 * its figures (memory slope in kB/hour, A/V offset at start and end), is bench/day-long.ts:
 *   node --expose-gc --import tsx bench/day-long.ts 24
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { avOffsets, simulateDay } from './helpers/day-long.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { h264OpusFixture } from './helpers/replay.js';

const HOURS = Number(process.env.DAY_HOURS ?? 0.2);

describe('a long recording simulated at speed', () => {
  it(`${HOURS} h: counters wrap, DTX, a pause and a new SSRC; memory bounded, the file plays, A/V aligned at the end as at the start`, async () => {
    const file = join(tempDir('day-long-'), 'day.mp4');
    const r = await simulateDay({ capture: h264OpusFixture().capture, hours: HOURS, file, sampleEveryMs: 60_000 });
    const [video, audio] = ['video', 'audio'].map((k) => r.summary.streams.find((s) => s.kind === k)!);
    expect(r.sequenceWraps.video).toBeGreaterThanOrEqual(1);
    expect(r.sequenceWraps.audio).toBeGreaterThanOrEqual(1);
    expect(r.timestampWraps.video).toBeGreaterThanOrEqual(1);
    expect(r.timestampWraps.audio).toBeGreaterThanOrEqual(1);
    expect(video!.ssrcChanges).toBe(1);
    expect(audio!.silenceInsertedMs).toBeGreaterThanOrEqual(r.dtxSpans * 5000 - 20);
    for (const s of [video!, audio!]) {
      expect(s).toMatchObject({ packetsLost: 0, packetsTimestampJump: 0, packetsSequenceStray: 0, packetsStraySsrc: 0, timestampRebases: 0, trackReanchors: 0 });
    }
    const expectedS = r.sessionS - r.pausedS;
    const probe = ffprobeStreams(file, false);
    const durationS = Number(probe.format.duration);
    expect(Math.abs(durationS - expectedS), `file ${durationS} s, session less pause ${expectedS} s`).toBeLessThan(0.5);
    expect(ffmpegDecodeErrors(file)).toBe('');
    const av = avOffsets(file, durationS);
    console.log(`day-long ${HOURS} h: ${r.packets} packets, A/V offset start ${(av.startS * 1000).toFixed(1)} ms, end ${(av.endS * 1000).toFixed(1)} ms; heap ${r.memory.map((m) => (m.heapUsed / 2 ** 20).toFixed(0)).join(' ')} MB`);
    expect(Math.abs(av.endS - av.startS)).toBeLessThan(0.04);
    // Bounded memory: after the first minutes, the heap grows by no more than noise.
    const heaps = r.memory.slice(2).map((m) => m.heapUsed);
    expect(Math.max(...heaps) - Math.min(...heaps)).toBeLessThan(64 * 2 ** 20);
  }, 300_000);
});
