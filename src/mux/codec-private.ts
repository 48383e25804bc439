/**
 * Decoder configuration records, shared by the containers: MP4 wraps them in boxes (av1C, vpcC,
 * dOps), Matroska/WebM puts them in CodecPrivate, Ogg in its first page.
 */
import type { Av1Config, Vp9Config } from '../codec/frame.js';

/**
 * AV1CodecConfigurationRecord (AV1-ISOBMFF section 2.3.3): the av1C box body and Matroska's
 * V_AV1 CodecPrivate. configOBUs holds the sequence header, so a player can configure its decoder
 * before the first sample.
 */
export function av1CodecConfigurationRecord(config: Av1Config): Buffer {
  const head = Buffer.from([
    0x81, // marker 1, version 1
    ((config.seqProfile & 7) << 5) | (config.seqLevelIdx0 & 0x1f),
    ((config.seqTier0 & 1) << 7) |
      (Number(config.highBitdepth) << 6) |
      (Number(config.twelveBit) << 5) |
      (Number(config.monochrome) << 4) |
      ((config.chromaSubsamplingX & 1) << 3) |
      ((config.chromaSubsamplingY & 1) << 2) |
      (config.chromaSamplePosition & 3),
    0, // reserved, initial_presentation_delay_present = 0
  ]);
  return Buffer.concat([head, config.sequenceHeaderObu]);
}

/**
 * VPCodecConfigurationRecord (VP codec ISO-BMFF binding, version 1): the vpcC box body after its
 * version/flags, and the basis of Matroska's VP9 colour metadata.
 */
export function vpCodecConfigurationRecord(config: Vp9Config): Buffer {
  return Buffer.from([
    config.profile,
    vp9Level(config.width, config.height),
    (config.bitDepth << 4) | ((config.chromaSubsampling & 7) << 1) | Number(config.fullRange),
    config.colourPrimaries,
    config.transferCharacteristics,
    config.matrixCoefficients,
    0,
    0, // codecInitializationDataSize: VP9 has none
  ]);
}

/** Smallest VP9 level (VP9 levels table, max luma picture size) that fits the picture, e.g. 31 for 720p. */
function vp9Level(width: number, height: number): number {
  const pixels = width * height;
  const levels: [number, number][] = [
    [36864, 10], [73728, 11], [122880, 20], [245760, 21], [552960, 30], [983040, 31],
    [2228224, 40], [8912896, 50], [35651584, 60],
  ];
  for (const [maxPixels, level] of levels) if (pixels <= maxPixels) return level;
  return 62;
}

/**
 * OpusHead (RFC 7845 section 5.1): Matroska's A_OPUS CodecPrivate and the first Ogg Opus packet.
 * Channel mapping family 0 (mono or stereo). Multi-byte fields are little-endian.
 */
export function opusHead(channels: number, preSkip: number, inputSampleRate = 48000): Buffer {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b.writeUInt8(1, 8); // version
  b.writeUInt8(channels, 9);
  b.writeUInt16LE(preSkip, 10);
  b.writeUInt32LE(inputSampleRate, 12);
  b.writeInt16LE(0, 16); // output gain
  b.writeUInt8(0, 18); // channel mapping family
  return b;
}
