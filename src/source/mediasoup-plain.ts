/**
 * The mediasoup side of recording over UDP: a PlainTransport that sends producers to a recorder's
 * RtpUdpEndpoint, in this process or on another host.
 */
import { randomBytes } from 'node:crypto';
import type { types } from 'mediasoup';
import { recordableCodecs, recorderCapabilities } from './mediasoup-direct.js';
import type { SrtpCryptoSuite } from './srtp-keys.js';
import type { UdpSrtpParameters } from './srtp.js';
import type { UdpAddress, UdpStream } from './udp.js';

export interface PlainTransportLinkOptions {
  /** The IP the PlainTransport listens on, reachable from the recorder. Default '127.0.0.1'. */
  listenIp?: string;
  /** IP to announce instead of listenIp (e.g. a public address). */
  announcedIp?: string;
  /**
   * Let mediasoup learn the recorder's address from the recorder's first RTCP packet instead of
   * connecting to `recorder` (for a recorder behind NAT). The recorder must then be given `remote`.
   */
  comedia?: boolean;
  /**
   * Encrypt and authenticate the link (SRTP and SRTCP both ways), for a recorder on another host:
   * the keys travel in `link.streams`, so whatever carries those to the recorder must be private.
   * Default false.
   */
  enableSrtp?: boolean;
  /**
   * The SRTP suite when `enableSrtp`. Default 'AES_CM_128_HMAC_SHA1_80'. mediasoup 3.8 offers only
   * the two AES_CM_128_HMAC_SHA1 suites; the AEAD_AES_*_GCM ones of later versions are not
   * implemented by the recorder.
   */
  srtpCryptoSuite?: SrtpCryptoSuite;
}

/** Producers flowing to a recorder over UDP: what the recorder needs to know, and the handles to end it. */
export interface PlainTransportLink {
  transport: types.PlainTransport;
  consumers: types.Consumer[];
  /** For `endpoint.source(streams, { remote })` on the recorder's side (JSON-serializable; with `enableSrtp` it holds the keys: keep it private). */
  streams: UdpStream[];
  /** The PlainTransport's own address and port: where the recorder sends RTCP. */
  remote: UdpAddress;
  /** Resumes the consumers (created paused): call once the recorder has started. */
  resume(): Promise<void>;
  /** Closes the transport and its consumers. */
  close(): void;
}

/**
 * Creates a PlainTransport (RTP and RTCP on one port) sending `producers` to the recorder at
 * `recorder`, with NACK, PLI and FIR negotiated, so the recorder's feedback makes mediasoup
 * retransmit from its buffer and ask the producer for keyframes. No RTX: retransmissions come on
 * the original SSRC, where the recorder's jitter buffer expects them.
 *
 * ```ts
 * const link = await sendToRecorder(router, producers, endpoint.local);
 * const recorder = new Recorder({ source: endpoint.source(link.streams, { remote: link.remote }), output: 'call.mp4' });
 * await recorder.start();
 * await link.resume();
 * ```
 */
export async function sendToRecorder(
  router: types.Router,
  producers: types.Producer[],
  recorder: UdpAddress,
  options: PlainTransportLinkOptions = {},
): Promise<PlainTransportLink> {
  recordableCodecs(producers); // an unsupported codec is refused before anything is created
  const transport = await router.createPlainTransport({
    listenIp: { ip: options.listenIp ?? '127.0.0.1', announcedIp: options.announcedIp },
    rtcpMux: true,
    comedia: options.comedia ?? false,
    enableSrtp: options.enableSrtp ?? false,
    srtpCryptoSuite: options.srtpCryptoSuite ?? 'AES_CM_128_HMAC_SHA1_80',
  });
  try {
    const srtp = transport.srtpParameters && linkSrtp(transport.srtpParameters);
    // With SRTP, comedia still needs connect(), for the key of the recorder's RTCP.
    const address = options.comedia ? {} : { ip: recorder.address, port: recorder.port };
    if (!options.comedia || srtp) await transport.connect({ ...address, srtpParameters: srtp?.recorder });
    const consumers: types.Consumer[] = [];
    for (const producer of producers) {
      consumers.push(await transport.consume({ producerId: producer.id, rtpCapabilities: recorderCapabilities(router), paused: true }));
    }
    const streams = consumers.map((consumer) => ({ label: `${consumer.kind}:${consumer.producerId}`, rtpParameters: consumer.rtpParameters, srtp }));
    const { localIp, localPort } = transport.tuple;
    return {
      transport,
      consumers,
      streams,
      remote: { address: options.announcedIp ?? localIp, port: localPort },
      resume: async () => {
        await Promise.all(consumers.map((consumer) => consumer.resume()));
      },
      close: () => transport.close(),
    };
  } catch (error) {
    transport.close();
    throw error;
  }
}

/** The sender's keys are mediasoup's; the recorder's RTCP gets a fresh key of the same suite (30 bytes: master key and salt). */
function linkSrtp(sender: types.SrtpParameters): UdpSrtpParameters {
  return {
    sender: { cryptoSuite: sender.cryptoSuite as SrtpCryptoSuite, keyBase64: sender.keyBase64 },
    recorder: { cryptoSuite: sender.cryptoSuite as SrtpCryptoSuite, keyBase64: randomBytes(30).toString('base64') },
  };
}
