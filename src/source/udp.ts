/**
 * RTP over UDP into the recorder: one socket per recorder process carries any number of streams
 * (each recording claims its SSRCs), so no port is allocated per recording. The sender is a
 * mediasoup PlainTransport (rtcp-mux) in this or another process or host; the recorder answers it
 * like any receiver: receiver reports, NACKs (mediasoup retransmits from its buffer) and PLIs.
 * A stream's packets are taken only from its sender's address, and with SRTP only if they
 * authenticate; anything else is counted and never answered.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { types } from 'mediasoup';
import type { StreamSpec } from '../pipeline/stream-spec.js';
import { codecForMimeType } from '../pipeline/stream-spec.js';
import { ReceptionStats } from '../rtp/reception-stats.js';
import { genericNack, isRtcp, pictureLossIndication, receiverReport, senderReportsIn, type ReportBlock } from '../rtp/rtcp.js';
import { RECORDER_SSRC, specOf } from './mediasoup-direct.js';
import { SrtpSession, type UdpSrtpParameters } from './srtp.js';
import type { RecordingSource, SourceListener, SourceStream } from './source.js';

/** One stream to record from the socket. JSON-serializable, so another process can send it over. */
export interface UdpStream {
  /** A label for stats and errors, e.g. `video:<producerId>`. */
  label: string;
  /**
   * The stream as its sender sends it: mediasoup's `consumer.rtpParameters` (codec and payload
   * type first, header extensions, `encodings[0].ssrc`).
   */
  rtpParameters: types.RtpParameters;
  /**
   * The link's SRTP keys when the PlainTransport has `enableSrtp` (set by `sendToRecorder`); all
   * streams of one source must carry the same. Secret: send it to the recorder over a channel
   * nobody else reads.
   */
  srtp?: UdpSrtpParameters;
}

/** An address and port. */
export interface UdpAddress {
  address: string;
  port: number;
}

export interface RtpUdpEndpointOptions {
  /** Address to bind; default '127.0.0.1' ('0.0.0.0' to receive from other hosts). */
  address?: string;
  /** Port to bind; default 0 (any free port, see `port`). */
  port?: number;
}

export interface UdpSourceOptions {
  /**
   * The PlainTransport's own address and port (`link.remote`), as the recorder sees it: the only
   * address the streams' RTP and RTCP are accepted from, and where the recorder's RTCP goes.
   * Default: the first sender of a valid packet of one of the streams (with SRTP: the first
   * that authenticates), latched for the rest of the recording. Needed when the PlainTransport
   * uses comedia: the source then sends a receiver report at start, from which mediasoup learns
   * where to send.
   */
  remote?: UdpAddress;
  /** Interval of RTCP receiver reports, in ms. Default 1000. */
  receiverReportIntervalMs?: number;
}

/** Counters of an endpoint. */
export interface RtpUdpEndpointStats {
  datagrams: number;
  rtcpPackets: number;
  /** RTP packets of an SSRC no recording claims (e.g. still arriving after a recording stopped). */
  unknownSsrc: number;
  /** Datagrams too short to be RTP (or RTCP). */
  malformed: number;
  /**
   * RTP and RTCP datagrams of a recorded SSRC from an address other than its source's sender
   * (`remote`, or the latched first sender): dropped, never answered with RTCP.
   */
  wrongSender: number;
  /** SRTP and SRTCP packets that failed authentication (forged, damaged, wrong key, too short): dropped, never answered. */
  srtpUnauthenticated: number;
  /** SRTP and SRTCP packets received before, or older than the 1024-packet replay window: dropped. */
  srtpReplayed: number;
  /** RTCP packets sent back. */
  rtcpSent: number;
  /** Send or socket errors; the last one is in `lastError`. */
  errors: number;
  lastError?: string;
}

/**
 * The recorder's UDP socket. `source(streams)` gives a RecordingSource for a Recorder:
 *
 * ```ts
 * const endpoint = await RtpUdpEndpoint.bind({ address: '0.0.0.0', port: 40000 });
 * const recorder = new Recorder({ source: endpoint.source(streams), output: 'call.mp4' });
 * ```
 */
export class RtpUdpEndpoint {
  readonly stats: RtpUdpEndpointStats = {
    datagrams: 0,
    rtcpPackets: 0,
    unknownSsrc: 0,
    malformed: 0,
    wrongSender: 0,
    srtpUnauthenticated: 0,
    srtpReplayed: 0,
    rtcpSent: 0,
    errors: 0,
  };
  private readonly routes = new Map<number, UdpSource>();
  private closed = false;

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (datagram, from) => this.receive(datagram, from, performance.now()));
    socket.on('error', (error) => this.countError(error));
  }

  /** Binds a socket; rejects when the address or port cannot be bound. */
  static async bind(options: RtpUdpEndpointOptions = {}): Promise<RtpUdpEndpoint> {
    const socket = dgram.createSocket('udp4');
    const failed = once(socket, 'error');
    socket.bind(options.port ?? 0, options.address ?? '127.0.0.1');
    const result = await Promise.race([once(socket, 'listening'), failed.then(([error]) => error as Error)]);
    if (result instanceof Error) {
      socket.close();
      throw new Error(`cannot bind the RTP socket to ${options.address ?? '127.0.0.1'}:${options.port ?? 0}: ${result.message}`, { cause: result });
    }
    // Media arrives in bursts (a keyframe is dozens of packets): room for a second of it.
    socket.setRecvBufferSize(4 * 1024 * 1024);
    return new RtpUdpEndpoint(socket);
  }

  /** The bound address and port: what a PlainTransport connects to. */
  get local(): UdpAddress {
    const { address, port } = this.socket.address();
    return { address, port };
  }

  /** A source for a Recorder: these streams, by SSRC. The SSRCs are claimed when the recorder starts. */
  source(streams: UdpStream[], options: UdpSourceOptions = {}): RecordingSource {
    return new UdpSource(this, streams, options);
  }

  /** Closes the socket; recordings on it end. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const source of new Set(this.routes.values())) source.ended();
    this.socket.close();
  }

  /** @internal */
  claim(ssrc: number, source: UdpSource): void {
    if (this.closed) throw new Error('the RTP socket is closed');
    const owner = this.routes.get(ssrc);
    if (owner && owner !== source) throw new Error(`SSRC ${ssrc} is already being recorded on this socket`);
    this.routes.set(ssrc, source);
  }

  /** @internal */
  release(source: UdpSource): void {
    for (const [ssrc, owner] of this.routes) if (owner === source) this.routes.delete(ssrc);
  }

  /** @internal */
  send(datagram: Buffer, to: UdpAddress): void {
    if (this.closed) return;
    this.stats.rtcpSent++;
    this.socket.send(datagram, to.port, to.address, (error) => {
      if (error) this.countError(error);
    });
  }

  /** Routes by SSRC: RTP's, or the first RTCP packet's sender SSRC (the rest of an SRTCP compound is encrypted). */
  private receive(datagram: Buffer, from: dgram.RemoteInfo, arrivalMs: number): void {
    this.stats.datagrams++;
    const rtcp = isRtcp(datagram);
    if (datagram.length < (rtcp ? 8 : 12)) {
      this.stats.malformed++;
      return;
    }
    if (rtcp) this.stats.rtcpPackets++;
    const source = this.routes.get(datagram.readUInt32BE(rtcp ? 4 : 8));
    if (source) source.receive(datagram, rtcp, from, arrivalMs);
    else if (!rtcp) this.stats.unknownSsrc++;
  }

  private countError(error: Error): void {
    this.stats.errors++;
    this.stats.lastError = error.message;
  }
}

/** The streams of one recording on an RtpUdpEndpoint. */
class UdpSource implements RecordingSource {
  private readonly ssrcs: number[];
  private readonly reception: ReceptionStats[] = [];
  private listener: SourceListener | undefined;
  private delivering = false;
  /** The sender's address: the only one packets are taken from, and where RTCP goes. Set once. */
  private remote: UdpAddress | undefined;
  private readonly srtp: SrtpSession | undefined;
  /** Keyframe requests made before the sender's address was known, sent once it is. */
  private pendingPli = new Set<number>();
  private reportTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly endpoint: RtpUdpEndpoint,
    private readonly streams: UdpStream[],
    private readonly options: UdpSourceOptions,
  ) {
    this.ssrcs = streams.map((s) => {
      const ssrc = s.rtpParameters.encodings?.[0]?.ssrc;
      if (ssrc === undefined) throw new Error(`stream ${s.label}: rtpParameters.encodings[0].ssrc is missing`);
      return ssrc;
    });
    this.remote = options.remote;
    if (this.remote && (this.remote.address === '0.0.0.0' || this.remote.address === '::')) {
      throw new Error(`remote ${this.remote.address}:${this.remote.port} is not an address packets come from: give the PlainTransport's announcedIp or listen IP`);
    }
    const srtp = streams[0]?.srtp;
    if (streams.some((s) => JSON.stringify(s.srtp) !== JSON.stringify(srtp))) throw new Error('the streams of one UDP source must all carry the same srtp keys, or none');
    this.srtp = srtp && new SrtpSession(srtp);
  }

  codecs(): StreamSpec['codec'][] {
    return this.streams.map((s) => codecForMimeType(s.rtpParameters.codecs[0]?.mimeType ?? '(none)').codec);
  }

  async open(): Promise<SourceStream[]> {
    try {
      this.ssrcs.forEach((ssrc) => this.endpoint.claim(ssrc, this));
    } catch (error) {
      this.endpoint.release(this);
      throw error;
    }
    return this.streams.map((s, index) => {
      const spec = specOf(s.rtpParameters, s.label);
      this.reception.push(new ReceptionStats(this.ssrcs[index]!, spec.clockRate));
      return {
        spec,
        feedback: {
          requestKeyFrame: () => this.sendPli(this.ssrcs[index]!),
          sendNack: (mediaSsrc, sequenceNumbers) => this.sendRtcp(genericNack(RECORDER_SSRC, mediaSsrc, sequenceNumbers)),
        },
      };
    });
  }

  async start(listener: SourceListener): Promise<void> {
    this.listener = listener;
    this.delivering = true;
    // With comedia, this first report is how the sender learns where the recorder is.
    if (this.remote) this.sendReports();
    this.reportTimer = setInterval(() => this.sendReports(), this.options.receiverReportIntervalMs ?? 1000);
    this.reportTimer.unref();
  }

  async pause(): Promise<void> {
    this.delivering = false;
  }

  async resume(): Promise<void> {
    this.delivering = true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.delivering = false;
    clearInterval(this.reportTimer);
    this.endpoint.release(this);
  }

  /** @internal The socket closed under the recording. */
  ended(): void {
    this.listener?.ended('source-closed');
  }

  /** @internal A datagram whose SSRC is one of this source's: taken only from the sender, and with SRTP only if it authenticates. */
  receive(datagram: Buffer, rtcp: boolean, from: dgram.RemoteInfo, arrivalMs: number): void {
    const stats = this.endpoint.stats;
    if (this.remote && (this.remote.port !== from.port || this.remote.address !== from.address)) {
      stats.wrongSender++;
      return;
    }
    const packet = this.srtp ? (rtcp ? this.srtp.unprotectRtcp(datagram) : this.srtp.unprotectRtp(datagram)) : datagram;
    if (packet === 'unauthenticated') stats.srtpUnauthenticated++;
    else if (packet === 'replayed') stats.srtpReplayed++;
    else {
      if (!this.remote) this.latch(from);
      if (rtcp) this.senderReports(packet, arrivalMs);
      else this.rtp(packet, arrivalMs);
    }
  }

  /** The first sender of a valid packet becomes the only one: a later one cannot take the stream over. */
  private latch(from: dgram.RemoteInfo): void {
    this.remote = { address: from.address, port: from.port };
    for (const ssrc of this.pendingPli) this.sendPli(ssrc);
    this.pendingPli.clear();
  }

  private rtp(packet: Buffer, arrivalMs: number): void {
    if (!this.delivering) return;
    const index = this.ssrcs.indexOf(packet.readUInt32BE(8));
    this.reception[index]!.packet(packet.readUInt16BE(2), packet.readUInt32BE(4), arrivalMs);
    this.listener!.rtp(index, packet, arrivalMs);
  }

  private senderReports(compound: Buffer, arrivalMs: number): void {
    for (const sr of senderReportsIn(compound)) {
      const index = this.ssrcs.indexOf(sr.ssrc);
      if (index < 0) continue;
      this.reception[index]!.senderReport(sr.ntpMiddle, arrivalMs);
    }
  }

  private sendPli(ssrc: number): void {
    if (this.remote) this.sendRtcp(pictureLossIndication(RECORDER_SSRC, ssrc));
    else this.pendingPli.add(ssrc);
  }

  private sendReports(): void {
    const now = performance.now();
    const blocks = this.reception.map((r) => r.report(now)).filter((b): b is ReportBlock => b !== undefined);
    this.sendRtcp(receiverReport(RECORDER_SSRC, blocks));
  }

  private sendRtcp(packet: Buffer): void {
    if (this.remote && !this.closed) this.endpoint.send(this.srtp ? this.srtp.protectRtcp(packet) : packet, this.remote);
  }
}
