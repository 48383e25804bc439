/**
 * RoomRecorder through a real mediasoup worker: three participants replayed from the H264+Opus
 * capture join at staggered times; bob leaves (his producers close) and comes back with new
 * producers; '../../x' is removed with removeParticipant(); alice's camera pauses for 2.5 s (a gap in
 * her file, in room time, with its cause). Every file decodes cleanly, covers
 * its stay, stays inside the directory, and the manifest's offsets are true: laid on the room
 * timeline by ffmpeg (-itsoffset from the manifest), beeps that alice and bob sent at the same
 * instant line up within 20 ms.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RoomRecorder, type RoomManifest, type RoomRecorderEvents } from '../src/index.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { h264OpusFixture, replayRig } from './helpers/replay.js';
import { beepOnsetsMs, joinAt } from './helpers/room.js';

const { capture } = h264OpusFixture();

describe('RoomRecorder', () => {
  it('records participants who come, go and come back; the manifest places every file on one timeline', async () => {
    const rig = await replayRig(capture); // its own replayer stays idle: each participant has one
    const base = tempDir('room-');
    const directory = join(base, 'a', 'room-42');
    try {
      const room = new RoomRecorder({ router: rig.router, directory, statsIntervalMs: 1000 });
      const gaps: RoomRecorderEvents['gap'][0][] = [];
      room.on('gap', (g) => gaps.push(g));
      const statsFiles: string[][] = [];
      room.on('stats', (s) => statsFiles.push(s.files.map((f) => f.path)));
      const events: string[] = [];
      room.on('participantjoined', ({ participant }) => events.push(`+${participant}`));
      room.on('participantleft', ({ participant }) => events.push(`-${participant}`));
      const errors: Error[] = [];
      room.on('error', (e) => errors.push(e));
      await room.start();

      // Producers are added a second before their media flows, as an app adds them when they are
      // created: a capture cannot answer the keyframe request a late start would make.
      const t0 = performance.now() + 1000;
      const roomZeroMs = performance.now() - room.nowMs;
      const add = (id: string, p: { replayer: { producers: Parameters<RoomRecorder['addProducer']>[0][] } }): void => {
        for (const producer of p.replayer.producers) room.addProducer(producer, { participant: id });
      };
      const alice = await joinAt(rig.router, capture, t0);
      add('alice', alice);
      const bob = await joinAt(rig.router, capture, t0 + 3000);
      await sleep(t0 + 2000 - performance.now());
      add('bob', bob);
      const x = await joinAt(rig.router, capture, t0 + 5000);
      await sleep(t0 + 4000 - performance.now());
      add('../../x', x);
      await sleep(t0 + 9000 - performance.now());
      bob.replayer.close(); // bob leaves: his producers close
      await sleep(t0 + 11000 - performance.now());
      await room.removeParticipant('../../x');
      x.replayer.close();
      const bob2 = await joinAt(rig.router, capture, t0 + 12000);
      await sleep(t0 + 11000 - performance.now());
      add('bob', bob2);
      await sleep(t0 + 14000 - performance.now());
      const aliceCamera = alice.replayer.producers.find((p) => p.kind === 'video')!;
      await aliceCamera.pause();
      const pausedAtMs = room.nowMs;
      await sleep(2500);
      await aliceCamera.resume();
      await sleep(t0 + 19000 - performance.now());
      bob2.replayer.close();
      await alice.playing;
      await sleep(300);
      const manifest = await room.stop();

      expect(errors).toEqual([]);
      expect(events).toEqual(['+alice', '+bob', '+../../x', '-bob', '-../../x', '+bob', '-bob']);
      expect(JSON.parse(readFileSync(join(directory, 'manifest.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(manifest)));
      expect(Date.parse(manifest.startedAt)).toBeGreaterThan(Date.now() - 60_000);

      // Names: every output inside the directory; '../../x' became a plain file name there.
      const byPath = new Map(manifest.files.map((f) => [f.path, f]));
      expect([...byPath.keys()].sort()).toEqual(['participants/%2E.%2F..%2Fx.mp4', 'participants/alice.mp4', 'participants/bob-2.mp4', 'participants/bob.mp4']);
      expect(readdirSync(join(directory, 'participants')).sort()).toEqual([...byPath.keys()].map((p) => p.slice('participants/'.length)).sort());
      for (const path of byPath.keys()) expect(resolve(directory, path).startsWith(resolve(directory) + '/')).toBe(true);
      expect(existsSync(join(base, 'x.mp4')) || existsSync(join(base, 'a', 'x.mp4'))).toBe(false);

      const stays = (id: string): RoomManifest['participants'][number]['presences'] => manifest.participants.find((p) => p.id === id)!.presences;
      expect(stays('bob').map((s) => s.files)).toEqual([['participants/bob.mp4'], ['participants/bob-2.mp4']]);
      const report: Record<string, unknown>[] = [];
      const stayList = [['alice', stays('alice')[0]!, alice], ['bob', stays('bob')[0]!, bob], ['bob', stays('bob')[1]!, bob2], ['../../x', stays('../../x')[0]!, x]] as const;
      for (const [id, stay, sender] of stayList) {
        const file = byPath.get(stay.files[0]!)!;
        const path = join(directory, file.path);
        expect(file.participant).toBe(id);
        expect(ffmpegDecodeErrors(path)).toBe('');
        const probe = ffprobeStreams(path);
        const durationMs = Number(probe.format.duration) * 1000;
        const frames = Number(probe.streams.find((s) => s.codec_type === 'video')!.nb_read_frames);
        const firstSendMs = sender.firstSendMs! - roomZeroMs;
        report.push({ file: file.path, joinMs: stay.joinMs, firstSendMs, leaveMs: stay.leaveMs, startMs: file.startMs, durationMs, frames, size: file.size });
        // The file starts with the participant's media and ends with the stay.
        expect(stay.joinMs).toBeLessThan(firstSendMs);
        // (Its zero is its first frame's arrival less the smallest delay: within a few ms of the first send.)
        expect(Math.abs(file.startMs - firstSendMs)).toBeLessThan(50);
        expect(Math.abs(file.startMs + durationMs - stay.leaveMs!)).toBeLessThan(600);
        expect(Math.abs(durationMs - file.durationMs)).toBeLessThan(100);
        const videoGapMs = file.tracks[0]!.gaps.reduce((sum, g) => sum + g.durationMs, 0);
        expect(frames).toBeGreaterThan(((durationMs - videoGapMs) / 1000 - 1) * 30);
        expect(file.size).toBe(readFileSync(path).length);
        expect(file.tracks.map((t) => [t.kind, t.codec])).toEqual([['video', 'h264'], ['audio', 'opus']]);
        for (const track of file.tracks) {
          expect(track.startMs! - file.startMs).toBeLessThan(100);
          expect(track.endMs!).toBeLessThanOrEqual(file.endMs);
          if (id !== 'alice' || track.kind === 'audio') expect(track.gaps).toEqual([]);
        }
      }
      console.log('room files', report);
      // Alice's camera pause: one gap, nothing came (paused), from the pause until her next keyframe (every 2 s).
      const aliceVideo = byPath.get('participants/alice.mp4')!.tracks[0]!;
      expect(aliceVideo.gaps.map((g) => g.cause)).toEqual(['no-media']);
      const gap = aliceVideo.gaps[0]!;
      expect(Math.abs(gap.startMs - pausedAtMs)).toBeLessThan(100);
      expect(gap.durationMs).toBeGreaterThan(2400);
      expect(gap.durationMs).toBeLessThan(4700);
      expect(gaps).toEqual([{ file: 'participants/alice.mp4', participant: 'alice', stream: `video:${aliceCamera.id}`, ...gap }]);
      expect(statsFiles.length).toBeGreaterThanOrEqual(15);
      expect(statsFiles.some((files) => files.length === 3 && files.includes('participants/%2E.%2F..%2Fx.mp4'))).toBe(true);
      expect(byPath.get('participants/bob.mp4')!.tracks.map((t) => t.producerId)).toEqual(bob.replayer.producers.map((p) => p.id));
      expect(byPath.get('participants/bob-2.mp4')!.tracks.map((t) => t.producerId)).toEqual(bob2.replayer.producers.map((p) => p.id));

      // The manifest's offsets are true: beeps sent at the same instant line up on the room timeline.
      const sendSkewMs = (p: { firstSendMs: number | undefined }, plannedMs: number): number => p.firstSendMs! - (t0 + plannedMs);
      const onsets = (path: string): number[] => beepOnsetsMs(join(directory, path), byPath.get(path)!.startMs);
      const aliceBeeps = onsets('participants/alice.mp4');
      expect(aliceBeeps.length).toBeGreaterThanOrEqual(19);
      // Whole seconds too (the beeps repeat every second): each file's first beep is its sender's
      // first, sent with the first packet (the capture's beep starts 314 samples, 6.5 ms, in).
      for (const [path, p] of [['participants/alice.mp4', alice], ['participants/bob.mp4', bob], ['participants/bob-2.mp4', bob2]] as const) {
        const firstBeepMs = onsets(path)[0]! - (p.firstSendMs! - roomZeroMs);
        expect(Math.abs(firstBeepMs - 6.5)).toBeLessThan(20);
      }
      for (const [path, p, plannedMs] of [['participants/bob.mp4', bob, 3000], ['participants/bob-2.mp4', bob2, 12000]] as const) {
        const beeps = onsets(path);
        expect(beeps.length).toBeGreaterThanOrEqual(4);
        // Replays start a whole number of seconds apart (within the skew measured at their first packet).
        const skew = sendSkewMs(p, plannedMs) - sendSkewMs(alice, 0);
        const errors = beeps.map((b) => {
          const nearest = aliceBeeps.reduce((best, a) => (Math.abs(a - b) < Math.abs(best - b) ? a : best));
          return b - nearest - skew;
        });
        console.log(`${path}: beep alignment error vs alice (ms, send skew ${skew.toFixed(1)} ms removed)`, errors.map((e) => e.toFixed(1)).join(' '));
        for (const e of errors) expect(Math.abs(e)).toBeLessThan(20);
      }
    } finally {
      rig.close();
    }
  }, 60_000);
});
