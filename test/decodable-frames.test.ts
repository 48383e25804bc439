import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCaptureFiles, type CapturedStream } from '../src/source/capture.js';
import { decodableFrames } from './helpers/decodable-frames.js';
import { Impairer, impairmentProfile, type ImpairedPacket } from './helpers/impairer.js';
import { FIXTURES } from './helpers/replay.js';

const SSRC = 1111;
const IDR = [0x65, 0x88]; // H264 single NAL unit: IDR slice
const NON_IDR = [0x41, 0x9a]; // H264 single NAL unit: non-IDR slice
const FU_A_MIDDLE = [0x7c, 0x05]; // H264 FU-A fragment, neither start nor end

/**
 * H264 packets of `frames` frames of 3 packets each (keyframes at `keyframes`), sequence numbers
 * from `firstSeq` (wrapping), timestamps 3000 apart, the marker on each frame's last packet.
 */
function h264Stream(frames: number, keyframes: number[], firstSeq = 1000): Buffer[] {
  const packets: Buffer[] = [];
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < 3; k++) {
      const payload = k > 0 ? FU_A_MIDDLE : keyframes.includes(f) ? IDR : NON_IDR;
      const b = Buffer.alloc(12 + payload.length);
      b[0] = 0x80;
      b[1] = (k === 2 ? 0x80 : 0) | 96;
      b.writeUInt16BE((firstSeq + packets.length) & 0xffff, 2);
      b.writeUInt32BE(90_000 + f * 3000, 4);
      b.writeUInt32BE(SSRC, 8);
      Buffer.from(payload).copy(b, 12);
      packets.push(b);
    }
  }
  return packets;
}

/** The log an Impairer writes for `packets`, all delivered. */
function logOf(packets: Buffer[]): ImpairedPacket[] {
  const impairer = new Impairer(impairmentProfile('none'), () => {});
  for (const p of packets) impairer.push(p);
  return impairer.log;
}

/** The oracle for `packets` of which the sequence numbers in `lost` never arrived. */
function framesWithLoss(packets: Buffer[], lost: number[], log = logOf(packets)) {
  return decodableFrames(log, SSRC, 'video/H264', (ssrc, seq) => ssrc === SSRC && !lost.includes(seq));
}

// 8 frames of 3 packets, sequence numbers 1000..1023, keyframes at frames 0 and 4.
const stream = h264Stream(8, [0, 4]);

describe('decodableFrames', () => {
  it('with no loss every frame is decodable', () => {
    expect(framesWithLoss(stream, [])).toEqual({ frames: 8, complete: 8, decodable: 8, keyframes: 2 });
  });

  it("a frame's lost first packet breaks it and the frames after it until the next keyframe", () => {
    // Frame 1 is 1003..1005: frames 1, 2, 3 are lost to the decoder.
    expect(framesWithLoss(stream, [1003])).toEqual({ frames: 8, complete: 7, decodable: 5, keyframes: 2 });
  });

  it('a lost middle packet breaks the frame', () => {
    expect(framesWithLoss(stream, [1007])).toEqual({ frames: 8, complete: 7, decodable: 6, keyframes: 2 });
  });

  it('a lost marker packet breaks the frame, and the next frame is still told apart', () => {
    expect(framesWithLoss(stream, [1008])).toEqual({ frames: 8, complete: 7, decodable: 6, keyframes: 2 });
  });

  it('a lost keyframe breaks its whole group of pictures', () => {
    expect(framesWithLoss(stream, [1012])).toEqual({ frames: 8, complete: 7, decodable: 4, keyframes: 2 });
  });

  it('frames whose first or last packets are missing from the log altogether are incomplete', () => {
    // Frame 2's marker packet (1008) was never logged: frame 2 ends where the timestamp changes.
    const noMarker = stream.filter((p) => p.readUInt16BE(2) !== 1008);
    expect(framesWithLoss(noMarker, [1008], logOf(noMarker))).toMatchObject({ frames: 8, decodable: 6 });
    // Frame 4 (the second keyframe) lost its first packet before the log: nothing after it decodes.
    const noStart = stream.filter((p) => p.readUInt16BE(2) !== 1012);
    expect(framesWithLoss(noStart, [1012], logOf(noStart))).toEqual({ frames: 8, complete: 7, decodable: 4, keyframes: 1 });
    // The last frame lost its marker packet: it cannot be known to be complete.
    const cut = stream.slice(0, -1);
    expect(framesWithLoss(cut, [], logOf(cut))).toEqual({ frames: 8, complete: 7, decodable: 7, keyframes: 2 });
  });

  it('frames before the first keyframe are not decodable', () => {
    expect(framesWithLoss(h264Stream(8, [4]), [])).toEqual({ frames: 8, complete: 8, decodable: 4, keyframes: 1 });
  });

  it('a loss recovered by a later retransmission counts as delivered; the retransmission is no new packet', () => {
    const impairer = new Impairer({ name: 'lossy', loss: 0.2, seed: 5, impairRetransmissions: false }, () => {});
    for (const p of stream) impairer.push(p);
    const lost = impairer.log.filter((p) => !p.delivered);
    expect(lost.length).toBeGreaterThan(0);
    const before = decodableFrames(impairer.log, SSRC, 'video/H264', (s, q) => impairer.wasDelivered(s, q));
    expect(before.decodable).toBeLessThan(8);
    for (const p of lost) impairer.push(p.packet);
    const after = decodableFrames(impairer.log, SSRC, 'video/H264', (s, q) => impairer.wasDelivered(s, q));
    expect(after).toEqual({ frames: 8, complete: 8, decodable: 8, keyframes: 2 });
  });

  it('follows the sequence numbers across the 65535 -> 0 wrap', () => {
    const wrapping = h264Stream(8, [0, 4], 65_530); // frame 2 is 65536..65538 = wire 0..2
    expect(framesWithLoss(wrapping, [])).toEqual({ frames: 8, complete: 8, decodable: 8, keyframes: 2 });
    expect(framesWithLoss(wrapping, [1])).toEqual({ frames: 8, complete: 7, decodable: 6, keyframes: 2 });
  });

  it('ignores other SSRCs', () => {
    expect(decodableFrames(logOf(stream), 2222, 'video/H264', () => true)).toEqual({ frames: 0, complete: 0, decodable: 0, keyframes: 0 });
  });
});

describe('decodableFrames on the fixtures', () => {
  const fixtures = [
    ['h264-opus', 'video/H264'],
    ['vp8-opus', 'video/VP8'],
  ] as const;

  /** The fixture's video stream, the log of its packets through `profile`, and the oracle's wasDelivered. */
  function through(name: string, profileName: string): { video: CapturedStream; impairer: Impairer } {
    const video = loadCaptureFiles(`${FIXTURES}${name}.pcap`, `${FIXTURES}${name}.sdp`).streams.find((s) => s.kind === 'video')!;
    const impairer = new Impairer(impairmentProfile(profileName), () => {});
    for (const p of video.packets) impairer.push(p.data);
    return { video, impairer };
  }

  it.each(fixtures)('%s: with no loss all 600 frames and 10 keyframes are decodable', (name, mimeType) => {
    const { video, impairer } = through(name, 'none');
    const truth = JSON.parse(readFileSync(`${FIXTURES}${name}.json`, 'utf8')) as { video: { encoded: { frames: number; keyframes: number } } };
    expect(truth.video.encoded).toMatchObject({ frames: 600, keyframes: 10 });
    expect(decodableFrames(impairer.log, video.ssrc, mimeType, (s, q) => impairer.wasDelivered(s, q))).toEqual({
      frames: 600,
      complete: 600,
      decodable: 600,
      keyframes: 10,
    });
  });

  it.each(fixtures)('%s: one lost packet costs the rest of its group of pictures (keyframe every 60 frames)', (name, mimeType) => {
    const { video, impairer } = through(name, 'none');
    const lostPacket = video.packets[150]!.data;
    const frame = ((lostPacket.readUInt32BE(4) - video.packets[0]!.data.readUInt32BE(4)) >>> 0) / 3000;
    const nextKeyframe = Math.ceil((frame + 1) / 60) * 60;
    const result = decodableFrames(impairer.log, video.ssrc, mimeType, (s, q) => q !== lostPacket.readUInt16BE(2) && impairer.wasDelivered(s, q));
    expect(frame % 60).not.toBe(0);
    expect(result).toEqual({ frames: 600, complete: 599, decodable: 600 - (nextKeyframe - frame), keyframes: 10 });
  });

  it.each(fixtures)('%s: under 5%% loss, decodable <= complete < frames, the same on every run', (name, mimeType) => {
    const run = () => {
      const { video, impairer } = through(name, 'loss 5%');
      return decodableFrames(impairer.log, video.ssrc, mimeType, (s, q) => impairer.wasDelivered(s, q));
    };
    const result = run();
    expect(result.frames).toBe(600);
    expect(result.complete).toBeLessThan(600);
    expect(result.decodable).toBeLessThan(result.complete);
    expect(result.decodable).toBeGreaterThan(0);
    expect(run()).toEqual(result);
  });
});
