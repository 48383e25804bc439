import { RtpHeader, RtpPacket as WeriftRtpPacket } from 'werift-rtp';
import { describe, expect, it } from 'vitest';
import { parseRtpPacket, RtpParseError } from '../src/rtp/packet.js';

/** Packets built with werift-rtp's serializer: an independent writer for our parser. */
function build(props: Partial<RtpHeader>, payload: Buffer): Buffer {
  return new WeriftRtpPacket(new RtpHeader(props), payload).serialize();
}

describe('parseRtpPacket', () => {
  it('reads header fields and the payload', () => {
    const raw = build({ payloadType: 96, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, marker: true }, Buffer.from([1, 2, 3]));
    const p = parseRtpPacket(raw);
    expect(p).toMatchObject({ payloadType: 96, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, marker: true });
    expect([...p.payload]).toEqual([1, 2, 3]);
    expect([p.extensionOffset, p.extensionLength]).toEqual([0, 0]);
  });

  it('skips one-byte header extensions like a browser sends (mid, abs-send-time, transport-cc, audio-level)', () => {
    const raw = build(
      {
        payloadType: 111,
        sequenceNumber: 7,
        timestamp: 960,
        ssrc: 1,
        extension: true,
        extensionProfile: 0xbede,
        extensions: [
          { id: 1, payload: Buffer.from('0') },
          { id: 2, payload: Buffer.from([1, 2, 3]) },
          { id: 3, payload: Buffer.from([0, 9]) },
          { id: 4, payload: Buffer.from([0x85]) },
        ],
      },
      Buffer.from([0xfc, 0xff, 0xfe]),
    );
    const p = parseRtpPacket(raw);
    expect(p.extensionProfile).toBe(0xbede);
    expect(p.extensionOffset).toBe(16);
    expect(p.extensionLength).toBe(12); // elements of 2, 4, 3 and 2 bytes, padded to whole words
    expect(raw.readUInt16BE(p.extensionOffset - 2)).toBe(3);
    expect([...p.payload]).toEqual([0xfc, 0xff, 0xfe]);
  });

  it('skips CSRCs and strips padding', () => {
    const raw = Buffer.from([0xa2, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0xaa, 0xbb, 0, 0, 3]);
    const p = parseRtpPacket(raw);
    expect(p.payloadType).toBe(96);
    expect([...p.payload]).toEqual([0xaa, 0xbb]);
  });

  it.each([
    ['3 bytes', Buffer.from([0x80, 0x60, 0])],
    ['version 1', Buffer.concat([Buffer.from([0x40, 0x60]), Buffer.alloc(10)])],
    ['extension past the end', Buffer.concat([Buffer.from([0x90, 0x60]), Buffer.alloc(10), Buffer.from([0xbe, 0xde, 0, 9])])],
    ['padding longer than the packet', Buffer.concat([Buffer.from([0xa0, 0x60]), Buffer.alloc(10), Buffer.from([200])])],
    ['zero padding', Buffer.concat([Buffer.from([0xa0, 0x60]), Buffer.alloc(10), Buffer.from([0])])],
  ])('rejects %s with an RtpParseError', (_name, raw) => {
    expect(() => parseRtpPacket(raw)).toThrow(RtpParseError);
  });
});
