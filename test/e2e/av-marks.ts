/**
 * Fake camera and microphone files for the lip-sync test: a y4m that is grey but for a white
 * flash at every whole second, and a wav that is silent but for a 1 kHz beep at the same
 * instants; and the reading of those marks back from a recorded file with ffmpeg (flash: the
 * frame whose mean luma jumps; beep: the first sample of the audio envelope's onset).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';

/** Length of the fake devices' files, in s: each page session must stay shorter (Chromium's fake devices slip at each loop). */
export const MARKS_FILE_S = 12;
const FLASH_FRAMES = 2;
const BEEP_MS = 100;
const RATE = 48000;

/** Writes a 4:2:0 y4m of MARKS_FILE_S at `fps`: grey (luma 40), white (235) for FLASH_FRAMES frames from every whole second. */
export function writeFlashY4m(path: string, width: number, height: number, fps: number): void {
  const luma = width * height;
  const frame = (y: number): Buffer => Buffer.concat([Buffer.from('FRAME\n'), Buffer.alloc(luma, y), Buffer.alloc(luma / 2, 128)]);
  const grey = frame(40);
  const white = frame(235);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, `YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`);
    for (let i = 0; i < MARKS_FILE_S * fps; i++) writeSync(fd, i % fps < FLASH_FRAMES ? white : grey);
  } finally {
    closeSync(fd);
  }
}

/** Writes a 48 kHz mono 16-bit wav of MARKS_FILE_S: silent, a BEEP_MS 1 kHz beep from every whole second. */
export function writeBeepWav(path: string): void {
  const samples = MARKS_FILE_S * RATE;
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0, 'latin1');
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8, 'latin1');
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(RATE, 24);
  wav.writeUInt32LE(RATE * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36, 'latin1');
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) {
    const t = i % RATE;
    if (t < (BEEP_MS * RATE) / 1000) wav.writeInt16LE(Math.round(16000 * Math.sin((2 * Math.PI * 1000 * t) / RATE)), 44 + i * 2);
  }
  writeFileSync(path, wav);
}

/** Onset threshold of a beep, as a fraction of full scale (the beep is 0.49): its 1 kHz sine crosses it 0.07 ms in, past any codec pre-echo. */
export const BEEP_THRESHOLD = 0.2;
/** A beep starts after this much quiet, in ms. */
const QUIET_MS = 300;

/** Where a recorded file's flashes and beeps are presented, in ms of its timeline. */
export interface FileMarks {
  flashesMs: number[];
  beepsMs: number[];
}

/** Reads the marks back with ffmpeg: each flash's first frame (centre luma above mid-grey), each beep's first sample above BEEP_THRESHOLD. */
export function readFileMarks(path: string): FileMarks {
  const shown = spawnSync('ffmpeg', ['-nostdin', '-i', path, '-map', '0:v', '-vf', 'crop=16:16:(iw-16)/2:(ih-16)/2,showinfo', '-f', 'null', '-'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const flashesMs: number[] = [];
  let bright = false;
  for (const m of shown.stderr.matchAll(/pts_time:\s*([-\d.]+).*?mean:\[(\d+)/g)) {
    const y = Number(m[2]);
    if (y > 128 && !bright) flashesMs.push(Number(m[1]) * 1000);
    bright = y > 128;
  }
  // Decoded audio from its first frame's presentation time (after the Opus pre-skip is dropped).
  const first = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'frame=pts_time', '-read_intervals', '%+#1', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  const startMs = Number(first.stdout.trim().split('\n')[0]) * 1000;
  const pcm = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-map', '0:a', '-ac', '1', '-ar', String(RATE), '-f', 's16le', '-'], { maxBuffer: 256 << 20 }).stdout;
  const beepsMs: number[] = [];
  let lastLoud = -Infinity;
  for (let i = 0; i < pcm.length / 2; i++) {
    if (Math.abs(pcm.readInt16LE(i * 2)) < BEEP_THRESHOLD * 32768) continue;
    if (i - lastLoud > (QUIET_MS * RATE) / 1000) beepsMs.push(startMs + (i * 1000) / RATE);
    lastLoud = i;
  }
  return { flashesMs, beepsMs };
}

/** A beep and the flash nearest to it: when the beep is, and beep minus flash, in ms. */
export interface MarkPair {
  beepMs: number;
  offsetMs: number;
}

/** Each beep with the flash nearest to it (within 300 ms): the marks' A/V offset, one per pair. */
export function beepMinusFlash(marks: FileMarks): MarkPair[] {
  const pairs: MarkPair[] = [];
  for (const beep of marks.beepsMs) {
    let nearest = Infinity;
    for (const flash of marks.flashesMs) if (Math.abs(beep - flash) < Math.abs(nearest)) nearest = beep - flash;
    if (Math.abs(nearest) < 300) pairs.push({ beepMs: beep, offsetMs: nearest });
  }
  return pairs;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}
