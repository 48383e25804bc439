import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { impairmentProfile, type ImpairmentProfile } from './helpers/impairer.js';
import { isRtcp } from '../src/rtp/rtcp.js';
import { ImpairingUdpProxy } from './helpers/impairing-udp-proxy.js';

function rtp(seq: number, payloadType = 96): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x80;
  b[1] = payloadType;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 3000, 4);
  b.writeUInt32BE(1111, 8);
  return b;
}
/** An RTCP receiver report (packet type 201) and a PLI (206), as sent on an rtcp-mux port. */
const RR = Buffer.from([0x80, 201, 0, 1, 0, 0, 0x04, 0x57]);
const PLI = Buffer.from([0x81, 206, 0, 2, 0, 0, 0x04, 0x57, 0, 0, 0x04, 0x57]);

/** A UDP socket on loopback that records what it receives. */
async function endpoint(): Promise<{ socket: Socket; port: number; received: { data: Buffer; from: RemoteInfo }[] }> {
  const socket = createSocket('udp4');
  const received: { data: Buffer; from: RemoteInfo }[] = [];
  socket.on('message', (data, from) => received.push({ data, from }));
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { socket, port: socket.address().port, received };
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const close of cleanup.splice(0)) close();
});

async function rig(profile: ImpairmentProfile) {
  const sender = await endpoint(); // the PlainTransport
  const target = await endpoint(); // the recorder
  const proxy = await ImpairingUdpProxy.create({ address: '127.0.0.1', port: target.port }, profile);
  cleanup.push(() => sender.socket.close(), () => target.socket.close(), () => proxy.close());
  const send = (datagram: Buffer) => sender.socket.send(datagram, proxy.upstreamPort, '127.0.0.1');
  return { sender, target, proxy, send };
}

describe('ImpairingUdpProxy', () => {
  it("forwards the sender's datagrams to the target and the target's back to the sender's address", async () => {
    const { sender, target, proxy, send } = await rig(impairmentProfile('none'));
    for (let seq = 0; seq < 20; seq++) send(rtp(seq));
    send(RR);
    await until(() => target.received.length === 21);
    expect(target.received.filter((r) => !isRtcp(r.data)).map((r) => r.data.readUInt16BE(2))).toEqual([...Array(20).keys()]);
    expect(target.received.every((r) => r.from.port === proxy.downstreamPort)).toBe(true);

    target.socket.send(PLI, proxy.downstreamPort, '127.0.0.1');
    await until(() => sender.received.length === 1);
    expect(sender.received[0]!.data).toEqual(PLI);
    expect(sender.received[0]!.from.port).toBe(proxy.upstreamPort); // where mediasoup sends to
    expect(proxy.stats).toEqual({ fromSender: 21, toTarget: 21, fromTarget: 1, toSender: 1 });
    expect(proxy.impairer.stats).toMatchObject({ packets: 20, bypassed: 1 });
  });

  it('impairs RTP only: RTCP passes a link that loses every RTP packet', async () => {
    const { target, proxy, send } = await rig({ name: 'black hole', loss: 1 });
    for (let seq = 0; seq < 10; seq++) send(rtp(seq));
    send(RR);
    send(PLI);
    await until(() => target.received.length === 2);
    await sleep(50); // nothing else arrives
    expect(target.received.map((r) => r.data)).toEqual([RR, PLI]);
    expect(proxy.impairer.stats).toMatchObject({ packets: 10, dropped: 10 });
    expect(proxy.impairer.wasDelivered(1111, 3)).toBe(false);
  });

  it('impairs only what options.applies selects', async () => {
    const sender = await endpoint();
    const target = await endpoint();
    const proxy = await ImpairingUdpProxy.create({ address: '127.0.0.1', port: target.port }, { name: 'black hole', loss: 1 }, {
      applies: (p) => (p[1]! & 0x7f) === 96,
    });
    cleanup.push(() => sender.socket.close(), () => target.socket.close(), () => proxy.close());
    sender.socket.send(rtp(1, 96), proxy.upstreamPort, '127.0.0.1');
    sender.socket.send(rtp(2, 111), proxy.upstreamPort, '127.0.0.1');
    await until(() => target.received.length === 1);
    await sleep(50);
    expect(target.received[0]!.data.readUInt16BE(2)).toBe(2);
  });

  it('delays with jitter, then delivers; after close() nothing is forwarded and close() is safe twice', async () => {
    const { target, proxy, send } = await rig(impairmentProfile('jitter 40 ms'));
    for (let seq = 0; seq < 10; seq++) send(rtp(seq));
    await until(() => proxy.impairer.stats.packets === 10);
    expect(proxy.impairer.stats.delayed).toBeGreaterThan(0);
    await proxy.impairer.drain();
    await until(() => target.received.length === 10);
    expect(target.received.map((r) => r.data.readUInt16BE(2))).toEqual([...Array(10).keys()]);
    proxy.close();
    proxy.close();
    send(rtp(99));
    await sleep(50);
    expect(target.received).toHaveLength(10);
  });
});
