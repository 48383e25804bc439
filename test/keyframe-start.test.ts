import { RtpHeader, RtpPacket } from 'werift-rtp';
import { describe, expect, it } from 'vitest';
import { startsKeyframe } from '../src/codec/keyframe-start.js';
import { h264OpusFixture } from './helpers/replay.js';

const rtp = (payload: number[]): Buffer => new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1 }), Buffer.from(payload)).serialize();

describe('startsKeyframe', () => {
  it('H264: true for the fixture packets that carry its 10 keyframes\' SPS or IDR start, nothing else', () => {
    const video = h264OpusFixture().capture.streams.find((s) => s.kind === 'video')!;
    const starts = video.packets.filter((p) => startsKeyframe('video/H264', p.data));
    // Each keyframe: a STAP-A with SPS+PPS, then the IDR's first FU-A fragment, same timestamp.
    expect(starts).toHaveLength(20);
    expect(new Set(starts.map((p) => p.data.readUInt32BE(4))).size).toBe(10);
    expect(startsKeyframe('video/H264', video.packets[0]!.data)).toBe(true);
  });

  it.each([
    ['VP8 key frame start, no extensions', 'video/VP8', [0x10, 0x50], true],
    ['VP8 key frame start, 15-bit PictureID + TL0PICIDX + TID', 'video/VP8', [0x90, 0xe0, 0x81, 0x23, 0x05, 0x40, 0x50], true],
    ['VP8 inter frame start', 'video/VP8', [0x90, 0x80, 0x12, 0x51], false],
    ['VP8 continuation (S=0)', 'video/VP8', [0x00, 0x50], false],
    ['VP9 key picture start, 15-bit picture id', 'video/VP9', [0x88, 0x80, 0x01, 0x82], true],
    ['VP9 inter picture start', 'video/VP9', [0xc8, 0x01, 0x82], false],
    ['VP9 key picture start on spatial layer 1', 'video/VP9', [0xa8, 0x01, 0x02, 0x00, 0x82], false],
    ['VP9 key picture start on spatial layer 0 with layer indices', 'video/VP9', [0xa8, 0x01, 0x00, 0x00, 0x82], true],
    ['VP9 middle of a picture (B=0)', 'video/VP9', [0x80, 0x01, 0x82], false],
    ['AV1 first packet of a coded video sequence', 'video/AV1', [0x18, 0x0a, 0x0b], true],
    ['AV1 continuation', 'video/AV1', [0x98, 0x0a], false],
    ['audio', 'audio/opus', [0xfc, 0xff, 0xfe], true],
  ])('%s', (_name, mimeType, payload, expected) => {
    expect(startsKeyframe(mimeType, rtp(payload))).toBe(expected);
  });

  it('false for a packet that is not RTP', () => {
    expect(startsKeyframe('video/VP8', Buffer.from([1, 2, 3]))).toBe(false);
  });
});
