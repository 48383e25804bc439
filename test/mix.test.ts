/**
 * The audio mix on a simulated clock: synthetic Opus tones in, the mix recorded by a real
 * Recorder to Ogg, and what ffmpeg decodes from that file checked for each tone's place, silence,
 * concealment of a lost packet, and the limiter.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Recorder } from '../src/recorder.js';
import { MixSource, type MixSourceOptions } from '../src/room/mix/mix-source.js';
import type { MixInput } from '../src/room/mix/mix-input.js';
import { decodeInterleaved, decodeMono, opusTone, rms, rtp, toneAmplitude } from './helpers/mix-signals.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';

const SPEC = { payloadType: 111, clockRate: 48000, channels: 2 };
const MS = 48; // samples per ms

/** Sends `packets` on `input` as a sender would: one every 20 ms from `startMs` (ms after the mix started), skipping `lose`. */
function send(input: () => MixInput, packets: Buffer[], startMs: number, ssrc: number, lose: number[] = []): void {
  const tsBase = (ssrc * 7919) >>> 0;
  packets.forEach((payload, i) => {
    if (lose.includes(i)) return;
    // A few ms of deterministic jitter, as a network gives.
    setTimeout(() => input().receive(rtp(payload, 1000 + i, tsBase + i * 960, ssrc), performance.now()), startMs + i * 20 + ((i * 7) % 5));
  });
}

interface MixRun {
  file: string;
  pcm: Int16Array;
  mix: MixSource;
}

/** Runs a mix for `durationMs` of simulated time with what `script` schedules, recorded to Ogg. */
async function runMix(options: MixSourceOptions, durationMs: number, script: (mix: MixSource) => void): Promise<MixRun> {
  const file = join(tempDir('mix-'), 'mix.ogg');
  const mix = new MixSource(options);
  const recorder = new Recorder({ source: mix, output: file });
  await recorder.start();
  script(mix);
  await vi.advanceTimersByTimeAsync(durationMs);
  await recorder.stop();
  expect(ffmpegDecodeErrors(file)).toBe('');
  return { file, pcm: decodeMono(file), mix };
}

/** The `hz` amplitude in each 50 ms window from `fromMs` to `toMs` of the decoded file. */
function amplitudes(pcm: Int16Array, hz: number, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  for (let t = fromMs; t + 50 <= toMs; t += 50) out.push(toneAmplitude(pcm, t * MS, 50 * MS, hz));
  return out;
}

function windowsRms(pcm: Int16Array, fromMs: number, toMs: number, windowMs = 50): number[] {
  const out: number[] = [];
  for (let t = fromMs; t + windowMs <= toMs; t += windowMs) out.push(rms(pcm, t * MS, windowMs * MS));
  return out;
}

/** Largest step between neighbouring samples in [fromMs, toMs): a click is a step far above a tone's. */
function maxStep(pcm: Int16Array, fromMs: number, toMs: number): number {
  let max = 0;
  for (let i = fromMs * MS + 1; i < toMs * MS; i++) max = Math.max(max, Math.abs(pcm[i]! - pcm[i - 1]!));
  return max;
}

describe('MixSource', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('holds each tone where it was sent, a late joiner late, silence elsewhere', async () => {
    const a = opusTone(440, 50);
    const b = opusTone(1250, 50);
    let inputA: MixInput | undefined;
    let inputB: MixInput | undefined;
    let startMs = 0;
    const { file, pcm, mix } = await runMix({}, 3200, (m) => {
      startMs = performance.now();
      inputA = m.addInput('alice', SPEC);
      send(() => inputA!, a, 200, 0x1111);
      // Bob joins at 1500 ms and talks from 1600 to 2600 ms.
      setTimeout(() => (inputB = m.addInput('bob', SPEC)), 1500);
      send(() => inputB!, b, 1600, 0x2222);
    });
    const probe = ffprobeStreams(file);
    expect(probe.streams[0]).toMatchObject({ codec_name: 'opus', channels: 2, sample_rate: '48000' });
    // The mix runs from start to stop, continuously, whoever talks.
    expect(Number(probe.format.duration)).toBeGreaterThan(3.0);
    expect(Number(probe.format.duration)).toBeLessThan(3.25);
    for (const x of amplitudes(pcm, 440, 300, 1150)) expect(x).toBeGreaterThan(8000);
    for (const x of amplitudes(pcm, 1250, 300, 1150)) expect(x).toBeLessThan(200);
    for (const x of amplitudes(pcm, 1250, 1700, 2550)) expect(x).toBeGreaterThan(8000);
    for (const x of amplitudes(pcm, 440, 1700, 2550)) expect(x).toBeLessThan(200);
    // Before anyone talks, between the talkers (after alice's last packet has faded), after bob.
    for (const r of [...windowsRms(pcm, 0, 180), ...windowsRms(pcm, 1400, 1580), ...windowsRms(pcm, 2800, 3000)]) expect(r).toBeLessThan(50);
    // Onsets where the packets were sent, on the file's timeline (which starts at
    // firstSampleWallMs): sent at 200 and 1600 ms after the mix started; the tones' own encoder
    // delay (312 samples) is taken out as in a participant's file (pre-skip).
    const fileMs = (sentMs: number): number => sentMs + (startMs - mix.firstSampleWallMs!) - 5;
    expect(Math.abs(onsetMs(pcm, 440, 0) - fileMs(200))).toBeLessThanOrEqual(3);
    expect(Math.abs(onsetMs(pcm, 1250, 1300) - fileMs(1600))).toBeLessThanOrEqual(3);
    const stats = mix.stats();
    expect(stats.inputs.map((s) => [s.id, s.packetsReceived, s.decodedMs])).toEqual([
      ['alice', 50, 1000],
      ['bob', 50, 1000],
    ]);
    expect(stats.errors).toBe(0);
    expect(stats.framesSkipped).toBe(0);
  });

  it('conceals a lost packet instead of clicking', async () => {
    const a = opusTone(440, 50);
    let input: MixInput | undefined;
    const { pcm, mix } = await runMix({}, 1600, (m) => {
      input = m.addInput('alice', SPEC);
      send(() => input!, a, 200, 0x1111, [25]); // packet 25: 700..720 ms
    });
    const steadyRms = rms(pcm, 400 * MS, 200 * MS);
    const steadyStep = maxStep(pcm, 400, 600);
    // No dropout: every 10 ms around the loss keeps most of the tone's level...
    for (const r of windowsRms(pcm, 660, 780, 10)) expect(r).toBeGreaterThan(0.5 * steadyRms);
    // ...and no click: no step between samples much above the tone's own (a hole of silence
    // would give steps of thousands: the tone's level against zero).
    expect(maxStep(pcm, 660, 780)).toBeLessThan(1.5 * steadyStep);
    const stats = mix.stats().inputs[0]!;
    expect(stats.packetsLost).toBe(1);
    expect(stats.concealedMs).toBeGreaterThanOrEqual(20);
  });

  it('keeps two full-scale talkers from clipping', async () => {
    const loud = opusTone(440, 50, 32767);
    let a: MixInput | undefined;
    let b: MixInput | undefined;
    const { file, mix } = await runMix({}, 1600, (m) => {
      a = m.addInput('alice', SPEC);
      b = m.addInput('bob', SPEC);
      send(() => a!, loud, 200, 0x1111);
      send(() => b!, loud, 200, 0x2222);
    });
    const samples = decodeInterleaved(file);
    let peak = 0;
    for (const s of samples) peak = Math.max(peak, Math.abs(s));
    // The sum would peak near 2x full scale; the limiter holds it under -1 dBFS (29204), and the
    // encoder's overshoot stays well clear of full scale.
    expect(peak).toBeLessThan(31000);
    expect(mix.stats().limiterMinGain).toBeLessThan(0.6);
    // Limited, not crushed: the tone stays loud.
    const mono = decodeMono(file);
    for (const x of amplitudes(mono, 440, 300, 1150)) expect(x).toBeGreaterThan(20000);
  });

  it('mixes to mono by option', async () => {
    const a = opusTone(440, 25);
    const { file, pcm } = await runMix({ channels: 1 }, 1000, (m) => {
      const input = m.addInput('alice', SPEC);
      send(() => input, a, 200, 0x1111);
    });
    expect(ffprobeStreams(file).streams[0]).toMatchObject({ codec_name: 'opus', channels: 1 });
    for (const x of amplitudes(pcm, 440, 300, 650)) expect(x).toBeGreaterThan(8000);
  });

  it("puts a microphone's mono-coded stream in both channels of a stereo mix", async () => {
    const mono = opusTone(440, 25, 12000, 1);
    expect(mono[0]![0]! & 0x04).toBe(0); // the TOC's stereo bit: coded mono
    const { file } = await runMix({}, 1000, (m) => {
      const input = m.addInput('alice', SPEC);
      send(() => input, mono, 200, 0x1111);
    });
    const stereo = decodeInterleaved(file);
    const left = stereo.filter((_, i) => i % 2 === 0);
    const right = stereo.filter((_, i) => i % 2 === 1);
    for (const channel of [left, right]) for (const x of amplitudes(channel, 440, 300, 650)) expect(x).toBeGreaterThan(8000);
  });

  it('goes on when an input changes SSRC (a new producer on the same input)', async () => {
    const a = opusTone(440, 25);
    const b = opusTone(440, 25);
    let input: MixInput | undefined;
    const { pcm, mix } = await runMix({}, 1600, (m) => {
      input = m.addInput('alice', SPEC);
      send(() => input!, a, 200, 0x1111);
      send(() => input!, b, 700, 0x5555); // new numbering and timestamps, placed by arrival again
    });
    for (const x of amplitudes(pcm, 440, 300, 1150)) expect(x).toBeGreaterThan(8000);
    expect(mix.stats().inputs[0]).toMatchObject({ ssrcChanges: 1, decodedMs: 1000, packetsLate: 0 });
  });

  it('counts bad packets and drops them, and holds no flood of packets', async () => {
    const a = opusTone(440, 50);
    const flood = opusTone(1250, 500); // 10 s of audio sent at once
    let input: MixInput | undefined;
    let flooder: MixInput | undefined;
    const { pcm, mix } = await runMix({}, 1600, (m) => {
      input = m.addInput('alice', SPEC);
      flooder = m.addInput('flood', SPEC);
      send(() => input!, a, 200, 0x1111);
      setTimeout(() => {
        const now = performance.now();
        input!.receive(Buffer.from([0x80, 111]), now); // shorter than an RTP header
        input!.receive(Buffer.alloc(40), now); // RTP version 0
        input!.receive(rtp(a[0]!, 5000, 0, 0x1111, 96), now); // wrong payload type
        input!.receive(rtp(Buffer.from([0xff, 0xff]), 1030, 0x1111 * 7919 + 30 * 960, 0x1111), now); // not an Opus packet (code 3, no frames)
        flood.forEach((payload, i) => flooder!.receive(rtp(payload, i, i * 960, 0x3333), now));
      }, 700);
    });
    const [alice, flooded] = mix.stats().inputs;
    expect(alice).toMatchObject({ packetsMalformed: 3, packetsWrongPayloadType: 1 });
    // The flood: placed by arrival, 10 s of audio all land on one instant; what does not fit
    // there is dropped as late, not held.
    expect(flooded!.packetsLate).toBeGreaterThan(450);
    expect(flooded!.packetsLate + flooded!.decodedMs / 20).toBe(500);
    // Alice's tone goes on around the bad packets.
    for (const x of amplitudes(pcm, 440, 300, 1150)) expect(x).toBeGreaterThan(8000);
  });

  it('stops sending while paused and goes on after resume', async () => {
    // On the real clock: the Recorder cuts the paused time out by its own (perf_hooks) clock.
    vi.useRealTimers();
    const file = join(tempDir('mix-'), 'mix.ogg');
    const mix = new MixSource();
    const recorder = new Recorder({ source: mix, output: file });
    await recorder.start();
    const startedAt = performance.now();
    await sleep(500);
    const before = mix.stats().framesSent;
    const pausedAt = performance.now();
    await recorder.pause();
    await sleep(500);
    expect(mix.stats().framesSent).toBe(before);
    const resumedAt = performance.now();
    await recorder.resume();
    await sleep(500);
    const stoppedAt = performance.now();
    await recorder.stop();
    expect(mix.stats().framesSent).toBeGreaterThan(before + 20);
    expect(ffmpegDecodeErrors(file)).toBe('');
    // The paused time is cut out, as from any recording, not filled with silence; what the
    // mix's delay still held at stop is not in the file.
    const durationMs = Number(ffprobeStreams(file).format.duration) * 1000;
    const expectedMs = pausedAt - startedAt + (stoppedAt - resumedAt) - mix.delayMs;
    expect(Math.abs(durationMs - expectedMs)).toBeLessThan(60);
  });
});

/** Time, in ms, of the first 10 ms window (1 ms steps) from `fromMs` on whose `hz` amplitude is above half of 12000 (the tones' peak): about 5 ms before the onset of a tone that starts sharply. */
function onsetMs(pcm: Int16Array, hz: number, fromMs: number): number {
  for (let t = fromMs; (t + 10) * MS <= pcm.length; t += 1) if (toneAmplitude(pcm, t * MS, 10 * MS, hz) > 6000) return t;
  return Infinity;
}
