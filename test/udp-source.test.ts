/**
 * UdpSource's sender check with synthetic packets over real loopback sockets (no mediasoup): which
 * sender is latched, what is counted, where the RTCP goes, and the errors for unusable options.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { RtpUdpEndpoint, type UdpStream } from '../src/index.js';
import type { SourceStream } from '../src/source/source.js';

const SSRC = 0x0a0b_0c0d;
const stream: UdpStream = { label: 'video:test', rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }], encodings: [{ ssrc: SSRC }] } };
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

async function socket(): Promise<{ socket: dgram.Socket; received: Buffer[] }> {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const received: Buffer[] = [];
  s.on('message', (m) => received.push(m));
  closers.push(() => s.close());
  return { socket: s, received };
}

function rtp(ssrc: number, sequence: number): Buffer {
  const p = Buffer.alloc(40);
  p[0] = 0x80;
  p[1] = 96;
  p.writeUInt16BE(sequence, 2);
  p.writeUInt32BE(sequence * 3000, 4);
  p.writeUInt32BE(ssrc, 8);
  p[12] = 0x10; // VP8 descriptor: start of partition
  return p;
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe('UdpSource sender check', () => {
  it('without remote, latches the first valid sender; others are counted and never answered', async () => {
    const endpoint = await RtpUdpEndpoint.bind();
    closers.push(() => endpoint.close());
    const source = endpoint.source([stream], { receiverReportIntervalMs: 20 });
    const streams: SourceStream[] = await source.open();
    const delivered: number[] = [];
    await source.start({ rtp: (_i, packet) => delivered.push(packet.readUInt16BE(2)), ended: () => undefined });
    closers.push(() => source.close());
    const forger = await socket();
    const sender = await socket();
    const to = endpoint.local;
    // Junk, and RTP of an SSRC nobody claims: no sender is latched by them.
    forger.socket.send(Buffer.alloc(5), to.port, to.address);
    forger.socket.send(rtp(0x1111, 1), to.port, to.address);
    streams[0]!.feedback.requestKeyFrame(); // waits for a sender
    await settle();
    sender.socket.send(rtp(SSRC, 100), to.port, to.address);
    await settle();
    for (let i = 0; i < 5; i++) forger.socket.send(rtp(SSRC, 200 + i), to.port, to.address);
    sender.socket.send(rtp(SSRC, 101), to.port, to.address);
    await new Promise((r) => setTimeout(r, 100)); // receiver reports every 20 ms
    expect(delivered).toEqual([100, 101]);
    expect(endpoint.stats).toMatchObject({ malformed: 1, unknownSsrc: 1, wrongSender: 5 });
    expect(forger.received).toEqual([]);
    // The keyframe request asked before the sender was known, then receiver reports: all to the sender.
    expect(sender.received.map((p) => p[1])).toContain(206);
    expect(sender.received.filter((p) => p[1] === 201).length).toBeGreaterThan(1);
    expect(endpoint.stats.rtcpSent).toBe(sender.received.length);
  });

  it('refuses a remote that is no sender address, mixed srtp keys and an unusable key', async () => {
    const endpoint = await RtpUdpEndpoint.bind();
    closers.push(() => endpoint.close());
    expect(() => endpoint.source([stream], { remote: { address: '0.0.0.0', port: 5000 } })).toThrow(/0.0.0.0:5000 is not an address packets come from/);
    const srtp = { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80' as const, keyBase64: randomBytes(30).toString('base64') };
    const keyed = { ...stream, srtp: { sender: srtp, recorder: srtp } };
    expect(() => endpoint.source([keyed, { ...stream, label: 'audio:test' }])).toThrow(/must all carry the same srtp keys/);
    expect(() => endpoint.source([{ ...stream, srtp: { sender: { ...srtp, keyBase64: 'AAAA' }, recorder: srtp } }])).toThrow(/must be 30 bytes, got 3/);
  });
});
