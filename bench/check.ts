/**
 * What every output file holds, per ffmpeg and ffprobe (never our own reader). One decode of each
 * file (`ffmpeg -v error`, framecrc of every picture and audio frame) says everything the checks
 * need: the checksum of each picture names its source frame when it decoded intact (a concealed
 * picture matches none), so a file is complete when its pictures are the source's frames one after
 * the other, with none missing, none damaged, and its audio has no hole.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { FPS, LAP_FRAMES } from './capture.js';

/**
 * Audio frames are 20 ms: a step of 40 ms between two is a missing frame. Shorter odd steps are
 * timestamp adjustments (ffmpeg shifts its timestamps when the first RTCP sender report arrives),
 * not missing audio.
 */
const MAX_AUDIO_STEP_S = 0.039;

export interface FileCheck {
  path: string;
  ok: boolean;
  /** Why it does not count; empty when ok. */
  problems: string[];
  bytes: number;
  /** Decoded pictures; those identical to a source frame; source frames missing between the first and last intact one. */
  pictures: number;
  intact: number;
  skipped: number;
  videoS: number;
  audioFrames: number;
  audioS: number;
  maxAudioStepS: number;
  /** Lines `ffmpeg -v error` printed while decoding. */
  decodeErrors: string[];
}

export function exec(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

/** Runs `work` over `items`, `concurrency` at a time (the decodes are single-threaded: one per core). */
export async function mapLimit<T, R>(items: T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!);
      }
    }),
  );
  return results;
}

interface Decoded {
  /** File time (s) and source frame index (undefined: damaged) of each picture, in decode order. */
  pictures: { ptsS: number; index: number | undefined }[];
  /** File times of the audio frames. */
  audioS: number[];
  errors: string[];
}

/** framecrc output: `stream, dts, pts, duration, size, checksum` per frame, after `#tb <stream>: num/den` headers. */
function parseFramecrc(text: string, sourceCrc: string[]): { pictures: Decoded['pictures']; audioS: number[] } {
  const indexOf = new Map(sourceCrc.map((c, i) => [c, i]));
  const tb = new Map([...text.matchAll(/^#tb (\d+): (\d+)\/(\d+)$/gm)].map((m) => [m[1]!, Number(m[2]) / Number(m[3])]));
  const pictures: Decoded['pictures'] = [];
  const audioS: number[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [stream, , pts, , , crc] = line.split(',').map((f) => f.trim());
    const ptsS = Number(pts) * (tb.get(stream!) ?? 1);
    if (stream === '0') pictures.push({ ptsS, index: indexOf.get(crc!) });
    else audioS.push(ptsS);
  }
  return { pictures, audioS };
}

/** Decodes every picture and audio frame once; `pcm` also writes the audio as 48 kHz mono s16le from file time 0, gaps filled by pts. */
async function decode(path: string, sourceCrc: string[], pcm?: string): Promise<Decoded> {
  const r = await exec('ffmpeg', [
    '-nostdin', '-v', 'error', '-threads', '1', '-i', path,
    '-map', '0:v', '-map', '0:a', '-fps_mode', 'passthrough', '-enc_time_base:v', '-1', '-f', 'framecrc', '-',
    ...(pcm ? ['-map', '0:a', '-af', 'aresample=async=1:first_pts=0', '-ac', '1', '-ar', '48000', '-f', 's16le', '-y', pcm] : []),
  ]);
  return { ...parseFramecrc(r.stdout, sourceCrc), errors: r.stderr.split('\n').filter((line) => line.trim() !== '') };
}

/** Source frames missing between consecutive intact pictures (frame indexes run on modulo a lap). */
function skippedFrames(indexes: number[]): number {
  return indexes.slice(1).reduce((sum, index, i) => sum + ((index - indexes[i]! - 1 + LAP_FRAMES) % LAP_FRAMES), 0);
}

/** A file left unchecked (it cannot count): `why`. */
export function uncheckedFile(path: string, why: string): FileCheck {
  return { path, ok: false, problems: [why], bytes: 0, pictures: 0, intact: 0, skipped: 0, videoS: 0, audioFrames: 0, audioS: 0, maxAudioStepS: 0, decodeErrors: [] };
}

/** Checks one recording that should hold at least `minSeconds` of both tracks, whole. */
export async function checkFile(path: string, minSeconds: number, sourceCrc: string[]): Promise<FileCheck> {
  const bytes = existsSync(path) ? statSync(path).size : 0;
  const result: FileCheck = { path, ok: false, problems: [], bytes, pictures: 0, intact: 0, skipped: 0, videoS: 0, audioFrames: 0, audioS: 0, maxAudioStepS: 0, decodeErrors: [] };
  if (bytes === 0) {
    result.problems.push('no file or empty');
    return result;
  }
  const d = await decode(path, sourceCrc);
  const intact = d.pictures.flatMap((p) => (p.index === undefined ? [] : [p.index]));
  const audio = [...d.audioS].sort((a, b) => a - b);
  Object.assign(result, {
    pictures: d.pictures.length,
    intact: intact.length,
    skipped: skippedFrames(intact),
    videoS: d.pictures.length / FPS,
    audioFrames: audio.length,
    audioS: audio.length > 0 ? audio.at(-1)! - audio[0]! + 0.02 : 0,
    maxAudioStepS: audio.slice(1).reduce((max, t, i) => Math.max(max, t - audio[i]!), 0),
    decodeErrors: d.errors,
  });
  if (d.errors.length > 0) result.problems.push(`${d.errors.length} decode errors, first: ${d.errors[0]}`);
  if (result.pictures === 0) result.problems.push('no video');
  if (result.intact < result.pictures) result.problems.push(`${result.pictures - result.intact} damaged pictures`);
  if (result.skipped > 0) result.problems.push(`${result.skipped} frames missing`);
  if (result.videoS < minSeconds) result.problems.push(`video ${result.videoS.toFixed(1)} s < ${minSeconds} s`);
  if (result.audioFrames === 0) result.problems.push('no audio');
  else if (result.audioS < minSeconds) result.problems.push(`audio ${result.audioS.toFixed(1)} s < ${minSeconds} s`);
  if (result.maxAudioStepS > MAX_AUDIO_STEP_S) result.problems.push(`audio hole of ${(result.maxAudioStepS * 1000).toFixed(0)} ms`);
  result.ok = result.problems.length === 0;
  return result;
}

export interface QualityAnalysis {
  /** Video packets in the file (ffprobe -count_packets): frames present. */
  framesPresent: number;
  /** Pictures ffmpeg decoded (concealed ones included) and those identical to a source frame. */
  pictures: number;
  intact: number;
  decodeErrors: number;
  /** Source frame index (0-599) and file time of the first intact picture. */
  firstIntact?: { index: number; ptsS: number };
  /** File times of the intact flash pictures (source frame % 30 == 0) and of the beep onsets. */
  flashesS: number[];
  beepsS: number[];
  /** The intact pictures: file time and source frame index, in decode order. */
  intactPictures: { ptsS: number; index: number }[];
  videoEndS: number;
  /** Length of the audio as played by pts (holes filled with silence), s. */
  audioEndS: number;
}

/** Everything the quality table needs from one file, from one decode plus ffprobe's packet count. */
export async function analyzeQuality(path: string, sourceCrc: string[]): Promise<QualityAnalysis> {
  const pcmFile = `${path}.pcm`;
  const d = await decode(path, sourceCrc, pcmFile);
  const pcm = existsSync(pcmFile) ? readFileSync(pcmFile) : Buffer.alloc(0);
  rmSync(pcmFile, { force: true });
  const probe = await exec('ffprobe', ['-v', 'error', '-select_streams', 'v', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', path]);
  const intact = d.pictures.filter((p): p is { ptsS: number; index: number } => p.index !== undefined);
  const pts = d.pictures.map((p) => p.ptsS).sort((a, b) => a - b);
  return {
    framesPresent: Number(probe.stdout.trim()) || 0,
    pictures: d.pictures.length,
    intact: intact.length,
    decodeErrors: d.errors.length,
    ...(intact[0] ? { firstIntact: intact[0] } : {}),
    flashesS: intact.filter((p) => p.index % FPS === 0).map((p) => p.ptsS),
    beepsS: beepOnsets(pcm),
    intactPictures: intact,
    videoEndS: pts.at(-1) ?? 0,
    audioEndS: pcm.length / 2 / 48_000,
  };
}

/** Beep onsets in s: the first loud sample after at least 200 ms without one (the noise bed is 30 dB under the threshold). */
function beepOnsets(pcm: Buffer): number[] {
  const onsets: number[] = [];
  let lastLoud = -Infinity;
  for (let i = 0; i + 1 < pcm.length; i += 2) {
    if (Math.abs(pcm.readInt16LE(i)) < 6000) continue;
    const sample = i / 2;
    if (sample - lastLoud >= 9600) onsets.push(sample / 48_000);
    lastLoud = sample;
  }
  return onsets;
}

/** A/V offset per beep: onset minus the nearest intact flash within half a second, s (positive: audio late). */
export function avOffsets(a: QualityAnalysis): number[] {
  return a.beepsS.flatMap((beep) => {
    const nearest = a.flashesS.reduce((best, f) => (Math.abs(f - beep) < Math.abs(best - beep) ? f : best), Infinity);
    return Math.abs(nearest - beep) <= 0.5 ? [beep - nearest] : [];
  });
}
