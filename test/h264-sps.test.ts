import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseH264PpsIds, parseH264Sps, removeEmulationPrevention } from '../src/codec/h264-sps.js';

/**
 * SPS units written by libx264 (and crafted ones for what x264 never writes: scaling lists in the
 * SPS, POC type 1, separate colour planes), each with the size ffprobe reports for a stream using
 * it and the syntax elements ffmpeg's trace_headers read from it. See data/codec/make-data.sh.
 */
interface SpsCase {
  name: string;
  sps: string;
  ffprobe: { width: number; height: number } | null;
  trace: Record<string, number>;
}
const cases = JSON.parse(readFileSync(new URL('data/codec/h264-sps.json', import.meta.url), 'utf8')) as SpsCase[];

/** Size after cropping per H.264 equations 7-18 to 7-22, from ffmpeg's reading of the fields. */
function sizeFromTrace(t: Record<string, number>): { width: number; height: number } {
  const chroma = t.chroma_format_idc ?? 1;
  const arrayType = t.separate_colour_plane_flag ? 0 : chroma;
  const frameMbsOnly = t.frame_mbs_only_flag!;
  const unitX = arrayType === 0 || chroma === 3 ? 1 : 2;
  const unitY = (arrayType === 0 || chroma !== 1 ? 1 : 2) * (2 - frameMbsOnly);
  return {
    width: (t.pic_width_in_mbs_minus1! + 1) * 16 - unitX * ((t.frame_crop_left_offset ?? 0) + (t.frame_crop_right_offset ?? 0)),
    height:
      (t.pic_height_in_map_units_minus1! + 1) * 16 * (2 - frameMbsOnly) -
      unitY * ((t.frame_crop_top_offset ?? 0) + (t.frame_crop_bottom_offset ?? 0)),
  };
}

describe('parseH264Sps on real and crafted SPS', () => {
  it('has the data it needs', () => {
    const names = cases.map((c) => c.name);
    for (const n of ['baseline-640x360', 'main-1280x720', 'baseline-320x240', 'high-1920x1080']) expect(names).toContain(n);
  });

  for (const c of cases) {
    it(`${c.name}: size and fields match ffmpeg`, () => {
      const sps = parseH264Sps(Buffer.from(c.sps, 'hex'));
      expect(sps).toBeDefined();
      const t = c.trace;
      // ffprobe could not decode the separate-colour-plane stream; its size comes from the fields.
      const expected = c.ffprobe ?? sizeFromTrace(t);
      expect({ width: sps!.width, height: sps!.height }).toEqual(expected);
      expect(sps!.profileIdc).toBe(t.profile_idc);
      expect(sps!.levelIdc).toBe(t.level_idc);
      expect(sps!.spsId).toBe(t.seq_parameter_set_id);
      expect(sps!.chromaFormatIdc).toBe(t.chroma_format_idc ?? 1);
      expect(sps!.separateColourPlane).toBe(t.separate_colour_plane_flag === 1);
      expect(sps!.bitDepthLuma).toBe(8 + (t.bit_depth_luma_minus8 ?? 0));
      expect(sps!.log2MaxFrameNum).toBe(4 + t.log2_max_frame_num_minus4!);
      expect(sps!.picOrderCntType).toBe(t.pic_order_cnt_type);
      expect(sps!.maxNumRefFrames).toBe(t.max_num_ref_frames);
      expect(sps!.frameMbsOnly).toBe(t.frame_mbs_only_flag === 1);
      expect(sps!.codedWidth).toBe((t.pic_width_in_mbs_minus1! + 1) * 16);
    });
  }

  it('640x360 is coded as 368 rows and cropped', () => {
    const sps = parseH264Sps(Buffer.from(cases.find((c) => c.name === 'baseline-640x360')!.sps, 'hex'))!;
    expect(sps.codedHeight).toBe(368);
    expect(sps.height).toBe(360);
    expect(sps.profileIdc).toBe(66);
  });

  it('reads the profile and level bytes of the High 1080p SPS', () => {
    const bytes = Buffer.from(cases.find((c) => c.name === 'high-1920x1080')!.sps, 'hex');
    const sps = parseH264Sps(bytes)!;
    expect(sps.profileIdc).toBe(100);
    expect(sps.constraintFlags).toBe(bytes[2]);
    expect(sps.levelIdc).toBe(40);
  });

  it('returns undefined for every truncation of every SPS, and for other NAL types', () => {
    for (const c of cases) {
      const bytes = Buffer.from(c.sps, 'hex');
      // The last bytes may hold only VUI and trailing bits, which are not read: cut inside the fields read.
      for (let n = 0; n < 8; n++) expect(parseH264Sps(bytes.subarray(0, n)), `${c.name} cut at ${n}`).toBeUndefined();
      const pps = Buffer.from(bytes);
      pps[0] = 0x68;
      expect(parseH264Sps(pps)).toBeUndefined();
    }
  });

  it('rejects out-of-range values instead of computing nonsense', () => {
    // profile 66, level 30, sps id 32 (ue 000001 00001): ids go up to 31
    expect(parseH264Sps(Buffer.from([0x67, 66, 0, 30, 0b00000100, 0b00110000, 0xff, 0xff]))).toBeUndefined();
    // all-zero payload: an Exp-Golomb code with more than 31 leading zeros
    expect(parseH264Sps(Buffer.from([0x67, 66, 0, 30, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
  });
});

describe('removeEmulationPrevention', () => {
  it('removes the 03 of each 00 00 03 and nothing else', () => {
    // 00 00 03 03: only the first 03 is an escape; 00 03: no escape
    const input = Buffer.from([1, 0, 0, 3, 0, 5, 0, 0, 3, 3, 0, 3, 0, 0, 3]);
    expect(Buffer.from(removeEmulationPrevention(input))).toEqual(Buffer.from([1, 0, 0, 0, 5, 0, 0, 3, 0, 3, 0, 0]));
  });

  it('returns a view (no copy) when there is nothing to remove', () => {
    const input = Buffer.from([1, 2, 0, 0, 1, 4]);
    const out = removeEmulationPrevention(input, 1, 5);
    expect(out.buffer).toBe(input.buffer);
    expect(Array.from(out)).toEqual([2, 0, 0, 1]);
  });

  it('matters for the real SPS: 640x360 contains escapes', () => {
    const bytes = Buffer.from(cases.find((c) => c.name === 'baseline-640x360')!.sps, 'hex');
    expect(removeEmulationPrevention(bytes).length).toBeLessThan(bytes.length);
  });
});

describe('parseH264PpsIds', () => {
  it('reads pps and sps ids', () => {
    expect(parseH264PpsIds(Buffer.from([0x68, 0xce, 0x3c, 0x80]))).toEqual({ ppsId: 0, spsId: 0 });
    // ue 3 = 00100, ue 1 = 010 -> 0010 0010 then stop bit
    expect(parseH264PpsIds(Buffer.from([0x68, 0b00100010, 0x80]))).toEqual({ ppsId: 3, spsId: 1 });
  });

  it('returns undefined for malformed or non-PPS input', () => {
    expect(parseH264PpsIds(Buffer.from([0x68]))).toBeUndefined();
    expect(parseH264PpsIds(Buffer.from([0x68, 0, 0, 0]))).toBeUndefined();
    expect(parseH264PpsIds(Buffer.from([0x67, 0xce, 0x3c, 0x80]))).toBeUndefined();
  });
});
