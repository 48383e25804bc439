/**
 * The same seeded impairment on the path from mediasoup to every recorder: one Impairer
 * (test/helpers/impairer.ts) per RTP stream, so the video of every approach loses, delays and
 * reorders the same packets whatever else shares its port. For recorders that receive UDP (ffmpeg,
 * GStreamer, ours over UDP) a proxy sits between the PlainTransport and the receiver, RTCP passing
 * untouched both ways (so NACKs reach mediasoup and its retransmissions come back through the same
 * impairment); for ours over a DirectTransport the impairment wraps the source in this process.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { RecordingSource, SourceListener, SourceStream } from '../src/source/source.js';
import { isRtcp } from '../src/rtp/rtcp.js';
import { decodableFrames, type DecodableFrames } from '../test/helpers/decodable-frames.js';
import { Impairer, type ImpairmentProfile } from '../test/helpers/impairer.js';

/** One Impairer per SSRC, made on the SSRC's first packet. */
export class ImpairerSet {
  readonly bySsrc = new Map<number, Impairer>();
  private closed = false;

  constructor(
    private readonly profile: ImpairmentProfile,
    private readonly deliver: (packet: Buffer) => void,
  ) {}

  push(packet: Buffer): void {
    if (this.closed || packet.length < 12) return;
    const ssrc = packet.readUInt32BE(8);
    let impairer = this.bySsrc.get(ssrc);
    if (!impairer) this.bySsrc.set(ssrc, (impairer = new Impairer(this.profile, this.deliver)));
    impairer.push(packet);
  }

  /** Nothing more reaches the recorder from now on. */
  close(): void {
    this.closed = true;
    for (const impairer of this.bySsrc.values()) impairer.close();
  }

  /** The oracle for the H264 stream `ssrc`: frames a perfect receiver could decode from what got through. */
  oracle(ssrc: number): DecodableFrames | undefined {
    const impairer = this.bySsrc.get(ssrc);
    return impairer && decodableFrames(impairer.log, ssrc, 'video/H264', (s, seq) => impairer.wasDelivered(s, seq));
  }
}

/** A UDP proxy on 127.0.0.1: mediasoup sends to `port`, the receiver gets RTP impaired and answers back through it. */
export class ImpairedUdpLink {
  readonly impairers: ImpairerSet;
  private sender: RemoteInfo | undefined;

  private constructor(
    private readonly upstream: Socket,
    private readonly downstream: Socket,
    target: number,
    profile: ImpairmentProfile,
  ) {
    this.impairers = new ImpairerSet(profile, (packet) => downstream.send(packet, target, '127.0.0.1', ignore));
    upstream.on('message', (datagram, from) => {
      this.sender = from;
      if (isRtcp(datagram)) downstream.send(datagram, target, '127.0.0.1', ignore);
      else this.impairers.push(datagram);
    });
    downstream.on('message', (datagram) => {
      if (this.sender) upstream.send(datagram, this.sender.port, this.sender.address, ignore);
    });
    upstream.on('error', ignore);
    downstream.on('error', ignore);
  }

  static async create(target: number, profile: ImpairmentProfile): Promise<ImpairedUdpLink> {
    const [up, down] = [createSocket('udp4'), createSocket('udp4')];
    up.bind(0, '127.0.0.1');
    down.bind(0, '127.0.0.1');
    await Promise.all([once(up, 'listening'), once(down, 'listening')]);
    return new ImpairedUdpLink(up, down, target, profile);
  }

  /** Where mediasoup sends. */
  get port(): number {
    return this.upstream.address().port;
  }

  close(): void {
    this.impairers.close();
    this.upstream.close();
    this.downstream.close();
  }
}

function ignore(): void {}

/** A RecordingSource whose RTP goes through impairers before the recorder sees it. */
export class ImpairedSource implements RecordingSource {
  readonly impairers: ImpairerSet;
  private listener: SourceListener | undefined;
  private readonly indexOf = new Map<number, number>();

  constructor(
    private readonly inner: RecordingSource,
    profile: ImpairmentProfile,
  ) {
    this.impairers = new ImpairerSet(profile, (packet) => this.listener?.rtp(this.indexOf.get(packet.readUInt32BE(8))!, packet, performance.now()));
  }

  codecs(): ReturnType<RecordingSource['codecs']> {
    return this.inner.codecs();
  }

  open(): Promise<SourceStream[]> {
    return this.inner.open();
  }

  start(listener: SourceListener): Promise<void> {
    this.listener = listener;
    return this.inner.start({
      rtp: (index, packet) => {
        this.indexOf.set(packet.readUInt32BE(8), index);
        this.impairers.push(packet);
      },
      ended: (reason) => listener.ended(reason),
    });
  }

  pause(): Promise<void> {
    return this.inner.pause();
  }

  resume(): Promise<void> {
    return this.inner.resume();
  }

  close(): void {
    this.impairers.close();
    this.inner.close();
  }

  /** The oracle for stream 0 (the video: producers are given video first). */
  videoOracle(): DecodableFrames | undefined {
    const ssrc = [...this.indexOf].find(([, index]) => index === 0)?.[0];
    return ssrc === undefined ? undefined : this.impairers.oracle(ssrc);
  }
}
