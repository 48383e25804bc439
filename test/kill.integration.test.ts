/**
 * A recording process killed with SIGKILL (no chance to finish the file) leaves a file that
 * decodes without error up to its last complete unit: after 5 s in real time (MP4, Matroska), and
 * at 20 seeded random instants per container (mp4, webm, mkv, ogg) with the fixture replayed at
 * 8x, where the file is compared with what the recorder had handed to the muxer at the instant
 * of the kill.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { OPUS_PRE_SKIP } from '../src/mux/muxer.js';
import type { ChildOptions, KillReport } from './helpers/record-child.js';
import { ffmpegDecodeErrors, ffprobeStreams, mkvinfo, parseMp4, tempDir } from './helpers/oracles.js';
import { rng } from './helpers/random.js';
import { mp4BoxesTile, oggPagesTile } from './helpers/unit-ends.js';

const CHILD = new URL('./helpers/record-child.ts', import.meta.url).pathname;

/** Starts the recording child, kills it with SIGKILL 5 s after it started recording. */
async function recordAndKill(output: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, output], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('recording')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  await new Promise((r) => setTimeout(r, 5000));
  child.kill('SIGKILL');
  const [, signal] = await once(child, 'exit');
  expect(signal).toBe('SIGKILL');
}

describe('a recording process killed with SIGKILL after 5 s', () => {
  it('leaves an MP4 that decodes up to its last fragment', async () => {
    const output = join(tempDir('kill-'), 'killed.mp4');
    await recordAndKill(output);

    expect(ffmpegDecodeErrors(output)).toBe('');
    const mp4 = parseMp4(readFileSync(output));
    const video = mp4.info.tracks.find((t) => t.video)!;
    const audio = mp4.info.tracks.find((t) => t.audio)!;
    const videoSamples = mp4.samples(video.id).length;
    // 5 s recorded with ~1 s fragments: at least 3 s of 30 fps video must be in complete fragments.
    expect(videoSamples).toBeGreaterThanOrEqual(90);
    expect(videoSamples).toBeLessThanOrEqual(5 * 30);
    expect(mp4.samples(video.id)[0]!.is_sync).toBe(true);
    const probe = ffprobeStreams(output);
    expect(Number(probe.streams.find((s) => s.codec_type === 'video')!.nb_read_frames)).toBe(videoSamples);
    expect(Number(probe.streams.find((s) => s.codec_type === 'audio')!.nb_read_frames)).toBe(mp4.samples(audio.id).length);
  });

  it('leaves a Matroska file that decodes up to its last written blocks', async () => {
    const output = join(tempDir('kill-'), 'killed.mkv');
    await recordAndKill(output);

    expect(ffmpegDecodeErrors(output)).toBe('');
    const probe = ffprobeStreams(output);
    const videoFrames = Number(probe.streams.find((s) => s.codec_type === 'video')!.nb_read_frames);
    const audioFrames = Number(probe.streams.find((s) => s.codec_type === 'audio')!.nb_read_frames);
    // Blocks go out about every second of media: at least 3 of the 5 s recorded are in the file.
    expect(videoFrames).toBeGreaterThanOrEqual(90);
    expect(videoFrames).toBeLessThanOrEqual(5 * 30);
    expect(audioFrames).toBeGreaterThanOrEqual(150);
  });
});

// ---- The campaign: SIGKILL at seeded random instants, every container ----

/** Replay speed of the campaign: the 20 s fixture takes 2.5 s, so a kill run costs ~1.5 s of start-up plus ~1.2 s. */
const SPEED = 8;
/** The Recorder's default fragmentDurationMs (MP4 fragment, Matroska flush, Ogg page). */
const FRAGMENT_MS = 1000;
const KILLS_PER_CONTAINER = 20;
/** Kills land between these wall-clock ms after recording started: the whole replay (2.5 s at 8x) but its last 100 ms. */
const KILL_WINDOW_MS = [100, 2400] as const;
/**
 * What the muxer may hold beyond a unit, per kind: the frame it keeps until the next one arrives
 * (the MP4 fragmenter needs it to know the last sample's duration). Fixture: 30 fps video, 20 ms Opus.
 */
const FRAME_MS = { video: 1000 / 30, audio: 20 } as const;

const CAMPAIGN: Record<'mp4' | 'webm' | 'mkv' | 'ogg', ChildOptions> = {
  mp4: { fixture: 'h264' },
  webm: { fixture: 'vp8' },
  mkv: { fixture: 'h264' },
  ogg: { fixture: 'h264', kind: 'audio' },
};

interface KillRun {
  container: keyof typeof CAMPAIGN;
  seed: number;
  killAfterMs: number;
  output: string;
  report: KillReport;
}

/** Records in a child that SIGKILLs itself `killAfterMs` after starting; returns what it had at that instant. */
async function killedRecording(container: keyof typeof CAMPAIGN, seed: number, dir: string): Promise<KillRun> {
  const killAfterMs = Math.round(KILL_WINDOW_MS[0] + rng(seed)() * (KILL_WINDOW_MS[1] - KILL_WINDOW_MS[0]));
  const output = join(dir, `seed-${seed}.${container}`);
  const options: ChildOptions = { ...CAMPAIGN[container], killAfterMs, fragmentDurationMs: FRAGMENT_MS };
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, output, String(SPEED), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  const line = stdout.split('\n').find((l) => l.startsWith('killed '));
  if (signal !== 'SIGKILL' || !line) throw new Error(`seed ${seed} (${container}): the child was not killed (exit ${code}, ${signal}): ${stdout.slice(-300)}`);
  return { container, seed, killAfterMs, output, report: JSON.parse(line.slice('killed '.length)) as KillReport };
}

interface ProbedTrack {
  kind: 'audio' | 'video';
  demuxed: number;
  decoded: number;
  /** pts of the last packet, in ms from the recording start. */
  lastMs: number;
}

/** libopus's pre-skip as the muxers declare it, in ms. */
const OPUS_PRE_SKIP_MS = (OPUS_PRE_SKIP * 1000) / 48000;

/** Per track: packets ffprobe demuxes, frames it decodes, last pts; [] when it cannot open the file. */
function probeTracks(file: string): ProbedTrack[] {
  const args = ['-v', 'quiet', '-count_frames', '-count_packets', '-show_entries', 'stream=index,codec_type,nb_read_frames,nb_read_packets:packet=stream_index,pts_time', '-of', 'json', file];
  const r = spawnSync('ffprobe', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) return [];
  const out = JSON.parse(r.stdout) as {
    streams: { index: number; codec_type: 'audio' | 'video'; nb_read_frames: string; nb_read_packets: string }[];
    packets?: { stream_index: number; pts_time: string }[];
  };
  return out.streams.map((s) => {
    const pts = (out.packets ?? []).filter((p) => p.stream_index === s.index && p.pts_time !== 'N/A').map((p) => Number(p.pts_time) * 1000);
    // Opus packets are stamped their pre-skip (312 samples) before the samples they were handed in as: the
    // decoder drops that much first (every container declares it), so the track's time is pts + pre-skip.
    const shiftMs = s.codec_type === 'audio' ? OPUS_PRE_SKIP_MS : 0;
    // A stream with no packet has counts of 'N/A'.
    return { kind: s.codec_type, demuxed: Number(s.nb_read_packets) || 0, decoded: Number(s.nb_read_frames) || 0, lastMs: Math.max(-Infinity, ...pts) + shiftMs };
  });
}

/** An independent reader accepts the file's header (mp4box, mkvinfo, ffprobe for Ogg). */
function headerReadable(run: KillRun): boolean {
  try {
    if (run.container === 'mp4') return parseMp4(readFileSync(run.output)).info.tracks.length === run.report.streams.length;
    if (run.container === 'ogg') return ffprobeStreams(run.output, false).streams.length === 1;
    return mkvinfo(run.output).includes('+ Tracks');
  } catch {
    return false;
  }
}

/**
 * What ffmpeg may say about a file whose last write(2) the kill cut short (the kernel stops a
 * write at a page boundary when SIGKILL arrives): that the file ends inside its last unit, and
 * nothing else. Matroska: the demuxer's "File ended prematurely", the cut block is dropped. Ogg:
 * nothing (the cut page fails its length and CRC and is dropped silently). MP4: the demuxer's
 * "partial file" for the samples the cut fragment's moof lists past the end, and the H264
 * decoder's complaints about the one sample cut in half: an fMP4 fragment declares its samples
 * before their data, so a reader cannot tell a cut sample from a whole one until it decodes it.
 */
const TORN_UNIT: Record<keyof typeof CAMPAIGN, RegExp[]> = {
  mkv: [/^\[matroska,webm @ 0x[0-9a-f]+\] File ended prematurely( at pos\. \d+ \(0x[0-9a-f]+\))?$/],
  webm: [/^\[matroska,webm @ 0x[0-9a-f]+\] File ended prematurely( at pos\. \d+ \(0x[0-9a-f]+\))?$/],
  ogg: [],
  mp4: [
    /^\[mov,mp4,m4a,3gp,3g2,mj2 @ 0x[0-9a-f]+\] stream \d+, offset 0x[0-9a-f]+: partial file$/,
    /^\[(h264|NULL) @ 0x[0-9a-f]+\] (Invalid NAL unit size \(\d+ > \d+\)\.|missing picture in access unit with size \d+|Error splitting the input into NAL units\.)$/,
    /^Error while decoding stream #\d+:\d+: Invalid data found when processing input$/,
  ],
};

/** Whether an independent walk of the bytes (MP4 boxes, Ogg pages) finds the file ending where a unit ends; Matroska: not walked. */
function tiles(container: keyof typeof CAMPAIGN, data: Buffer): boolean {
  if (container === 'mp4') return mp4BoxesTile(data);
  if (container === 'ogg') return oggPagesTile(data);
  return true;
}

interface Verdict {
  problems: string[];
  /** The kill cut the last write(2) short: the file ends inside a unit. */
  torn: boolean;
  /** Nothing but the header was in the file: the kill came before the first unit. */
  headerOnly: boolean;
  /** Bytes handed to the file stream that the OS had not written when the process died. */
  notWrittenBytes: number;
  /** Largest loss of any track, in ms of media: the last sample the muxer had minus the file's last. */
  lostMs: number;
}

/**
 * Checks one killed file against what the recorder had handed to the muxer at the kill:
 * - it holds every unit the OS confirmed written, and ends where a unit ends (what the Sink had
 *   handed to the file stream, or what the OS had confirmed; MP4 boxes and Ogg pages are walked);
 * - ffmpeg -v error decodes it silently, and ffprobe decodes every packet it demuxes; MP4: mp4box
 *   finds as many samples as ffprobe;
 * - unless the kill cut a write short (the file ends between the two): then the file cut back to
 *   what the OS confirmed decodes silently, and ffmpeg says nothing about the whole file but that
 *   its last unit is cut (TORN_UNIT);
 * - per track, at most FRAGMENT_MS plus the one frame the muxer holds back is missing, unless the
 *   OS had not yet written units handed to it (a write on the threadpool when the signal came).
 * A file with no packet at all (killed before its first unit) cannot be decoded by anyone: there
 * its header must read clean and the recorder must have had less than a unit.
 */
function verdict(run: KillRun): Verdict {
  const { report, output } = run;
  const size = statSync(output).size;
  const problems: string[] = [];
  const notWrittenBytes = report.output.bytesWritten + report.output.queuedBytes - size;
  if (size < report.output.committedBytes) problems.push(`file has ${size} bytes, the OS had confirmed ${report.output.committedBytes}`);
  // The Sink hands whole units to the file stream: the file ends at a unit unless a write was cut short.
  const torn = size !== report.output.bytesWritten && size !== report.output.committedBytes;
  const data = readFileSync(output);
  if (!torn && !tiles(run.container, data)) problems.push(`file ends at ${size}, where no unit ends`);
  const tracks = probeTracks(output);
  const headerOnly = tracks.every((t) => t.demuxed === 0);
  let lostMs = 0;
  for (const had of report.streams) {
    const track = tracks.find((t) => t.kind === had.kind);
    const fileLastMs = track && track.demuxed > 0 ? track.lastMs : 0;
    const lost = had.framesWritten === 0 ? 0 : had.lastSampleMs - fileLastMs;
    lostMs = Math.max(lostMs, lost);
    if (notWrittenBytes === 0 && lost > FRAGMENT_MS + FRAME_MS[had.kind] + 1) problems.push(`${had.kind}: ${lost.toFixed(0)} ms lost (the muxer had up to ${had.lastSampleMs.toFixed(0)} ms)`);
    // A cut last sample is demuxed but may not decode (MP4); everything before it must.
    if (track && track.decoded !== track.demuxed && !(torn && run.container === 'mp4' && track.decoded === track.demuxed - 1)) problems.push(`${had.kind}: ${track.demuxed} packets demuxed, ${track.decoded} decoded`);
  }
  if (headerOnly) {
    if (!headerReadable(run)) problems.push('header-only file that no reader accepts');
  } else if (torn) {
    // Up to the last unit the OS confirmed, it is a file that ended cleanly; past it, only the cut is reported.
    const whole = `${output}.whole`;
    writeFileSync(whole, data.subarray(0, report.output.committedBytes));
    const wholeErrors = ffmpegDecodeErrors(whole);
    if (wholeErrors !== '' || !tiles(run.container, readFileSync(whole))) problems.push(`cut back to ${report.output.committedBytes} bytes: ${wholeErrors.slice(0, 300) || 'not a unit end'}`);
    const other = ffmpegDecodeErrors(output)
      .split('\n')
      .filter((line) => line !== '' && !TORN_UNIT[run.container].some((allowed) => allowed.test(line)));
    if (other.length > 0) problems.push(`ffmpeg, besides the cut last unit: ${other.join(' | ').slice(0, 300)}`);
  } else {
    const errors = ffmpegDecodeErrors(output);
    if (errors !== '') problems.push(`ffmpeg: ${errors.slice(0, 300)}`);
    if (run.container === 'mp4') {
      const mp4 = parseMp4(readFileSync(output));
      for (const t of mp4.info.tracks) {
        const kind = t.video ? 'video' : 'audio';
        const probed = tracks.find((p) => p.kind === kind)?.decoded ?? 0;
        if (mp4.samples(t.id).length !== probed) problems.push(`${kind}: mp4box ${mp4.samples(t.id).length} samples, ffprobe ${probed} frames`);
      }
    }
  }
  return { problems: problems.map((p) => `${run.container} seed ${run.seed} (kill at ${run.killAfterMs} ms): ${p}`), torn, headerOnly, notWrittenBytes, lostMs };
}

describe(`SIGKILL at ${KILLS_PER_CONTAINER} seeded random instants per container (fixture at ${SPEED}x, fragmentDurationMs ${FRAGMENT_MS})`, () => {
  const seeds = Array.from({ length: KILLS_PER_CONTAINER }, (_, i) => i + 1);
  it.each(Object.keys(CAMPAIGN) as (keyof typeof CAMPAIGN)[])('%s: every file decodes to its last whole unit, at most a fragment (and the frame held) lost', async (container) => {
    const dir = tempDir(`kill-${container}-`);
    const runs: KillRun[] = [];
    // Two children at a time: two cores.
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < seeds.length) runs.push(await killedRecording(container, 1000 * (Object.keys(CAMPAIGN).indexOf(container) + 1) + seeds[next++]!, dir));
    };
    await Promise.all([lane(), lane()]);
    const verdicts = runs.map(verdict);
    const figures = {
      container,
      kills: runs.length,
      decodedClean: verdicts.filter((v) => v.problems.length === 0).length,
      headerOnly: verdicts.filter((v) => v.headerOnly).length,
      tornLastWrite: verdicts.filter((v) => v.torn).length,
      notFullyWrittenByOs: verdicts.filter((v) => v.notWrittenBytes > 0).length,
      maxLostMs: Math.round(Math.max(...verdicts.filter((v) => v.notWrittenBytes === 0).map((v) => v.lostMs))),
      maxLostMsWithWritesPending: Math.round(Math.max(0, ...verdicts.filter((v) => v.notWrittenBytes > 0).map((v) => v.lostMs))),
      fragmentDurationMs: FRAGMENT_MS,
    };
    writeFileSync(join(dir, 'figures.json'), JSON.stringify({ figures, runs: runs.map((r, i) => ({ ...r, verdict: verdicts[i] })) }, null, 1));
    console.info(`kill campaign ${JSON.stringify(figures)} (${join(dir, 'figures.json')})`);
    expect(verdicts.flatMap((v) => v.problems)).toEqual([]);
    expect(runs).toHaveLength(KILLS_PER_CONTAINER);
  }, 300_000);
});
