/**
 * The speaker view through a real mediasoup worker: alice (640x360) and bob (640x360, then
 * 1280x720 from his 5th second) talk in turn, as their replays' audio levels say; carol talks
 * last: in Matroska she sends VP8 and is left out of the H264 speaker track; in MP4 (which cannot
 * hold VP8: addProducer refuses it) she is an audio-only participant. The view follows the
 * talkers, switches at each new speaker's keyframe, decodes cleanly and its size changes at the
 * switches; carol talking leaves the last video speaker on screen.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import * as mediasoup from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { RoomRecorder } from '../src/index.js';
import { mediaCodecsFor } from '../src/replay/replayer.js';
import { ffmpegDecodeErrors, ffprobeFrames, tempDir } from './helpers/oracles.js';
import { videoOpusFixture } from './helpers/replay.js';
import { joinAt } from './helpers/room.js';

const LOUD = 20;
const SILENT = 127;
/** Audio level (-dBov) at `ms` into the replay: loud within the spans given (ms). */
const talks = (...spans: [number, number][]) => (ms: number): number => (spans.some(([a, b]) => ms >= a && ms < b) ? LOUD : SILENT);

describe('RoomRecorder speaker view', () => {
  it.for<'mkv' | 'mp4'>(['mkv', 'mp4'])('%s: follows the talkers, switching at keyframes; carol (VP8 or audio only) is not shown', { timeout: 60_000 }, async (container) => {
    const h264 = videoOpusFixture('h264').capture;
    const resize = videoOpusFixture('h264-resize').capture;
    const vp8 = videoOpusFixture('vp8').capture;
    const worker = await mediasoup.createWorker({ logLevel: 'warn' });
    try {
      const codecs = mediaCodecsFor([...h264.streams, ...vp8.streams]).filter((c, i, all) => all.findIndex((d) => d.mimeType === c.mimeType) === i);
      const router = await worker.createRouter({ mediaCodecs: codecs });
      const directory = join(tempDir('room-speaker-'), 'room');
      const room = new RoomRecorder({ router, directory, container, speakerView: true });
      const errors: Error[] = [];
      room.on('error', (e) => errors.push(e));
      const changes: { participant: string; atMs: number; latencyMs?: number }[] = [];
      room.on('speakerchanged', (c) => changes.push(c));
      await room.start();

      const t0 = performance.now() + 1000;
      const alice = await joinAt(router, h264, t0, talks([0, 3000], [7000, 9500]));
      const bob = await joinAt(router, resize, t0, talks([3000, 7000]));
      const carol = await joinAt(router, vp8, t0, talks([9500, 12000]));
      for (const [id, p] of [['alice', alice], ['bob', bob], ['carol', carol]] as const) {
        for (const producer of p.replayer.producers) {
          if (container === 'mp4' && producer.rtpParameters.codecs[0]!.mimeType === 'video/VP8') {
            expect(() => room.addProducer(producer, { participant: id })).toThrow(/VP8 cannot be recorded to mp4; use webm or mkv/);
          } else {
            room.addProducer(producer, { participant: id });
          }
        }
      }
      await sleep(t0 + 12_000 - performance.now());
      const manifest = await room.stop();
      for (const p of [alice, bob, carol]) p.replayer.close();

      expect(errors).toEqual([]);
      const view = manifest.speakerView!;
      expect(view.codec).toBe('h264');
      expect(view.excluded.map((e) => [e.participant, e.codec])).toEqual(container === 'mkv' ? [['carol', 'vp8']] : []);
      expect(view.speakerChanges.map((c) => c.participant)).toEqual(['alice', 'bob', 'alice']);
      expect(changes.map((c) => c.participant)).toEqual(['alice', 'bob', 'alice']);
      const [first, toBob, toAlice] = view.speakerChanges as [typeof view.speakerChanges[0], typeof view.speakerChanges[0], typeof view.speakerChanges[0]];
      expect(first.latencyMs).toBeUndefined();
      const roomZeroMs = performance.now() - room.nowMs;
      const sentMs = (p: { firstSendMs: number | undefined }): number => p.firstSendMs! - roomZeroMs;
      // Decided after the talk starts (observer interval 300 ms, dwell 1.5 s), switched at the next
      // keyframe: the captures have one every 2 s and cannot make one on request.
      for (const [change, talkStartMs] of [[toBob, sentMs(bob) + 3000], [toAlice, sentMs(alice) + 7000]] as const) {
        expect(change.requestedMs!).toBeGreaterThan(talkStartMs);
        expect(change.requestedMs!).toBeLessThan(talkStartMs + 1000);
        expect(change.latencyMs!).toBeGreaterThan(0);
        expect(change.latencyMs!).toBeLessThan(2100);
        expect(change.fromMs - change.requestedMs!).toBeCloseTo(change.latencyMs!, 3);
      }
      expect(first.toMs).toBe(toBob.fromMs);
      expect(toAlice.toMs).toBe(manifest.durationMs);

      // The file: clean, one continuous track, each stretch at its talker's size, a keyframe at each switch.
      const file = manifest.files.find((f) => f.kind === 'speaker')!;
      expect(file.path).toBe(`speaker.${container}`);
      const path = join(directory, file.path);
      expect(ffmpegDecodeErrors(path)).toBe('');
      const frames = ffprobeFrames(path, 'v').map((f) => ({ ms: file.startMs + Number(f.pts_time) * 1000, size: `${f.width}x${f.height}`, key: f.key_frame === 1 }));
      expect(frames.length).toBeGreaterThan(((toAlice.toMs! - first.fromMs) / 1000 - 1) * 30);
      const intervals = frames.slice(1).map((f, i) => f.ms - frames[i]!.ms);
      console.log(`speaker.${container}: ${frames.length} frames, longest frame interval ${Math.max(...intervals).toFixed(1)} ms, switch latencies ${[toBob, toAlice].map((c) => c.latencyMs!.toFixed(0)).join(', ')} ms`);
      expect(Math.max(...intervals)).toBeLessThan(100);
      const sizesIn = (fromMs: number, toMs: number): string[] => [...new Set(frames.filter((f) => f.ms >= fromMs && f.ms < toMs).map((f) => f.size))];
      const bob720Ms = sentMs(bob) + 5000; // bob's capture switches to 1280x720 5 s in
      expect(sizesIn(0, toBob.fromMs - 40)).toEqual(['640x360']);
      expect(sizesIn(bob720Ms + 100, toAlice.fromMs - 40)).toEqual(['1280x720']);
      expect(sizesIn(toAlice.fromMs + 40, Infinity)).toEqual(['640x360']);
      // A keyframe where each switch happened, and every size change is at a keyframe (no frame decodes from another's).
      for (const change of [first, toBob, toAlice]) {
        expect(frames.some((f) => f.key && Math.abs(f.ms - change.fromMs) < 40)).toBe(true);
      }
      const sizeChanges = frames.flatMap((f, i) => (i > 0 && f.size !== frames[i - 1]!.size ? [f] : []));
      expect(sizeChanges.map((f) => f.size)).toEqual(['1280x720', '640x360']);
      for (const f of sizeChanges) expect(f.key).toBe(true);
    } finally {
      worker.close();
    }
  });
});
