import { createRequire } from 'node:module';

/** The part of @discordjs/opus' `OpusEncoder` (an encoder and a decoder in one object) the mix uses. */
export interface OpusCodec {
  /** Encodes one frame of interleaved signed 16-bit PCM; the frame length follows from the buffer's size. */
  encode(pcm: Buffer): Buffer;
  /** Decodes one Opus packet to interleaved signed 16-bit PCM; throws on a corrupt packet. */
  decode(packet: Buffer): Buffer;
  setBitrate(bitsPerSecond: number): void;
}

type OpusCodecConstructor = new (sampleRate: number, channels: number) => OpusCodec;

let loaded: OpusCodecConstructor | undefined;

/**
 * An Opus encoder/decoder at 48 kHz from @discordjs/opus, loaded on first use: it is an optional
 * dependency (a native addon), needed only by the audio mix, so that a platform where it does
 * not build can still record everything else.
 * @throws Error naming the package when it is not installed
 */
export function createOpusCodec(channels: 1 | 2): OpusCodec {
  if (loaded === undefined) {
    try {
      loaded = (createRequire(import.meta.url)('@discordjs/opus') as { OpusEncoder: OpusCodecConstructor }).OpusEncoder;
    } catch (error) {
      throw new Error(`the audio mix needs the optional dependency @discordjs/opus (npm install @discordjs/opus): ${(error as Error).message}`, { cause: error });
    }
  }
  return new loaded(48000, channels);
}
