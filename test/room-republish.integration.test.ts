/**
 * Producers that come and go within a stay, through a real mediasoup worker: alice turns her
 * camera off and publishes a new one (the track continues in her file, from the new producer);
 * bob joins with audio only and turns his camera on later (his next file takes both, since a
 * started file cannot gain a track). The speaker view follows: alice, bob while alice's camera
 * is off, alice again from her new camera's first keyframe. Every file decodes cleanly.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RoomRecorder } from '../src/index.js';
import type { Capture } from '../src/source/capture.js';
import { ffmpegDecodeErrors, ffprobeFrames, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { h264OpusFixture, replayRig } from './helpers/replay.js';
import { joinAt } from './helpers/room.js';

const { capture } = h264OpusFixture();
const only = (kind: 'audio' | 'video'): Capture => ({ ...capture, streams: capture.streams.filter((s) => s.kind === kind) });

describe('RoomRecorder producers within a stay', () => {
  it('continues a republished camera in the same file, starts the next file for a new track, and the view follows', async () => {
    const rig = await replayRig(capture);
    try {
      const directory = join(tempDir('room-republish-'), 'room');
      const room = new RoomRecorder({ router: rig.router, directory, speakerView: true });
      const errors: Error[] = [];
      room.on('error', (e) => errors.push(e));
      const left: string[] = [];
      room.on('participantleft', ({ participant }) => left.push(participant));
      await room.start();
      const t0 = performance.now() + 1000;
      const add = (id: string, p: Awaited<ReturnType<typeof joinAt>>): void => {
        for (const producer of p.replayer.producers) room.addProducer(producer, { participant: id });
      };
      const aliceMic = await joinAt(rig.router, only('audio'), t0, () => 20); // alice talks all along
      const aliceCam = await joinAt(rig.router, only('video'), t0);
      const bobMic = await joinAt(rig.router, only('audio'), t0, () => 127);
      add('alice', aliceMic);
      add('alice', aliceCam);
      add('bob', bobMic);
      await sleep(t0 + 3000 - performance.now());
      aliceCam.replayer.close(); // camera off: its producer closes
      const bobCam = await joinAt(rig.router, only('video'), t0 + 3500);
      add('bob', bobCam);
      const aliceCam2 = await joinAt(rig.router, only('video'), t0 + 5500);
      await sleep(t0 + 5000 - performance.now());
      add('alice', aliceCam2);
      await sleep(t0 + 9000 - performance.now());
      const manifest = await room.stop();
      for (const p of [aliceMic, aliceCam2, bobMic, bobCam]) p.replayer.close();

      expect(errors).toEqual([]);
      expect(left).toEqual([]); // alice kept her microphone, bob never left
      const file = (path: string) => manifest.files.find((f) => f.path === path)!;
      expect(manifest.files.map((f) => f.path).sort()).toEqual(['participants/alice.mp4', 'participants/bob-2.mp4', 'participants/bob.mp4', 'speaker.mp4']);
      expect(manifest.participants.find((p) => p.id === 'bob')!.presences.map((s) => s.files)).toEqual([['participants/bob.mp4', 'participants/bob-2.mp4']]);
      for (const f of manifest.files) expect(ffmpegDecodeErrors(join(directory, f.path))).toBe('');

      // alice: one video track from two producers, the second taking over when published.
      const aliceVideo = file('participants/alice.mp4').tracks.find((t) => t.kind === 'video')!;
      expect(aliceVideo.producerId).toBe(aliceCam.replayer.producers[0]!.id);
      expect(aliceVideo.producers!.map((p) => p.id)).toEqual([aliceCam.replayer.producers[0]!.id, aliceCam2.replayer.producers[0]!.id]);
      expect(aliceVideo.gaps.length).toBe(1); // camera off 3 s -> 5.5 s
      expect(aliceVideo.gaps[0]!.durationMs).toBeGreaterThan(2000);
      expect(aliceVideo.gaps[0]!.durationMs).toBeLessThan(3000);
      // bob: audio only until his camera, then a file with both.
      expect(ffprobeStreams(join(directory, 'participants/bob.mp4')).streams.map((s) => s.codec_type)).toEqual(['audio']);
      expect(ffprobeStreams(join(directory, 'participants/bob-2.mp4')).streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
      expect(Math.abs(file('participants/bob-2.mp4').startMs - file('participants/bob.mp4').endMs)).toBeLessThan(500);

      // The view: alice, bob while alice's camera is off, alice from her new camera's first keyframe.
      const changes = manifest.speakerView!.speakerChanges;
      expect(changes.map((c) => c.participant)).toEqual(['alice', 'bob', 'alice']);
      const roomZeroMs = performance.now() - room.nowMs;
      expect(Math.abs(changes[1]!.fromMs - (bobCam.firstSendMs! - roomZeroMs))).toBeLessThan(100);
      expect(Math.abs(changes[2]!.fromMs - (aliceCam2.firstSendMs! - roomZeroMs))).toBeLessThan(100);
      const speaker = file('speaker.mp4');
      const frames = ffprobeFrames(join(directory, 'speaker.mp4'), 'v').map((f) => ({ ms: speaker.startMs + Number(f.pts_time) * 1000, key: f.key_frame === 1 }));
      for (const c of changes) expect(frames.some((f) => f.key && Math.abs(f.ms - c.fromMs) < 40)).toBe(true);
      console.log(`speaker.mp4: ${frames.length} frames; switches at`, changes.map((c) => `${c.participant} ${c.fromMs.toFixed(0)}`).join(', '));
    } finally {
      rig.close();
    }
  }, 60_000);
});
