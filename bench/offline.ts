/**
 * Offline conversion throughput: the bench capture looped into a 200 s pcap, converted to fMP4 by
 * ours (loadCaptureFiles + convertCapture, the in-memory API path, measured in this process once
 * warm, pcap reading included; the CLI streams the file instead, measured by bench/convert-memory.ts), against `ffmpeg -c copy` remuxing the same content
 * from an MP4 file: no RTP to parse, no jitter buffer, no depacketizing, so a ceiling rather than
 * a like-for-like. Media bytes are the RTP packets' bytes for both. CPU per run, so "per core".
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertCapture } from '../src/convert.js';
import { loadCaptureFiles } from '../src/source/capture.js';
import { readPcapFile, writePcap } from '../src/source/pcap.js';
import { LAP_MS, laps, shiftPacket } from './capture.js';
import { checkFile, exec } from './check.js';
import type { BenchContext } from './context.js';
import { reapedChildrenCpuSeconds } from './proc.js';
import { startProfiling } from './profile.js';
import { spread, type Spread } from './stats.js';

const LAPS = 10;

export interface OfflineResult {
  mediaBytes: number;
  packets: number;
  mediaSeconds: number;
  /** The first conversion in this process (JIT cold), then the warm ones. */
  oursColdCpuS: number;
  oursCpuS: Spread;
  oursMBps: Spread;
  oursPacketsPerS: Spread;
  ffmpegCpuS: Spread;
  ffmpegMBps: Spread;
  /** Our output checked like every recording. */
  outputOk: boolean;
  outputProblems: string[];
}

/** The looped capture, made once into the cache. */
function loopedPcap(ctx: BenchContext): string {
  const path = ctx.capture.pcap.replace(/capture\.pcap$/, `looped-${LAPS}.pcap`);
  if (existsSync(path)) return path;
  const [video, audio] = laps(ctx.capture);
  const { records } = readPcapFile(ctx.capture.pcap);
  const looped = Array.from({ length: LAPS }, (_, k) =>
    records.map((r) => {
      const lap = r.payload.readUInt32BE(8) === ctx.capture.video.ssrc ? video! : audio!;
      return { ...r, timestampUs: r.timestampUs + k * LAP_MS * 1000, payload: shiftPacket(r.payload, lap, k, r.payload.readUInt32BE(8)) };
    }),
  ).flat();
  writeFileSync(path, writePcap(looped));
  return path;
}

/** `profile`: also write a CPU profile of one more (warm) conversion there. */
export async function offlineStage(ctx: BenchContext, repeats: number, profile?: string): Promise<OfflineResult> {
  const pcap = loopedPcap(ctx);
  const ours = join(ctx.work, 'offline.mp4');
  const plain = join(ctx.work, 'offline-plain.mp4');
  const remuxed = join(ctx.work, 'offline-remuxed.mp4');
  let mediaBytes = 0;
  let packets = 0;
  const oursCpu: number[] = [];
  for (let r = 0; r <= repeats; r++) {
    rmSync(ours, { force: true });
    const start = process.cpuUsage();
    const capture = loadCaptureFiles(pcap, ctx.capture.sdp);
    await convertCapture(capture, ours);
    const used = process.cpuUsage(start);
    oursCpu.push((used.user + used.system) / 1e6);
    packets = capture.streams.reduce((sum, s) => sum + s.packets.length, 0);
    mediaBytes = capture.streams.reduce((sum, s) => sum + s.packets.reduce((b, p) => b + p.data.length, 0), 0);
  }
  if (profile) {
    const stop = await startProfiling();
    await convertCapture(loadCaptureFiles(pcap, ctx.capture.sdp), ours);
    await stop(profile);
  }
  const check = await checkFile(ours, (LAPS * LAP_MS) / 1000 - 1, ctx.capture.frameCrc);
  // ffmpeg's input: the same media in a plain MP4 (its fastest input), made unmeasured.
  await exec('ffmpeg', ['-v', 'error', '-i', ours, '-map', '0', '-c', 'copy', '-y', plain]);
  const ffmpegCpu: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const before = reapedChildrenCpuSeconds(process.pid);
    const result = await exec('ffmpeg', ['-v', 'error', '-i', plain, '-map', '0', '-c', 'copy', '-y', remuxed]);
    if (result.code !== 0) throw new Error(`ffmpeg remux failed: ${result.stderr}`);
    ffmpegCpu.push(reapedChildrenCpuSeconds(process.pid) - before);
  }
  const warm = oursCpu.slice(1);
  const result: OfflineResult = {
    mediaBytes,
    packets,
    mediaSeconds: (LAPS * LAP_MS) / 1000,
    oursColdCpuS: oursCpu[0]!,
    oursCpuS: spread(warm),
    oursMBps: spread(warm.map((s) => mediaBytes / s / 1e6)),
    oursPacketsPerS: spread(warm.map((s) => packets / s)),
    ffmpegCpuS: spread(ffmpegCpu),
    ffmpegMBps: spread(ffmpegCpu.map((s) => mediaBytes / s / 1e6)),
    outputOk: check.ok,
    outputProblems: check.problems,
  };
  ctx.log(
    `offline: ours ${result.oursMBps.median.toFixed(0)} MB/s of media per core (${(result.oursPacketsPerS.median / 1e3).toFixed(0)} k packets/s, cold run ${result.oursColdCpuS.toFixed(2)} s), ` +
      `ffmpeg -c copy ${result.ffmpegMBps.median.toFixed(0)} MB/s; output ${check.ok ? 'ok' : check.problems.join('; ')}`,
  );
  for (const f of [ours, plain, remuxed]) rmSync(f, { force: true });
  return result;
}
