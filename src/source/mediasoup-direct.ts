import { performance } from 'node:perf_hooks';
import type { types } from 'mediasoup';
import { genericNack } from '../rtp/rtcp.js';
import { codecForMimeType, type StreamSpec } from '../pipeline/stream-spec.js';
import type { StreamFeedback } from '../pipeline/stream-pipeline.js';
import { VIDEO_ORIENTATION_URI } from '../rtp/header-extension.js';
import type { RecordingSource, SourceListener, SourceStream } from './source.js';

/** Our own SSRC in RTCP feedback; any fixed value works, mediasoup routes feedback by media SSRC. */
export const RECORDER_SSRC = 0x5245_4330;

/** The codec of each producer; throws UnsupportedCodecError, naming what is supported, if one cannot be recorded. */
export function recordableCodecs(producers: types.Producer[]): StreamSpec['codec'][] {
  return producers.map((producer) => codecForMimeType(producerMimeType(producer)).codec);
}

/**
 * Producers of a router in this process, consumed through one DirectTransport: each packet
 * reaches the recorder as a Buffer in an event, with no socket in between. Consumers are created
 * paused and resumed by start(), once the output is ready.
 */
export class DirectSource implements RecordingSource {
  private transport: types.DirectTransport | undefined;
  private consumers: types.Consumer[] = [];

  constructor(
    private readonly router: types.Router,
    private readonly producers: types.Producer[],
  ) {}

  codecs(): StreamSpec['codec'][] {
    return recordableCodecs(this.producers);
  }

  /**
   * RTX is left out of the capabilities so retransmissions come back on the original SSRC and
   * sequence numbers, where the jitter buffer expects them.
   */
  async open(): Promise<SourceStream[]> {
    const transport = await this.router.createDirectTransport();
    this.transport = transport;
    try {
      const streams: SourceStream[] = [];
      for (const producer of this.producers) {
        const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: recorderCapabilities(this.router), paused: true });
        this.consumers.push(consumer);
        streams.push({ spec: specOf(consumer.rtpParameters, `${consumer.kind}:${producer.id}`), feedback: feedbackFor(transport, consumer) });
      }
      return streams;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  async start(listener: SourceListener): Promise<void> {
    this.consumers.forEach((consumer, index) => consumer.on('rtp', (packet: Buffer) => listener.rtp(index, packet, performance.now())));
    this.transport!.on('routerclose', () => listener.ended());
    await this.resume();
  }

  async pause(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.pause()));
  }

  async resume(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.resume()));
  }

  close(): void {
    this.transport?.close();
  }
}

const NOT_MEDIA = /\/(rtx|red|ulpfec)$/i;

export function producerMimeType(producer: types.Producer): string {
  const codec = producer.rtpParameters.codecs.find((c) => !NOT_MEDIA.test(c.mimeType));
  if (!codec) throw new Error(`producer ${producer.id} has no media codec`);
  return codec.mimeType;
}

/** The router's codecs with NACK, PLI and FIR feedback and without RTX/RED/FEC: what a recorder consumes with. */
export function recorderCapabilities(router: types.Router): types.RtpCapabilities {
  const caps = router.rtpCapabilities;
  return {
    codecs: (caps.codecs ?? [])
      .filter((c) => !NOT_MEDIA.test(c.mimeType))
      .map((c) => ({
        ...c,
        rtcpFeedback: [
          { type: 'nack', parameter: '' },
          { type: 'nack', parameter: 'pli' },
          { type: 'ccm', parameter: 'fir' },
        ],
      })),
    headerExtensions: caps.headerExtensions ?? [],
  };
}

/** The pipeline's description of a consumer's stream, from its RTP parameters. */
export function specOf(rtpParameters: types.RtpParameters, label: string): StreamSpec {
  const codec = rtpParameters.codecs[0]!;
  const { kind, codec: name } = codecForMimeType(codec.mimeType);
  const sprop = codec.parameters?.['sprop-parameter-sets'];
  const orientation = rtpParameters.headerExtensions?.find((e) => e.uri === VIDEO_ORIENTATION_URI);
  return {
    kind,
    codec: name,
    payloadType: codec.payloadType,
    clockRate: codec.clockRate,
    channels: codec.channels,
    spropParameterSets: typeof sprop === 'string' ? sprop : undefined,
    label,
    videoOrientationExtensionId: kind === 'video' ? orientation?.id : undefined,
  };
}

function feedbackFor(transport: types.DirectTransport, consumer: types.Consumer): StreamFeedback {
  return {
    requestKeyFrame: () => {
      consumer.requestKeyFrame().catch(() => {
        // The consumer closed meanwhile; the recording ends through its own close events.
      });
    },
    sendNack: (mediaSsrc, sequenceNumbers) => {
      if (transport.closed) return;
      transport.sendRtcp(genericNack(RECORDER_SSRC, mediaSsrc, sequenceNumbers));
    },
  };
}
