/**
 * Quality of the files under the shared impairment profiles, and when the sender pauses for 30 s.
 * Every approach records the same live stream at the same time, each through its own seeded
 * impairment of the path from mediasoup (same profile and seed: the same packets lost), so the
 * files differ only by what the recorders do with what arrives. Ground truth: decodableFrames()
 * (frames a perfect receiver could decode without concealment, from what the impairment let
 * through, NACK recoveries included). A file with more decoded pictures than that shows frames
 * decoded with concealment: the grey/corrupt frames problem.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { impairmentProfile } from '../test/helpers/impairer.js';
import { FPS, LAP_FRAMES, LAP_MS, laps } from './capture.js';
import { analyzeQuality, avOffsets, mapLimit, type QualityAnalysis } from './check.js';
import type { BenchContext } from './context.js';
import { SETTLE_MS } from './cost.js';
import { runPoint, type PointResult } from './point.js';
import { APPROACHES, type Approach, type StoppedRecording } from './protocol.js';
import { median } from './stats.js';

/** The issue's profiles: 0 %, 1 %, 5 % loss, reorder, jitter. */
const QUALITY_PROFILES = ['none', 'loss 1%', 'loss 5%', 'reorder 5%', 'jitter 40 ms'];

export interface QualityFile {
  approach: Approach;
  profile: string;
  repeat: number;
  /** Video frames in the file (ffprobe packets). */
  framesPresent: number;
  /** Pictures ffmpeg decodes, and those identical to the encoder's. */
  pictures: number;
  intact: number;
  /** Decoded pictures that differ from every source frame: shown with concealment (grey, smeared). */
  corrupt: number;
  /** Frames sent on this recorder's path while it recorded, and what a perfect receiver could decode of what the path let through. */
  sent: number | undefined;
  decodable: number | undefined;
  decodeErrors: number;
  /** Median and largest A/V offset over the beeps, ms (positive: audio late). */
  avOffsetMs: number | undefined;
  avOffsetMaxMs: number | undefined;
  /** From asking for the recording to the send time of its first intact picture, s. */
  firstFrameS: number | undefined;
  stopOk: boolean;
}

/** One approach x profile over its repeats: the medians of the files' figures. */
export type QualitySummary = Omit<QualityFile, 'repeat' | 'pictures' | 'stopOk'> & {
  /** Runs, and how many stopped cleanly. */
  runs: number;
  stopsOk: number;
};

/** Offset (ms from a lap's start) at which the sender sends each frame's first packet. */
function frameOffsets(ctx: BenchContext): number[] {
  const video = laps(ctx.capture).find((l) => l.kind === 'video')!;
  const ts0 = video.packets[0]!.data.readUInt32BE(4);
  const offsets: number[] = [];
  for (const p of video.packets) {
    const index = ((p.data.readUInt32BE(4) - ts0) >>> 0) / (90_000 / FPS);
    offsets[index] ??= p.offsetMs;
  }
  return offsets;
}

/** Epoch ms at which the sender (one stream, phase 0) sent source frame `index`, the first time at or after `notBeforeMs`. */
function sendTime(offsets: number[], senderStartMs: number, index: number, notBeforeMs: number): number {
  const first = senderStartMs + offsets[index]!;
  return first + Math.max(0, Math.ceil((notBeforeMs - first) / LAP_MS)) * LAP_MS;
}

function qualityFile(offsets: number[], r: PointResult, rec: StoppedRecording, a: QualityAnalysis, profile: string, repeat: number): QualityFile {
  const av = avOffsets(a);
  const firstFrameS = a.firstIntact && (sendTime(offsets, r.senderStartMs, a.firstIntact.index, rec.requestedAtMs - 50) - rec.requestedAtMs) / 1000;
  return {
    approach: rec.approach,
    profile,
    repeat,
    framesPresent: a.framesPresent,
    pictures: a.pictures,
    intact: a.intact,
    corrupt: a.pictures - a.intact,
    sent: rec.oracle?.frames,
    decodable: rec.oracle?.decodable,
    decodeErrors: a.decodeErrors,
    avOffsetMs: av.length ? median(av) * 1000 : undefined,
    avOffsetMaxMs: av.length ? Math.max(...av.map(Math.abs)) * 1000 : undefined,
    firstFrameS,
    stopOk: rec.ok,
  };
}

export async function qualityStage(ctx: BenchContext, options: { repeats: number; windowMs: number }): Promise<{ files: QualityFile[]; summary: QualitySummary[] }> {
  const offsets = frameOffsets(ctx);
  const files: QualityFile[] = [];
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    for (const name of QUALITY_PROFILES) {
      const profile = impairmentProfile(name);
      const dir = join(ctx.work, `quality-${repeat}-${name.replace(/\W+/g, '_')}`);
      const r = await runPoint({ config: { streams: 1, dir, groups: APPROACHES.map((approach) => ({ approach, count: 1, profile })) }, settleMs: SETTLE_MS, windowMs: options.windowMs });
      const analyses = await mapLimit(r.recordings, 2, (rec) => analyzeQuality(rec.output, ctx.capture.frameCrc));
      r.recordings.forEach((rec, i) => files.push(qualityFile(offsets, r, rec, analyses[i]!, name, repeat)));
      rmSync(dir, { recursive: true, force: true });
      for (const f of files.slice(-r.recordings.length)) {
        ctx.log(
          `quality ${name} ${f.approach}: ${f.framesPresent} frames present, ${f.intact} intact, ${f.corrupt} corrupt, ${f.decodable ?? '?'} decodable; ` +
            `${f.decodeErrors} decode errors; A/V ${f.avOffsetMs?.toFixed(0) ?? '?'} ms; first frame ${f.firstFrameS?.toFixed(2) ?? '?'} s`,
        );
      }
    }
  }
  const summary = APPROACHES.flatMap((approach) =>
    QUALITY_PROFILES.map((profile) => {
      const fs = files.filter((f) => f.approach === approach && f.profile === profile);
      const m = (pick: (f: QualityFile) => number | undefined): number | undefined => {
        const values = fs.map(pick).filter((v): v is number => v !== undefined);
        return values.length ? median(values) : undefined;
      };
      return {
        approach,
        profile,
        framesPresent: m((f) => f.framesPresent)!,
        intact: m((f) => f.intact)!,
        corrupt: m((f) => f.corrupt)!,
        sent: m((f) => f.sent),
        decodable: m((f) => f.decodable),
        decodeErrors: m((f) => f.decodeErrors)!,
        avOffsetMs: m((f) => f.avOffsetMs),
        avOffsetMaxMs: m((f) => f.avOffsetMaxMs),
        firstFrameS: m((f) => f.firstFrameS),
        runs: fs.length,
        stopsOk: fs.filter((f) => f.stopOk).length,
      };
    }),
  );
  return { files, summary };
}

export interface PauseFile {
  approach: Approach;
  repeat: number;
  stopOk: boolean;
  stopDetail: string;
  decodeErrors: number;
  /** Intact pictures before and after the pause. */
  intactBefore: number;
  intactAfter: number;
  /** File time between the last picture before the pause and the first after it, against the real time between their sending, s. */
  fileGapS: number | undefined;
  realGapS: number | undefined;
  /** Audio length (played by pts, holes as silence) minus video length, s. */
  audioMinusVideoS: number;
  /** Median A/V offset of the beeps after the pause, ms. */
  avOffsetAfterMs: number | undefined;
}

/** The sender stops for `pauseMs` (then resumes at its next keyframe, timestamps having run on) in the middle of every approach's recording. */
export async function pauseStage(ctx: BenchContext, options: { repeats: number; beforeMs: number; pauseMs: number; afterMs: number }): Promise<PauseFile[]> {
  const offsets = frameOffsets(ctx);
  const out: PauseFile[] = [];
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    const dir = join(ctx.work, `pause-${repeat}`);
    const r = await runPoint({
      config: { streams: 1, dir, groups: APPROACHES.map((approach) => ({ approach, count: 1 })) },
      settleMs: SETTLE_MS,
      windowMs: options.beforeMs + options.pauseMs + options.afterMs,
      pause: { afterMs: options.beforeMs, ms: options.pauseMs },
    });
    const analyses = await mapLimit(r.recordings, 2, (rec) => analyzeQuality(rec.output, ctx.capture.frameCrc));
    const resumedAt = r.resumed[0]?.epochMs;
    r.recordings.forEach((rec, i) => {
      const a = analyses[i]!;
      // The pause is where the source frame numbers jump (frames not sent); mod a lap, a 30 s pause plus the wait for a keyframe is never a whole lap.
      const pics = a.intactPictures;
      let at = -1;
      for (let k = 1; k < pics.length; k++) if ((pics[k]!.index - pics[k - 1]!.index - 1 + LAP_FRAMES) % LAP_FRAMES > 0 && (at < 0 || pics[k]!.ptsS > pics[at]!.ptsS)) at = k;
      const [before, after] = at > 0 ? [pics[at - 1]!, pics[at]!] : [undefined, undefined];
      const realGapS =
        before && after && r.pausedAtMs && resumedAt
          ? (sendTime(offsets, r.senderStartMs, after.index, resumedAt - 50) - sendTime(offsets, r.senderStartMs, before.index, r.pausedAtMs + 100 - LAP_MS)) / 1000
          : undefined;
      const afterBeeps = after ? avOffsets({ ...a, beepsS: a.beepsS.filter((b) => b > after.ptsS) }) : [];
      out.push({
        approach: rec.approach,
        repeat,
        stopOk: rec.ok,
        stopDetail: rec.detail,
        decodeErrors: a.decodeErrors,
        intactBefore: at > 0 ? at : a.intact,
        intactAfter: at > 0 ? a.intact - at : 0,
        fileGapS: before && after ? after.ptsS - before.ptsS : undefined,
        realGapS,
        audioMinusVideoS: a.audioEndS - a.videoEndS,
        avOffsetAfterMs: afterBeeps.length ? median(afterBeeps) * 1000 : undefined,
      });
      const f = out.at(-1)!;
      ctx.log(
        `pause ${f.approach}: ${f.stopOk ? 'stopped' : `STOP FAILED (${f.stopDetail})`}, ${f.intactBefore}+${f.intactAfter} intact pictures, ` +
          `gap in file ${f.fileGapS?.toFixed(2) ?? '?'} s for ${f.realGapS?.toFixed(2) ?? '?'} s real, audio-video ${f.audioMinusVideoS.toFixed(2)} s, A/V after ${f.avOffsetAfterMs?.toFixed(0) ?? '?'} ms`,
      );
    });
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
