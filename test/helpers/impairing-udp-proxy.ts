/**
 * An impaired network link on loopback between a mediasoup PlainTransport and a UDP receiver
 * (the recorder's socket): RTP from the transport goes through an Impairer, RTCP both ways passes
 * untouched, so NACKs and keyframe requests reach mediasoup and its retransmissions come back
 * through the same impaired path.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { isRtcp } from '../../src/rtp/rtcp.js';
import type { UdpAddress } from '../../src/source/udp.js';
import { Impairer, type ImpairerOptions, type ImpairmentProfile } from './impairer.js';

/** Datagrams forwarded each way. */
export interface ProxyStats {
  /** Datagrams received from the sender (the PlainTransport). */
  fromSender: number;
  /** Datagrams sent on to the target, after impairment. */
  toTarget: number;
  /** Datagrams received from the target (RTCP feedback). */
  fromTarget: number;
  /** Datagrams sent back to the sender. */
  toSender: number;
}

export class ImpairingUdpProxy {
  readonly stats: ProxyStats = { fromSender: 0, toTarget: 0, fromTarget: 0, toSender: 0 };
  readonly impairer: Impairer;
  /** The port the PlainTransport sends to: `plainTransport.connect({ ip: '127.0.0.1', port: upstreamPort })`. */
  readonly upstreamPort: number;
  /** The port the target sees the media come from (and sends its feedback to). */
  readonly downstreamPort: number;
  /** Where the feedback goes: the address the sender's traffic last came from (mediasoup checks it). */
  private sender: RemoteInfo | undefined;
  private closed = false;

  private constructor(
    private readonly upstream: Socket,
    private readonly downstream: Socket,
    private readonly target: UdpAddress,
    profile: ImpairmentProfile,
    options: ImpairerOptions,
  ) {
    this.upstreamPort = upstream.address().port;
    this.downstreamPort = downstream.address().port;
    this.impairer = new Impairer(profile, (packet) => this.toTarget(packet), {
      applies: (packet) => !isRtcp(packet) && (options.applies?.(packet) ?? true),
    });
    upstream.on('message', (datagram, from) => {
      this.stats.fromSender++;
      this.sender = from;
      this.impairer.push(datagram);
    });
    downstream.on('message', (datagram) => {
      this.stats.fromTarget++;
      if (!this.sender || this.closed) return;
      this.stats.toSender++;
      upstream.send(datagram, this.sender.port, this.sender.address, ignore);
    });
    // A send to a closed peer can report ECONNREFUSED: a lossy link, not a test failure.
    upstream.on('error', ignore);
    downstream.on('error', ignore);
  }

  /**
   * Binds both sockets on 127.0.0.1. `options.applies` narrows which RTP packets are impaired
   * (e.g. video only); RTCP is never impaired.
   */
  static async create(target: UdpAddress, profile: ImpairmentProfile, options: ImpairerOptions = {}): Promise<ImpairingUdpProxy> {
    const upstream = createSocket('udp4');
    const downstream = createSocket('udp4');
    try {
      upstream.bind(0, '127.0.0.1');
      downstream.bind(0, '127.0.0.1');
      await Promise.all([once(upstream, 'listening'), once(downstream, 'listening')]);
    } catch (error) {
      closeQuietly(upstream);
      closeQuietly(downstream);
      throw error;
    }
    return new ImpairingUdpProxy(upstream, downstream, target, profile, options);
  }

  /** Stops forwarding and drops packets the impairer still holds. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.impairer.close();
    closeQuietly(this.upstream);
    closeQuietly(this.downstream);
  }

  private toTarget(packet: Buffer): void {
    if (this.closed) return;
    this.stats.toTarget++;
    this.downstream.send(packet, this.target.port, this.target.address, ignore);
  }
}

function ignore(): void {}

/** close() throws on a socket that is not running (never bound, already closed). */
function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // already closed: nothing to release
  }
}
