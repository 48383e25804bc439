/**
 * The Opus pre-skip as each container states it (createMuxer): a beep encoded by libopus at a
 * known instant decodes at that instant in ffmpeg (not the encoder's 6.5 ms delay later), and the
 * first decoded sample stays where the first packet's dts puts it (the timeline's zero unmoved).
 */
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Container } from '../src/mux/container.js';
import { createMuxer, OPUS_PRE_SKIP } from '../src/mux/muxer.js';
import type { StreamSpec } from '../src/pipeline/stream-spec.js';
import { ffprobeFrames, mkvinfo, tempDir } from './helpers/oracles.js';

const { OpusEncoder } = createRequire(import.meta.url)('@discordjs/opus') as {
  OpusEncoder: new (rate: number, channels: number) => { encode(pcm: Buffer): Buffer };
};

const RATE = 48000;
const BEEP_AT = 48000; // sample of the input where the beep starts: 1 s
const SAMPLES = 2 * RATE;
const AUDIO: StreamSpec = { kind: 'audio', codec: 'opus', clockRate: 48000, channels: 2, payloadType: 111, label: 'audio' } as StreamSpec;
const dir = tempDir('muxer-test-');

/** 2 s of stereo libopus packets (20 ms), silent but for a 1 kHz beep from BEEP_AT for 100 ms. */
function beepPackets(): Buffer[] {
  const pcm = Buffer.alloc(SAMPLES * 4);
  for (let i = BEEP_AT; i < BEEP_AT + 4800; i++) {
    const v = Math.round(16000 * Math.sin((2 * Math.PI * 1000 * (i - BEEP_AT)) / RATE));
    pcm.writeInt16LE(v, i * 4);
    pcm.writeInt16LE(v, i * 4 + 2);
  }
  const encoder = new OpusEncoder(RATE, 2);
  return Array.from({ length: SAMPLES / 960 }, (_, f) => encoder.encode(pcm.subarray(f * 3840, (f + 1) * 3840)));
}

function write(container: Container, packets: Buffer[], startTicks: number): string {
  const chunks: Buffer[] = [];
  const muxer = createMuxer(container, [AUDIO], (unit) => chunks.push(...unit));
  packets.forEach((data, i) => muxer.addSample(0, { dts: startTicks + i * 960, data, keyframe: true, duration: 960 }));
  const patches = muxer.finish();
  const file = Buffer.concat(chunks);
  for (const p of patches) p.data.copy(file, p.offset);
  const path = join(dir, `beep-${packets.length}-${startTicks}.${container}`);
  writeFileSync(path, file);
  return path;
}

/** ffmpeg's decoded audio: the first frame's presentation time and the beep's onset (first |x| > 3000), in ms. */
function decodedTimes(path: string): { firstMs: number; onsetMs: number } {
  const pcm = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-ac', '1', '-f', 's16le', '-'], { maxBuffer: 1 << 26 }).stdout;
  let onset = -1;
  for (let i = 0; i < pcm.length / 2; i++) {
    if (Math.abs(pcm.readInt16LE(i * 2)) > 3000) {
      onset = i;
      break;
    }
  }
  const firstMs = Number(ffprobeFrames(path, 'a')[0]!.pts_time) * 1000;
  return { firstMs, onsetMs: firstMs + (onset * 1000) / RATE };
}

describe('Opus pre-skip in every container', () => {
  const packets = beepPackets();
  // The onset threshold is crossed 1.4 samples into the beep.
  const CROSSING_MS = (Math.asin(3000 / 16000) / (2 * Math.PI * 1000)) * 1000;

  for (const container of ['mp4', 'webm', 'mkv', 'ogg'] as const) {
    for (const startTicks of [0, 14400]) {
      it(`${container}, audio from ${startTicks / 48} ms: the beep decodes at its time, the first sample at the first dts`, () => {
        const { firstMs, onsetMs } = decodedTimes(write(container, packets, startTicks));
        expect(firstMs).toBeCloseTo(startTicks / 48, 3);
        // Without the pre-skip it came 312 samples (6.5 ms) late.
        expect(Math.abs(onsetMs - CROSSING_MS - (startTicks + BEEP_AT) / 48)).toBeLessThan(0.05);
      });
    }
  }

  it('Matroska states it as CodecDelay, in ns, as mkvinfo reads it', () => {
    const info = mkvinfo(write('mkv', packets.slice(0, 10), 0));
    expect(info).toMatch(/Codec-inherent delay: 00:00:00\.006500000/);
    expect(OPUS_PRE_SKIP).toBe(312);
  });
});
