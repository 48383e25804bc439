import { randomInt } from 'node:crypto';
import { opusSilencePacket } from '../../codec/opus.js';
import { createOpusCodec, type OpusCodec } from './opus-binding.js';

/** Samples per channel in one mix frame: 20 ms at 48 kHz. */
export const MIX_FRAME_SAMPLES = 960;

/**
 * How far the encoder's output lags its input, in 48 kHz samples: libopus' look-ahead (2.5 ms,
 * plus 4 ms of delay compensation), what OPUS_GET_LOOKAHEAD reports at 48 kHz.
 */
export const OPUS_ENCODER_DELAY = 312;

export interface OpusRtpPacketizerOptions {
  channels: 1 | 2;
  /** Encoder bitrate in bits per second. */
  bitrate: number;
  /** RTP payload type written in every packet. */
  payloadType: number;
}

/**
 * Encodes the mix's 20 ms PCM frames to Opus and wraps each in an RTP packet (RFC 7587) of its
 * own SSRC, with consecutive sequence numbers and timestamps advancing 960 per frame, so the mix
 * reads like any sender's Opus stream. While the mix is silent the encoder rests: from the
 * second all-zero frame on, each packet is the 3-byte Opus silence frame (the encoder has then
 * been fed zeros already, so it resumes from the state that silence leaves).
 */
export class OpusRtpPacketizer {
  /** The SSRC of the mix's packets, random per mix. */
  readonly ssrc = randomInt(0, 2 ** 32);
  private readonly encoder: OpusCodec;
  private sequenceNumber = randomInt(0, 2 ** 16);
  private timestamp = randomInt(0, 2 ** 32);
  private first = true;
  private silentFrames = 0;
  private readonly silence: Buffer;

  constructor(private readonly options: OpusRtpPacketizerOptions) {
    this.encoder = createOpusCodec(options.channels);
    this.encoder.setBitrate(options.bitrate);
    this.silence = opusSilencePacket(options.channels);
  }

  /**
   * One RTP packet holding `pcm` (MIX_FRAME_SAMPLES interleaved samples per channel) encoded;
   * `skippedFrames` frames not sent before it advance the timestamp (the mix skipped ahead).
   */
  packetize(pcm: Int16Array, skippedFrames = 0): Buffer {
    this.silentFrames = isSilent(pcm) ? this.silentFrames + 1 : 0;
    const payload = this.silentFrames >= 2 ? this.silence : this.encoder.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    this.timestamp = (this.timestamp + skippedFrames * MIX_FRAME_SAMPLES) >>> 0;
    const packet = Buffer.allocUnsafe(12 + payload.length);
    packet[0] = 0x80;
    // Marker on the first packet: the start of a talkspurt (RFC 3551 section 4.1).
    packet[1] = (this.first ? 0x80 : 0) | this.options.payloadType;
    packet.writeUInt16BE(this.sequenceNumber, 2);
    packet.writeUInt32BE(this.timestamp, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    payload.copy(packet, 12);
    this.first = false;
    this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
    this.timestamp = (this.timestamp + MIX_FRAME_SAMPLES) >>> 0;
    return packet;
  }
}

function isSilent(pcm: Int16Array): boolean {
  for (let i = 0; i < pcm.length; i++) if (pcm[i] !== 0) return false;
  return true;
}
