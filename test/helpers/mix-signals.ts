/**
 * Synthetic Opus streams for the mix tests and bench (tones encoded with @discordjs/opus, the
 * encoder the library itself loads), and analysis of what ffmpeg decodes from the mix.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

interface OpusEncoderLike {
  encode(pcm: Buffer): Buffer;
  setBitrate(bitsPerSecond: number): void;
}
const { OpusEncoder } = createRequire(import.meta.url)('@discordjs/opus') as { OpusEncoder: new (rate: number, channels: number) => OpusEncoderLike };

/** 20 ms Opus packets (48 kHz, coded stereo or, as browsers send a microphone, mono) of a sine at `hz`, peak `amplitude` (of 32767), `frames` long. */
export function opusTone(hz: number, frames: number, amplitude = 12000, channels: 1 | 2 = 2): Buffer[] {
  const encoder = new OpusEncoder(48000, channels);
  encoder.setBitrate(channels * 32000);
  const packets: Buffer[] = [];
  for (let f = 0; f < frames; f++) {
    const pcm = Buffer.alloc(960 * 2 * channels);
    for (let i = 0; i < 960; i++) {
      const v = Math.round(amplitude * Math.sin((2 * Math.PI * hz * (f * 960 + i)) / 48000));
      for (let c = 0; c < channels; c++) pcm.writeInt16LE(v, (i * channels + c) * 2);
    }
    packets.push(encoder.encode(pcm));
  }
  return packets;
}

/** An RTP packet (12-byte header) carrying `payload`. */
export function rtp(payload: Buffer, sequenceNumber: number, timestamp: number, ssrc: number, payloadType = 111): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = payloadType;
  header.writeUInt16BE(sequenceNumber & 0xffff, 2);
  header.writeUInt32BE(timestamp >>> 0, 4);
  header.writeUInt32BE(ssrc >>> 0, 8);
  return Buffer.concat([header, payload]);
}

/** The file decoded by ffmpeg to mono 48 kHz 16-bit samples (channels averaged). */
export function decodeMono(file: string): Int16Array {
  const out = execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', '48000', '-'], { maxBuffer: 512 * 1024 * 1024 });
  return new Int16Array(out.buffer, out.byteOffset, out.length >> 1);
}

/** The file decoded by ffmpeg to interleaved 48 kHz 16-bit samples, channels kept. */
export function decodeInterleaved(file: string): Int16Array {
  const out = execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 's16le', '-ar', '48000', '-'], { maxBuffer: 512 * 1024 * 1024 });
  return new Int16Array(out.buffer, out.byteOffset, out.length >> 1);
}

/** Amplitude of the `hz` component of samples `from` .. `from + length - 1` (Goertzel), in sample units (a sine of peak A gives about A). */
export function toneAmplitude(pcm: Int16Array, from: number, length: number, hz: number): number {
  const w = (2 * Math.PI * hz) / 48000;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < from + length; i++) {
    const s = (pcm[i] ?? 0) + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * Math.sqrt(Math.max(0, power))) / length;
}

/** Root mean square of samples `from` .. `from + length - 1`. */
export function rms(pcm: Int16Array, from: number, length: number): number {
  let sum = 0;
  for (let i = from; i < from + length; i++) sum += (pcm[i] ?? 0) ** 2;
  return Math.sqrt(sum / length);
}
