/**
 * The recording pipeline (jitter buffer -> depacketizer -> keyframe gate -> clock -> muxer) over
 * the real fixture's packets, changed the way networks and senders change them: a lost packet, a
 * late retransmission, lost audio, DTX silence, an SSRC change. Feedback calls are logged; every
 * file is checked with ffmpeg and ffprobe.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { feedInCaptureTime } from '../src/convert.js';
import { RecordingSession, type RecordingSummary } from '../src/pipeline/recording-session.js';
import type { StreamGap } from '../src/pipeline/stream-pipeline.js';
import { openFileSink } from '../src/sink/file.js';
import { streamSpecOf, type CapturedPacket, type CapturedStream } from '../src/source/capture.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { h264OpusFixture } from './helpers/replay.js';

const { capture, truth } = h264OpusFixture();
const [VIDEO, AUDIO] = capture.streams as [CapturedStream, CapturedStream];
const FRAME_TICKS = 90000 / truth.video.fps;
const dir = tempDir('session-');

interface Run {
  summary: RecordingSummary;
  file: string;
  nacks: number[];
  keyframeRequests: number;
  gaps: StreamGap[];
}

/** Records the fixture with `video`/`audio` packets replaced, in capture time, into a file. */
async function record(name: string, changes: { video?: CapturedPacket[]; audio?: CapturedPacket[] }): Promise<Run> {
  const streams = [
    { ...VIDEO, packets: changes.video ?? VIDEO.packets },
    { ...AUDIO, packets: changes.audio ?? AUDIO.packets },
  ];
  const run = { nacks: [] as number[], keyframeRequests: 0, gaps: [] as StreamGap[] };
  const feedback = {
    requestKeyFrame: () => run.keyframeRequests++,
    sendNack: (_ssrc: number, seqs: number[]) => run.nacks.push(...seqs),
  };
  const file = join(dir, `${name}.mp4`);
  const session = new RecordingSession(
    streams.map((s) => ({ spec: streamSpecOf(s), feedback })),
    'mp4',
    await openFileSink(file, (e) => {
      throw e;
    }),
    { onGap: (_spec, gap) => run.gaps.push(gap), onKeyframe: () => undefined },
  );
  feedInCaptureTime(session, streams);
  return { ...run, summary: await session.finish(), file };
}

const frameOf = (p: CapturedPacket): number => Math.round((((p.data.readUInt32BE(4) - VIDEO.packets[0]!.data.readUInt32BE(4)) >>> 0) / FRAME_TICKS));
const seqOf = (p: CapturedPacket): number => p.data.readUInt16BE(2);
const probe = (file: string, type: 'video' | 'audio') => ffprobeStreams(file).streams.find((s) => s.codec_type === type)!;

/** A copy of a packet with header fields rewritten. */
function rewrite(p: CapturedPacket, fields: { seq?: number; timestamp?: number; ssrc?: number; timeMs?: number }): CapturedPacket {
  const data = Buffer.from(p.data);
  if (fields.seq !== undefined) data.writeUInt16BE(fields.seq & 0xffff, 2);
  if (fields.timestamp !== undefined) data.writeUInt32BE(fields.timestamp >>> 0, 4);
  if (fields.ssrc !== undefined) data.writeUInt32BE(fields.ssrc >>> 0, 8);
  return { timeMs: fields.timeMs ?? p.timeMs, data };
}

describe('RecordingSession over the fixture', () => {
  it('writes every frame of an undisturbed stream', async () => {
    const run = await record('clean', {});
    expect(run.summary.streams.map((s) => s.framesWritten)).toEqual([truth.video.encoded.frames, truth.audio.encoded.packets]);
    expect(run).toMatchObject({ nacks: [], keyframeRequests: 0, gaps: [] });
    expect(ffmpegDecodeErrors(run.file)).toBe('');
  });

  it('NACKs a lost video packet, asks for a keyframe when it never comes, and writes no frame until then', async () => {
    const lostIndex = VIDEO.packets.findIndex((p) => frameOf(p) === 75); // mid-GOP: keyframes at 0, 60, 120
    const lost = VIDEO.packets[lostIndex]!;
    const run = await record('video-loss', { video: VIDEO.packets.filter((_, i) => i !== lostIndex) });
    const dropped = 120 - frameOf(lost); // the damaged frame and every frame referring back to it
    const video = run.summary.streams[0]!;
    expect(run.nacks).toContain(seqOf(lost));
    expect(run.keyframeRequests).toBeGreaterThanOrEqual(1);
    expect(video.packetsLost).toBe(1);
    expect(video.framesWritten).toBe(truth.video.encoded.frames - dropped);
    // Frames that arrived but were not written; a frame whose only packet was lost never arrived.
    const lostWholeFrame = VIDEO.packets.filter((p) => frameOf(p) === frameOf(lost)).length === 1;
    const framesDropped = lostWholeFrame ? dropped - 1 : dropped;
    expect(video.framesDroppedIncomplete + video.framesDroppedWaitingForKeyframe).toBe(framesDropped);
    // One gap, reported when video resumed at the keyframe: from the damaged frame to the keyframe.
    const frameMs = 1000 / truth.video.fps;
    expect(run.gaps).toEqual([{ cause: 'loss', startMs: expect.closeTo(frameOf(lost) * frameMs, 0), durationMs: expect.closeTo(dropped * frameMs, 0), lostPackets: 1, framesDropped }]);
    expect(video).toMatchObject({ gaps: 1, gapMs: expect.closeTo(dropped * frameMs, 0) });
    expect(ffmpegDecodeErrors(run.file)).toBe('');
    expect(Number(probe(run.file, 'video').nb_read_frames)).toBe(truth.video.encoded.frames - dropped);
  });

  it('treats a frame the depacketizer must drop (broken FU-A, no packet lost) like a loss: nothing until the next keyframe', async () => {
    // A middle FU-A fragment of frame 80 turned into a second start: the NAL cannot be rebuilt.
    const payloadOffset = (p: CapturedPacket): number => 12 + 4 + p.data.readUInt16BE(14) * 4; // header + one-byte extension block
    const brokenIndex = VIDEO.packets.findIndex((p) => {
      const o = payloadOffset(p);
      return frameOf(p) >= 80 && (p.data[o]! & 0x1f) === 28 && (p.data[o + 1]! & 0xc0) === 0;
    });
    const broken = VIDEO.packets[brokenIndex]!;
    const data = Buffer.from(broken.data);
    data[payloadOffset(broken) + 1]! |= 0x80;
    const run = await record('video-broken', { video: VIDEO.packets.map((p, i) => (i === brokenIndex ? { ...p, data } : p)) });
    const video = run.summary.streams[0]!;
    const dropped = 120 - frameOf(broken);
    expect(video.packetsLost).toBe(0);
    expect(video.framesWritten).toBe(truth.video.encoded.frames - dropped);
    expect(run.keyframeRequests).toBeGreaterThanOrEqual(1);
    expect(ffmpegDecodeErrors(run.file)).toBe('');
  });

  it('waits for a retransmission that comes within the latency and loses nothing', async () => {
    const lateIndex = VIDEO.packets.findIndex((p) => frameOf(p) === 75);
    const late = VIDEO.packets[lateIndex]!;
    const video = VIDEO.packets.filter((_, i) => i !== lateIndex);
    video.splice(lateIndex + 3, 0, { ...late, timeMs: late.timeMs + 60 }); // the NACKed packet, 60 ms later
    const run = await record('video-late', { video });
    expect(run.nacks).toContain(seqOf(late));
    expect(run.summary.streams[0]).toMatchObject({ framesWritten: truth.video.encoded.frames, packetsLost: 0, packetsRecovered: 1 });
    expect(run.gaps).toEqual([]);
    expect(ffmpegDecodeErrors(run.file)).toBe('');
  });

  it('fills 200 ms of lost audio with silence so the timeline keeps its length', async () => {
    const audio = AUDIO.packets.filter((_, i) => i < 400 || i >= 410);
    const run = await record('audio-loss', { audio });
    const stats = run.summary.streams[1]!;
    expect(stats.packetsLost).toBe(10);
    expect(stats.silenceInsertedMs).toBe(200);
    expect(stats.framesWritten).toBe(truth.audio.encoded.packets);
    expect(ffmpegDecodeErrors(run.file)).toBe('');
    const a = probe(run.file, 'audio');
    expect(Number(a.nb_read_frames)).toBe(truth.audio.encoded.packets);
    expect(Math.abs(Number(a.duration) - Number(a.start_time) - AUDIO.packets.length * 0.02)).toBeLessThan(0.03);
  });

  it('keeps DTX silence (no packets, no sequence gap) in the timeline', async () => {
    // 25 packets (500 ms) never sent, as a DTX sender does: sequence numbers continue, timestamps jump.
    const audio = AUDIO.packets.filter((_, i) => i < 300 || i >= 325).map((p, i) => (i >= 300 ? rewrite(p, { seq: seqOf(p) - 25 }) : p));
    const run = await record('audio-dtx', { audio });
    const stats = run.summary.streams[1]!;
    expect(stats.packetsLost).toBe(0);
    expect(stats.silenceInsertedMs).toBe(500);
    // A silence as long as the gap threshold (500 ms) is reported as such (audio starts a few ms into the recording).
    expect(run.gaps).toEqual([{ cause: 'no-media', startMs: expect.closeTo(300 * 20, -1), durationMs: 500, lostPackets: 0, framesDropped: 0 }]);
    expect(ffmpegDecodeErrors(run.file)).toBe('');
    const a = probe(run.file, 'audio');
    expect(Math.abs(Number(a.duration) - Number(a.start_time) - AUDIO.packets.length * 0.02)).toBeLessThan(0.03);
  });

  it('keeps audio with wall-clock time when the sender\'s audio clock runs 2.5 % slow (silence, no drift)', async () => {
    // Packets arrive every 20.5 ms but advance RTP time by 20 ms each: the sender skipped audio
    // (Chromium's fake microphone does when starved of CPU). Video keeps real time.
    const start = AUDIO.packets[0]!.timeMs;
    const audio = AUDIO.packets.map((p, i) => ({ ...p, timeMs: start + i * 20.5 }));
    const wallS = (audio.at(-1)!.timeMs - start) / 1000 + 0.02;
    const run = await record('audio-slow-clock', { audio });
    const stats = run.summary.streams[1]!;
    expect(stats.framesWritten - truth.audio.encoded.packets).toBe(stats.silenceInsertedMs / 20);
    expect(stats.driftCorrectedMs).toBe(stats.silenceInsertedMs);
    // 2.5 % of 20 s is 500 ms; corrected in steps once 40 ms behind, estimated over the last second.
    expect(stats.driftCorrectedMs).toBeGreaterThan(400);
    expect(run.gaps).toEqual([]);
    expect(ffmpegDecodeErrors(run.file)).toBe('');
    const a = probe(run.file, 'audio');
    expect(Math.abs(Number(a.duration) - wallS), `audio ${a.duration} s, sent over ${wallS} s`).toBeLessThan(0.07);
  });

  it('brings audio level with wall-clock time at the end when its clock fell behind in the last second', async () => {
    // 0.5 s before the end the sender's audio stalls for 150 ms and goes on with contiguous RTP
    // timestamps (as Chromium's fake microphone does when starved of CPU): too late for the
    // one-second recent estimate to see before the input ends.
    const start = AUDIO.packets[0]!.timeMs;
    const slowFrom = AUDIO.packets.length - 25;
    const audio = AUDIO.packets.map((p, i) => (i < slowFrom ? p : { ...p, timeMs: p.timeMs + 150 }));
    const wallS = (audio.at(-1)!.timeMs - start) / 1000 + 0.02;
    const run = await record('audio-late-drift', { audio });
    const stats = run.summary.streams[1]!;
    expect(stats.driftCorrectedMs).toBe(stats.silenceInsertedMs);
    expect(stats.driftCorrectedMs).toBeGreaterThanOrEqual(120);
    expect(ffmpegDecodeErrors(run.file)).toBe('');
    const a = probe(run.file, 'audio');
    expect(Math.abs(Number(a.duration) - wallS), `audio ${a.duration} s, sent over ${wallS} s`).toBeLessThan(0.04);
  });

  it('continues the same track across an SSRC change without compressing time', async () => {
    const audio = AUDIO.packets.map((p, i) =>
      i >= 500 ? rewrite(p, { ssrc: 0x12345678, seq: seqOf(p) + 20000, timestamp: p.data.readUInt32BE(4) + 0x40000000 }) : p,
    );
    const run = await record('audio-ssrc', { audio });
    const stats = run.summary.streams[1]!;
    expect(stats.ssrcChanges).toBe(1);
    expect(stats.framesWritten).toBeGreaterThanOrEqual(truth.audio.encoded.packets - 1);
    expect(ffmpegDecodeErrors(run.file)).toBe('');
    const a = probe(run.file, 'audio');
    expect(Math.abs(Number(a.duration) - Number(a.start_time) - AUDIO.packets.length * 0.02)).toBeLessThan(0.05);
  });
});
