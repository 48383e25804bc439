/**
 * The audio mix through a real mediasoup 3.8.4 worker: two producers replay the fixture's Opus
 * (a 1 kHz beep every second), the second joining 2.5 s after the first; both are consumed on a
 * DirectTransport into one MixSource, recorded by `new Recorder({ source: mix, output: 'mix.ogg' })`.
 * ffmpeg must decode the file clean, ffprobe give the recording's length, and every beep of both
 * talkers sit where it was sent.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Recorder } from '../src/recorder.js';
import { Replayer } from '../src/replay/replayer.js';
import { MixSource } from '../src/room/mix/mix-source.js';
import { recorderCapabilities } from '../src/source/mediasoup-direct.js';
import type { CapturedStream } from '../src/source/capture.js';
import { decodeMono, toneAmplitude } from './helpers/mix-signals.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { h264OpusFixture, replayRig } from './helpers/replay.js';

const SECONDS = 6;
const JOIN_MS = 2500;
const MS = 48;
/** The fixture's beeps start 314 samples after each second of its audio (fixtures/h264-opus.json). */
const BEEP_OFFSET_MS = 314 / MS;

describe('MixSource through mediasoup', () => {
  it('records two replayed producers, the second a late joiner, as one clean mix.ogg with every beep in place', async () => {
    const { capture } = h264OpusFixture();
    const full = capture.streams.find((s) => s.kind === 'audio')!;
    const first = full.packets[0]!.timeMs;
    const audio: CapturedStream = { ...full, packets: full.packets.filter((p) => p.timeMs - first < SECONDS * 1000) };
    const rig = await replayRig({ ...capture, streams: [audio] });
    try {
      const late = await Replayer.create(rig.router, [audio]);
      const file = join(tempDir('mix-int-'), 'mix.ogg');
      const mix = new MixSource();
      const recorder = new Recorder({ source: mix, output: file });
      await recorder.start();
      // Where the file's time 0 is on the wall clock.
      const startedMs = mix.firstSampleWallMs!;
      const consumers = await rig.router.createDirectTransport();
      /** When each talker's first packet reached us, ms after the mix started: where its audio starts on the mix's timeline. */
      const firstArrival = new Map<string, number>();
      for (const [id, producer] of [['alice', rig.replayer.producers[0]!], ['bob', late.producers[0]!]] as const) {
        const consumer = await consumers.consume({ producerId: producer.id, rtpCapabilities: recorderCapabilities(rig.router) });
        const codec = consumer.rtpParameters.codecs[0]!;
        const input = mix.addInput(id, { payloadType: codec.payloadType, clockRate: codec.clockRate, channels: codec.channels });
        consumer.on('rtp', (packet: Buffer) => {
          const now = performance.now();
          if (!firstArrival.has(id)) firstArrival.set(id, now - startedMs);
          input.receive(packet, now);
        });
      }
      const alice = rig.replayer.play();
      await sleep(JOIN_MS);
      await Promise.all([alice, late.play()]);
      await sleep(300);
      const stoppedAt = performance.now() - startedMs;
      await recorder.stop();

      expect(ffmpegDecodeErrors(file)).toBe('');
      const probe = ffprobeStreams(file);
      expect(probe.streams[0]).toMatchObject({ codec_name: 'opus', channels: 2, sample_rate: '48000' });
      // The mix runs from start to stop, less what its delay still held at stop.
      expect(Number(probe.format.duration) * 1000).toBeGreaterThan(stoppedAt - mix.delayMs - 60);
      expect(Number(probe.format.duration) * 1000).toBeLessThan(stoppedAt + 60);

      const pcm = decodeMono(file);
      const onsets = beepOnsetsMs(pcm);
      // Beeps whose first 5 ms are in the replayed packets, from each talker's first arrival on.
      const beeps = Math.floor((audio.packets.length * 960 - 314 - 5 * MS) / 48000) + 1;
      const expected = ['alice', 'bob']
        .flatMap((id) => Array.from({ length: beeps }, (_, k) => firstArrival.get(id)! + k * 1000 + BEEP_OFFSET_MS))
        .sort((a, b) => a - b);
      expect(firstArrival.get('bob')! - firstArrival.get('alice')!).toBeGreaterThan(JOIN_MS - 50);
      expect(onsets.length).toBe(expected.length);
      // Each beep within 20 ms (the alignment bound) of where the talker's first arrival
      // puts it. Quiet, the error is the onset detector's 5 ms step (-2.6 .. +2.8 ms measured);
      // a packet that a stall on a loaded machine made late is concealed, and the talker's audio
      // then goes on from the concealment's end, a few ms later (bounded by driftToleranceMs).
      const errors = onsets.map((t, i) => t - expected[i]!);
      console.log(`beep placement errors, ms: ${errors.map((e) => e.toFixed(1)).join(' ')}`);
      for (const e of errors) expect(Math.abs(e)).toBeLessThan(20);

      const inputs = mix.stats().inputs;
      expect(inputs.map((s) => s.id)).toEqual(['alice', 'bob']);
      for (const s of inputs) {
        expect(s.packetsReceived).toBe(audio.packets.length);
        // Every packet decoded but those a stall made late (at most 2 %; none when quiet).
        expect(s.packetsLost).toBe(0);
        expect(s.packetsLate).toBeLessThanOrEqual(audio.packets.length * 0.02);
        expect(s.decodedMs).toBe((s.packetsReceived - s.packetsLate) * 20);
        expect(s.packetsMalformed + s.packetsWrongPayloadType + s.decodeErrors).toBe(0);
      }
      expect(mix.stats().errors).toBe(0);
      late.close();
    } finally {
      rig.close();
    }
  });
});

/** Onsets (ms into the file) of the fixture's 1 kHz beeps: 5 ms windows rising above half the loudest, after 300 ms below. */
function beepOnsetsMs(pcm: Int16Array): number[] {
  const step = 5 * MS;
  const levels: number[] = [];
  for (let i = 0; i + step <= pcm.length; i += step) levels.push(toneAmplitude(pcm, i, step, 1000));
  const threshold = Math.max(...levels) / 2;
  const onsets: number[] = [];
  let quietSince = -Infinity;
  levels.forEach((level, k) => {
    if (level > threshold) {
      if (k - quietSince >= 60) onsets.push(k * 5);
      quietSince = k + 1;
    }
  });
  return onsets;
}
