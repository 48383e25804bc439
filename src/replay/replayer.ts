import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { types } from 'mediasoup';
import {
  GenericNack,
  ReceiverEstimatedMaxBitrate,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpSenderInfo,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
} from 'werift-rtp';
import { packetsInTimeOrder, type CapturedStream } from '../source/capture.js';
import { startsKeyframe } from '../codec/keyframe-start.js';

/** How to replay a capture into a router. */
export interface ReplayOptions {
  /** Playback rate: 1 is real time (the capture's own pacing), 4 four times faster; Infinity sends as fast as possible. Default 1. */
  speed?: number;
  /** Interval of RTCP sender reports per stream, in ms of capture time. Default 1000. */
  senderReportIntervalMs?: number;
  /**
   * Packets for which this returns true are not sent when their time comes, as if lost on the
   * way; they stay in the history, so a NACK recovers them like a real sender would.
   */
  skip?: (stream: CapturedStream, packet: Buffer) => boolean;
  /**
   * Whether NACKed packets are resent from the history. Default true; false plays a sender without
   * retransmission (NACKs are still counted), to test what the recorder does when loss is final.
   */
  retransmit?: boolean;
  /**
   * The sender's network path: every media packet (first sends and retransmissions) is handed to
   * this instead of to mediasoup, and reaches mediasoup when the interposer calls `send` with it,
   * now, later, twice or never. Puts a network impairer between the replayer and mediasoup:
   * `send: (stream, packet, send) => impairer.push(packet)` with the impairer delivering to `send`.
   * Calls to `send` after close() are ignored.
   */
  send?: (stream: CapturedStream, packet: Buffer, send: (packet: Buffer) => void) => void;
}

/** What the replayer sent and what feedback it answered. */
export interface ReplayStats {
  packetsSent: number;
  /** Packets held back by `ReplayOptions.skip`. */
  packetsSkipped: number;
  /** Packets mediasoup asked for in NACKs, answered or not; mediasoup asks again until a packet arrives. */
  packetsNacked: number;
  /** Packets sent again because mediasoup NACKed them. */
  packetsRetransmitted: number;
  /** NACKed packets no longer in the history. */
  nackMisses: number;
  keyframeRequestsReceived: number;
  senderReportsSent: number;
}

/** Packets kept per stream for retransmission: about 2 s of 1.5 Mbps video. */
const HISTORY_SIZE = 1024;

/**
 * Replays a captured RTP session into a real mediasoup router through a DirectTransport
 * producer per stream, like a real sender: paced by capture time, with RTCP sender reports,
 * retransmitting what mediasoup NACKs from its history. Video starts at the capture's first
 * keyframe, since mediasoup forwards video only from a keyframe. Used by the demo and the tests,
 * and exported for users' own replay tests.
 */
export class Replayer {
  readonly stats: ReplayStats = {
    packetsSent: 0,
    packetsSkipped: 0,
    packetsNacked: 0,
    packetsRetransmitted: 0,
    nackMisses: 0,
    keyframeRequestsReceived: 0,
    senderReportsSent: 0,
  };
  private readonly histories: Map<number, (Buffer | undefined)[]>;
  private closed = false;
  /** The current play()'s retransmit and send options, which NACKs arriving meanwhile follow. */
  private retransmitOnNack = true;
  private interposer: ReplayOptions['send'];

  private constructor(
    private readonly transport: types.DirectTransport,
    /** One producer per captured stream, in the capture's order. */
    readonly producers: types.Producer[],
    private readonly streams: CapturedStream[],
  ) {
    this.histories = new Map(streams.map((s) => [s.ssrc, new Array<Buffer | undefined>(HISTORY_SIZE)]));
    transport.on('rtcp', (packet: Buffer) => this.onRtcp(packet));
  }

  /** Creates the transport and a producer per captured stream on `router`. */
  static async create(router: types.Router, streams: CapturedStream[]): Promise<Replayer> {
    const transport = await router.createDirectTransport();
    try {
      const producers: types.Producer[] = [];
      for (const stream of streams) producers.push(await transport.produce({ kind: stream.kind, rtpParameters: rtpParametersOf(stream) }));
      return new Replayer(transport, producers, streams);
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  /** Sends the whole capture; resolves when the last packet is sent (or the replayer is closed). */
  async play(options: ReplayOptions = {}): Promise<ReplayStats> {
    const speed = options.speed ?? 1;
    const srIntervalMs = options.senderReportIntervalMs ?? 1000;
    this.retransmitOnNack = options.retransmit ?? true;
    this.interposer = options.send;
    const queue = sendQueue(this.streams);
    if (queue.length === 0) return this.stats;
    const captureStartMs = queue[0]!.timeMs;
    const wallStartMs = performance.now();
    const lastSent = new Map<number, { rtpTimestamp: number; timeMs: number; packets: number; octets: number }>();
    let nextSrMs = captureStartMs + srIntervalMs;
    for (const { stream, timeMs, data } of queue) {
      if (this.closed) break;
      if (Number.isFinite(speed)) {
        const dueWallMs = wallStartMs + (timeMs - captureStartMs) / speed;
        const waitMs = dueWallMs - performance.now();
        if (waitMs > 1) await sleep(waitMs);
      } else if (this.stats.packetsSent % 64 === 0) {
        await sleep(0); // let mediasoup's channel and the consumer side breathe
      }
      if (this.closed) break;
      this.remember(stream.ssrc, data);
      if (options.skip?.(stream, data)) {
        this.stats.packetsSkipped++;
        continue;
      }
      this.sendMedia(stream, data);
      this.stats.packetsSent++;
      const sent = lastSent.get(stream.ssrc) ?? { rtpTimestamp: 0, timeMs: 0, packets: 0, octets: 0 };
      lastSent.set(stream.ssrc, { rtpTimestamp: data.readUInt32BE(4), timeMs, packets: sent.packets + 1, octets: sent.octets + data.length - 12 });
      if (timeMs >= nextSrMs) {
        nextSrMs += srIntervalMs;
        for (const s of this.streams) {
          const last = lastSent.get(s.ssrc);
          if (last) this.sendSenderReport(s, last, timeMs);
        }
      }
    }
    return this.stats;
  }

  close(): void {
    this.closed = true;
    this.transport.close();
  }

  /** Hands a media packet to the sender's path: the interposer if any, else straight to mediasoup. */
  private sendMedia(stream: CapturedStream, data: Buffer): void {
    const producer = this.producers[this.streams.indexOf(stream)]!;
    const send = (packet: Buffer): void => {
      // An interposer may deliver late, from a timer, after close() or the worker's end: such a
      // packet is lost like any other on a network, and must not throw where nobody can catch it.
      if (this.closed || producer.closed) return;
      try {
        producer.send(packet);
      } catch {
        // mediasoup's channel is gone (worker closed or died): the packet is lost
      }
    };
    if (this.interposer) this.interposer(stream, data, send);
    else send(data);
  }

  private remember(ssrc: number, data: Buffer): void {
    this.histories.get(ssrc)![data.readUInt16BE(2) % HISTORY_SIZE] = data;
  }

  private onRtcp(packet: Buffer): void {
    let packets;
    try {
      packets = RtcpPacketConverter.deSerialize(packet);
    } catch {
      return; // feedback we cannot read changes nothing for a replay
    }
    for (const p of packets) {
      if (p instanceof RtcpTransportLayerFeedback && p.feedback instanceof GenericNack) {
        this.retransmit(p.feedback.mediaSourceSsrc, p.feedback.lost);
      } else if (p instanceof RtcpPayloadSpecificFeedback && !(p.feedback instanceof ReceiverEstimatedMaxBitrate)) {
        // A capture cannot make a keyframe on demand: its next one (every GOP) answers the request.
        this.stats.keyframeRequestsReceived++;
      }
    }
  }

  private retransmit(ssrc: number, lost: number[]): void {
    const history = this.histories.get(ssrc);
    const stream = this.streams.find((s) => s.ssrc === ssrc);
    if (!history || !stream) return;
    this.stats.packetsNacked += lost.length;
    if (!this.retransmitOnNack) return;
    for (const seq of lost) {
      const data = history[(seq & 0xffff) % HISTORY_SIZE];
      if (data && data.readUInt16BE(2) === (seq & 0xffff)) {
        this.sendMedia(stream, data);
        this.stats.packetsRetransmitted++;
      } else {
        this.stats.nackMisses++;
      }
    }
  }

  private sendSenderReport(
    stream: CapturedStream,
    last: { rtpTimestamp: number; timeMs: number; packets: number; octets: number },
    nowCaptureMs: number,
  ): void {
    // The RTP time "now" extrapolated from the last packet sent, on the capture's clock.
    const rtpTimestamp = (last.rtpTimestamp + Math.round(((nowCaptureMs - last.timeMs) * stream.clockRate) / 1000)) >>> 0;
    const ntpSeconds = nowCaptureMs / 1000 + NTP_UNIX_OFFSET_S;
    const ntpTimestamp = (BigInt(Math.floor(ntpSeconds)) << 32n) | BigInt(Math.floor((ntpSeconds % 1) * 2 ** 32));
    const sr = new RtcpSrPacket({
      ssrc: stream.ssrc,
      senderInfo: new RtcpSenderInfo({ ntpTimestamp, rtpTimestamp, packetCount: last.packets, octetCount: last.octets >>> 0 }),
    });
    // The router or its worker may have closed under the replay (fault tests): nothing to send on.
    if (this.closed || this.transport.closed) return;
    this.transport.sendRtcp(sr.serialize());
    this.stats.senderReportsSent++;
  }
}

const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** All streams' packets in capture-time order, video from its first keyframe on (mediasoup drops video before one). */
function sendQueue(streams: CapturedStream[]): { stream: CapturedStream; timeMs: number; data: Buffer }[] {
  const started = new Set<CapturedStream>();
  return packetsInTimeOrder(streams).filter(({ stream, data }) => {
    if (!started.has(stream) && startsKeyframe(stream.mimeType, data)) started.add(stream);
    return started.has(stream) && (data[1]! & 0x7f) === stream.payloadType;
  });
}

function rtpParametersOf(stream: CapturedStream): types.RtpParameters {
  return {
    mid: stream.mid,
    codecs: [
      {
        mimeType: stream.mimeType,
        payloadType: stream.payloadType,
        clockRate: stream.clockRate,
        channels: stream.channels,
        parameters: stream.parameters,
        rtcpFeedback:
          stream.kind === 'video'
            ? [{ type: 'nack', parameter: '' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }]
            : [],
      },
    ],
    headerExtensions: stream.headerExtensions.map(({ uri, id }) => ({ uri, id }) as types.RtpHeaderExtensionParameters),
    encodings: [{ ssrc: stream.ssrc }],
    rtcp: { cname: 'mediasoup-recorder-replayer', reducedSize: true },
  };
}

/** Router media codecs that accept the captured streams, for `worker.createRouter({ mediaCodecs })`. */
export function mediaCodecsFor(streams: CapturedStream[]): types.RtpCodecCapability[] {
  return streams.map((s) => ({
    kind: s.kind,
    mimeType: s.mimeType,
    clockRate: s.clockRate,
    channels: s.channels,
    parameters: s.parameters,
  })) as types.RtpCodecCapability[];
}
