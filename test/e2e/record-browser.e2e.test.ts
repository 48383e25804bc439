/**
 * End to end with a real browser: Chromium (fake camera and microphone) sends Opus + VP8 or H264
 * through mediasoup-client into a mediasoup 3.8.4 router; the library's public Recorder records
 * the producers for about 15 s (Chromium's bandwidth ramp-up changes the video size mid-way);
 * then ffmpeg/ffprobe check the files, Chromium plays them back in a <video>, and keyframe
 * requests from the recorder are seen arriving at the browser (outbound-rtp pliCount).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { types } from 'mediasoup';
import { Recorder, type RecorderSummary, type StreamStats } from '../../src/index.js';
import { ffprobeFrames, ffprobeStreams, tempDir } from '../helpers/oracles.js';
import { launchChromium, type Chromium } from './browser.js';
import type { PageApi, ProduceOptions, ProduceResult, VideoSenderStats } from './page/api.js';
import { startServer, type E2eServer } from './server.js';
import { FFMPEG_DTS_ROUNDING, ffmpegNullDecode, probeTimes, type StreamTimes } from '../helpers/probe-times.js';

/** How much media each recording holds, at least. */
const RECORD_MS = 15_000;
/** Once Chromium has switched size, record at least this much more at the new size. */
const AFTER_SIZE_CHANGE_MS = 2_000;
/**
 * Chromium usually starts at 320x240 and grows within ~8 s as its bandwidth estimate ramps up,
 * but now and then it starts at full size: without a size change by this much recording, the
 * page halves the encoder's output size (scaleResolutionDownBy 2), so the file always holds one.
 */
const FORCE_SIZE_CHANGE_AFTER_MS = 11_000;
/** Stop waiting for the size change after this much recording (the test then fails on it). */
const MAX_RECORD_MS = 25_000;
const PLAYBACK_RATE = 8;
/** Chromium drops keyframe requests that come within 300 ms of its last keyframe; with a margin. */
const CHROMIUM_MIN_KEYFRAME_INTERVAL_MS = 400;
const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

interface Case {
  name: string;
  peer: string;
  produce: ProduceOptions;
  containers: ('mp4' | 'webm' | 'mkv')[];
  /** Two sizes in the file: Chromium's ramp-up from 320x240 or, failing that, a forced one (FORCE_SIZE_CHANGE_AFTER_MS). */
  expectSizeChange: boolean;
  /** The one size the file must hold, when no change is expected. */
  size?: string;
}

const CASES: Case[] = [
  { name: 'VP8 640x480', peer: 'vp8', produce: { codec: 'VP8' }, containers: ['webm', 'mkv'], expectSizeChange: true },
  { name: 'H264 640x480', peer: 'h264', produce: { codec: 'H264' }, containers: ['mp4', 'mkv'], expectSizeChange: true },
  {
    name: 'H264 1280x720, 2000 kbps start bitrate',
    peer: 'h264-720p',
    produce: { codec: 'H264', width: 1280, height: 720, startBitrateKbps: 2000 },
    containers: ['mp4'],
    expectSizeChange: false,
    size: '1280x720',
  },
];

const log = (...lines: string[]): void => console.log(lines.join('\n'));
const ms = (x: number): string => `${Math.round(x)} ms`;

type PageWindow = { e2e: PageApi };

/** The page's `window.e2e`, called from the test (each function is serialized into the page: no closures). */
function e2e(page: Page): PageApi {
  return {
    produce: (o) => page.evaluate((o) => (globalThis as unknown as PageWindow).e2e.produce(o), o),
    videoStats: () => page.evaluate(() => (globalThis as unknown as PageWindow).e2e.videoStats()),
    scaleVideoDownBy: (factor) => page.evaluate((factor) => (globalThis as unknown as PageWindow).e2e.scaleVideoDownBy(factor), factor),
    play: (src, rate, timeoutMs) =>
      page.evaluate(([src, rate, timeoutMs]) => (globalThis as unknown as PageWindow).e2e.play(src, rate, timeoutMs), [src, rate, timeoutMs] as const),
    marks: () => page.evaluate(() => (globalThis as unknown as PageWindow).e2e.marks()),
  };
}

async function openPage(chromium: Chromium, server: E2eServer, peer: string): Promise<Page> {
  const page = await chromium.context.newPage();
  page.on('pageerror', (error) => console.error(`[page ${peer}] ${error.message}`));
  await page.goto(`${server.url}/?peer=${peer}`);
  await page.waitForFunction(() => 'e2e' in globalThis);
  return page;
}

/** Resolves when `condition()` holds, checking every `everyMs`; rejects after `timeoutMs`. */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Wall-clock times (performance.now()) of each stream's first and last written sample, from stats() every 10 ms. */
class WriteTimes {
  readonly first = new Map<string, number>();
  readonly last = new Map<string, number>();
  private readonly frames = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(recorder: Recorder) {
    this.timer = setInterval(() => this.sample(recorder.stats()), 10);
  }

  sample(streams: StreamStats[], now = performance.now()): void {
    for (const s of streams) {
      if (s.framesWritten <= (this.frames.get(s.label) ?? 0)) continue;
      if (!this.first.has(s.label)) this.first.set(s.label, now);
      this.last.set(s.label, now);
      this.frames.set(s.label, s.framesWritten);
    }
  }

  /** Stops sampling; with the summary, counts what stop() flushed as written now. */
  end(summary?: RecorderSummary): void {
    clearInterval(this.timer);
    if (summary) this.sample(summary.streams);
  }

  /** From the first to the last sample written of one stream, in ms. */
  spanMs(kind: 'audio' | 'video', streams: StreamStats[]): number {
    const label = streams.find((s) => s.kind === kind)!.label;
    return this.last.get(label)! - this.first.get(label)!;
  }

  /** Time since the first video sample was written, in ms (0 before). */
  videoSoFarMs(): number {
    const first = [...this.first.entries()].find(([label]) => label.startsWith('video'))?.[1];
    return first === undefined ? 0 : performance.now() - first;
  }

  /** The recording time: from the recorder's first written sample (any stream) to its last, in ms. */
  recordedMs(): number {
    return Math.max(...this.last.values()) - Math.min(...this.first.values());
  }
}

/** What one producer's RTP looked like at the router (trace events): arrival vs RTP time. */
class RtpTrace {
  private readonly packets: { at: number; seq: number; ts: number }[] = [];

  private constructor(private readonly producer: types.Producer) {}

  static async start(producer: types.Producer): Promise<RtpTrace> {
    const trace = new RtpTrace(producer);
    producer.on('trace', (event) => {
      if (event.type !== 'rtp') return;
      const info = event.info as { sequenceNumber: number; timestamp: number };
      trace.packets.push({ at: performance.now(), seq: info.sequenceNumber, ts: info.timestamp });
    });
    await producer.enableTraceEvent(['rtp']);
    return trace;
  }

  async stop(): Promise<void> {
    await this.producer.enableTraceEvent([]).catch(() => undefined);
    this.producer.removeAllListeners('trace');
  }

  /** Packets, wall-clock and RTP spans, the longest silence, sequence and timestamp discontinuities. */
  describe(clockRate: number, frameTicks?: number): string {
    const p = this.packets;
    if (p.length < 2) return `${p.length} packets`;
    let seqGaps = 0;
    let tsJumps = 0;
    let maxGapMs = 0;
    let minDrift = Infinity;
    let maxDrift = -Infinity;
    let rtp = 0;
    for (let i = 1; i < p.length; i++) {
      const dTs = (p[i]!.ts - p[i - 1]!.ts) >>> 0;
      if (((p[i]!.seq - p[i - 1]!.seq) & 0xffff) !== 1) seqGaps++;
      if (frameTicks !== undefined && dTs !== frameTicks) tsJumps++;
      rtp += dTs < 0x80000000 ? dTs : 0;
      maxGapMs = Math.max(maxGapMs, p[i]!.at - p[i - 1]!.at);
      const drift = p[i]!.at - p[0]!.at - (rtp * 1000) / clockRate;
      minDrift = Math.min(minDrift, drift);
      maxDrift = Math.max(maxDrift, drift);
    }
    const wallMs = p.at(-1)!.at - p[0]!.at;
    return (
      `${p.length} packets (${((p.length * 1000) / wallMs).toFixed(1)}/s) over ${ms(wallMs)} of arrivals and ${ms((rtp * 1000) / clockRate)} of RTP time; ` +
      `arrival minus RTP time ${ms(minDrift)}..${ms(maxDrift)}; longest arrival gap ${ms(maxGapMs)}; ${seqGaps} sequence gap(s)` +
      (frameTicks !== undefined ? `, ${tsJumps} timestamp step(s) other than ${frameTicks}` : '')
    );
  }
}

interface Recording {
  container: string;
  path: string;
  summary: RecorderSummary;
  writes: WriteTimes;
  startToStopMs: number;
}

interface Session {
  produced: ProduceResult;
  /** Sizes the browser's encoder sent, in order, from outbound-rtp stats every 250 ms. */
  sentSizes: string[];
  /** Whether the page had to change the size (no ramp-up from Chromium in time). */
  forcedSizeChange: boolean;
  lastSenderStats: VideoSenderStats;
  recordings: Recording[];
  pli: { before: number; after: number; waitedMs: number; probeKeyframeRequests: number; probeKeyframes: number };
  timing: Record<string, number>;
  /** The producers' RTP at the router while recording. */
  rtp: { audio: string; video: string };
  /** `error` events of any recorder. */
  errors: string[];
}

/** Produces from a fresh page, records it to each container, then checks the keyframe path. */
async function recordSession(chromium: Chromium, server: E2eServer, c: Case, dir: string): Promise<Session> {
  const t0 = performance.now();
  const timing: Record<string, number> = {};
  const page = await openPage(chromium, server, c.peer);
  const recorders: { container: string; path: string; recorder: Recorder; writes: WriteTimes; startedAt: number }[] = [];
  const errors: string[] = [];
  try {
    const browser = e2e(page);
    const [produced, producers] = await Promise.all([browser.produce(c.produce), server.flowing(c.peer)]);
    timing.producing = performance.now() - t0;
    const traces = { audio: await RtpTrace.start(producers.audio), video: await RtpTrace.start(producers.video) };
    const newRecorder = (path: string): Recorder => {
      const recorder = new Recorder({ router: server.router, producers: [producers.video, producers.audio], output: path });
      recorder.on('error', (error) => errors.push(`${path}: ${error.stream ?? ''} ${error.message}`));
      return recorder;
    };

    // One recorder per container, started one after another: recorders started together each ask
    // for a keyframe, and Chromium ignores a request within 300 ms of its last keyframe, so all but
    // the first would wait for their retry (keyframeRetryIntervalMs, 1 s) and start video later.
    const startedAt = performance.now();
    for (const container of c.containers) {
      const path = join(dir, `${c.peer}.${container}`);
      const recorder = newRecorder(path);
      let keyframeAt = NaN;
      recorder.once('keyframe', () => (keyframeAt = performance.now()));
      recorders.push({ container, path, recorder, writes: new WriteTimes(recorder), startedAt: performance.now() });
      await recorder.start();
      if (container === c.containers.at(-1)) break;
      await until(`${container}'s first keyframe`, () => keyframeAt > 0, 5_000, 10);
      await until("Chromium's minimum keyframe interval", () => performance.now() - keyframeAt > CHROMIUM_MIN_KEYFRAME_INTERVAL_MS, 1_000, 10);
    }

    // Record RECORD_MS of video, and past the size change (when expected), watching what the encoder sends.
    const sentSizes: string[] = [];
    let lastSenderStats!: VideoSenderStats;
    const sent = async (): Promise<void> => {
      lastSenderStats = await browser.videoStats();
      const size = `${lastSenderStats.frameWidth}x${lastSenderStats.frameHeight}`;
      if (lastSenderStats.frameWidth && sentSizes.at(-1) !== size) sentSizes.push(size);
    };
    let sizeChangedAt = Infinity;
    let forcedSizeChange = false;
    const main = recorders.at(-1)!.writes; // the last one started
    await until(
      'the recording',
      async () => {
        await sent();
        const recorded = main.videoSoFarMs();
        if (sentSizes.length > 1 && sizeChangedAt === Infinity) sizeChangedAt = recorded;
        if (c.expectSizeChange && sentSizes.length === 1 && !forcedSizeChange && recorded >= FORCE_SIZE_CHANGE_AFTER_MS) {
          forcedSizeChange = true;
          await browser.scaleVideoDownBy(2);
        }
        if (recorded >= MAX_RECORD_MS) return true;
        return recorded >= RECORD_MS && (!c.expectSizeChange || recorded >= sizeChangedAt + AFTER_SIZE_CHANGE_MS);
      },
      MAX_RECORD_MS + 10_000,
      250,
    );
    const stopAt = performance.now();
    const recordings = await Promise.all(
      recorders.map(async ({ container, path, recorder, writes, startedAt }): Promise<Recording> => {
        const summary = await recorder.stop();
        writes.end(summary);
        return { container, path, summary, writes, startToStopMs: stopAt - startedAt };
      }),
    );
    timing.recording = performance.now() - startedAt;
    await Promise.all([traces.audio.stop(), traces.video.stop()]);
    const rtp = { audio: traces.audio.describe(48000, 960), video: traces.video.describe(90000) };
    await sent(); // in case the size changed since the last poll

    // The keyframe path, on a recorder of its own (the files above stay untouched): once its first
    // keyframe is in, pause() and resume(); resume() asks for a keyframe, which must reach the
    // browser as a PLI and come back. Chromium ignores keyframe requests within 300 ms of its last
    // keyframe (EncoderRtcpFeedback's minimum keyframe interval): wait that out first.
    const probeStart = performance.now();
    const probe = newRecorder(join(dir, `${c.peer}-probe.mkv`));
    recorders.push({ container: 'probe', path: '', recorder: probe, writes: new WriteTimes(probe), startedAt: probeStart });
    let keyframes = 0;
    let lastKeyframeAt = 0;
    probe.on('keyframe', () => {
      keyframes++;
      lastKeyframeAt = performance.now();
    });
    const videoRequests = (): number => probe.stats().find((s) => s.kind === 'video')!.keyframeRequests;
    await probe.start();
    await until("the probe's first keyframe", () => keyframes > 0, 5_000, 10);
    await until("Chromium's minimum keyframe interval", () => performance.now() - lastKeyframeAt > CHROMIUM_MIN_KEYFRAME_INTERVAL_MS, 1_000, 10);
    const before = (await browser.videoStats()).pliCount;
    const [requestsBefore, keyframesBefore] = [videoRequests(), keyframes];
    const resumedAt = performance.now();
    await probe.pause();
    await probe.resume();
    let after = before;
    await until(
      'a PLI at the browser and the keyframe back at the recorder',
      async () => (after = (await browser.videoStats()).pliCount) > before && keyframes > keyframesBefore,
      5_000,
      10,
    ).catch((error: Error) => console.error(`[${c.peer}] ${error.message}`));
    const pli = { before, after, waitedMs: performance.now() - resumedAt, probeKeyframeRequests: videoRequests() - requestsBefore, probeKeyframes: keyframes - keyframesBefore };
    await probe.stop();
    timing.keyframeProbe = performance.now() - probeStart;
    timing.total = performance.now() - t0;
    return { produced, sentSizes, forcedSizeChange, lastSenderStats, recordings, pli, timing, rtp, errors };
  } finally {
    // On failure too: no recorder left running, no sampler left ticking.
    await Promise.all(recorders.map(({ recorder }) => recorder.stop().catch(() => undefined)));
    for (const { writes } of recorders) writes.end();
    await page.close();
  }
}

function describeSession(c: Case, s: Session): string[] {
  const lines = [
    `== ${c.name}: browser sent ${s.produced.audioCodec} + ${s.produced.videoCodec} (${s.lastSenderStats.encoderImplementation}, handler ${s.produced.handler}); ` +
      `camera ${s.produced.camera.width}x${s.produced.camera.height} @ ${s.produced.camera.frameRate} fps; encoder sizes ${s.sentSizes.join(' -> ')}${s.forcedSizeChange ? ' (no ramp-up: the page halved the size)' : ''}; ` +
      `last ${s.lastSenderStats.framesPerSecond ?? '?'} fps, quality limitation ${s.lastSenderStats.qualityLimitationReason}`,
    `   router saw audio: ${s.rtp.audio}`,
    `   router saw video: ${s.rtp.video}`,
    `   timing: page to first packets ${ms(s.timing.producing!)}, recording ${ms(s.timing.recording!)}, keyframe probe ${ms(s.timing.keyframeProbe!)}, session ${ms(s.timing.total!)}`,
    `   keyframe path: pliCount ${s.pli.before} -> ${s.pli.after}, ${s.pli.probeKeyframeRequests} request(s) sent by the recorder, ${s.pli.probeKeyframes} keyframe(s) back, within ${ms(s.pli.waitedMs)} of pause()+resume()`,
  ];
  for (const r of s.recordings) {
    for (const st of r.summary.streams) {
      const span = r.writes.spanMs(st.kind, r.summary.streams);
      lines.push(
        `   ${r.container} ${st.kind} ${st.codec}: ${st.packetsReceived} packets (${((st.packetsReceived * 1000) / span).toFixed(1)}/s over ${(span / 1000).toFixed(2)} s), ` +
          `${st.framesWritten} frames (${st.keyframesWritten} key), lost ${st.packetsLost}, recovered ${st.packetsRecovered}, NACKs ${st.nackRequests}, ` +
          `keyframe requests ${st.keyframeRequests}, dropped ${st.framesDroppedIncomplete}+${st.framesDroppedWaitingForKeyframe}+${st.framesDroppedOutOfOrder}, silence ${st.silenceInsertedMs} ms`,
      );
    }
  }
  return lines;
}

describe('recording Chromium (mediasoup-client) through mediasoup 3.8.4', () => {
  let server: E2eServer;
  let chromium: Chromium;
  const dir = tempDir('e2e-browser-');
  const fileStart = performance.now();

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [server, chromium] = await Promise.all([startServer(), launchChromium()]);
    log(`e2e: Chromium ${chromium.version}, server ${server.url}, files in ${dir}, ready after ${ms(performance.now() - fileStart)}`);
  });

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    log(`e2e: whole file ${ms(performance.now() - fileStart)}`);
  });

  describe.each(CASES)('$name', (c) => {
    let session: Session;
    const probes = new Map<string, { times: Record<'audio' | 'video', StreamTimes>; sizes: string[]; frames: number; nbReadFrames: number }>();
    let caseStart = 0;

    beforeAll(async () => {
      caseStart = performance.now();
      session = await recordSession(chromium, server, c, dir);
      const lines = describeSession(c, session);
      for (const r of session.recordings) {
        const times = probeTimes(r.path);
        const frames = ffprobeFrames(r.path, 'v');
        const sizes = [...new Set(frames.map((f) => `${f.width}x${f.height}`))];
        const video = ffprobeStreams(r.path).streams.find((s) => s.codec_type === 'video')!;
        probes.set(r.container, { times, sizes, frames: frames.length, nbReadFrames: Number(video.nb_read_frames) });
        const plainLines = ffmpegNullDecode(r.path).split('\n').filter(Boolean).length;
        const changeAt = frames.find((f) => `${f.width}x${f.height}` !== sizes[0])?.pts_time;
        lines.push(
          `   ${r.container} file: ${r.summary.bytes} bytes; plain ffmpeg -f null: ${plainLines} dts-rounding line(s); video ${times.video.durationS.toFixed(3)} s from ${times.video.startS.toFixed(3)} (${frames.length} frames decoded, sizes ${sizes.join(', ')}` +
            `${changeAt ? ` changing at ${Number(changeAt).toFixed(2)} s` : ''}); audio ${times.audio.durationS.toFixed(3)} s from ${times.audio.startS.toFixed(3)}; ` +
            `A/V start offset (video - audio) ${ms((times.video.startS - times.audio.startS) * 1000)}; recorded ${ms(r.writes.recordedMs())} from first to last sample written ` +
            `(video ${ms(r.writes.spanMs('video', r.summary.streams))}, audio ${ms(r.writes.spanMs('audio', r.summary.streams))}), start() to stop() ${ms(r.startToStopMs)}`,
        );
      }
      log(...lines);
    });

    afterAll(() => log(`   ${c.name}: ${ms(performance.now() - caseStart)} including checks and playback`));

    it('sends what was asked for, and the recorder writes both tracks, without an error', () => {
      expect(session.errors).toEqual([]);
      expect(session.produced.videoCodec).toBe(`video/${c.produce.codec}`);
      expect(session.produced.audioCodec).toBe('audio/opus');
      for (const r of session.recordings) {
        expect(r.summary.streams.map((s) => [s.kind, s.codec])).toEqual([
          ['video', c.produce.codec.toLowerCase()],
          ['audio', 'opus'],
        ]);
        for (const s of r.summary.streams) expect(s.framesWritten).toBeGreaterThan(100);
      }
    });

    it('writes files ffmpeg decodes without a single error, every frame', () => {
      for (const r of session.recordings) {
        // Decoded in the file's own time base: not a single message.
        expect(ffmpegNullDecode(r.path, ['-enc_time_base', '-1']), r.path).toBe('');
        // `ffmpeg -v error -i f -f null -` as is: nothing but its 1/frame-rate rounding (see FFMPEG_DTS_ROUNDING).
        const plain = ffmpegNullDecode(r.path);
        const other = plain.split('\n').filter((line) => line && !FFMPEG_DTS_ROUNDING.test(line));
        expect(other, r.path).toEqual([]);
        const p = probes.get(r.container)!;
        expect(p.frames, `${r.container}: frames decoded vs packets`).toBe(p.times.video.packets);
        expect(p.nbReadFrames, `${r.container}: ffprobe -count_frames`).toBe(p.frames);
        expect(p.frames, `${r.container}: frames decoded vs written`).toBe(r.summary.streams.find((s) => s.kind === 'video')!.framesWritten);
      }
    });

    it('holds as much video as was recorded (within 200 ms), and as much audio (within 100 ms)', () => {
      for (const r of session.recordings) {
        const { times } = probes.get(r.container)!;
        const recordedS = r.writes.recordedMs() / 1000;
        expect(Math.abs(times.video.durationS - recordedS), `${r.container}: video ${times.video.durationS} s, recorded ${recordedS} s`).toBeLessThan(0.2);
        // If this fails, see what the router saw: Chromium's fake microphone skips buffers when starved
        // of CPU, and its audio RTP time (which the recorder follows) then falls behind arrival time.
        expect(Math.abs(times.audio.durationS - times.video.durationS), `${r.container}: audio ${times.audio.durationS} s; router saw audio: ${session.rtp.audio}`).toBeLessThan(0.1);
      }
    });

    it(c.expectSizeChange ? "holds the sender's size change, decoded" : `holds ${c.size} video`, () => {
      // (Chromium may still scale down when starved of CPU: the start size is what is asked for.)
      if (c.expectSizeChange) expect(session.sentSizes.length, `sent ${session.sentSizes.join(' -> ')}`).toBeGreaterThan(1);
      else expect(session.sentSizes[0]).toBe(c.size);
      for (const r of session.recordings) {
        const { sizes } = probes.get(r.container)!;
        expect(sizes[0], r.container).toBe(session.sentSizes[0]);
        if (c.expectSizeChange) expect(sizes.length, `${r.container}: ${sizes.join(', ')}`).toBeGreaterThanOrEqual(2);
        for (const size of sizes) expect(session.sentSizes, `${r.container}: ${size} was sent`).toContain(size);
      }
    });

    it("reaches the browser with the recorder's keyframe requests (pliCount grows)", () => {
      expect(session.pli.probeKeyframeRequests).toBeGreaterThan(0);
      expect(session.pli.after).toBeGreaterThan(session.pli.before);
      expect(session.pli.probeKeyframes).toBeGreaterThan(0);
    });

    it('plays in Chromium to the end (MP4 and WebM)', async () => {
      const playable = session.recordings.filter((r) => r.container !== 'mkv');
      expect(playable.length).toBeGreaterThan(0);
      const page = await openPage(chromium, server, `${c.peer}-player`);
      try {
        for (const r of playable) {
          const result = await e2e(page).play(server.serveFile(r.path), PLAYBACK_RATE, 30_000);
          const screenshot = join(ARTIFACTS, `e2e-${c.peer}.${r.container}.png`);
          await page.locator('video').screenshot({ path: screenshot });
          log(
            `   ${r.container} played by Chromium: ended ${result.ended}${result.error ? `, error ${result.error}` : ''}, ${result.videoWidth}x${result.videoHeight} at the end, ` +
              `sizes ${result.sizes.join(' -> ')}, duration ${result.duration.toFixed(3)} s (ended at ${result.endedAt.toFixed(3)} s), ${ms(result.playMs)} at ${PLAYBACK_RATE}x; last frame: ${screenshot}`,
          );
          expect(result.error, r.container).toBeUndefined();
          expect(result.ended, r.container).toBe(true);
          expect(result.videoWidth, r.container).toBeGreaterThan(0);
          // The size change plays too: Chromium's <video> reported each size the file holds.
          expect([...new Set(result.sizes)], r.container).toEqual(probes.get(r.container)!.sizes);
          const { audio, video } = probes.get(r.container)!.times;
          const end = Math.max(audio.startS + audio.durationS, video.startS + video.durationS);
          expect(Math.abs(result.duration - end), `${r.container}: duration in Chromium vs ffprobe's end ${end} s`).toBeLessThan(0.1);
        }
      } finally {
        await page.close();
      }
    });
  });
});
