/**
 * H.264 sequence parameter set parser (ITU-T H.264 section 7.3.2.1.1), reading what a recorder
 * needs to describe the stream: profile, level, picture size after cropping. The VUI is not read.
 * Also reads the two ids at the start of a picture parameter set (section 7.3.2.2).
 */

/** Fields of one SPS. Sizes are in luma samples. */
export interface H264Sps {
  profileIdc: number;
  /** constraint_set0..5 flags and the 2 reserved bits: byte 2 of the NAL unit. */
  constraintFlags: number;
  levelIdc: number;
  spsId: number;
  /** 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4 (1 when the profile does not signal it). */
  chromaFormatIdc: number;
  separateColourPlane: boolean;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** log2 of MaxFrameNum. */
  log2MaxFrameNum: number;
  picOrderCntType: number;
  maxNumRefFrames: number;
  /** false for streams that may code fields (interlaced). */
  frameMbsOnly: boolean;
  /** Size of the decoded picture before cropping. */
  codedWidth: number;
  codedHeight: number;
  /** Size after frame cropping: what a player displays (before sample aspect ratio). */
  width: number;
  height: number;
}

/** Profiles whose SPS carries chroma_format_idc, bit depths and scaling lists (the "high" profiles). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Thrown by BitReader past the end of the data; caught inside this module, never escapes. */
class EndOfData extends Error {}
const END_OF_DATA = new EndOfData('end of RBSP');

/** MSB-first bit reader over an RBSP (emulation prevention already removed). */
class BitReader {
  private pos = 0; // in bits
  constructor(private readonly data: Uint8Array) {}

  u1(): number {
    const byte = this.pos >>> 3;
    if (byte >= this.data.length) throw END_OF_DATA;
    const bit = (this.data[byte]! >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return bit;
  }

  /** Unsigned n-bit value, n <= 32. */
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.u1(); // multiply, not shift: stays unsigned for n = 32
    return v;
  }

  /** Exp-Golomb ue(v); values need at most 32 bits (section 9.1), anything longer is malformed. */
  ue(): number {
    let zeros = 0;
    while (this.u1() === 0) {
      if (++zeros > 31) throw END_OF_DATA;
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** Signed Exp-Golomb se(v). */
  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/**
 * Returns the RBSP of `nal[start, end)`: the bytes with every emulation-prevention byte (the 03 in
 * 00 00 03) removed. Returns a view when there is none, else a copy.
 */
export function removeEmulationPrevention(nal: Uint8Array, start = 0, end = nal.length): Uint8Array {
  let out: Uint8Array | undefined;
  let o = 0;
  let zeros = 0;
  for (let i = start; i < end; i++) {
    const b = nal[i]!;
    if (zeros >= 2 && b === 3) {
      if (!out) {
        out = new Uint8Array(end - start);
        out.set(nal.subarray(start, i));
        o = i - start;
      }
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    if (out) out[o++] = b;
  }
  return out ? out.subarray(0, o) : nal.subarray(start, end);
}

/** Skips one scaling_list() (section 7.3.2.1.1.1) of `size` coefficients. */
function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size && next !== 0; j++) {
    const delta = r.se();
    if (delta < -128 || delta > 127) throw END_OF_DATA;
    next = (last + delta + 256) % 256;
    if (next !== 0) last = next;
  }
}

/** Largest picture side accepted, in macroblocks (level 6.2 allows 139264 MBs, e.g. 8192x4320). */
const MAX_SIDE_MBS = 1024;

/**
 * Parses an SPS NAL unit (starting with its 1-byte NAL header, type 7, no start code).
 * Returns undefined for anything malformed or out of the ranges the standard allows.
 */
export function parseH264Sps(nal: Uint8Array): H264Sps | undefined {
  if (nal.length < 4 || (nal[0]! & 0x1f) !== 7) return undefined;
  try {
    const r = new BitReader(removeEmulationPrevention(nal, 1));
    const profileIdc = r.u(8);
    const constraintFlags = r.u(8);
    const levelIdc = r.u(8);
    const spsId = r.ue();
    if (spsId > 31) return undefined;

    let chromaFormatIdc = 1;
    let separateColourPlane = false;
    let bitDepthLuma = 8;
    let bitDepthChroma = 8;
    if (HIGH_PROFILES.has(profileIdc)) {
      chromaFormatIdc = r.ue();
      if (chromaFormatIdc > 3) return undefined;
      if (chromaFormatIdc === 3) separateColourPlane = r.u1() === 1;
      bitDepthLuma = r.ue() + 8;
      bitDepthChroma = r.ue() + 8;
      if (bitDepthLuma > 14 || bitDepthChroma > 14) return undefined;
      r.u1(); // qpprime_y_zero_transform_bypass_flag
      if (r.u1()) {
        // seq_scaling_matrix_present_flag: 6 4x4 lists, then 2 (or 6 for 4:4:4) 8x8 lists
        const lists = chromaFormatIdc === 3 ? 12 : 8;
        for (let i = 0; i < lists; i++) {
          if (r.u1()) skipScalingList(r, i < 6 ? 16 : 64);
        }
      }
    }

    const log2MaxFrameNum = r.ue() + 4;
    if (log2MaxFrameNum > 16) return undefined;
    const picOrderCntType = r.ue();
    if (picOrderCntType === 0) {
      if (r.ue() > 12) return undefined; // log2_max_pic_order_cnt_lsb_minus4
    } else if (picOrderCntType === 1) {
      r.u1(); // delta_pic_order_always_zero_flag
      r.se(); // offset_for_non_ref_pic
      r.se(); // offset_for_top_to_bottom_field
      const cycle = r.ue(); // num_ref_frames_in_pic_order_cnt_cycle
      if (cycle > 255) return undefined;
      for (let i = 0; i < cycle; i++) r.se(); // offset_for_ref_frame[i]
    } else if (picOrderCntType !== 2) {
      return undefined;
    }

    const maxNumRefFrames = r.ue();
    r.u1(); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.u1() === 1;
    if (!frameMbsOnly) r.u1(); // mb_adaptive_frame_field_flag
    r.u1(); // direct_8x8_inference_flag
    // In field-capable streams a map unit is a pair of macroblock rows.
    const heightMbs = heightMapUnits * (frameMbsOnly ? 1 : 2);
    if (widthMbs > MAX_SIDE_MBS || heightMbs > MAX_SIDE_MBS) return undefined;
    const codedWidth = widthMbs * 16;
    const codedHeight = heightMbs * 16;

    let width = codedWidth;
    let height = codedHeight;
    if (r.u1()) {
      // frame_cropping_flag: offsets count in chroma sample units (equations 7-19 to 7-22)
      const left = r.ue();
      const right = r.ue();
      const top = r.ue();
      const bottom = r.ue();
      const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
      const fieldFactor = frameMbsOnly ? 1 : 2;
      const cropUnitX = chromaArrayType === 0 ? 1 : chromaFormatIdc === 3 ? 1 : 2;
      const cropUnitY = (chromaArrayType === 0 ? 1 : chromaFormatIdc === 1 ? 2 : 1) * fieldFactor;
      width -= cropUnitX * (left + right);
      height -= cropUnitY * (top + bottom);
      if (width <= 0 || height <= 0) return undefined;
    }
    r.u1(); // vui_parameters_present_flag: the VUI itself is not needed

    return {
      profileIdc,
      constraintFlags,
      levelIdc,
      spsId,
      chromaFormatIdc,
      separateColourPlane,
      bitDepthLuma,
      bitDepthChroma,
      log2MaxFrameNum,
      picOrderCntType,
      maxNumRefFrames,
      frameMbsOnly,
      codedWidth,
      codedHeight,
      width,
      height,
    };
  } catch (e) {
    if (e === END_OF_DATA) return undefined;
    throw e;
  }
}

/**
 * Reads pic_parameter_set_id and seq_parameter_set_id from a PPS NAL unit (1-byte NAL header,
 * type 8). Returns undefined for malformed input.
 */
export function parseH264PpsIds(nal: Uint8Array): { ppsId: number; spsId: number } | undefined {
  if (nal.length < 2 || (nal[0]! & 0x1f) !== 8) return undefined;
  try {
    // Both ids fit in the first 5 bytes; limiting the copy keeps this cheap for big PPS.
    const r = new BitReader(removeEmulationPrevention(nal, 1, Math.min(nal.length, 8)));
    const ppsId = r.ue();
    const spsId = r.ue();
    if (ppsId > 255 || spsId > 31) return undefined;
    return { ppsId, spsId };
  } catch (e) {
    if (e === END_OF_DATA) return undefined;
    throw e;
  }
}

/**
 * Reads pic_parameter_set_id from a slice NAL unit's header (1-byte NAL header, type 1 or 5; at
 * least its first bytes): first_mb_in_slice, slice_type, then the id. Undefined when malformed.
 */
export function parseH264SlicePpsId(nal: Uint8Array): number | undefined {
  try {
    // Three ue(v) of at most 9, 9 and 17 bits fit in the first 5 bytes after the NAL header.
    const r = new BitReader(removeEmulationPrevention(nal, 1, Math.min(nal.length, 9)));
    r.ue();
    if (r.ue() > 9) return undefined;
    const ppsId = r.ue();
    return ppsId > 255 ? undefined : ppsId;
  } catch (e) {
    if (e === END_OF_DATA) return undefined;
    throw e;
  }
}
