/**
 * A man in the middle on loopback between a PlainTransport and the recorder's endpoint: forwards
 * both ways and flips one payload bit in every `every`-th RTP datagram it passes on, as a network
 * that damages (or an attacker who alters) packets in flight.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { isRtcp } from '../../src/rtp/rtcp.js';
import type { UdpAddress } from '../../src/source/udp.js';

export interface TamperingRelay {
  /** Where the PlainTransport sends (`sendToRecorder(router, producers, relay.upstream)`). */
  upstream: UdpAddress;
  /** RTP datagrams altered so far. */
  readonly tampered: number;
  close(): void;
}

export async function tamperingRelay(target: UdpAddress, every: number): Promise<TamperingRelay> {
  const upstream = createSocket('udp4');
  const downstream = createSocket('udp4');
  upstream.bind(0, '127.0.0.1');
  downstream.bind(0, '127.0.0.1');
  await Promise.all([once(upstream, 'listening'), once(downstream, 'listening')]);
  let sender: UdpAddress | undefined;
  let rtp = 0;
  let tampered = 0;
  upstream.on('message', (datagram, from) => {
    sender = { address: from.address, port: from.port };
    if (!isRtcp(datagram) && ++rtp % every === 0) {
      datagram[datagram.length - 20]! ^= 0x01;
      tampered++;
    }
    downstream.send(datagram, target.port, target.address);
  });
  downstream.on('message', (datagram) => sender && upstream.send(datagram, sender.port, sender.address));
  return {
    upstream: { address: '127.0.0.1', port: upstream.address().port },
    get tampered() {
      return tampered;
    },
    close() {
      upstream.close();
      downstream.close();
    },
  };
}
