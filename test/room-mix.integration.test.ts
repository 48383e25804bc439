/**
 * The room's audio mix through a real mediasoup worker: alice and bob (joining 2.5 s later, so
 * their beeps fall half a second apart) recorded with `mix: true` and `speakerView: true`.
 * mix.ogg and speaker.mp4 decode cleanly; laid on the room timeline by ffmpeg (-itsoffset from
 * the manifest), the speaker file's audio is the same mix as mix.ogg (beeps within 5 ms), and
 * the mix holds every beep of both participants' own files within 20 ms.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RoomRecorder } from '../src/index.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { h264OpusFixture, replayRig } from './helpers/replay.js';
import { beepOnsetsMs, joinAt } from './helpers/room.js';

const { capture } = h264OpusFixture();

describe('RoomRecorder mix', () => {
  it('writes mix.ogg and the speaker file with the mix, both on the room timeline', async () => {
    const rig = await replayRig(capture);
    try {
      const directory = join(tempDir('room-mix-'), 'room');
      const room = new RoomRecorder({ router: rig.router, directory, mix: true, speakerView: true });
      const errors: Error[] = [];
      room.on('error', (e) => errors.push(e));
      await room.start();
      const t0 = performance.now() + 1000;
      const alice = await joinAt(rig.router, capture, t0);
      const bob = await joinAt(rig.router, capture, t0 + 2500);
      for (const [id, p] of [['alice', alice], ['bob', bob]] as const) {
        for (const producer of p.replayer.producers) room.addProducer(producer, { participant: id });
      }
      await sleep(t0 + 9000 - performance.now());
      const manifest = await room.stop();
      alice.replayer.close();
      bob.replayer.close();

      expect(errors).toEqual([]);
      const file = (path: string) => manifest.files.find((f) => f.path === path)!;
      const onsets = (path: string): number[] => beepOnsetsMs(join(directory, path), file(path).startMs);
      expect(file('mix.ogg').kind).toBe('mix');
      expect(ffmpegDecodeErrors(join(directory, 'mix.ogg'))).toBe('');
      expect(ffmpegDecodeErrors(join(directory, 'speaker.mp4'))).toBe('');
      expect(ffprobeStreams(join(directory, 'speaker.mp4')).streams.map((s) => s.codec_name).sort()).toEqual(['h264', 'opus']);
      // Each participant file's beeps against their sender's true send instants (pre-skip takes the encoder's delay out), for the log.
      const roomZeroMs = performance.now() - room.nowMs;
      for (const [path, p] of [['participants/alice.mp4', alice], ['participants/bob.mp4', bob]] as const) {
        const sentAt = p.firstSendMs! - roomZeroMs;
        console.log(`${path}: beeps vs sent (ms):`, onsets(path).map((o) => (((o - sentAt + 500) % 1000) - 500).toFixed(1)).join(' '));
      }
      // The speaker file's audio is a second mix of the same packets: its beeps are mix.ogg's.
      const mixBeeps = onsets('mix.ogg');
      const speakerBeeps = onsets('speaker.mp4').filter((b) => b > file('speaker.mp4').startMs + 200);
      expect(speakerBeeps.length).toBeGreaterThanOrEqual(12);
      for (const b of speakerBeeps) expect(Math.min(...mixBeeps.map((m) => Math.abs(m - b)))).toBeLessThan(5);
      const sent = [...onsets('participants/alice.mp4'), ...onsets('participants/bob.mp4')].sort((a, b) => a - b);
      expect(sent.length).toBeGreaterThanOrEqual(13);
      for (const mixFile of ['mix.ogg', 'speaker.mp4']) {
        const mixed = onsets(mixFile);
        const errorsMs = sent.filter((s) => s > file(mixFile).startMs + 200).map((s) => Math.min(...mixed.map((m) => Math.abs(m - s))));
        console.log(`${mixFile}: ${mixed.length} beeps; distance of each participant beep to the mix's nearest (ms):`, errorsMs.map((e) => e.toFixed(1)).join(' '));
        expect(errorsMs.length).toBeGreaterThanOrEqual(12);
        for (const e of errorsMs) expect(e).toBeLessThan(20);
      }
    } finally {
      rig.close();
    }
  }, 60_000);
});
