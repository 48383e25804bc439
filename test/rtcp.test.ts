import { describe, expect, it } from 'vitest';
import { GenericNack, RtcpPacketConverter, RtcpPayloadSpecificFeedback, RtcpRrPacket, RtcpSenderInfo, RtcpSrPacket, RtcpTransportLayerFeedback } from 'werift-rtp';
import { genericNack, isRtcp, pictureLossIndication, receiverReport, senderReportsIn } from '../src/rtp/rtcp.js';

const sr = (ssrc: number, seconds: number, fraction: number, rtpTimestamp: number): Buffer =>
  new RtcpSrPacket({ ssrc, senderInfo: new RtcpSenderInfo({ ntpTimestamp: (BigInt(seconds) << 32n) | BigInt(fraction), rtpTimestamp, packetCount: 1, octetCount: 1 }) }).serialize();

describe('isRtcp', () => {
  it('tells RTCP (types 192-223) from RTP on one port (RFC 5761)', () => {
    expect(isRtcp(sr(1, 0, 0, 0))).toBe(true);
    expect(isRtcp(receiverReport(1, []))).toBe(true);
    expect(isRtcp(Buffer.from([0x80, 96, 0, 1]))).toBe(false); // RTP, payload type 96
    expect(isRtcp(Buffer.from([0x80, 0x80 | 111, 0, 1]))).toBe(false); // RTP with marker, payload type 111
    expect(isRtcp(Buffer.from([0x80]))).toBe(false);
  });
});

describe('senderReportsIn', () => {
  it('reads every SR of a compound packet: its SSRC and the middle 32 bits of its NTP time', () => {
    const compound = Buffer.concat([sr(0x1111, 3_900_000_000, 2 ** 31, 123456), receiverReport(9, []), sr(0x2222, 3_900_000_001, 2 ** 30, 0xfffffff0)]);
    expect(senderReportsIn(compound)).toEqual([
      { ssrc: 0x1111, ntpMiddle: (((3_900_000_000 & 0xffff) << 16) | 0x8000) >>> 0 },
      { ssrc: 0x2222, ntpMiddle: (((3_900_000_001 & 0xffff) << 16) | 0x4000) >>> 0 },
    ]);
  });

  it('keeps what precedes a truncated or malformed packet', () => {
    const good = sr(7, 1, 0, 5);
    expect(senderReportsIn(Buffer.concat([good, sr(8, 1, 0, 5).subarray(0, 20)])).map((r) => r.ssrc)).toEqual([7]);
    expect(senderReportsIn(Buffer.concat([good, Buffer.from([0x00, 200, 0, 6])]))).toHaveLength(1);
    expect(senderReportsIn(Buffer.alloc(0))).toEqual([]);
  });
});

describe('feedback packets', () => {
  it('writes a receiver report werift reads back, clamping a negative loss count to 0', () => {
    const block = { ssrc: 5, fractionLost: 12, packetsLost: 30, highestSequence: 70000, jitter: 44, lsr: 0xabcd1234, dlsr: 65536 };
    const [rr] = RtcpPacketConverter.deSerialize(receiverReport(0x52454330, [block, { ...block, ssrc: 6, packetsLost: -2 }])) as [RtcpRrPacket];
    expect(rr.ssrc).toBe(0x52454330);
    expect(rr.reports.map((r) => r.toJSON())).toEqual([block, { ...block, ssrc: 6, packetsLost: 0 }]);
  });

  it('writes a generic NACK and a PLI for the media SSRC', () => {
    const [nack] = RtcpPacketConverter.deSerialize(genericNack(1, 0xdead, [10, 11, 40])) as [RtcpTransportLayerFeedback];
    expect(nack.feedback).toBeInstanceOf(GenericNack);
    expect((nack.feedback as GenericNack).mediaSourceSsrc).toBe(0xdead);
    expect((nack.feedback as GenericNack).lost).toEqual([10, 11, 40]);
    const [pli] = RtcpPacketConverter.deSerialize(pictureLossIndication(1, 0xbeef)) as [RtcpPayloadSpecificFeedback];
    expect(pli.feedback).toMatchObject({ senderSsrc: 1, mediaSsrc: 0xbeef });
  });
});
