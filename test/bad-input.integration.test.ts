/**
 * Bad input around a live recording through a real mediasoup worker: malformed and foreign
 * packets are counted drops (never exceptions into mediasoup's handlers), and an output or codec
 * that cannot work fails start() clearly and leaves nothing behind.
 *
 * Issue 10, defect 1, as the issue found it: one audio packet, then one video packet, whose RTP
 * timestamp jumps by about 2^31, changed in the consumers' own 'rtp' events. Before the fix the MP4
 * came out 12.4 hours long (2.2 million Opus frames of invented silence, 44,744 s per ffprobe).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { Recorder, type RecorderSummary } from '../src/index.js';
import { ffmpegDecodeErrors, ffprobeStreams, parseMp4, tempDir } from './helpers/oracles.js';
import { h264OpusFixture, replayRig } from './helpers/replay.js';

const { capture, truth } = h264OpusFixture();
const FIXTURE_S = 20.02;
/** Forward by just under 2^31 (a larger step would read as a step back, modulo 2^32). */
const JUMP = 2 ** 31 - 4800;
const CHILD = new URL('./helpers/record-child.ts', import.meta.url).pathname;

async function transportIds(router: types.Router): Promise<string[]> {
  return ((await router.dump()) as { transportIds: string[] }).transportIds;
}

describe('bad input to a live recording', () => {
  it('counts a 3-byte packet and a wrong payload type, and the recording goes on', async () => {
    const rig = await replayRig(capture);
    try {
      const consumers: types.Consumer[] = [];
      rig.router.observer.on('newtransport', (t: types.Transport) => t.observer.on('newconsumer', (c: types.Consumer) => consumers.push(c)));
      const output = join(tempDir('bad-input-'), 'out.mp4');
      const recorder = new Recorder({ router: rig.router, producers: rig.replayer.producers, output });
      const errors: Error[] = [];
      recorder.on('error', (e) => errors.push(e));
      await recorder.start();
      const video = consumers.find((c) => c.kind === 'video')!;
      const playing = rig.replayer.play({ speed: 4 });
      await new Promise((r) => setTimeout(r, 1000));
      // Delivered through the consumer's own 'rtp' event, exactly where mediasoup delivers packets.
      expect(() => video.emit('rtp', Buffer.from([0x80, 0x60, 0x00]))).not.toThrow();
      const foreign = Buffer.alloc(100);
      foreign[0] = 0x80;
      foreign[1] = 77;
      expect(() => video.emit('rtp', foreign)).not.toThrow();
      await playing;
      await new Promise((r) => setTimeout(r, 300));
      const summary = await recorder.stop();
      const stats = summary.streams.find((s) => s.kind === 'video')!;
      expect(stats.packetsMalformed).toBe(1);
      expect(stats.packetsWrongPayloadType).toBe(1);
      expect(stats.framesWritten).toBe(truth.video.encoded.frames);
      expect(errors).toEqual([]);
      expect(ffmpegDecodeErrors(output)).toBe('');
      expect(Number(ffprobeStreams(output).streams.find((s) => s.codec_type === 'video')!.nb_read_frames)).toBe(truth.video.encoded.frames);
    } finally {
      rig.close();
    }
  });

  it('drops and counts one audio and one video packet whose timestamp jumps by ~2^31: the MP4 is as long as the session, made in real time (issue 10, defect 1)', async () => {
    const rig = await replayRig(capture);
    try {
      const consumers: types.Consumer[] = [];
      rig.router.observer.on('newtransport', (t: types.Transport) => t.observer.on('newconsumer', (c: types.Consumer) => consumers.push(c)));
      const output = join(tempDir('ts-jump-'), 'out.mp4');
      const recorder = new Recorder({ router: rig.router, producers: rig.replayer.producers, output });
      const errors: Error[] = [];
      recorder.on('error', (e) => errors.push(e));
      await recorder.start();
      // The 250th audio packet (5 s in) and the 400th video packet (~5 s in) get the jump, in
      // place, before the recorder's own listener sees them.
      const jumped: Record<string, number> = {};
      for (const [kind, nth] of [['audio', 250], ['video', 400]] as const) {
        let seen = 0;
        consumers.find((c) => c.kind === kind)!.prependListener('rtp', (packet: Buffer) => {
          if (++seen !== nth) return;
          packet.writeUInt32BE((packet.readUInt32BE(4) + JUMP) >>> 0, 4);
          jumped[kind] = packet.readUInt16BE(2);
        });
      }
      const started = performance.now();
      await rig.replayer.play();
      await sleep(400);
      const summary = await recorder.stop();
      const sessionS = (performance.now() - started) / 1000;
      expect(Object.keys(jumped).sort()).toEqual(['audio', 'video']);
      expect(errors).toEqual([]);
      // Real time (20 s) plus the stop; before the fix: 92 s.
      expect(sessionS, `session took ${sessionS} s`).toBeLessThan(FIXTURE_S + 5);
      const probe = ffprobeStreams(output);
      const durationS = Number(probe.format.duration);
      expect(Math.abs(durationS - FIXTURE_S), `MP4 of ${durationS} s`).toBeLessThan(0.2);
      expect(summary.durationMs).toBeLessThan(FIXTURE_S * 1000 + 200);
      expect(ffmpegDecodeErrors(output)).toBe('');
      const audio = summary.streams.find((s) => s.kind === 'audio')!;
      const video = summary.streams.find((s) => s.kind === 'video')!;
      expect(audio.packetsTimestampJump).toBe(1);
      expect(video.packetsTimestampJump).toBe(1);
      // Silence only where wall-clock time passed: the dropped packet's 20 ms (if its NACKed
      // retransmission did not make it back), nothing like hours.
      expect(audio.silenceInsertedMs).toBeLessThanOrEqual(20);
      const audioFrames = Number(probe.streams.find((s) => s.codec_type === 'audio')!.nb_read_frames);
      expect(audioFrames).toBeGreaterThanOrEqual(truth.audio.encoded.packets - 1);
      expect(audioFrames).toBeLessThanOrEqual(truth.audio.encoded.packets);
    } finally {
      rig.close();
    }
  }, 240_000);

  it('cuts a file whose disk filled up back to its last whole fragment, which plays', () => {
    // A real file and a real kernel error: the child may write at most 300 kB (RLIMIT_FSIZE), so
    // the write that crosses the limit is cut short and fails with EFBIG, as on a full disk.
    const output = join(tempDir('disk-full-'), 'out.mp4');
    const child = spawnSync('prlimit', ['--fsize=300000', process.execPath, '--import', 'tsx', CHILD, output, '4'], { encoding: 'utf8' });
    expect(child.status).toBe(0);
    expect(child.stderr).toMatch(/recorder error: output failed, recording stops writing: .*EFBIG/);
    const summary = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as RecorderSummary;
    expect(summary.outputError).toMatch(/EFBIG/);
    const size = statSync(output).size;
    expect(size).toBeGreaterThan(100_000);
    expect(size).toBeLessThanOrEqual(300_000);
    expect(ffmpegDecodeErrors(output)).toBe('');
    const frames = Number(ffprobeStreams(output).streams.find((s) => s.codec_type === 'video')!.nb_read_frames);
    expect(frames).toBeGreaterThan(60);
    expect(frames).toBeLessThan(truth.video.encoded.frames);
    expect(parseMp4(readFileSync(output)).samples(1)).toHaveLength(frames);
  });

  it('rejects start() for an unwritable output path and leaves no transport behind', async () => {
    const rig = await replayRig(capture);
    try {
      const before = await transportIds(rig.router);
      const recorder = new Recorder({ router: rig.router, producers: rig.replayer.producers, output: '/nonexistent-dir/x/out.mp4' });
      await expect(recorder.start()).rejects.toThrow(/cannot open output file \/nonexistent-dir\/x\/out.mp4 for writing: ENOENT/);
      expect(await transportIds(rig.router)).toEqual(before);
    } finally {
      rig.close();
    }
  });

  it.each([
    ['a codec it cannot record', 'video/H265', 'out.mp4', /codec video\/H265 is not supported; supported codecs: video\/h264, video\/vp8, video\/vp9, video\/av1, audio\/opus/],
    ['a codec the container cannot hold', 'video/VP8', 'out.mp4', /VP8 cannot be recorded to mp4; use webm or mkv/],
  ])('rejects start() for %s, naming the alternatives, and leaves nothing behind', async (_case, mimeType, file, message) => {
    const rig = await replayRig(capture);
    try {
      const router = await rig.worker.createRouter({ mediaCodecs: [{ kind: 'video', mimeType, clockRate: 90000 }] });
      const transport = await router.createDirectTransport();
      const producer = await transport.produce({
        kind: 'video',
        rtpParameters: { codecs: [{ mimeType, payloadType: 100, clockRate: 90000 }], encodings: [{ ssrc: 1234 }] },
      });
      const before = await transportIds(router);
      const output = join(tempDir('refused-'), file);
      const recorder = new Recorder({ router, producers: [producer], output });
      await expect(recorder.start()).rejects.toThrow(message);
      expect(await transportIds(router)).toEqual(before);
      expect(existsSync(output)).toBe(false);
    } finally {
      rig.close();
    }
  });
});
