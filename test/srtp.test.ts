/**
 * SrtpSession against an independent SRTP implementation (werift-rtp's): packets werift protects
 * come out of ours byte for byte, ours protects RTCP that werift opens, and forged, tampered,
 * replayed and too-old packets are refused without throwing. The suites against libsrtp itself
 * (mediasoup's worker) are in test/udp.integration.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProtectionProfileAes128CmHmacSha1_80, RtpHeader, SrtcpSession, SrtpSession as WeriftSrtp } from 'werift-rtp';
import { genericNack, pictureLossIndication, receiverReport } from '../src/rtp/rtcp.js';
import { SrtpSession, type UdpSrtpParameters } from '../src/source/srtp.js';
import { rng } from './helpers/random.js';

const senderKey = randomBytes(30);
const recorderKey = randomBytes(30);
const parameters: UdpSrtpParameters = {
  sender: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: senderKey.toString('base64') },
  recorder: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: recorderKey.toString('base64') },
};
/** Whether SrtpSession opened `protectedPacket` back to `plain` (Buffer.equals: toEqual is slow on 1000s of packets). */
const opens = (ours: SrtpSession, protectedPacket: Buffer, plain: Buffer): boolean => {
  const opened = ours.unprotectRtp(Buffer.from(protectedPacket));
  return typeof opened !== 'string' && opened.equals(plain);
};
/** werift as the sender (mediasoup's side): its local key is the sender's, its remote key the recorder's. */
const weriftConfig = {
  keys: {
    localMasterKey: senderKey.subarray(0, 16),
    localMasterSalt: senderKey.subarray(16),
    remoteMasterKey: recorderKey.subarray(0, 16),
    remoteMasterSalt: recorderKey.subarray(16),
  },
  profile: ProtectionProfileAes128CmHmacSha1_80,
};
const SSRC = 0x1234_5678;

function rtp(sequenceNumber: number, extension = false): { plain: Buffer; header: RtpHeader; payload: Buffer } {
  const header = new RtpHeader({ payloadType: 96, sequenceNumber, timestamp: sequenceNumber * 3000, ssrc: SSRC, marker: sequenceNumber % 3 === 0, csrc: extension ? [7, 8] : [], csrcLength: extension ? 2 : 0 });
  if (extension) {
    header.extension = true;
    header.extensionProfile = 0xbede;
    header.extensions = [{ id: 3, payload: Buffer.from([1, 2, 3]) }];
  }
  const payload = randomBytes(100 + (sequenceNumber % 900));
  return { plain: Buffer.concat([header.serialize(header.serializeSize), payload]), header, payload };
}

function senderReport(ssrc: number): Buffer {
  const sr = Buffer.alloc(28);
  sr.writeUInt8(0x80, 0);
  sr.writeUInt8(200, 1);
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(ssrc, 4);
  randomBytes(20).copy(sr, 8);
  return sr;
}

describe('SrtpSession (AES_CM_128_HMAC_SHA1_80)', () => {
  it('opens what werift protects, across a sequence number wrap, with CSRCs and header extensions', () => {
    const sender = new WeriftSrtp(weriftConfig);
    const ours = new SrtpSession(parameters);
    for (let i = 0; i < 300; i++) {
      const sequence = (65_400 + i) % 65_536;
      const { plain, header, payload } = rtp(sequence, i % 2 === 1);
      const protectedPacket = sender.encrypt(payload, header);
      expect(protectedPacket.length).toBe(plain.length + 10);
      expect(opens(ours, protectedPacket, plain)).toBe(true);
    }
  });

  it('refuses tampered, forged and wrong-key packets, and they leave no state behind', () => {
    const sender = new WeriftSrtp(weriftConfig);
    const ours = new SrtpSession(parameters);
    const first = rtp(1000);
    expect(ours.unprotectRtp(Buffer.from(sender.encrypt(first.payload, first.header)))).toEqual(first.plain);
    const second = rtp(1001);
    const tampered = Buffer.from(sender.encrypt(second.payload, second.header));
    const copy = Buffer.from(tampered);
    tampered[40]! ^= 1;
    expect(ours.unprotectRtp(tampered)).toBe('unauthenticated');
    // A forger who knows the header but not the key: a far sequence number must not move the rollover counter.
    const forged = Buffer.concat([rtp(30_000).plain, randomBytes(10)]);
    expect(ours.unprotectRtp(forged)).toBe('unauthenticated');
    // Half the sequence space behind: a packet from before the stream began, refused unread.
    expect(ours.unprotectRtp(Buffer.concat([rtp(40_000).plain, randomBytes(10)]))).toBe('replayed');
    const other = new SrtpSession({ ...parameters, sender: { ...parameters.sender, keyBase64: randomBytes(30).toString('base64') } });
    expect(other.unprotectRtp(Buffer.from(copy))).toBe('unauthenticated');
    expect(ours.unprotectRtp(copy)).toEqual(second.plain);
    for (const junk of [Buffer.alloc(0), Buffer.alloc(11), Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0])]) {
      expect(ours.unprotectRtp(junk)).toBe('unauthenticated');
    }
  });

  it('refuses a replay and anything older than the replay window, and takes reordered packets once', () => {
    const sender = new WeriftSrtp(weriftConfig);
    const ours = new SrtpSession(parameters);
    const packets = Array.from({ length: 1100 }, (_, i) => {
      const { plain, header, payload } = rtp(i + 1);
      return { plain, protectedPacket: sender.encrypt(payload, header) };
    });
    // Deliver all but #5 and #50 in order, then those two late (reordered: accepted), then replays.
    const opened = packets.filter((p, i) => i !== 5 && i !== 50 && i < 1000 && opens(ours, p.protectedPacket, p.plain));
    expect(opened.length).toBe(998);
    expect(ours.unprotectRtp(Buffer.from(packets[50]!.protectedPacket))).toEqual(packets[50]!.plain);
    expect(ours.unprotectRtp(Buffer.from(packets[50]!.protectedPacket))).toBe('replayed');
    expect(ours.unprotectRtp(Buffer.from(packets[999]!.protectedPacket))).toBe('replayed');
    expect(packets.slice(1000).every((p) => opens(ours, p.protectedPacket, p.plain))).toBe(true);
    // #5 is now more than 1024 packets behind the newest: too old to tell from a replay.
    expect(ours.unprotectRtp(Buffer.from(packets[5]!.protectedPacket))).toBe('replayed');
  });

  it('opens SRTCP werift protects, and refuses it tampered or replayed', () => {
    const sender = new SrtcpSession(weriftConfig);
    const ours = new SrtpSession(parameters);
    const reports = [senderReport(SSRC), senderReport(SSRC), senderReport(SSRC)].map((sr) => ({ sr, protectedPacket: sender.encrypt(sr) }));
    expect(ours.unprotectRtcp(Buffer.from(reports[0]!.protectedPacket))).toEqual(reports[0]!.sr);
    const tampered = Buffer.from(reports[1]!.protectedPacket);
    tampered[12]! ^= 0x80;
    expect(ours.unprotectRtcp(tampered)).toBe('unauthenticated');
    expect(ours.unprotectRtcp(Buffer.from(reports[2]!.protectedPacket))).toEqual(reports[2]!.sr);
    expect(ours.unprotectRtcp(Buffer.from(reports[1]!.protectedPacket))).toEqual(reports[1]!.sr);
    expect(ours.unprotectRtcp(Buffer.from(reports[1]!.protectedPacket))).toBe('replayed');
    expect(ours.unprotectRtcp(Buffer.concat([senderReport(SSRC), randomBytes(14)]))).toBe('unauthenticated');
    expect(ours.unprotectRtcp(Buffer.alloc(21))).toBe('unauthenticated');
  });

  it('protects the recorder RTCP (receiver report, NACK, PLI) so that werift opens it', () => {
    const receiver = new SrtcpSession(weriftConfig);
    const ours = new SrtpSession(parameters);
    const feedback = [
      receiverReport(0x5245_4330, [{ ssrc: SSRC, fractionLost: 0, packetsLost: 3, highestSequence: 70_000, jitter: 12, lsr: 0, dlsr: 0 }]),
      genericNack(0x5245_4330, SSRC, [10, 11, 40]),
      pictureLossIndication(0x5245_4330, SSRC),
    ];
    for (const packet of feedback) {
      const protectedPacket = ours.protectRtcp(packet);
      expect(protectedPacket.subarray(8, packet.length)).not.toEqual(packet.subarray(8));
      expect(receiver.decrypt(protectedPacket)).toEqual(packet);
    }
  });

  it('answers 20,000 seeded random datagrams with the stream SSRC by a drop, never a throw or a packet', () => {
    const random = rng(7);
    const ours = new SrtpSession(parameters);
    const drops = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const datagram = Buffer.alloc(Math.floor(random() * 1400));
      for (let j = 0; j < datagram.length; j++) datagram[j] = Math.floor(random() * 256);
      if (datagram.length >= 12) {
        datagram[0] = (datagram[0]! & 0x3f) | 0x80;
        datagram.writeUInt32BE(SSRC, 8);
      }
      const rtpResult = ours.unprotectRtp(Buffer.from(datagram));
      const rtcpResult = ours.unprotectRtcp(datagram);
      expect(typeof rtpResult === 'string' && typeof rtcpResult === 'string').toBe(true);
      drops.add(String(rtpResult)).add(String(rtcpResult));
    }
    expect([...drops].sort()).toEqual(['unauthenticated']);
  });

  it('refuses a key of the wrong length or an unknown suite', () => {
    expect(() => new SrtpSession({ ...parameters, sender: { ...parameters.sender, keyBase64: randomBytes(28).toString('base64') } })).toThrow(/must be 30 bytes, got 28/);
    expect(() => new SrtpSession({ ...parameters, sender: { cryptoSuite: 'AEAD_AES_256_GCM' as 'AES_CM_128_HMAC_SHA1_80', keyBase64: '' } })).toThrow(/unsupported SRTP crypto suite AEAD_AES_256_GCM/);
  });
});
