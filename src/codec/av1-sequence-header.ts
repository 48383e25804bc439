/**
 * AV1 sequence header OBU parser (AV1 bitstream spec, "AV1 Bitstream & Decoding Process
 * Specification" v1.0.0 with errata, section 5.5), reading every field up to
 * film_grain_params_present: what av1C (AV1-ISOBMFF section 2.3) and Matroska's Colour elements
 * need, and everything before it that decides where those fields lie. Also the peek at the start
 * of an uncompressed frame header (section 5.9.2) that tells a shown key frame.
 *
 * Operating point 0 is the one reported (choose_operating_point() returns 0 unless told
 * otherwise, section 7.1; av1C's seq_level_idx_0 and seq_tier_0 are defined on it).
 */

/** Sequence header fields. Names follow the spec's syntax elements, in camelCase. */
export interface Av1SequenceHeader {
  /** 0 Main, 1 High, 2 Professional (3 to 7 are reserved and rejected). */
  seqProfile: number;
  stillPicture: boolean;
  reducedStillPictureHeader: boolean;
  /** timing_info(), when timing_info_present_flag is set. */
  timingInfo?: {
    numUnitsInDisplayTick: number;
    timeScale: number;
    equalPictureInterval: boolean;
    /** num_ticks_per_picture_minus_1 + 1, when equalPictureInterval. */
    numTicksPerPicture?: number;
  };
  /** decoder_model_info(), when decoder_model_info_present_flag is set. */
  decoderModelInfo?: {
    bufferDelayLength: number;
    numUnitsInDecodingTick: number;
    bufferRemovalTimeLength: number;
    framePresentationTimeLength: number;
  };
  initialDisplayDelayPresent: boolean;
  /** At least one; [0] is the one av1C describes. */
  operatingPoints: Av1OperatingPoint[];
  frameWidthBits: number;
  frameHeightBits: number;
  /** max_frame_width_minus_1 + 1, max_frame_height_minus_1 + 1: the coded size the stream never exceeds. */
  maxFrameWidth: number;
  maxFrameHeight: number;
  frameIdNumbersPresent: boolean;
  /** delta_frame_id_length_minus_2 + 2 and additional_frame_id_length_minus_1 + 1, when frame ids are present. */
  deltaFrameIdLength?: number;
  additionalFrameIdLength?: number;
  use128x128Superblock: boolean;
  enableFilterIntra: boolean;
  enableIntraEdgeFilter: boolean;
  enableInterintraCompound: boolean;
  enableMaskedCompound: boolean;
  enableWarpedMotion: boolean;
  enableDualFilter: boolean;
  enableOrderHint: boolean;
  enableJntComp: boolean;
  enableRefFrameMvs: boolean;
  seqChooseScreenContentTools: boolean;
  /** 0, 1, or 2 = SELECT_SCREEN_CONTENT_TOOLS. */
  seqForceScreenContentTools: number;
  /** 0, 1, or 2 = SELECT_INTEGER_MV. */
  seqForceIntegerMv: number;
  orderHintBits: number;
  enableSuperres: boolean;
  enableCdef: boolean;
  enableRestoration: boolean;
  // color_config() (section 5.5.2)
  highBitdepth: boolean;
  twelveBit: boolean;
  /** 8, 10 or 12. */
  bitDepth: number;
  monochrome: boolean;
  colorDescriptionPresent: boolean;
  /** ISO/IEC 23091-4 code points; 2 (unspecified) when no color description is present. */
  colorPrimaries: number;
  transferCharacteristics: number;
  matrixCoefficients: number;
  /** color_range: true for full range. */
  fullRange: boolean;
  subsamplingX: number;
  subsamplingY: number;
  /** 0 CSP_UNKNOWN, 1 CSP_VERTICAL, 2 CSP_COLOCATED (3 reserved); 0 unless 4:2:0. */
  chromaSamplePosition: number;
  separateUvDeltaQ: boolean;
  filmGrainParamsPresent: boolean;
  /** Bits read, i.e. the position of trailing_one_bit in the OBU payload. */
  bitLength: number;
}

export interface Av1OperatingPoint {
  /** operating_point_idc: which temporal (bits 0-7) and spatial (bits 8-11) layers it decodes; 0 = all. */
  idc: number;
  seqLevelIdx: number;
  /** seq_tier: read only for levels above 3.3 (seq_level_idx > 7), else 0. */
  seqTier: number;
  decoderModelPresent: boolean;
  /** initial_display_delay_minus_1 + 1, when present for this operating point. */
  initialDisplayDelay?: number;
}

// Frame types (section 6.8.2).
export const AV1_KEY_FRAME = 0;
export const AV1_INTER_FRAME = 1;
export const AV1_INTRA_ONLY_FRAME = 2;
export const AV1_SWITCH_FRAME = 3;

/** Thrown by BitReader past the end of the data; caught inside this module, never escapes. */
class EndOfData extends Error {}
const END_OF_DATA = new EndOfData('end of OBU payload');

/** MSB-first bit reader (AV1 spec 4.10.2 f(n) and 4.10.3 uvlc()). */
class BitReader {
  /** Position in bits. */
  pos = 0;
  private readonly bits: number;
  constructor(private readonly data: Uint8Array) {
    this.bits = data.length * 8;
  }

  bit(): number {
    if (this.pos >= this.bits) throw END_OF_DATA;
    const b = (this.data[this.pos >>> 3]! >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }

  flag(): boolean {
    return this.bit() === 1;
  }

  /** f(n), n <= 32. */
  f(n: number): number {
    if (this.pos + n > this.bits) throw END_OF_DATA;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit(); // multiply, not shift: stays unsigned for n = 32
    return v;
  }

  /** uvlc(): values of 32 leading zeros or more are (1 << 32) - 1, with no value bits read. */
  uvlc(): number {
    let leadingZeros = 0;
    while (this.bit() === 0) leadingZeros++;
    if (leadingZeros >= 32) return 2 ** 32 - 1;
    return this.f(leadingZeros) + 2 ** leadingZeros - 1;
  }
}

/**
 * Parses a sequence header OBU's payload (the bytes after the OBU header and obu_size).
 * Returns undefined when it is truncated or uses a reserved profile.
 */
export function parseAv1SequenceHeader(payload: Uint8Array): Av1SequenceHeader | undefined {
  try {
    return parse(new BitReader(payload));
  } catch (e) {
    if (e === END_OF_DATA) return undefined;
    throw e;
  }
}

/**
 * Whether a sequence header payload ends as the spec requires (5.3.4 trailing_bits): a 1 bit right
 * after its `bitLength` bits, then zero bits to the end of the OBU, which is the next byte boundary.
 * Damage that turns another OBU into a sequence header (its first bits parse as one) fails this.
 */
export function hasAv1TrailingBits(payload: Uint8Array, bitLength: number): boolean {
  if (payload.length !== Math.ceil((bitLength + 1) / 8)) return false;
  const headerBitsInLast = bitLength - (payload.length - 1) * 8; // 0..7 bits of the last byte before the 1 bit
  return (payload[payload.length - 1]! & (0xff >> headerBitsInLast)) === 0x80 >> headerBitsInLast;
}

function parse(r: BitReader): Av1SequenceHeader | undefined {
  const seqProfile = r.f(3);
  if (seqProfile > 2) return undefined;
  const stillPicture = r.flag();
  const reducedStillPictureHeader = r.flag();
  let timingInfo: Av1SequenceHeader['timingInfo'];
  let decoderModelInfo: Av1SequenceHeader['decoderModelInfo'];
  let initialDisplayDelayPresent = false;
  const operatingPoints: Av1OperatingPoint[] = [];
  if (reducedStillPictureHeader) {
    operatingPoints.push({ idc: 0, seqLevelIdx: r.f(5), seqTier: 0, decoderModelPresent: false });
  } else {
    if (r.flag()) {
      // timing_info()
      const numUnitsInDisplayTick = r.f(32);
      const timeScale = r.f(32);
      const equalPictureInterval = r.flag();
      timingInfo = { numUnitsInDisplayTick, timeScale, equalPictureInterval };
      if (equalPictureInterval) timingInfo.numTicksPerPicture = r.uvlc() + 1;
      if (r.flag()) {
        decoderModelInfo = {
          bufferDelayLength: r.f(5) + 1,
          numUnitsInDecodingTick: r.f(32),
          bufferRemovalTimeLength: r.f(5) + 1,
          framePresentationTimeLength: r.f(5) + 1,
        };
      }
    }
    initialDisplayDelayPresent = r.flag();
    const count = r.f(5) + 1;
    for (let i = 0; i < count; i++) {
      const idc = r.f(12);
      const seqLevelIdx = r.f(5);
      const seqTier = seqLevelIdx > 7 ? r.bit() : 0;
      const op: Av1OperatingPoint = { idc, seqLevelIdx, seqTier, decoderModelPresent: false };
      if (decoderModelInfo) {
        op.decoderModelPresent = r.flag();
        if (op.decoderModelPresent) {
          // operating_parameters_info(i): decoder_buffer_delay, encoder_buffer_delay, low_delay_mode_flag
          r.f(decoderModelInfo.bufferDelayLength);
          r.f(decoderModelInfo.bufferDelayLength);
          r.bit();
        }
      }
      if (initialDisplayDelayPresent && r.flag()) op.initialDisplayDelay = r.f(4) + 1;
      operatingPoints.push(op);
    }
  }

  const frameWidthBits = r.f(4) + 1;
  const frameHeightBits = r.f(4) + 1;
  const maxFrameWidth = r.f(frameWidthBits) + 1;
  const maxFrameHeight = r.f(frameHeightBits) + 1;
  const frameIdNumbersPresent = reducedStillPictureHeader ? false : r.flag();
  let deltaFrameIdLength: number | undefined;
  let additionalFrameIdLength: number | undefined;
  if (frameIdNumbersPresent) {
    deltaFrameIdLength = r.f(4) + 2;
    additionalFrameIdLength = r.f(3) + 1;
  }
  const use128x128Superblock = r.flag();
  const enableFilterIntra = r.flag();
  const enableIntraEdgeFilter = r.flag();
  let enableInterintraCompound = false;
  let enableMaskedCompound = false;
  let enableWarpedMotion = false;
  let enableDualFilter = false;
  let enableOrderHint = false;
  let enableJntComp = false;
  let enableRefFrameMvs = false;
  let seqChooseScreenContentTools = false;
  let seqForceScreenContentTools = 2; // SELECT_SCREEN_CONTENT_TOOLS
  let seqForceIntegerMv = 2; // SELECT_INTEGER_MV
  let orderHintBits = 0;
  if (!reducedStillPictureHeader) {
    enableInterintraCompound = r.flag();
    enableMaskedCompound = r.flag();
    enableWarpedMotion = r.flag();
    enableDualFilter = r.flag();
    enableOrderHint = r.flag();
    if (enableOrderHint) {
      enableJntComp = r.flag();
      enableRefFrameMvs = r.flag();
    }
    seqChooseScreenContentTools = r.flag();
    if (!seqChooseScreenContentTools) seqForceScreenContentTools = r.bit();
    if (seqForceScreenContentTools > 0) {
      if (!r.flag()) seqForceIntegerMv = r.bit(); // seq_choose_integer_mv = 0: the value follows
    }
    if (enableOrderHint) orderHintBits = r.f(3) + 1;
  }
  const enableSuperres = r.flag();
  const enableCdef = r.flag();
  const enableRestoration = r.flag();

  // color_config()
  const highBitdepth = r.flag();
  let twelveBit = false;
  if (seqProfile === 2 && highBitdepth) twelveBit = r.flag();
  const bitDepth = twelveBit ? 12 : highBitdepth ? 10 : 8;
  const monochrome = seqProfile === 1 ? false : r.flag();
  const colorDescriptionPresent = r.flag();
  let colorPrimaries = 2;
  let transferCharacteristics = 2;
  let matrixCoefficients = 2;
  if (colorDescriptionPresent) {
    colorPrimaries = r.f(8);
    transferCharacteristics = r.f(8);
    matrixCoefficients = r.f(8);
  }
  let fullRange: boolean;
  let subsamplingX: number;
  let subsamplingY: number;
  let chromaSamplePosition = 0;
  let separateUvDeltaQ = false;
  if (monochrome) {
    fullRange = r.flag();
    subsamplingX = 1;
    subsamplingY = 1;
  } else {
    if (colorPrimaries === 1 && transferCharacteristics === 13 && matrixCoefficients === 0) {
      // BT.709 primaries, sRGB transfer, identity matrix: 4:4:4 RGB, full range
      fullRange = true;
      subsamplingX = 0;
      subsamplingY = 0;
    } else {
      fullRange = r.flag();
      if (seqProfile === 0) {
        subsamplingX = 1;
        subsamplingY = 1;
      } else if (seqProfile === 1) {
        subsamplingX = 0;
        subsamplingY = 0;
      } else if (bitDepth === 12) {
        subsamplingX = r.bit();
        subsamplingY = subsamplingX ? r.bit() : 0;
      } else {
        subsamplingX = 1;
        subsamplingY = 0;
      }
      if (subsamplingX && subsamplingY) chromaSamplePosition = r.f(2);
    }
    separateUvDeltaQ = r.flag();
  }
  const filmGrainParamsPresent = r.flag();

  const header: Av1SequenceHeader = {
    seqProfile,
    stillPicture,
    reducedStillPictureHeader,
    initialDisplayDelayPresent,
    operatingPoints,
    frameWidthBits,
    frameHeightBits,
    maxFrameWidth,
    maxFrameHeight,
    frameIdNumbersPresent,
    use128x128Superblock,
    enableFilterIntra,
    enableIntraEdgeFilter,
    enableInterintraCompound,
    enableMaskedCompound,
    enableWarpedMotion,
    enableDualFilter,
    enableOrderHint,
    enableJntComp,
    enableRefFrameMvs,
    seqChooseScreenContentTools,
    seqForceScreenContentTools,
    seqForceIntegerMv,
    orderHintBits,
    enableSuperres,
    enableCdef,
    enableRestoration,
    highBitdepth,
    twelveBit,
    bitDepth,
    monochrome,
    colorDescriptionPresent,
    colorPrimaries,
    transferCharacteristics,
    matrixCoefficients,
    fullRange,
    subsamplingX,
    subsamplingY,
    chromaSamplePosition,
    separateUvDeltaQ,
    filmGrainParamsPresent,
    bitLength: r.pos,
  };
  if (timingInfo) header.timingInfo = timingInfo;
  if (decoderModelInfo) header.decoderModelInfo = decoderModelInfo;
  if (frameIdNumbersPresent) {
    header.deltaFrameIdLength = deltaFrameIdLength;
    header.additionalFrameIdLength = additionalFrameIdLength;
  }
  return header;
}

/** The first syntax elements of an uncompressed frame header. */
export interface Av1FrameHeaderStart {
  showExistingFrame: boolean;
  /** AV1_KEY_FRAME .. AV1_SWITCH_FRAME; -1 for show_existing_frame (the type is that of the frame shown). */
  frameType: number;
  /** True for show_existing_frame too: it shows a frame. */
  showFrame: boolean;
}

/**
 * Reads show_existing_frame, frame_type and show_frame from the first byte of a frame header or
 * frame OBU's payload (uncompressed_header(), section 5.9.2: they are its first 4 bits unless the
 * sequence header has reduced_still_picture_header, which implies a shown key frame). Frame ids
 * (frame_id_numbers_present_flag) come only after these.
 */
export function peekAv1FrameHeader(firstByte: number, reducedStillPictureHeader: boolean): Av1FrameHeaderStart {
  if (reducedStillPictureHeader) return { showExistingFrame: false, frameType: AV1_KEY_FRAME, showFrame: true };
  if (firstByte & 0x80) return { showExistingFrame: true, frameType: -1, showFrame: true };
  return { showExistingFrame: false, frameType: (firstByte >>> 5) & 3, showFrame: (firstByte & 0x10) !== 0 };
}

/** True when a frame header starting with `firstByte` codes a key frame with show_frame = 1. */
export function isShownAv1KeyFrame(firstByte: number, reducedStillPictureHeader: boolean): boolean {
  return reducedStillPictureHeader || (firstByte & 0xf0) === 0x10;
}
