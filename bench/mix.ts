/**
 * The audio mix's cost and delay, in real time on this machine's clock (issue 11's target: well
 * under 1 % of a core per mixed participant).
 *
 * CPU: N participants talk at once (each its own chord, 20 ms Opus coded stereo, or mono as
 * browsers send a microphone, encoded beforehand), fed to one MixSource every 20 ms for
 * SECONDS; the process' CPU time (user + system) over the run, less that of a mix of no one
 * (the room's own cost: timer, limiter, silence frames), divided by N, is the cost per participant; and the difference between 8 and 32
 * participants, divided by 24, the cost of one more. Repeated REPEATS times, median.
 *
 * Delay: one participant is silent but for a click every 507 ms (so it falls at ever other places
 * within a 20 ms frame); the mix's packets are decoded as they are sent, and the delay is the
 * time from the arrival of the packet holding a click to the moment, in the mix's live stream,
 * of the click's sample (the packet's send time plus the sample's offset in it).
 *
 *   node --import tsx bench/mix.ts [seconds per run, default 20]
 */
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { MixSource } from '../src/room/mix/mix-source.js';
import type { MixInput } from '../src/room/mix/mix-input.js';
import { median } from './stats.js';

interface OpusCodec {
  encode(pcm: Buffer): Buffer;
  decode(packet: Buffer): Buffer;
  setBitrate(bitsPerSecond: number): void;
}
const { OpusEncoder } = createRequire(import.meta.url)('@discordjs/opus') as { OpusEncoder: new (rate: number, channels: number) => OpusCodec };

const SECONDS = Number(process.argv[2] ?? 20);
const REPEATS = 3;
const LOOP_FRAMES = 250; // 5 s of audio per participant, sent round and round

/**
 * LOOP_FRAMES Opus packets of a chord (three sines, different per participant) with a slow
 * tremolo, as talk is never steady; coded stereo at 64 kbps, or mono at 32 kbps as browsers
 * send a microphone.
 */
function chordPackets(seed: number, channels: 1 | 2): Buffer[] {
  const encoder = new OpusEncoder(48000, channels);
  encoder.setBitrate(channels * 32000);
  const hz = [180 + 37 * seed, 420 + 53 * seed, 910 + 71 * seed];
  const packets: Buffer[] = [];
  for (let f = 0; f < LOOP_FRAMES; f++) {
    const pcm = Buffer.alloc(960 * 2 * channels);
    for (let i = 0; i < 960; i++) {
      const t = (f * 960 + i) / 48000;
      const level = 2500 * (1 + 0.8 * Math.sin(2 * Math.PI * 3 * t));
      const v = Math.round(level * (Math.sin(2 * Math.PI * hz[0]! * t) + Math.sin(2 * Math.PI * hz[1]! * t) + Math.sin(2 * Math.PI * hz[2]! * t)));
      for (let c = 0; c < channels; c++) pcm.writeInt16LE(v, (i * channels + c) * 2);
    }
    packets.push(encoder.encode(pcm));
  }
  return packets;
}

/** A sender: RTP packets of `payloads` round and round, one per 20 ms, on `input`. */
class Talker {
  private n = 0;
  constructor(
    private readonly input: MixInput,
    private readonly payloads: Buffer[],
    private readonly ssrc: number,
  ) {}

  /** Sends the next packet now; returns the index of its payload. */
  send(nowMs: number): number {
    const k = this.n % this.payloads.length;
    const payload = this.payloads[k]!;
    const packet = Buffer.allocUnsafe(12 + payload.length);
    packet[0] = 0x80;
    packet[1] = 111;
    packet.writeUInt16BE(this.n & 0xffff, 2);
    packet.writeUInt32BE((this.n * 960) >>> 0, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    payload.copy(packet, 12);
    this.input.receive(packet, nowMs);
    this.n++;
    return k;
  }
}

/** Runs `talkers` in real time for `seconds`, one packet each per 20 ms, paced by the wall clock. */
async function talk(talkers: Talker[], seconds: number, onSent?: (k: number, nowMs: number) => void): Promise<void> {
  const start = performance.now();
  for (let f = 0; f < seconds * 50; f++) {
    const wait = start + f * 20 - performance.now();
    if (wait > 1) await sleep(wait);
    const now = performance.now();
    for (let i = 0; i < talkers.length; i++) {
      const k = talkers[i]!.send(now);
      if (i === 0) onSent?.(k, now);
    }
  }
}

const SPEC = { payloadType: 111, clockRate: 48000, channels: 2 };

/** CPU ms (user + system) of this process while `n` participants talk for SECONDS. */
async function cpuOf(n: number, payloads: Buffer[][]): Promise<{ cpuMs: number; framesSent: number; framesSkipped: number }> {
  const mix = new MixSource();
  const talkers = Array.from({ length: n }, (_, i) => new Talker(mix.addInput(`p${i}`, SPEC), payloads[i % payloads.length]!, 1000 + i));
  await mix.open();
  await mix.start({ rtp: () => undefined, ended: () => undefined });
  const before = process.cpuUsage();
  await talk(talkers, SECONDS);
  const used = process.cpuUsage(before);
  mix.close();
  const stats = mix.stats();
  return { cpuMs: (used.user + used.system) / 1000, framesSent: stats.framesSent, framesSkipped: stats.framesSkipped };
}

/** Delays, in ms, from each click's arrival to its sample in the mix's live stream. */
async function delays(): Promise<{ delaysMs: number[]; configuredMs: number }> {
  const CLICK_SPACING = 24317; // samples (506.6 ms): a click falls at ever other places within a frame
  const encoder = new OpusEncoder(48000, 2);
  const payloads: Buffer[] = [];
  const clickAt: number[] = []; // the click's sample in each payload's frame, -1 for none
  for (let f = 0; f < LOOP_FRAMES; f++) {
    const pcm = Buffer.alloc(960 * 4);
    const offset = (CLICK_SPACING - ((f * 960) % CLICK_SPACING)) % CLICK_SPACING;
    const click = offset < 960 ? offset : -1;
    // A 1 kHz burst from the click to the frame's end.
    if (click >= 0) for (let i = click; i < 960; i++) pcm.writeInt16LE(Math.round(20000 * Math.sin((2 * Math.PI * 1000 * (i - click)) / 48000)), i * 4);
    payloads.push(encoder.encode(pcm));
    clickAt.push(click);
  }
  const mix = new MixSource();
  const decoder = new OpusEncoder(48000, 1);
  const arrivals: number[] = [];
  const heard: number[] = [];
  let lastLoudMs = -Infinity;
  await mix.open();
  await mix.start({
    rtp: (_index, packet) => {
      const sentMs = performance.now();
      const pcm = decoder.decode(packet.subarray(12));
      for (let j = 0; j < pcm.length / 2; j++) {
        if (Math.abs(pcm.readInt16LE(j * 2)) < 4000) continue;
        const atMs = sentMs + j / 48;
        if (atMs - lastLoudMs > 100) heard.push(atMs);
        lastLoudMs = atMs;
      }
    },
    ended: () => undefined,
  });
  const talker = new Talker(mix.addInput('clicker', SPEC), payloads, 7);
  await talk([talker], SECONDS, (k, nowMs) => {
    // The click is at decoded sample clickAt[k] + 312 (the encoder's delay) of the packet's audio.
    if (clickAt[k]! >= 0) arrivals.push(nowMs + (clickAt[k]! + 312) / 48);
  });
  await sleep(500);
  mix.close();
  // Each arrival with the first sound heard after it.
  const out: number[] = [];
  let h = 0;
  for (const a of arrivals) {
    while (h < heard.length && heard[h]! < a) h++;
    if (h < heard.length) out.push(heard[h]! - a);
  }
  return { delaysMs: out, configuredMs: mix.delayMs };
}

async function main(): Promise<void> {
  const inputs = {
    stereo: Array.from({ length: 8 }, (_, i) => chordPackets(i, 2)),
    mono: Array.from({ length: 8 }, (_, i) => chordPackets(i, 1)),
  };
  const cases: { coded: keyof typeof inputs; n: number }[] = [
    { coded: 'stereo', n: 1 },
    { coded: 'stereo', n: 8 },
    { coded: 'stereo', n: 32 },
    { coded: 'mono', n: 8 },
    { coded: 'mono', n: 32 },
  ];
  console.log(`audio mix, ${SECONDS} s runs in real time, median of ${REPEATS}; stereo mix at 64 kbps; everyone talking at once`);
  // Warm-up: the first run of a process compiles the hot code.
  await cpuOf(8, inputs.stereo);
  const base: number[] = [];
  const runs = new Map<string, number[]>();
  let skipped = 0;
  for (let r = 0; r < REPEATS; r++) {
    base.push((await cpuOf(0, inputs.stereo)).cpuMs);
    for (const c of cases) {
      const run = await cpuOf(c.n, inputs[c.coded]);
      skipped += run.framesSkipped;
      const key = `${c.coded}:${c.n}`;
      runs.set(key, [...(runs.get(key) ?? []), run.cpuMs]);
    }
  }
  const baseMs = median(base);
  const perMinute = (ms: number): number => (ms * 60) / SECONDS;
  const core = (ms: number): string => `${((ms / (SECONDS * 1000)) * 100).toFixed(3)} %`;
  console.log(`room's own cost (a mix of no one: timer, limiter, silence): ${perMinute(baseMs).toFixed(0)} ms CPU per minute = ${core(baseMs)} of a core`);
  console.log('inputs coded | participants | whole mix, CPU ms/min | per participant, CPU ms/min | per participant, % of a core');
  for (const c of cases) {
    const total = median(runs.get(`${c.coded}:${c.n}`)!);
    const per = (total - baseMs) / c.n;
    console.log(`${c.coded.padStart(12)} | ${String(c.n).padStart(12)} | ${perMinute(total).toFixed(0).padStart(21)} | ${perMinute(per).toFixed(0).padStart(28)} | ${core(per)}`);
  }
  // The first participant also brings the encoder in (a mix of no one sends silence frames
  // unencoded), so the cost of one more participant is read between 8 and 32.
  for (const coded of ['stereo', 'mono'] as const) {
    const slope = (median(runs.get(`${coded}:32`)!) - median(runs.get(`${coded}:8`)!)) / 24;
    console.log(`one more participant (${coded}-coded, 8 -> 32): ${perMinute(slope).toFixed(0)} ms CPU per minute = ${core(slope)} of a core`);
  }
  if (skipped > 0) console.log(`frames skipped (this process stalled > 200 ms): ${skipped}`);
  const { delaysMs, configuredMs } = await delays();
  const sorted = [...delaysMs].sort((a, b) => a - b);
  console.log(
    `delay, arrival to the mix's live stream, ${sorted.length} clicks: median ${median(sorted).toFixed(1)} ms, min ${sorted[0]!.toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)}; MixSource.delayMs ${configuredMs}`,
  );
}

await main();
