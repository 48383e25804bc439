/**
 * Retransmission through a real mediasoup worker, both ways a packet goes missing:
 * - on the sender's path: mediasoup NACKs the replayer, which resends from its history;
 * - between mediasoup and the recorder: the recorder's jitter buffer NACKs its consumer through
 *   DirectTransport.sendRtcp() and mediasoup resends from the consumer's own buffer.
 * Either way the file holds every frame and decodes without error.
 */
import { join } from 'node:path';
import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { Recorder } from '../src/index.js';
import type { CapturedStream } from '../src/source/capture.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { h264OpusFixture, replayRig } from './helpers/replay.js';

const { capture, truth } = h264OpusFixture();
const videoFrames = (file: string): number => Number(ffprobeStreams(file).streams.find((s) => s.codec_type === 'video')!.nb_read_frames);
/** Sequence numbers of a few video packets in the middle of GOPs. */
const video = capture.streams.find((s) => s.kind === 'video')!;
const LOST = new Set([150, 333, 700].map((i) => video.packets[i]!.data.readUInt16BE(2)));
const isLost = (packet: Buffer): boolean => LOST.has(packet.readUInt16BE(2));

describe('NACK recovery through mediasoup', () => {
  it('recovers packets lost on the sender path: mediasoup NACKs the sender, which retransmits', async () => {
    const rig = await replayRig(capture);
    try {
      const output = join(tempDir('nack-sender-'), 'out.mp4');
      const recorder = new Recorder({ router: rig.router, producers: rig.replayer.producers, output });
      await recorder.start();
      const replay = await rig.replayer.play({ speed: 2, skip: (stream: CapturedStream, p) => stream.kind === 'video' && isLost(p) });
      await new Promise((r) => setTimeout(r, 300));
      const summary = await recorder.stop();
      expect(replay.packetsSkipped).toBe(LOST.size);
      expect(replay.packetsRetransmitted).toBeGreaterThanOrEqual(LOST.size);
      expect(summary.streams.find((s) => s.kind === 'video')).toMatchObject({ framesWritten: truth.video.encoded.frames, packetsLost: 0 });
      expect(ffmpegDecodeErrors(output)).toBe('');
      expect(videoFrames(output)).toBe(truth.video.encoded.frames);
    } finally {
      rig.close();
    }
  });

  it('recovers packets lost between mediasoup and the recorder: the recorder NACKs its consumer', async () => {
    const rig = await replayRig(capture);
    try {
      const droppedOnce = new Set<number>();
      let delivered = 0;
      // Lose the 150th, 333rd and 700th packet the consumer delivers (its own sequence numbering:
      // a consumer renumbers), once; the retransmission comes later as another delivery.
      rig.router.observer.on('newtransport', (t: types.Transport) =>
        t.observer.on('newconsumer', (c: types.Consumer) => {
          if (c.kind !== 'video') return;
          const emit = c.emit.bind(c);
          c.emit = ((event: string, ...args: unknown[]) => {
            const packet = args[0] as Buffer;
            if (event === 'rtp' && [150, 333, 700].includes(++delivered)) {
              droppedOnce.add(packet.readUInt16BE(2));
              return true;
            }
            return emit(event, ...args);
          }) as typeof c.emit;
        }),
      );
      const output = join(tempDir('nack-recorder-'), 'out.mp4');
      const recorder = new Recorder({ router: rig.router, producers: rig.replayer.producers, output });
      await recorder.start();
      await rig.replayer.play({ speed: 2 });
      await new Promise((r) => setTimeout(r, 300));
      const summary = await recorder.stop();
      const stats = summary.streams.find((s) => s.kind === 'video')!;
      expect(droppedOnce.size).toBe(LOST.size);
      expect(stats.nackRequests).toBeGreaterThanOrEqual(LOST.size);
      expect(stats).toMatchObject({ packetsRecovered: LOST.size, packetsLost: 0, framesWritten: truth.video.encoded.frames });
      expect(ffmpegDecodeErrors(output)).toBe('');
      expect(videoFrames(output)).toBe(truth.video.encoded.frames);
    } finally {
      rig.close();
    }
  });
});
