/**
 * An attacker on the recorder's network: a UDP socket of its own that sends forged RTP (and RTCP
 * sender reports) with a recorded stream's SSRC to the recorder's endpoint, and counts whatever
 * the recorder sends back to it.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import type { UdpAddress } from '../../src/index.js';
import { rng } from './random.js';

export interface RtpForger {
  /** Datagrams sent so far (RTP and RTCP). */
  readonly sent: number;
  /** Datagrams the recorder sent to the forger's socket. */
  readonly received: number;
  /** Sends one forged datagram; RTP with random sequence number, timestamp and payload, every tenth an SR. */
  send(): void;
  /** Sends `count` datagrams every `intervalMs`, resolving when done. */
  flood(count: number, intervalMs: number): Promise<void>;
  close(): void;
}

export async function rtpForger(target: UdpAddress, ssrc: number, payloadType: number, seed = 1): Promise<RtpForger> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const random = rng(seed);
  let sent = 0;
  let received = 0;
  socket.on('message', () => received++);
  const byte = () => Math.floor(random() * 256);
  const forge = (): Buffer => {
    if (sent % 10 === 9) {
      // A sender report claiming the stream: an NTP time that would mislead the receiver reports (LSR).
      const sr = Buffer.alloc(28);
      sr.writeUInt8(0x80, 0);
      sr.writeUInt8(200, 1);
      sr.writeUInt16BE(6, 2);
      sr.writeUInt32BE(ssrc, 4);
      for (let i = 8; i < 28; i++) sr[i] = byte();
      return sr;
    }
    const packet = Buffer.alloc(12 + 100 + Math.floor(random() * 1000));
    packet.writeUInt8(0x80, 0);
    packet.writeUInt8((random() < 0.5 ? 0x80 : 0) | payloadType, 1);
    packet.writeUInt16BE(Math.floor(random() * 65536), 2);
    packet.writeUInt32BE(Math.floor(random() * 2 ** 32), 4);
    packet.writeUInt32BE(ssrc, 8);
    for (let i = 12; i < packet.length; i++) packet[i] = byte();
    // A keyframe-looking H264 NAL (IDR, or FU-A start of one) now and then.
    if (random() < 0.3) packet[12] = random() < 0.5 ? 0x65 : 0x7c;
    if (packet[12] === 0x7c) packet[13] = 0x85;
    return packet;
  };
  const send = (): void => {
    socket.send(forge(), target.port, target.address);
    sent++;
  };
  return {
    get sent() {
      return sent;
    },
    get received() {
      return received;
    },
    send,
    async flood(count, intervalMs) {
      for (let i = 0; i < count; i++) {
        send();
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    },
    close: () => socket.close(),
  };
}
