/**
 * Issue 10, defects 1-3, through the recording pipeline over the H264+Opus fixture, one hostile
 * header at a time, as a capture or a live sender delivers it (time passed in). Before the fix:
 * one timestamp jump filled 12.4 hours with silence, one sequence jump counted ~59,000 packets
 * lost and NACKed them, one foreign SSRC counted an SSRC change and made video wait for the next
 * keyframe.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { feedInCaptureTime } from '../src/convert.js';
import { RecordingSession, type RecordingSummary } from '../src/pipeline/recording-session.js';
import { openFileSink } from '../src/sink/file.js';
import { streamSpecOf, type CapturedPacket, type CapturedStream } from '../src/source/capture.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { h264OpusFixture } from './helpers/replay.js';

const { capture, truth } = h264OpusFixture();
const dir = tempDir('hostile-');
const FIXTURE_S = 20.02;

/** The fixture with a copy of packet `index` of `kind`, changed by `edit`, delivered right after it (or in its place). */
async function recordWithStray(
  name: string,
  kind: 'audio' | 'video',
  index: number,
  edit: (data: Buffer) => void,
  inPlace = false,
): Promise<{ summary: RecordingSummary; file: string; nacks: number }> {
  const streams: CapturedStream[] = capture.streams.map((s) => {
    if (s.kind !== kind) return s;
    const stray = Buffer.from(s.packets[index]!.data);
    edit(stray);
    const packets: CapturedPacket[] = [...s.packets.slice(0, inPlace ? index : index + 1), { timeMs: s.packets[index]!.timeMs + 0.1, data: stray }, ...s.packets.slice(index + 1)];
    return { ...s, packets };
  });
  let nacks = 0;
  const file = join(dir, `${name}.mp4`);
  const session = new RecordingSession(
    streams.map((s) => ({ spec: streamSpecOf(s), feedback: { requestKeyFrame: () => undefined, sendNack: (_ssrc: number, seqs: number[]) => (nacks += seqs.length) } })),
    'mp4',
    await openFileSink(file, (e) => {
      throw e;
    }),
    { onGap: () => undefined, onKeyframe: () => undefined },
  );
  feedInCaptureTime(session, streams);
  return { summary: await session.finish(), file, nacks };
}

const statsOf = (summary: RecordingSummary, kind: 'audio' | 'video') => summary.streams.find((s) => s.kind === kind)!;

describe('one hostile header in a recording', () => {
  it('defect 1: an audio timestamp ~2^31 ahead is dropped and counted; no silence invented, the file keeps its length', async () => {
    // In place: the real packet is lost, 20 ms of silence stand in for it.
    const run = await recordWithStray('ts-jump', 'audio', 250, (d) => d.writeUInt32BE((d.readUInt32BE(4) + 2 ** 31 - 4800) >>> 0, 4), true);
    const audio = statsOf(run.summary, 'audio');
    expect(audio).toMatchObject({ packetsTimestampJump: 1, packetsLost: 1, silenceInsertedMs: 20, framesWritten: truth.audio.encoded.packets, trackReanchors: 0 });
    expect(ffmpegDecodeErrors(run.file)).toBe('');
    expect(Math.abs(Number(ffprobeStreams(run.file, false).format.duration) - FIXTURE_S)).toBeLessThan(0.1);
  });

  it('defect 2: a video packet 30,000 sequence numbers ahead is a counted stray, not 30,000 lost', async () => {
    const run = await recordWithStray('seq-jump', 'video', 300, (d) => d.writeUInt16BE((d.readUInt16BE(2) + 30_000) & 0xffff, 2));
    const video = statsOf(run.summary, 'video');
    expect(video).toMatchObject({ packetsSequenceStray: 1, packetsLost: 0, nackRequests: 0, sequenceRestarts: 0, framesWritten: truth.video.encoded.frames });
    expect(run.nacks).toBe(0);
    expect(ffmpegDecodeErrors(run.file)).toBe('');
  });

  it('defect 3: a video packet with a foreign SSRC is a counted stray: no SSRC change, no wait for a keyframe', async () => {
    const run = await recordWithStray('ssrc', 'video', 300, (d) => d.writeUInt32BE(0xdead_beef, 8));
    const video = statsOf(run.summary, 'video');
    expect(video).toMatchObject({ packetsStraySsrc: 1, ssrcChanges: 0, framesDroppedWaitingForKeyframe: 0, framesWritten: truth.video.encoded.frames });
    expect(ffmpegDecodeErrors(run.file)).toBe('');
    expect(Number(ffprobeStreams(run.file).streams.find((s) => s.codec_type === 'video')!.nb_read_frames)).toBe(truth.video.encoded.frames);
  });
});
