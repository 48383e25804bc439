/**
 * Test fixtures for the WebM/Matroska writer tests: VP8, VP9 and AV1 frames read from the
 * committed IVF files (made once by make.sh with libvpx and libaom), with the configuration a
 * depacketizer would attach to keyframes. H264 and Opus come from test/data/mp4/fixtures.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Av1Config, VideoConfig, Vp8Config, Vp9Config } from '../../../src/codec/frame.js';

const here = new URL('.', import.meta.url).pathname;

export interface VideoFrame {
  data: Buffer;
  keyframe: boolean;
  /** Set on every keyframe (a feed attaches it only when it changes, as depacketizers do). */
  config?: VideoConfig;
}

/** Frame payloads of an IVF file (32-byte file header, then a 12-byte header per frame). */
export function readIvf(file: string): Buffer[] {
  const b = readFileSync(join(here, file));
  if (b.toString('latin1', 0, 4) !== 'DKIF') throw new Error(`${file}: not IVF`);
  const frames: Buffer[] = [];
  for (let off = b.readUInt16LE(6); off + 12 <= b.length; ) {
    const size = b.readUInt32LE(off);
    frames.push(b.subarray(off + 12, off + 12 + size));
    off += 12 + size;
  }
  return frames;
}

export type Size = '160x120' | '320x180';

function dims(size: Size): { width: number; height: number } {
  const [w, h] = size.split('x').map(Number);
  return { width: w!, height: h! };
}

export function vp8Frames(size: Size): VideoFrame[] {
  const config: Vp8Config = { codec: 'vp8', ...dims(size) };
  return readIvf(`vp8-${size}.ivf`).map((data) => {
    const keyframe = (data[0]! & 1) === 0; // RFC 6386 9.1: frame type bit 0 = key frame
    return keyframe ? { data, keyframe, config } : { data, keyframe };
  });
}

export function vp9Frames(size: Size): VideoFrame[] {
  // libvpx, yuv420p 8-bit, no colour description in the source: profile 0, unspecified code points.
  const config: Vp9Config = {
    codec: 'vp9', ...dims(size), profile: 0, bitDepth: 8, chromaSubsampling: 0,
    colourPrimaries: 2, transferCharacteristics: 2, matrixCoefficients: 2, fullRange: false,
  };
  return readIvf(`vp9-${size}.ivf`).map((data) => {
    // Profile 0 uncompressed header: frame_marker(2) profile(2) show_existing_frame(1) frame_type(1), 0 = key.
    const b = data[0]!;
    const keyframe = ((b >> 3) & 1) === 0 && ((b >> 2) & 1) === 0;
    return keyframe ? { data, keyframe, config } : { data, keyframe };
  });
}

/** Reads a LEB128 (AV1 spec 4.10.5) at `off`. */
function leb128(b: Buffer, off: number): { value: number; length: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = b[off + i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (!(byte & 0x80)) return { value, length: i + 1 };
  }
  throw new Error('bad leb128');
}

/** The OBUs of a temporal unit: type, and the whole OBU. */
function obus(tu: Buffer): { type: number; obu: Buffer }[] {
  const out: { type: number; obu: Buffer }[] = [];
  for (let off = 0; off < tu.length; ) {
    const header = tu[off]!;
    const ext = (header >> 2) & 1;
    if (!((header >> 1) & 1)) throw new Error('OBU without size field');
    const size = leb128(tu, off + 1 + ext);
    const end = off + 1 + ext + size.length + size.value;
    out.push({ type: (header >> 3) & 0xf, obu: tu.subarray(off, end) });
    off = end;
  }
  return out;
}

/**
 * Av1Config of a sequence header OBU: seq_profile, seq_level_idx[0] and seq_tier[0] read from its
 * first bits (AV1 spec 5.5.1; libaom here writes no timing info and one operating point); the colour
 * fields are those of 8-bit 4:2:0 (make.sh encodes yuv420p), chroma sample position unknown (0).
 */
function av1Config(sequenceHeaderObu: Buffer, size: Size): Av1Config {
  const payloadStart = 1 + leb128(sequenceHeaderObu, 1).length;
  const p = sequenceHeaderObu.subarray(payloadStart);
  let bit = 0;
  const read = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) v = v * 2 + ((p[bit >> 3]! >> (7 - (bit & 7))) & 1);
    return v;
  };
  const seqProfile = read(3);
  read(1); // still_picture
  if (read(1)) throw new Error('reduced_still_picture_header not expected');
  if (read(1)) throw new Error('timing_info_present_flag not expected');
  read(1); // initial_display_delay_present_flag
  read(5); // operating_points_cnt_minus_1
  read(12); // operating_point_idc[0]
  const seqLevelIdx0 = read(5);
  const seqTier0 = seqLevelIdx0 > 7 ? read(1) : 0;
  return {
    codec: 'av1', ...dims(size), seqProfile, seqLevelIdx0, seqTier0,
    highBitdepth: false, twelveBit: false, monochrome: false,
    chromaSubsamplingX: 1, chromaSubsamplingY: 1, chromaSamplePosition: 0,
    sequenceHeaderObu: Buffer.from(sequenceHeaderObu),
  };
}

/** AV1 temporal units without temporal delimiters; keyframes are the units carrying a sequence header. */
export function av1Frames(size: Size): VideoFrame[] {
  return readIvf(`av1-${size}.ivf`).map((tu) => {
    const parts = obus(tu).filter((o) => o.type !== 2); // OBU_TEMPORAL_DELIMITER
    const data = Buffer.concat(parts.map((o) => o.obu));
    const seq = parts.find((o) => o.type === 1);
    return seq ? { data, keyframe: true, config: av1Config(seq.obu, size) } : { data, keyframe: false };
  });
}
