import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AV1_INTER_FRAME,
  AV1_INTRA_ONLY_FRAME,
  AV1_KEY_FRAME,
  AV1_SWITCH_FRAME,
  hasAv1TrailingBits,
  isShownAv1KeyFrame,
  parseAv1SequenceHeader,
  peekAv1FrameHeader,
  type Av1SequenceHeader,
} from '../src/codec/av1-sequence-header.js';

interface ShCase {
  name: string;
  /** The whole OBU: header (obu_has_size_field = 1), obu_size, payload. */
  obu: string;
  /** Syntax elements as ffmpeg's trace_headers read them, by name. */
  trace: Record<string, number>;
  /** Bit position of trailing_one_bit in the payload. */
  payloadBits: number;
}
const cases = JSON.parse(readFileSync(new URL('data/codec/av1-sequence-headers.json', import.meta.url), 'utf8')) as ShCase[];

/** The payload of a sequence header OBU (after the 1-byte header and obu_size). */
function payloadOf(obuHex: string): Buffer {
  const obu = Buffer.from(obuHex, 'hex');
  let i = 1;
  while (obu[i]! & 0x80) i++;
  return obu.subarray(i + 1);
}

const b = (v: boolean): number => (v ? 1 : 0);

/** A syntax element's value as the parser reports it, by its name in the spec (and trace_headers). */
function field(h: Av1SequenceHeader, name: string): number | undefined {
  const m = /^(\w+)\[(\d+)\]$/.exec(name);
  if (m) {
    const op = h.operatingPoints[Number(m[2])]!;
    switch (m[1]) {
      case 'operating_point_idc':
        return op.idc;
      case 'seq_level_idx':
        return op.seqLevelIdx;
      case 'seq_tier':
        return op.seqTier;
      case 'decoder_model_present_for_this_op':
        return b(op.decoderModelPresent);
      case 'initial_display_delay_present_for_this_op':
        return b(op.initialDisplayDelay !== undefined);
      case 'initial_display_delay_minus_1':
        return op.initialDisplayDelay! - 1;
      default:
        return undefined; // operating_parameters_info(): not kept
    }
  }
  const values: Record<string, () => number> = {
    seq_profile: () => h.seqProfile,
    still_picture: () => b(h.stillPicture),
    reduced_still_picture_header: () => b(h.reducedStillPictureHeader),
    timing_info_present_flag: () => b(h.timingInfo !== undefined),
    num_units_in_display_tick: () => h.timingInfo!.numUnitsInDisplayTick,
    time_scale: () => h.timingInfo!.timeScale,
    equal_picture_interval: () => b(h.timingInfo!.equalPictureInterval),
    num_ticks_per_picture_minus_1: () => h.timingInfo!.numTicksPerPicture! - 1,
    decoder_model_info_present_flag: () => b(h.decoderModelInfo !== undefined),
    buffer_delay_length_minus_1: () => h.decoderModelInfo!.bufferDelayLength - 1,
    num_units_in_decoding_tick: () => h.decoderModelInfo!.numUnitsInDecodingTick,
    buffer_removal_time_length_minus_1: () => h.decoderModelInfo!.bufferRemovalTimeLength - 1,
    frame_presentation_time_length_minus_1: () => h.decoderModelInfo!.framePresentationTimeLength - 1,
    initial_display_delay_present_flag: () => b(h.initialDisplayDelayPresent),
    operating_points_cnt_minus_1: () => h.operatingPoints.length - 1,
    frame_width_bits_minus_1: () => h.frameWidthBits - 1,
    frame_height_bits_minus_1: () => h.frameHeightBits - 1,
    max_frame_width_minus_1: () => h.maxFrameWidth - 1,
    max_frame_height_minus_1: () => h.maxFrameHeight - 1,
    frame_id_numbers_present_flag: () => b(h.frameIdNumbersPresent),
    delta_frame_id_length_minus_2: () => h.deltaFrameIdLength! - 2,
    additional_frame_id_length_minus_1: () => h.additionalFrameIdLength! - 1,
    use_128x128_superblock: () => b(h.use128x128Superblock),
    enable_filter_intra: () => b(h.enableFilterIntra),
    enable_intra_edge_filter: () => b(h.enableIntraEdgeFilter),
    enable_interintra_compound: () => b(h.enableInterintraCompound),
    enable_masked_compound: () => b(h.enableMaskedCompound),
    enable_warped_motion: () => b(h.enableWarpedMotion),
    enable_dual_filter: () => b(h.enableDualFilter),
    enable_order_hint: () => b(h.enableOrderHint),
    enable_jnt_comp: () => b(h.enableJntComp),
    enable_ref_frame_mvs: () => b(h.enableRefFrameMvs),
    seq_choose_screen_content_tools: () => b(h.seqChooseScreenContentTools),
    seq_force_screen_content_tools: () => h.seqForceScreenContentTools,
    seq_choose_integer_mv: () => b(h.seqForceIntegerMv === 2),
    seq_force_integer_mv: () => h.seqForceIntegerMv,
    order_hint_bits_minus_1: () => h.orderHintBits - 1,
    enable_superres: () => b(h.enableSuperres),
    enable_cdef: () => b(h.enableCdef),
    enable_restoration: () => b(h.enableRestoration),
    high_bitdepth: () => b(h.highBitdepth),
    twelve_bit: () => b(h.twelveBit),
    mono_chrome: () => b(h.monochrome),
    color_description_present_flag: () => b(h.colorDescriptionPresent),
    color_primaries: () => h.colorPrimaries,
    transfer_characteristics: () => h.transferCharacteristics,
    matrix_coefficients: () => h.matrixCoefficients,
    color_range: () => b(h.fullRange),
    subsampling_x: () => h.subsamplingX,
    subsampling_y: () => h.subsamplingY,
    chroma_sample_position: () => h.chromaSamplePosition,
    separate_uv_delta_q: () => b(h.separateUvDeltaQ),
    film_grain_params_present: () => b(h.filmGrainParamsPresent),
  };
  const get = values[name];
  if (!get) throw new Error(`no mapping for ${name}`);
  return get();
}

const byName = (name: string): Av1SequenceHeader => parseAv1SequenceHeader(payloadOf(cases.find((c) => c.name === name)!.obu))!;

describe('parseAv1SequenceHeader against ffmpeg trace_headers', () => {
  it('has the cases it should: encoders and crafted', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
    expect(cases.filter((c) => c.name.startsWith('crafted-')).length).toBeGreaterThanOrEqual(8);
  });

  for (const c of cases) {
    it(`${c.name}: every syntax element, and where the payload ends`, () => {
      const h = parseAv1SequenceHeader(payloadOf(c.obu));
      expect(h).toBeDefined();
      const got: Record<string, number | undefined> = {};
      const want: Record<string, number> = {};
      for (const [name, value] of Object.entries(c.trace)) {
        const mine = field(h!, name);
        if (mine === undefined) continue;
        got[name] = mine;
        want[name] = value;
      }
      expect(got).toEqual(want);
      expect(h!.bitLength).toBe(c.payloadBits);
    });
  }

  it('trailing bits: every real header ends with them; an extra byte or a wrong trailing bit does not', () => {
    for (const c of cases) {
      const payload = payloadOf(c.obu);
      expect(hasAv1TrailingBits(payload, c.payloadBits), c.name).toBe(true);
      expect(hasAv1TrailingBits(Buffer.concat([payload, Buffer.from([0x80])]), c.payloadBits), c.name).toBe(false);
      const wrong = Buffer.from(payload);
      wrong[wrong.length - 1]! ^= 0x80 >> (c.payloadBits % 8); // the trailing one bit cleared
      expect(hasAv1TrailingBits(wrong, c.payloadBits), c.name).toBe(false);
    }
  });

  it('every truncation of every header fails instead of reading past the end', () => {
    for (const c of cases) {
      const payload = payloadOf(c.obu);
      const needed = Math.ceil(c.payloadBits / 8);
      for (let len = 0; len < needed; len++) expect(parseAv1SequenceHeader(payload.subarray(0, len)), `${c.name} cut to ${len}`).toBeUndefined();
    }
  });

  it('reserved profiles 3 to 7 are rejected', () => {
    const payload = Buffer.from(payloadOf(cases[0]!.obu));
    for (let profile = 3; profile < 8; profile++) {
      payload[0] = (payload[0]! & 0x1f) | (profile << 5);
      expect(parseAv1SequenceHeader(payload)).toBeUndefined();
    }
  });
});

describe('parseAv1SequenceHeader inferred values', () => {
  it('4:2:0 8-bit (libaom): av1C fields', () => {
    expect(byName('aom-main-8bit-420-64x48')).toMatchObject({
      seqProfile: 0,
      maxFrameWidth: 64,
      maxFrameHeight: 48,
      bitDepth: 8,
      highBitdepth: false,
      twelveBit: false,
      monochrome: false,
      subsamplingX: 1,
      subsamplingY: 1,
      chromaSamplePosition: 0,
      colorPrimaries: 2,
      transferCharacteristics: 2,
      matrixCoefficients: 2,
      fullRange: false,
      operatingPoints: [{ idc: 0, seqLevelIdx: 0, seqTier: 0, decoderModelPresent: false }],
    });
  });

  it('sizes of real streams, bit depths and subsampling by profile', () => {
    expect(byName('aom-1920x1080')).toMatchObject({ maxFrameWidth: 1920, maxFrameHeight: 1080 });
    expect(byName('aom-642x362')).toMatchObject({ maxFrameWidth: 642, maxFrameHeight: 362 });
    expect(byName('aom-main-10bit-420')).toMatchObject({ bitDepth: 10, highBitdepth: true, subsamplingX: 1, subsamplingY: 1 });
    expect(byName('aom-high-444')).toMatchObject({ seqProfile: 1, monochrome: false, subsamplingX: 0, subsamplingY: 0 });
    expect(byName('aom-pro-422')).toMatchObject({ seqProfile: 2, bitDepth: 8, subsamplingX: 1, subsamplingY: 0 });
    expect(byName('aom-pro-12bit-420')).toMatchObject({ bitDepth: 12, twelveBit: true, subsamplingX: 1, subsamplingY: 1 });
    expect(byName('aom-pro-12bit-444')).toMatchObject({ bitDepth: 12, subsamplingX: 0, subsamplingY: 0 });
    expect(byName('rav1e-422-10bit')).toMatchObject({ seqProfile: 2, bitDepth: 10, twelveBit: false, subsamplingX: 1, subsamplingY: 0 });
  });

  it('monochrome: 4:2:0 subsampling implied, no separate_uv_delta_q', () => {
    expect(byName('aom-monochrome')).toMatchObject({ monochrome: true, subsamplingX: 1, subsamplingY: 1, chromaSamplePosition: 0, separateUvDeltaQ: false });
  });

  it('BT.709 + sRGB + identity matrix: 4:4:4 full range without reading color_range', () => {
    expect(byName('aom-high-gbr-srgb')).toMatchObject({
      colorPrimaries: 1,
      transferCharacteristics: 13,
      matrixCoefficients: 0,
      fullRange: true,
      subsamplingX: 0,
      subsamplingY: 0,
    });
  });

  it('reduced still picture header: one operating point, level only, no timing or order hints', () => {
    for (const name of ['aom-still-picture', 'crafted-reduced-still-picture']) {
      const h = byName(name);
      expect(h).toMatchObject({ stillPicture: true, reducedStillPictureHeader: true, enableOrderHint: false, frameIdNumbersPresent: false });
      expect(h.timingInfo).toBeUndefined();
      expect(h.operatingPoints).toHaveLength(1);
      expect(h.seqForceScreenContentTools).toBe(2);
      expect(h.seqForceIntegerMv).toBe(2);
    }
    expect(byName('crafted-reduced-still-picture')).toMatchObject({ maxFrameWidth: 100, maxFrameHeight: 77, operatingPoints: [{ seqLevelIdx: 13, seqTier: 0 }] });
  });

  it('uvlc num_ticks_per_picture, 16-bit frame sizes', () => {
    expect(byName('crafted-equal-picture-interval').timingInfo).toEqual({
      numUnitsInDisplayTick: 1,
      timeScale: 90000,
      equalPictureInterval: true,
      numTicksPerPicture: 3000,
    });
    expect(byName('crafted-equal-picture-interval-zero').timingInfo?.numTicksPerPicture).toBe(1);
    expect(byName('crafted-frame-ids-forced-tools')).toMatchObject({ maxFrameWidth: 65536, maxFrameHeight: 1, frameWidthBits: 16 });
  });
});

describe('peekAv1FrameHeader', () => {
  it('reads show_existing_frame, frame_type, show_frame from the first 4 bits', () => {
    expect(peekAv1FrameHeader(0x10, false)).toEqual({ showExistingFrame: false, frameType: AV1_KEY_FRAME, showFrame: true });
    expect(peekAv1FrameHeader(0x0f, false)).toEqual({ showExistingFrame: false, frameType: AV1_KEY_FRAME, showFrame: false });
    expect(peekAv1FrameHeader(0x3f, false)).toEqual({ showExistingFrame: false, frameType: AV1_INTER_FRAME, showFrame: true });
    expect(peekAv1FrameHeader(0x40, false)).toEqual({ showExistingFrame: false, frameType: AV1_INTRA_ONLY_FRAME, showFrame: false });
    expect(peekAv1FrameHeader(0x70, false)).toEqual({ showExistingFrame: false, frameType: AV1_SWITCH_FRAME, showFrame: true });
    expect(peekAv1FrameHeader(0x80, false)).toEqual({ showExistingFrame: true, frameType: -1, showFrame: true });
    expect(peekAv1FrameHeader(0xff, true)).toEqual({ showExistingFrame: false, frameType: AV1_KEY_FRAME, showFrame: true });
  });

  it('isShownAv1KeyFrame agrees with it for every byte', () => {
    for (let byte = 0; byte < 256; byte++) {
      for (const reduced of [false, true]) {
        const p = peekAv1FrameHeader(byte, reduced);
        expect(isShownAv1KeyFrame(byte, reduced)).toBe(!p.showExistingFrame && p.frameType === AV1_KEY_FRAME && p.showFrame);
      }
    }
  });
});
