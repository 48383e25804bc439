import type { types } from 'mediasoup';
import { GenericNack } from 'werift-rtp';
import { codecForMimeType, type StreamSpec } from '../pipeline/stream-spec.js';
import type { StreamFeedback } from '../pipeline/stream-pipeline.js';
import { VIDEO_ORIENTATION_URI } from '../rtp/header-extension.js';

/** One producer consumed into the recorder: its stream description, feedback path and consumer. */
export interface DirectStream {
  spec: StreamSpec;
  feedback: StreamFeedback;
  consumer: types.Consumer;
}

/** Our own SSRC in RTCP feedback; any fixed value works, mediasoup routes feedback by media SSRC. */
const RECORDER_SSRC = 0x5245_4330;

/** The codec of each producer; throws UnsupportedCodecError, naming what is supported, if one cannot be recorded. */
export function recordableCodecs(producers: types.Producer[]): StreamSpec['codec'][] {
  return producers.map((producer) => codecForMimeType(producerMimeType(producer)).codec);
}

/**
 * Consumes `producers` through one DirectTransport, each consumer created paused (resumed by
 * the caller once the output is ready). RTX is left out of the capabilities so retransmissions
 * come back on the original SSRC and sequence numbers, where the jitter buffer expects them.
 */
export async function consumeProducers(
  router: types.Router,
  producers: types.Producer[],
): Promise<{ transport: types.DirectTransport; streams: DirectStream[] }> {
  const transport = await router.createDirectTransport();
  try {
    const streams: DirectStream[] = [];
    for (const producer of producers) {
      const consumer = await transport.consume({
        producerId: producer.id,
        rtpCapabilities: recorderCapabilities(router),
        paused: true,
      });
      streams.push({ spec: specOf(consumer, producer), feedback: feedbackFor(transport, consumer), consumer });
    }
    return { transport, streams };
  } catch (error) {
    transport.close();
    throw error;
  }
}

const NOT_MEDIA = /\/(rtx|red|ulpfec)$/i;

function producerMimeType(producer: types.Producer): string {
  const codec = producer.rtpParameters.codecs.find((c) => !NOT_MEDIA.test(c.mimeType));
  if (!codec) throw new Error(`producer ${producer.id} has no media codec`);
  return codec.mimeType;
}

function recorderCapabilities(router: types.Router): types.RtpCapabilities {
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

function specOf(consumer: types.Consumer, producer: types.Producer): StreamSpec {
  const codec = consumer.rtpParameters.codecs[0]!;
  const { kind, codec: name } = codecForMimeType(codec.mimeType);
  const sprop = codec.parameters?.['sprop-parameter-sets'];
  const orientation = consumer.rtpParameters.headerExtensions?.find((e) => e.uri === VIDEO_ORIENTATION_URI);
  return {
    kind,
    codec: name,
    payloadType: codec.payloadType,
    clockRate: codec.clockRate,
    channels: codec.channels,
    spropParameterSets: typeof sprop === 'string' ? sprop : undefined,
    label: `${kind}:${producer.id}`,
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
      const nack = new GenericNack({ senderSsrc: RECORDER_SSRC, mediaSourceSsrc: mediaSsrc, lost: sequenceNumbers });
      transport.sendRtcp(nack.serialize());
    },
  };
}
