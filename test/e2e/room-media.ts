/**
 * Readers of the room e2e test's files, by ffmpeg (the independent decoder): audio laid on the
 * room timeline (`-itsoffset` the file's startMs), tone bursts and a pitch's amplitude in it, and
 * the colour of each decoded video frame.
 */
import { execFileSync } from 'node:child_process';
import { ffprobeFrames } from '../helpers/oracles.js';

const RATE = 48000;

/** A file's audio, mono 48 kHz float, laid on the room timeline: sample i is at room time i / 48 ms. */
export function roomAudio(file: string, startMs: number): Float32Array {
  const pcm = execFileSync(
    'ffmpeg',
    ['-nostdin', '-v', 'error', '-itsoffset', (startMs / 1000).toFixed(6), '-i', file, '-map', '0:a', '-af', 'aresample=async=1:first_pts=0', '-ac', '1', '-ar', String(RATE), '-f', 'f32le', '-'],
    { maxBuffer: 512 * 1024 * 1024 },
  );
  return new Float32Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.length));
}

/** Stretches of sound (|sample| above `threshold`), in room ms; quiet for `quietMs` ends one. */
export function bursts(audio: Float32Array, threshold: number, quietMs = 300): { startMs: number; endMs: number }[] {
  const out: { startMs: number; endMs: number }[] = [];
  let last = -Infinity;
  for (let i = 0; i < audio.length; i++) {
    if (Math.abs(audio[i]!) <= threshold) continue;
    const ms = (i * 1000) / RATE;
    if (ms - last > quietMs) out.push({ startMs: ms, endMs: ms });
    else out.at(-1)!.endMs = ms;
    last = ms;
  }
  return out;
}

/**
 * Amplitude of a `hz` sinusoid over [fromMs, toMs) (Hann-windowed Goertzel, so the other
 * participants' pitches 220 Hz away leak in well under -80 dB); 0 outside the audio.
 */
export function toneAmplitude(audio: Float32Array, hz: number, fromMs: number, toMs: number): number {
  const from = Math.max(0, Math.round((fromMs * RATE) / 1000));
  const to = Math.min(audio.length, Math.round((toMs * RATE) / 1000));
  const n = to - from;
  if (n <= 0) return 0;
  const w = (2 * Math.PI * hz) / RATE;
  let re = 0;
  let im = 0;
  let windowSum = 0;
  for (let k = 0; k < n; k++) {
    const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * k) / (n - 1));
    const x = audio[from + k]! * hann;
    re += x * Math.cos(w * k);
    im -= x * Math.sin(w * k);
    windowSum += hann;
  }
  return (2 * Math.hypot(re, im)) / windowSum;
}

/** Each decoded video frame's pts (s, file time) and the mean colour of its centre (a quarter of the picture). */
export function frameColours(file: string): { ptsS: number; rgb: [number, number, number] }[] {
  const frames = ffprobeFrames(file, 'v');
  const raw = execFileSync(
    'ffmpeg',
    ['-nostdin', '-v', 'error', '-i', file, '-map', '0:v', '-vf', 'crop=iw/2:ih/2,scale=1:1:flags=area', '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  if (raw.length !== frames.length * 3) throw new Error(`${file}: ${raw.length / 3} frames decoded by ffmpeg, ${frames.length} by ffprobe`);
  return frames.map((f, i) => ({ ptsS: Number(f.pts_time ?? f.best_effort_timestamp_time), rgb: [raw[i * 3]!, raw[i * 3 + 1]!, raw[i * 3 + 2]!] }));
}
