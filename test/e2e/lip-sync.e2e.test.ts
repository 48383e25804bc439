/**
 * Lip sync against the browser's own capture: Chromium's fake camera and microphone play files
 * this test makes (a flash and a beep at every whole second), its page reads the capture
 * timestamps of each flash and beep (insertable streams on the local tracks), and the recorder
 * records the producers through a DirectTransport and over UDP (PlainTransport) at once. Each
 * file's beeps minus flashes (ffmpeg: luma jump, audio onset to the sample) must match the
 * capture's within 10 ms: VP8 and H264, 640x480 and 1280x720, and again with a 50 ms stall of
 * this process's event loop at the first keyframe (a busy-wait in the 'keyframe' listener).
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recorder, RtpUdpEndpoint, sendToRecorder, type RecorderSummary } from '../../src/index.js';
import { tempDir } from '../helpers/oracles.js';
import { beepMinusFlash, MARKS_FILE_S, median, readFileMarks, writeBeepWav, writeFlashY4m, type MarkPair } from './av-marks.js';
import { launchChromium, type Chromium } from './browser.js';
import type { CaptureMarks, PageApi, ProduceOptions } from './page/api.js';
import { startServer, type E2eServer } from './server.js';

/** Media recorded per session, in ms: the settling time and four or five flash/beep pairs, within the files' loop. */
const RECORD_MS = 6_000;
const STALL_MS = 50;
const TOLERANCE_MS = 10;

interface Size {
  width: number;
  height: number;
  fps: number;
}
const SIZES: Size[] = [
  { width: 640, height: 480, fps: 20 },
  { width: 1280, height: 720, fps: 15 }, // 250 MB of y4m (at 20 fps: 330 MB)
];

type PageWindow = { e2e: PageApi };

interface Measured {
  name: string;
  path: string;
  summary: RecorderSummary;
  /** File's beep - flash, per pair. */
  file: MarkPair[];
  /** The file's beep - flash minus the capture's for the same beeps (errorAgainstCapture), in ms. */
  errorMs: number;
  pairs: number;
}

/** Chromium gives video frames (insertable streams) TimeTicks and audio chunks performance.now() time: the µs between, from requestVideoFrameCallback's captureTime of the same frames. */
function videoTicksToPerformanceUs(marks: CaptureMarks): number {
  const ticks = [...marks.frameTimestampsUs].sort((a, b) => a - b);
  const times = marks.captureTimes.map((c) => c.captureMs * 1000);
  const hasTick = (x: number): boolean => {
    let lo = 0;
    let hi = ticks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ticks[mid]! < x - 150) lo = mid + 1;
      else hi = mid;
    }
    return lo < ticks.length && ticks[lo]! <= x + 150;
  };
  // Either list may miss frames (rVFC shows only the frames painted): try every pairing of a tick with one of the first shown frames.
  let best = { offset: NaN, matches: 0 };
  for (const c0 of times.slice(0, 10)) {
    for (const t of ticks) {
      const offset = t - c0;
      const matches = times.filter((c) => hasTick(c + offset)).length;
      if (matches > best.matches) best = { offset, matches };
    }
  }
  // The frames' intervals are irregular (a timer's jitter): ten matches to 0.15 ms leave no doubt.
  if (!(best.matches >= 10)) throw new Error(`captureTime matches ${best.matches} of ${times.length} frames only`);
  return best.offset;
}

/** The capture's pairs, beeps on the Unix epoch clock (performance.timeOrigin), in ms; not the first pair (the devices start at different instants). */
function capturePairs(marks: CaptureMarks): MarkPair[] {
  const k = videoTicksToPerformanceUs(marks);
  const pairs = beepMinusFlash({ flashesMs: marks.flashesUs.slice(1).map((t) => (t - k) / 1000), beepsMs: marks.beepsUs.slice(1).map((t) => t / 1000) });
  return pairs.map((p) => ({ beepMs: p.beepMs + marks.timeOriginMs, offsetMs: p.offsetMs }));
}

/**
 * The file's beep - flash against the capture's for the same beeps, in ms. The file's first beep
 * is found in the capture by time (the recording's zero is within a few hundred ms of `start()`,
 * the beeps 1 s apart). Chromium's fake microphone skips a buffer now and then when starved of
 * CPU, and frames' timing jitters: the file follows most of it (RTP time derives from capture
 * time), the median of the pairs' differences takes the rest.
 */
function errorAgainstCapture(file: MarkPair[], capture: MarkPair[], startEpochMs: number): { errorMs: number; pairs: number } {
  const at = startEpochMs + file[0]!.beepMs;
  let j = 0;
  for (let i = 1; i < capture.length; i++) if (Math.abs(capture[i]!.beepMs - at) < Math.abs(capture[j]!.beepMs - at)) j = i;
  const diffs: number[] = [];
  for (let k = 0; k < file.length && j + k < capture.length; k++) diffs.push(file[k]!.offsetMs - capture[j + k]!.offsetMs);
  return { errorMs: median(diffs), pairs: diffs.length };
}

const show = (pairs: MarkPair[]): string => pairs.map((p) => p.offsetMs.toFixed(1)).join(' ');
/** How far the capture's beep - flash moves within one session, in ms (max - min). */
const spreadMs = (pairs: MarkPair[]): number => Math.max(...pairs.map((p) => p.offsetMs)) - Math.min(...pairs.map((p) => p.offsetMs));
/** A capture reference moving more than this within a session slipped (a steady one moves 1-2 ms). */
const REFERENCE_SLIP_MS = 5;

describe('lip sync against Chromium capture timestamps', () => {
  const dir = tempDir('e2e-lipsync-');
  let server: E2eServer;
  const results: { row: string; errorMs: number }[] = [];

  beforeAll(async () => {
    writeBeepWav(join(dir, 'beep.wav'));
    for (const s of SIZES) writeFlashY4m(join(dir, `flash-${s.height}.y4m`), s.width, s.height, s.fps);
    server = await startServer();
  });

  afterAll(async () => {
    await server?.close();
    console.log(['lip sync (file beep-flash minus capture beep-flash, ms):', ...results.map((r) => `  ${r.row}`)].join('\n'));
  });

  describe.each(SIZES)('$width x $height', (size) => {
    let chromium: Chromium;
    beforeAll(async () => {
      chromium = await launchChromium([`--use-file-for-fake-video-capture=${join(dir, `flash-${size.height}.y4m`)}`, `--use-file-for-fake-audio-capture=${join(dir, 'beep.wav')}`]);
    });
    afterAll(async () => chromium?.close());

    for (const codec of ['VP8', 'H264'] as const) {
      for (const stall of [false, true]) {
        const name = `${codec} ${size.width}x${size.height}${stall ? `, ${STALL_MS} ms stall at the first keyframe` : ''}`;
        /** One recording session of this case: both files measured against the page's capture times. */
        const session = async (attempt: number): Promise<{ capture: MarkPair[]; measured: Measured[]; started: number }> => {
          const started = performance.now();
          const peer = `${codec}-${size.height}-${stall ? 'stall' : 'plain'}-${attempt}`;
          const page = await chromium.context.newPage();
          page.on('pageerror', (error) => console.error(`[page ${peer}] ${error.message}`));
          const endpoint = await RtpUdpEndpoint.bind();
          try {
            await page.goto(`${server.url}/?peer=${peer}`);
            await page.waitForFunction(() => 'e2e' in globalThis);
            const produce: ProduceOptions = { codec, width: size.width, height: size.height, rawAudio: true, ...(size.height > 480 ? { startBitrateKbps: 2000 } : {}) };
            const [, producers] = await Promise.all([page.evaluate((o) => (globalThis as unknown as PageWindow).e2e.produce(o), produce), server.flowing(peer)]);
            const list = [producers.video, producers.audio];
            const ext = codec === 'VP8' ? 'webm' : 'mp4';
            const direct = new Recorder({ router: server.router, producers: list, output: join(dir, `${peer}-direct.${ext}`) });
            const link = await sendToRecorder(server.router, list, endpoint.local);
            const udp = new Recorder({ source: endpoint.source(link.streams), output: join(dir, `${peer}-udp.mkv`) });
            const errors: string[] = [];
            for (const r of [direct, udp]) r.on('error', (e) => errors.push(e.message));
            if (stall) {
              direct.once('keyframe', () => {
                const until = performance.now() + STALL_MS;
                while (performance.now() < until); // a real stall of this event loop
              });
            }
            const startEpochMs = performance.timeOrigin + performance.now();
            await Promise.all([direct.start(), udp.start().then(() => link.resume())]);
            await new Promise((r) => setTimeout(r, RECORD_MS));
            const summaries = await Promise.all([direct.stop(), udp.stop()]);
            link.close();
            const marks = await page.evaluate(() => (globalThis as unknown as PageWindow).e2e.marks());
            const capture = capturePairs(marks);
            expect(errors).toEqual([]);
            expect(capture.length, `capture: ${marks.flashesUs.length} flashes, ${marks.beepsUs.length} beeps`).toBeGreaterThanOrEqual(4);
            const measured: Measured[] = summaries.map((summary, i) => {
              const path = summary.path!;
              const file = beepMinusFlash(readFileMarks(path));
              return { name: i === 0 ? `direct ${ext}` : 'udp mkv', path, summary, file, ...errorAgainstCapture(file, capture, startEpochMs) };
            });
            for (const m of measured) {
              const row = `${name.padEnd(52)} ${m.name.padEnd(11)} ${m.errorMs >= 0 ? '+' : ''}${m.errorMs.toFixed(1)} over ${m.pairs} pair(s) (file ${show(m.file)}; capture ${show(capture)})`;
              if (attempt === 1) results.push({ row, errorMs: m.errorMs });
              console.log(`${row}; attempt ${attempt}, session ${Math.round(performance.now() - started)} ms`);
            }
            return { capture, measured, started };
          } finally {
            endpoint.close();
            await page.close();
          }
        };

        it(`${name}: beeps within ${TOLERANCE_MS} ms of the flashes as captured, DirectTransport and UDP`, async () => {
          let { capture, measured, started } = await session(1);
          // The reference itself moved: Chromium's fake microphone slipped within the session
          // (seen: a 13 ms step in the capture's beep - flash that the RTP timestamps did not
          // take). A session whose reference moves cannot measure 10 ms; it is recorded again once,
          // and the check below applies to that session, whatever its reference does.
          if (measured.some((m) => Math.abs(m.errorMs) > TOLERANCE_MS) && spreadMs(capture) > REFERENCE_SLIP_MS) {
            console.log(`${name}: capture reference moved ${spreadMs(capture).toFixed(1)} ms within the session (${show(capture)}): recorded again`);
            ({ capture, measured, started } = await session(2));
            for (const m of measured) results.push({ row: `${name.padEnd(52)} ${m.name.padEnd(11)} ${m.errorMs >= 0 ? '+' : ''}${m.errorMs.toFixed(1)} (second session: the first one's reference slipped)`, errorMs: m.errorMs });
          }
          for (const m of measured) {
            expect(m.file.length, `${m.path}: pairs`).toBeGreaterThanOrEqual(3);
            expect(Math.abs(m.errorMs), `${m.path}: beep-flash ${show(m.file)} vs capture ${show(capture)}`).toBeLessThanOrEqual(TOLERANCE_MS);
          }
          // The session stays within the fake devices' loop.
          expect(performance.now() - started).toBeLessThan(MARKS_FILE_S * 1000);
        });
      }
    }
  });
});
