import { performance } from 'node:perf_hooks';
import type { types } from 'mediasoup';
import { genericNack } from '../rtp/rtcp.js';
import { codecForMimeType, type StreamSpec } from '../pipeline/stream-spec.js';
import type { StreamFeedback } from '../pipeline/stream-pipeline.js';
import { VIDEO_ORIENTATION_URI } from '../rtp/header-extension.js';
import type { RecordingSource, SourceEndReason, SourceListener, SourceStream } from './source.js';

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
 *
 * Ends on its own (`SourceListener.ended`) when the router closes, when its worker closes (dies),
 * or when every recorded producer has closed; one producer closing ends only its own stream (the
 * others go on, and `replaceProducer()` can continue it).
 */
export class DirectSource implements RecordingSource {
  private transport: types.DirectTransport | undefined;
  /** The consumer feeding each stream, by stream index; replaceProducer() swaps one. */
  private readonly consumers: types.Consumer[] = [];
  private listener: SourceListener | undefined;
  private paused = true;
  /** Per stream: whether the producer feeding it closed (and was not replaced since). */
  private producerClosed: boolean[] = [];
  private ended = false;
  private stopWatching: (() => void) | undefined;

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
        const index = this.consumers.length;
        const consumer = await this.consume(producer);
        this.consumers.push(consumer);
        streams.push({ spec: specOf(consumer.rtpParameters, `${consumer.kind}:${producer.id}`), feedback: this.feedbackFor(index) });
      }
      return streams;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  async start(listener: SourceListener): Promise<void> {
    this.listener = listener;
    this.producerClosed = this.consumers.map(() => false);
    this.consumers.forEach((consumer, index) => this.deliver(consumer, index));
    this.stopWatching = onRouterEnd(this.router, this.transport!, (reason) => this.end(reason));
    await this.resume();
  }

  async pause(): Promise<void> {
    this.paused = true;
    await Promise.all(this.consumers.map((consumer) => consumer.pause()));
  }

  async resume(): Promise<void> {
    this.paused = false;
    await Promise.all(this.consumers.map((consumer) => consumer.resume()));
  }

  /**
   * Feeds the stream that `oldProducerId` fed from `producer` from now on (a participant who
   * closed and published again): same kind and codec, so the track continues; the new SSRC is
   * handled like any SSRC change (video waits for a keyframe, the timeline keeps wall-clock time).
   */
  async replaceProducer(oldProducerId: string, producer: types.Producer): Promise<void> {
    const index = this.consumers.findIndex((c) => c.producerId === oldProducerId);
    if (index < 0) throw new Error(`producer ${oldProducerId} is not recorded here`);
    const old = this.consumers[index]!;
    const consumer = await this.consume(producer);
    const [was, now] = [old.rtpParameters.codecs[0]!, consumer.rtpParameters.codecs[0]!];
    if (consumer.kind !== old.kind || now.mimeType.toLowerCase() !== was.mimeType.toLowerCase() || now.payloadType !== was.payloadType) {
      consumer.close();
      throw new Error(`producer ${producer.id} (${now.mimeType}) cannot continue the ${was.mimeType} track of producer ${oldProducerId}`);
    }
    this.consumers[index] = consumer;
    this.producerClosed[index] = false;
    old.close();
    if (this.listener) this.deliver(consumer, index);
    if (!this.paused) await consumer.resume();
  }

  close(): void {
    this.stopWatching?.();
    this.transport?.close();
  }

  private end(reason: SourceEndReason): void {
    if (this.ended) return;
    this.ended = true;
    this.listener?.ended(reason);
  }

  private consume(producer: types.Producer): Promise<types.Consumer> {
    return this.transport!.consume({ producerId: producer.id, rtpCapabilities: recorderCapabilities(this.router), paused: true });
  }

  private deliver(consumer: types.Consumer, index: number): void {
    consumer.on('rtp', (packet: Buffer) => this.listener!.rtp(index, packet, performance.now()));
    consumer.on('producerclose', () => {
      if (this.consumers[index] !== consumer) return; // replaced meanwhile: its stream goes on
      this.producerClosed[index] = true;
      if (this.producerClosed.every(Boolean)) this.end('producer-closed');
    });
  }

  /** Feedback for stream `index` goes to whichever consumer feeds it at the time. */
  private feedbackFor(index: number): StreamFeedback {
    return {
      requestKeyFrame: () => {
        this.consumers[index]!.requestKeyFrame().catch(() => {
          // The consumer closed meanwhile (producer gone, recording stopping): nothing to ask.
        });
      },
      sendNack: (mediaSsrc, sequenceNumbers) => {
        const transport = this.transport!;
        if (!transport.closed) transport.sendRtcp(genericNack(RECORDER_SSRC, mediaSsrc, sequenceNumbers));
      },
    };
  }
}

/**
 * Calls `ended` once `transport` closes with its router, saying whether the worker died. A dying
 * worker closes the router's transports (their 'routerclose') and then emits the router's
 * 'workerclose', in one synchronous run: the reason is decided once that run is over. Returns a
 * function that stops watching.
 */
export function onRouterEnd(router: types.Router, transport: types.Transport, ended: (reason: 'router-closed' | 'worker-died') => void): () => void {
  let workerClosed = false;
  const onWorkerClose = (): void => {
    workerClosed = true;
  };
  router.on('workerclose', onWorkerClose);
  transport.on('routerclose', () => queueMicrotask(() => ended(workerClosed ? 'worker-died' : 'router-closed')));
  return () => router.off('workerclose', onWorkerClose);
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
