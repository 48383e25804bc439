/**
 * A room end to end, in Chromium: three pages (alice, bob, carol) each make their own picture (a
 * solid colour) and tone (their own pitch) in the page, join one mediasoup 3.8.4 room at staggered
 * times and talk in turn (the tone sounds only in their talk windows, and as quiet beeps that
 * two or three send at the same wall-clock instant); bob leaves and rejoins with new producers.
 * The room server (./room-server.ts, `npm run room`) records it with RoomRecorder (webm, speaker
 * view, and the mix). Then, by ffmpeg: every participant file decodes
 * clean, covers the participant's stay, and holds their tone at their windows and nowhere else;
 * the beeps sent together line up within 20 ms on the manifest's timeline; the speaker file shows
 * each talker (by colour) within 2 s of their talk starting, decodes clean and plays in Chromium;
 * the mix holds every talker's tone where they talked and silence elsewhere.
 * Last, a person's path: two tabs press Join, Record and Stop on the room page, and the recording
 * appears in the page's list.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { ManifestFile, RoomManifest } from '../../src/index.js';
import { tempDir } from '../helpers/oracles.js';
import { ffmpegNullDecode, probeTimes } from '../helpers/probe-times.js';
import { launchChromium, type Chromium } from './browser.js';
import type { PageApi } from './page/api.js';
import type { JoinResult, RoomApi, SyntheticMedia } from './page/room-api.js';
import { ArrivalTap } from './room-arrivals.js';
import { bursts, frameColours, roomAudio, toneAmplitude } from './room-media.js';
import { startRoomServer, type RoomServer } from './room-server.js';

const SIZE = { width: 320, height: 240, frameRate: 15 };
const TALK_GAIN = 0.5;
/** Beeps are 20 dB under talk, so the level observer keeps the talker on screen. */
const BEEP_GAIN = 0.05;
const BEEP_MS = 150;
/** Session plan, in ms from the plan's zero (a wall-clock instant just after recording starts). */
const PLAN = {
  people: [
    { id: 'alice', color: '#ff0000', rgb: [255, 0, 0], toneHz: 440, joinMs: 0 },
    { id: 'bob', color: '#00ff00', rgb: [0, 255, 0], toneHz: 660, joinMs: 1_500 },
    { id: 'carol', color: '#0000ff', rgb: [0, 0, 255], toneHz: 880, joinMs: 3_000 },
  ],
  talks: [
    { id: 'bob', fromMs: 4_000, toMs: 7_500 },
    { id: 'carol', fromMs: 8_500, toMs: 12_000 },
    { id: 'alice', fromMs: 13_000, toMs: 16_500 },
    { id: 'bob', fromMs: 19_500, toMs: 22_500 }, // after the rejoin: new producers
  ],
  beeps: [
    { atMs: 6_000, ids: ['alice', 'carol'] },
    { atMs: 10_500, ids: ['alice', 'bob'] },
    { atMs: 15_000, ids: ['bob', 'carol'] },
    { atMs: 23_000, ids: ['alice', 'bob', 'carol'] },
  ],
  bobLeavesMs: 17_000,
  bobRejoinsMs: 18_500,
  stopMs: 24_500,
} as const;
/** The plan's zero comes this long after recording starts. */
const LEAD_MS = 1_500;
const SWITCH_WITHIN_MS = 2_000;
const ALIGN_WITHIN_MS = 20;
/**
 * A talk's onset in the mix against the talker's own file: measured -11.5 to +24.6 ms over three
 * runs (the mix's own placement of its inputs; see the figures), so bounded at 50 ms, not 20.
 */
const MIX_ALIGN_WITHIN_MS = 50;
const PLAYBACK_RATE = 8;

type Person = (typeof PLAN.people)[number];
/** A person's tone windows, in plan ms: talks and beeps. */
const windows = (id: string): { fromMs: number; toMs: number; beep: boolean }[] =>
  [
    ...PLAN.talks.filter((t) => t.id === id).map((t) => ({ fromMs: t.fromMs, toMs: t.toMs, beep: false })),
    ...PLAN.beeps.filter((b) => (b.ids as readonly string[]).includes(id)).map((b) => ({ fromMs: b.atMs, toMs: b.atMs + BEEP_MS, beep: true })),
  ].sort((a, b) => a.fromMs - b.fromMs);

/** A talk's tone in a 50 ms window is at least this (sent at 0.5, reads 0.7 after ffmpeg's downmix). */
const TONE_MIN = 0.1;
/** A pitch where no one sent anything: at most this (measured: up to 0.0005). */
const SILENCE_MAX = 0.005;
/**
 * A pitch while someone else talks: at most this, 30 dB under their tone. Opus's coding noise
 * around a loud tone reaches the pitches 220 Hz away: up to 0.0024 in a participant's own file,
 * 0.005 in the mix (coded twice).
 */
const UNDER_OTHERS_MAX = 0.02;

/**
 * A pitch's amplitude in 50 ms windows of `audio` where `covered` holds: the least well inside
 * the talks of `own` (200 ms after the start to 100 ms before the end: the speaker view's and
 * Opus's onsets), and the most elsewhere: away from `own` (100 ms before to 300 ms after) and from
 * anyone's tone switching on or off (a step splatters over every pitch: 100 ms before to 300 ms
 * after), apart in silence (`maxOut`) and under someone else's tone (`maxUnder`).
 */
function pitchLevels(
  audio: Float32Array,
  hz: number,
  own: ReturnType<typeof windows>,
  covered: (roomMs: number) => boolean,
  planToRoom: (planMs: number) => number,
): { minIn: number; maxOut: number; maxOutAtMs: number; maxUnder: number } {
  let minIn = Infinity;
  let maxOut = 0;
  let maxOutAtMs = NaN;
  let maxUnder = 0;
  const endMs = (audio.length * 1000) / 48000;
  for (let t = 0; t + 50 < endMs; t += 50) {
    if (!covered(t) || !covered(t + 50)) continue;
    const a = toneAmplitude(audio, hz, t, t + 50);
    const inside = own.some((w) => !w.beep && t > planToRoom(w.fromMs) + 200 && t + 50 < planToRoom(w.toMs) - 100);
    const around = (planMs: number): boolean => t + 50 > planToRoom(planMs) - 100 && t < planToRoom(planMs) + 300;
    const near = own.some((w) => t + 50 > planToRoom(w.fromMs) - 100 && t < planToRoom(w.toMs) + 300) || EVERY_WINDOW.some((w) => around(w.fromMs) || around(w.toMs));
    if (inside) minIn = Math.min(minIn, a);
    else if (near) continue;
    else if (EVERY_WINDOW.some((w) => t + 50 > planToRoom(w.fromMs) && t < planToRoom(w.toMs))) maxUnder = Math.max(maxUnder, a);
    else if (a > maxOut) [maxOut, maxOutAtMs] = [a, t];
  }
  return { minIn, maxOut, maxOutAtMs, maxUnder };
}

const EVERY_WINDOW = PLAN.people.flatMap((p) => windows(p.id));

const log = (...lines: string[]): void => console.log(lines.join('\n'));
const ms = (x: number): string => `${Math.round(x)} ms`;
const sleepUntil = (epochMs: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, epochMs - Date.now())));

function room(page: Page): RoomApi {
  return {
    join: (media) => page.evaluate((media) => (globalThis as unknown as { room: RoomApi }).room.join(media), media),
    leave: () => page.evaluate(() => (globalThis as unknown as { room: RoomApi }).room.leave()),
  };
}

async function openRoomPage(chromium: Chromium, url: string, peer: string): Promise<Page> {
  const page = await chromium.context.newPage();
  page.on('pageerror', (error) => console.error(`[page ${peer}] ${error.message}`));
  await page.goto(`${url}?peer=${peer}`);
  await page.waitForFunction(() => 'room' in globalThis);
  return page;
}

interface Session {
  manifest: RoomManifest;
  /** Epoch ms of the plan's zero, and of the room's zero (manifest.startedAt). */
  planZero: number;
  roomZero: number;
  joins: Map<string, JoinResult[]>;
  errors: string[];
  speakerEvents: string[];
  /** Each audio producer's packets as they reached the router. */
  taps: Promise<ArrivalTap>[];
}

describe('a room recorded from Chromium: three participants, a rejoin, the speaker view', () => {
  let chromium: Chromium;
  let server: RoomServer;
  let session: Session;
  const directory = tempDir('e2e-room-');
  /** Plan ms -> room ms. */
  const roomMs = (planMs: number): number => session.planZero + planMs - session.roomZero;
  const file = (path: string): ManifestFile => session.manifest.files.find((f) => f.path === path)!;
  const dir = (): string => join(directory, recordingName);
  let recordingName = '';

  beforeAll(async () => {
    const t0 = performance.now();
    [server, chromium] = await Promise.all([startRoomServer({ directory }), launchChromium()]);
    const pages = new Map<string, Page>();
    for (const p of PLAN.people) pages.set(p.id, await openRoomPage(chromium, server.pageUrl, p.id));
    log(`room e2e: Chromium ${chromium.version}, files in ${directory}, ready after ${ms(performance.now() - t0)}`);

    const { name, recorder } = await server.record();
    recordingName = name;
    const taps: Promise<ArrivalTap>[] = [];
    server.onProducer = (_peer, producer) => {
      if (producer.kind === 'audio') taps.push(ArrivalTap.open(server.server.router, producer, () => recorder.nowMs));
    };
    const errors: string[] = [];
    const speakerEvents: string[] = [];
    recorder.on('error', (e) => errors.push(e.message));
    recorder.on('speakerchanged', (e) => speakerEvents.push(`${e.participant} at ${ms(e.atMs)}${e.latencyMs !== undefined ? ` (keyframe ${ms(e.latencyMs)} after the decision)` : ''}`));
    const planZero = Date.now() + LEAD_MS;
    const joins = new Map<string, JoinResult[]>();
    const media = (p: Person): SyntheticMedia => ({
      color: p.color,
      toneHz: p.toneHz,
      ...SIZE,
      tones: windows(p.id).map((w) => ({ atMs: planZero + w.fromMs, durationMs: w.toMs - w.fromMs, gain: w.beep ? BEEP_GAIN : TALK_GAIN })),
    });
    const joinAt = async (p: Person, atMs: number): Promise<void> => {
      await sleepUntil(planZero + atMs);
      const result = await room(pages.get(p.id)!).join(media(p));
      joins.set(p.id, [...(joins.get(p.id) ?? []), result]);
    };
    const bob = PLAN.people[1];
    await Promise.all([
      ...PLAN.people.map((p) => joinAt(p, p.joinMs)),
      (async () => {
        await sleepUntil(planZero + PLAN.bobLeavesMs);
        await room(pages.get('bob')!).leave();
        await joinAt(bob, PLAN.bobRejoinsMs);
      })(),
    ]);
    await sleepUntil(planZero + PLAN.stopMs);
    const { manifest } = await server.stop();
    session = { manifest, planZero, roomZero: Date.parse(manifest.startedAt), joins, errors, speakerEvents, taps };
    for (const page of pages.values()) {
      await room(page).leave();
      await page.close();
    }
    log(`   recorded ${ms(manifest.durationMs)}; plan zero at room ${ms(planZero - session.roomZero)}; speaker changes: ${speakerEvents.join(', ')}`);
  }, 180_000);

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('negotiates the audio level header extension and records without an error', () => {
    expect(session.errors).toEqual([]);
    for (const [id, results] of session.joins) {
      for (const r of results) {
        expect(r.audioHeaderExtensions, id).toContain('urn:ietf:params:rtp-hdrext:ssrc-audio-level');
        expect(r.videoCodec, id).toBe('video/VP8');
      }
    }
    expect(session.joins.get('bob')!.length).toBe(2);
  });

  it('writes one file per stay (bob: two), each decoding clean and covering the stay', () => {
    const byId = new Map(session.manifest.participants.map((p) => [p.id, p]));
    expect([...byId.keys()].sort()).toEqual(['alice', 'bob', 'carol']);
    expect(byId.get('bob')!.presences.map((p) => p.files)).toEqual([['participants/bob.webm'], ['participants/bob-2.webm']]);
    const lines: string[] = [];
    for (const [id, p] of byId) {
      for (const stay of p.presences) {
        expect(stay.files.length, id).toBe(1);
        const f = file(stay.files[0]!);
        const path = join(dir(), f.path);
        expect(ffmpegNullDecode(path, ['-enc_time_base', '-1']), path).toBe('');
        const times = probeTimes(path);
        const from = f.startMs + Math.min(times.audio.startS, times.video.startS) * 1000;
        const to = f.startMs + Math.max(times.audio.startS + times.audio.durationS, times.video.startS + times.video.durationS) * 1000;
        const leave = stay.leaveMs ?? session.manifest.durationMs;
        lines.push(
          `   ${f.path}: ${f.size} bytes, ${f.tracks.map((t) => `${t.kind} ${t.codec} ${t.frames} frames`).join(', ')}; stay ${ms(stay.joinMs)}-${ms(leave)}, ` +
            `media ${ms(from)}-${ms(to)} (starts ${ms(from - stay.joinMs)} after the join, ends ${ms(leave - to)} before the leave)`,
        );
        // The stay starts when the page creates its producers; media needs ICE+DTLS and a first keyframe.
        expect(from - stay.joinMs, `${f.path}: start after join`).toBeLessThan(1_500);
        expect(from - stay.joinMs, `${f.path}: start after join`).toBeGreaterThanOrEqual(0);
        expect(leave - to, `${f.path}: end before leave`).toBeLessThan(500);
        expect(to - leave, `${f.path}: end after leave`).toBeLessThan(100);
      }
    }
    log(...lines);
  });

  it("holds each participant's tone at their windows only, and its onsets line up within 20 ms with their arrival at the router", async () => {
    const taps = await Promise.all(session.taps);
    const onsets = new Map<number, { file: string; roomMs: number }[]>();
    const allErrors: number[] = [];
    /** Onset in the file (on the manifest's timeline) - the same onset's arrival at the router. */
    const vsArrival: number[] = [];
    const lines: string[] = [];
    for (const p of PLAN.people) {
      for (const stay of session.manifest.participants.find((x) => x.id === p.id)!.presences) {
        const f = file(stay.files[0]!);
        const audio = roomAudio(join(dir(), f.path), f.startMs);
        const heard = bursts(audio, 0.015);
        const track = f.tracks.find((t) => t.kind === 'audio')!;
        // Windows inside the track (a window cut by a join or leave is not expected whole).
        const expected = windows(p.id).filter((w) => roomMs(w.fromMs) > track.startMs! && roomMs(w.toMs) < track.endMs!);
        const errors = heard.map((b, i) => b.startMs - roomMs(expected[i]?.fromMs ?? NaN));
        allErrors.push(...errors);
        const arrived = taps.find((t) => t.producerId === track.producerId)!.onsets(0.015);
        const lags = heard.map((b, i) => b.startMs - (arrived[i] ?? NaN));
        vsArrival.push(...lags);
        lines.push(`   ${f.path}: ${heard.length} tone bursts (router saw ${arrived.length}), onset - planned: ${errors.map(ms).join(', ')}; onset - arrival: ${lags.map((x) => x.toFixed(1)).join(', ')} ms`);
        // By pitch, as the mix is checked: their own tone in their talks, no one's elsewhere.
        const covered = (t: number): boolean => t > track.startMs! + 100 && t < track.endMs! - 100;
        for (const q of PLAN.people) {
          const { minIn, maxOut, maxOutAtMs, maxUnder } = pitchLevels(audio, q.toneHz, q.id === p.id ? windows(p.id) : [], covered, roomMs);
          lines.push(`     ${q.toneHz} Hz: least in talks ${q.id === p.id ? minIn.toFixed(3) : '-'}, most in silence ${maxOut.toFixed(4)} (at room ${ms(maxOutAtMs)}), most under others ${maxUnder.toFixed(4)}`);
          if (q.id === p.id) expect(minIn, `${f.path} ${q.toneHz} Hz talking`).toBeGreaterThan(TONE_MIN);
          expect(maxOut, `${f.path} ${q.toneHz} Hz in silence`).toBeLessThan(SILENCE_MAX);
          expect(maxUnder, `${f.path} ${q.toneHz} Hz under others`).toBeLessThan(UNDER_OTHERS_MAX);
        }
        expect(heard.length, `${f.path}: bursts at ${heard.map((b) => ms(b.startMs)).join(', ')}, windows at ${expected.map((w) => ms(roomMs(w.fromMs))).join(', ')}`).toBe(expected.length);
        expected.forEach((w, i) => {
          // The page schedules its tone by the wall clock; what it captures lags by its audio path (tens of ms).
          expect(Math.abs(errors[i]!), `${f.path}: onset at ${ms(heard[i]!.startMs)}, planned ${ms(roomMs(w.fromMs))}`).toBeLessThan(250);
          expect(Math.abs(heard[i]!.endMs - heard[i]!.startMs - (w.toMs - w.fromMs)), `${f.path}: burst ${i} length`).toBeLessThan(100);
          expect(toneAmplitude(audio, p.toneHz, heard[i]!.startMs + 20, heard[i]!.endMs - 20), `${f.path}: ${p.toneHz} Hz in burst ${i}`).toBeGreaterThan(w.beep ? 0.02 : 0.2);
          if (w.beep) onsets.set(w.fromMs, [...(onsets.get(w.fromMs) ?? []), { file: f.path, roomMs: heard[i]!.startMs }]);
        });
      }
    }
    const spreads = PLAN.beeps.map((b) => {
      const got = onsets.get(b.atMs) ?? [];
      const spread = Math.max(...got.map((o) => o.roomMs)) - Math.min(...got.map((o) => o.roomMs));
      lines.push(`   beep at plan ${b.atMs} ms: ${got.map((o) => `${o.file} ${o.roomMs.toFixed(1)}`).join(', ')} -> spread ${spread.toFixed(1)} ms`);
      return { b, got, spread };
    });
    lines.push(`   pages' audio clock steps: ${[...session.joins].map(([id, r]) => `${id} ${r.map((x) => x.clockStepMs.toFixed(1)).join('/')} ms`).join(', ')}`);
    const spreadOf = (xs: number[]): number => Math.max(...xs) - Math.min(...xs);
    lines.push(
      `   every onset across files: - planned ${Math.min(...allErrors).toFixed(1)} to ${Math.max(...allErrors).toFixed(1)} ms (spread ${spreadOf(allErrors).toFixed(1)} ms, the pages' capture paths included); ` +
        `- arrival ${Math.min(...vsArrival).toFixed(1)} to ${Math.max(...vsArrival).toFixed(1)} ms (spread ${spreadOf(vsArrival).toFixed(1)} ms)`,
    );
    log(...lines);
    for (const { b, got } of spreads) expect(got.length, `beep at ${b.atMs}`).toBe(b.ids.length);
    // The manifest's timeline against what reached the router (libopus-decoded at arrival): every
    // onset of every file, talks and beeps, lies the same way, within 20 ms. (Against the pages'
    // plan, see the figures: each page's WebAudio-to-WebRTC capture path adds its own 20-50 ms.)
    expect(vsArrival.every(Number.isFinite), 'every onset arrived').toBe(true);
    expect(spreadOf(vsArrival), 'file onset - arrival, across files').toBeLessThanOrEqual(ALIGN_WITHIN_MS);
  });

  it('shows each talker in the speaker file within 2 s of their talk starting, decoding clean', () => {
    const view = session.manifest.speakerView!;
    expect(view.file).toBe('speaker.webm');
    const f = file(view.file!);
    const path = join(dir(), f.path);
    expect(ffmpegNullDecode(path, ['-enc_time_base', '-1']), path).toBe('');
    const nearest = (rgb: number[]): string => {
      const [best] = PLAN.people.map((p) => ({ id: p.id, d: Math.hypot(...rgb.map((c, i) => c - p.rgb[i]!)) })).sort((a, b) => a.d - b.d);
      return best!.d < 120 ? best!.id : 'other';
    };
    const frames = frameColours(path).map((x) => ({ roomMs: f.startMs + x.ptsS * 1000, who: nearest(x.rgb) }));
    const unknown = frames.filter((x) => x.who === 'other').length;
    const lines = [`   ${f.path}: ${f.size} bytes, ${frames.length} frames (${unknown} of no participant's colour); changes in the manifest: ${view.speakerChanges.map((c) => `${c.participant} ${ms(c.fromMs)}${c.latencyMs !== undefined ? ` (+${ms(c.latencyMs)})` : ''}`).join(', ')}`];
    expect(unknown).toBe(0);
    for (const talk of PLAN.talks) {
      const from = roomMs(talk.fromMs);
      const to = roomMs(talk.toMs);
      const during = frames.filter((x) => x.roomMs >= from && x.roomMs < to);
      const first = during.findIndex((x) => x.who === talk.id);
      const latency = first < 0 ? Infinity : during[first]!.roomMs - from;
      const after = first < 0 ? [] : during.slice(first);
      lines.push(`   ${talk.id} talks ${ms(from)}-${ms(to)}: shown ${ms(latency)} after the talk starts, then ${after.filter((x) => x.who === talk.id).length}/${after.length} frames theirs`);
      expect(latency, `${talk.id} at ${ms(from)}`).toBeLessThan(SWITCH_WITHIN_MS);
      expect(after.every((x) => x.who === talk.id), `${talk.id} stays shown to the end of the talk`).toBe(true);
    }
    log(...lines);
  });

  it('writes the mix: every talker\'s tone where they talked, silence elsewhere', () => {
    const lines: string[] = [];
    const checks: (() => void)[] = [];
    const speaker = file(session.manifest.speakerView!.file!);
    for (const f of [file('mix.ogg'), speaker]) {
      const path = join(dir(), f.path);
      expect(ffmpegNullDecode(path, ['-enc_time_base', '-1']), path).toBe('');
      const audio = roomAudio(path, f.startMs);
      for (const p of PLAN.people) {
        const present = session.manifest.participants.find((x) => x.id === p.id)!.presences;
        const covered = (t: number): boolean => t > f.startMs && t < f.endMs && present.some((s) => t > s.joinMs + 1_000 && t < (s.leaveMs ?? session.manifest.durationMs) - 200);
        const { minIn, maxOut, maxOutAtMs, maxUnder } = pitchLevels(audio, p.toneHz, windows(p.id), covered, roomMs);
        lines.push(`   ${f.path} ${p.id} (${p.toneHz} Hz): least in talks ${minIn.toFixed(3)}, most in silence ${maxOut.toFixed(4)} (at room ${ms(maxOutAtMs)}), most under others ${maxUnder.toFixed(4)}`);
        checks.push(() => {
          expect(minIn, `${f.path} ${p.id} talking`).toBeGreaterThan(TONE_MIN);
          expect(maxOut, `${f.path} ${p.id} in silence, at room ${ms(maxOutAtMs)}`).toBeLessThan(SILENCE_MAX);
          expect(maxUnder, `${f.path} ${p.id} under others`).toBeLessThan(UNDER_OTHERS_MAX);
        });
      }
      // Each talk's onset in the mix, against the same onset in the talker's own file (both on the manifest's timeline).
      const mixBursts = bursts(audio, 0.015);
      const offsets = PLAN.talks.map((talk) => {
        const own = session.manifest.files.find((x) => x.participant === talk.id && x.startMs < roomMs(talk.fromMs) && x.endMs > roomMs(talk.toMs))!;
        const near = (b: { startMs: number }): boolean => Math.abs(b.startMs - roomMs(talk.fromMs)) < 250;
        const inOwn = bursts(roomAudio(join(dir(), own.path), own.startMs), 0.015).find(near);
        return (mixBursts.find(near)?.startMs ?? NaN) - (inOwn?.startMs ?? NaN);
      });
      lines.push(`   ${f.path}: talk onsets - the talker's file: ${offsets.map((x) => x.toFixed(1)).join(', ')} ms`);
      checks.push(() => {
        for (const x of offsets) expect(Math.abs(x), `${f.path}: talk onset vs the talker's file`).toBeLessThanOrEqual(MIX_ALIGN_WITHIN_MS);
      });
    }
    log(...lines);
    for (const check of checks) check();
  });

  it('plays the speaker file and every participant file in Chromium to the end', async () => {
    const page = await chromium.context.newPage();
    try {
      await page.goto(`${server.server.url}/?peer=player`);
      await page.waitForFunction(() => 'e2e' in globalThis);
      for (const f of session.manifest.files.filter((x) => x.container === 'webm')) {
        const src = server.server.serveFile(join(dir(), f.path));
        const result = await page.evaluate(
          ([src, rate]) => (globalThis as unknown as { e2e: PageApi }).e2e.play(src, rate, 30_000),
          [src, PLAYBACK_RATE] as const,
        );
        log(`   ${f.path} played: ended ${result.ended}${result.error ? `, ${result.error}` : ''}, ${result.videoWidth}x${result.videoHeight}, duration ${result.duration.toFixed(3)} s (manifest ${ms(f.durationMs)}), ${ms(result.playMs)} at ${PLAYBACK_RATE}x`);
        expect(result.error, f.path).toBeUndefined();
        expect(result.ended, f.path).toBe(true);
        expect(result.videoWidth, f.path).toBeGreaterThan(0);
      }
    } finally {
      await page.close();
    }
  });

  it('lets a person record from the room page: two tabs join, Record, Stop, the recording is listed', async () => {
    const tabs = [await openRoomPage(chromium, server.pageUrl, 'tab-1'), await openRoomPage(chromium, server.pageUrl, 'tab-2')];
    try {
      for (const tab of tabs) {
        await tab.click('#join');
        await tab.waitForFunction(() => /joined/.test((globalThis as any).document.getElementById('status').textContent));
      }
      const before = await tabs[0]!.locator('#recordings li').count();
      await tabs[0]!.click('#record');
      await tabs[0]!.waitForFunction(() => /recording/.test((globalThis as any).document.getElementById('status').textContent));
      await new Promise((r) => setTimeout(r, 4_000));
      await tabs[0]!.click('#stop');
      await tabs[0]!.waitForFunction(() => /recorded/.test((globalThis as any).document.getElementById('status').textContent));
      const items = tabs[0]!.locator('#recordings li');
      expect(await items.count()).toBe(before + 1);
      const text = (await items.last().textContent()) ?? '';
      log(`   room page lists: ${text}`);
      for (const name of ['participants/tab-1.webm', 'participants/tab-2.webm', 'speaker.webm', 'mix.ogg']) expect(text).toContain(name);
      // The listed players load what they point at.
      const durations = await items.last().evaluate(async (li: any) => {
        const players = [...li.querySelectorAll('video, audio')] as any[];
        const loaded = (v: any): Promise<unknown> =>
          v.readyState >= 1 ? Promise.resolve() : new Promise((r) => ['loadedmetadata', 'error'].forEach((e) => v.addEventListener(e, r)));
        await Promise.race([Promise.all(players.map(loaded)), new Promise((r) => setTimeout(r, 10_000))]);
        return players.map((v) => v.duration as number);
      });
      log(`   its players read durations ${durations.map((d) => d.toFixed(2)).join(', ')} s`);
      for (const d of durations) expect(d).toBeGreaterThan(2);
    } finally {
      for (const tab of tabs) await tab.close();
    }
  });
});
