/**
 * ISO BMFF (MP4) box writers for a fragmented file: the init segment (ftyp + moov) and the
 * movie fragment boxes (moof/mfhd/traf/tfhd/tfdt/trun, mdat).
 *
 * Byte layouts follow ISO/IEC 14496-12 (boxes), ISO/IEC 14496-15 (AVC sample entries, avcC) and
 * "Encapsulation of Opus in ISO Base Media File Format" (Opus sample entry, dOps). Every multi-byte
 * field is big-endian.
 *
 * The init segment is built once, so its writers return small Buffers that `box()` concatenates.
 * The fragment writers run once per fragment and write in place into a Buffer sized in advance
 * (see `moofSize`), so a fragment costs one allocation.
 */
import type { Av1Config, H264Config, Vp9Config, VideoConfig } from '../../codec/frame.js';
import { av1CodecConfigurationRecord, vpCodecConfigurationRecord } from '../codec-private.js';

// ---------------------------------------------------------------------------------------------
// Box header helpers

/** A box: 32-bit size, four-character type, payload. */
export function box(type: string, ...payload: Buffer[]): Buffer {
  let size = 8;
  for (const p of payload) size += p.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(size, 0);
  out.write(type, 4, 4, 'latin1');
  let off = 8;
  for (const p of payload) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A full box: box header, then 8-bit version and 24-bit flags, then payload. */
export function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  const vf = Buffer.allocUnsafe(4);
  vf.writeUInt32BE(((version & 0xff) << 24 | (flags & 0xffffff)) >>> 0, 0);
  return box(type, vf, ...payload);
}

/** Writes a box header (size, type) in place; returns the offset after it. */
export function writeBoxHeader(buf: Buffer, off: number, size: number, type: number): number {
  buf.writeUInt32BE(size, off);
  buf.writeUInt32BE(type, off + 4);
  return off + 8;
}

/** Writes a full box header (size, type, version, flags) in place; returns the offset after it. */
export function writeFullBoxHeader(buf: Buffer, off: number, size: number, type: number, version: number, flags: number): number {
  buf.writeUInt32BE(size, off);
  buf.writeUInt32BE(type, off + 4);
  buf.writeUInt32BE(((version & 0xff) << 24 | (flags & 0xffffff)) >>> 0, off + 8);
  return off + 12;
}

/** The four characters of a box type as a big-endian 32-bit number. */
export function fourcc(type: string): number {
  return ((type.charCodeAt(0) << 24) | (type.charCodeAt(1) << 16) | (type.charCodeAt(2) << 8) | type.charCodeAt(3)) >>> 0;
}

const TWO_32 = 0x1_0000_0000;

/** Writes an unsigned 64-bit integer given as a JS number (exact up to 2^53). */
export function writeUInt64BE(buf: Buffer, value: number, off: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32) >>> 0, off);
  buf.writeUInt32BE(value % TWO_32, off + 4);
}

function u8(...values: number[]): Buffer {
  return Buffer.from(values);
}

function u16(value: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(value & 0xffff, 0);
  return b;
}

function u32(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * values.length);
  for (let i = 0; i < values.length; i++) b.writeUInt32BE(values[i]! >>> 0, 4 * i);
  return b;
}

function zeros(n: number): Buffer {
  return Buffer.alloc(n);
}

// ---------------------------------------------------------------------------------------------
// Init segment boxes

/** ftyp: major brand iso6 (tfdt, default-base-is-moof need iso5/iso6), compatible with the usual MP4 readers. */
export function ftyp(): Buffer {
  return box('ftyp', Buffer.from('iso6', 'latin1'), u32(0), Buffer.from('iso6iso5isomavc1mp41', 'latin1'));
}

/** Byte offset of the 32-bit duration inside an mvhd version 0 box. */
export const MVHD_DURATION_OFFSET = 24;

/** mvhd version 0 (100 bytes). Duration 0: the movie is fragmented and its length unknown when written. */
export function mvhd(timescale: number, nextTrackId: number, duration = 0): Buffer {
  return fullBox(
    'mvhd', 0, 0,
    u32(0, 0, timescale, duration), // creation_time, modification_time, timescale, duration
    u32(0x00010000), // rate 1.0
    u16(0x0100), // volume 1.0
    zeros(10), // reserved
    displayMatrix(0),
    zeros(24), // pre_defined
    u32(nextTrackId),
  );
}

/**
 * tkhd version 0 (92 bytes), flags track_enabled | track_in_movie | track_in_preview.
 * width/height are the presentation size (integer pixels, written as 16.16).
 */
/**
 * tkhd's transformation matrix for a picture shown rotated clockwise by `rotation` degrees: the
 * matrices ffmpeg writes for its `rotate` tag (and reads back as a display matrix).
 */
function displayMatrix(rotation: 0 | 90 | 180 | 270): Buffer {
  const one = 0x00010000;
  const [a, b, c, d] = { 0: [one, 0, 0, one], 90: [0, -one, one, 0], 180: [-one, 0, 0, -one], 270: [0, one, -one, 0] }[rotation];
  const m = Buffer.alloc(36);
  [a, b, 0, c, d, 0, 0, 0, 0x40000000].forEach((v, i) => m.writeInt32BE(v!, i * 4));
  return m;
}

export function tkhd(trackId: number, isAudio: boolean, width: number, height: number, rotation: 0 | 90 | 180 | 270 = 0): Buffer {
  return fullBox(
    'tkhd', 0, 0x000007,
    u32(0, 0, trackId, 0, 0), // creation_time, modification_time, track_ID, reserved, duration
    zeros(8), // reserved
    u16(0), // layer
    u16(0), // alternate_group
    u16(isAudio ? 0x0100 : 0), // volume
    u16(0), // reserved
    displayMatrix(rotation),
    u32(width * 65536, height * 65536),
  );
}

/** mdhd version 0 (32 bytes), language 'und'. */
export function mdhd(timescale: number): Buffer {
  // language: three 5-bit letters minus 0x60 each: 'u' 'n' 'd'
  const und = ((0x75 - 0x60) << 10) | ((0x6e - 0x60) << 5) | (0x64 - 0x60);
  return fullBox('mdhd', 0, 0, u32(0, 0, timescale, 0), u16(und), u16(0));
}

/** hdlr: handler type 'vide' or 'soun' and a null-terminated name. */
export function hdlr(handlerType: 'vide' | 'soun', name: string): Buffer {
  return fullBox('hdlr', 0, 0, u32(0), Buffer.from(handlerType, 'latin1'), zeros(12), Buffer.from(name + '\0', 'utf8'));
}

/** vmhd (flags 1 as the spec requires): graphicsmode copy, opcolor 0. */
export function vmhd(): Buffer {
  return fullBox('vmhd', 0, 1, zeros(8));
}

/** smhd: balance 0. */
export function smhd(): Buffer {
  return fullBox('smhd', 0, 0, zeros(4));
}

/** dinf with a dref holding one self-contained 'url ' entry (flags 1: media in this file). */
export function dinf(): Buffer {
  return box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));
}

/** The avcC fields that follow the parameter sets for profiles 100, 110, 122, 144. */
interface AvcCHighFields {
  chromaFormat: number;
  bitDepthLumaMinus8: number;
  bitDepthChromaMinus8: number;
}

const HIGH_PROFILES = new Set([100, 110, 122, 144]);

/** Reads chroma_format_idc and bit depths from an SPS of a High-family profile; undefined if it cannot. */
export function readSpsChromaFields(sps: Buffer): AvcCHighFields | undefined {
  // Remove emulation prevention bytes from the first part of the NAL unit (the fields are early).
  const rbsp: number[] = [];
  let zeroRun = 0;
  for (let i = 1; i < sps.length && rbsp.length < 32; i++) {
    const b = sps[i]!;
    if (zeroRun >= 2 && b === 3) {
      zeroRun = 0;
      continue;
    }
    zeroRun = b === 0 ? zeroRun + 1 : 0;
    rbsp.push(b);
  }
  let bit = 24; // after profile_idc, constraint flags, level_idc
  const readBit = (): number => {
    if (bit >= rbsp.length * 8) throw new RangeError('SPS too short');
    const v = (rbsp[bit >> 3]! >> (7 - (bit & 7))) & 1;
    bit++;
    return v;
  };
  const readUe = (): number => {
    let zerosCount = 0;
    while (readBit() === 0) {
      if (++zerosCount > 31) throw new RangeError('bad exp-Golomb code');
    }
    let v = 0;
    for (let i = 0; i < zerosCount; i++) v = v * 2 + readBit();
    return v + 2 ** zerosCount - 1;
  };
  try {
    readUe(); // seq_parameter_set_id
    const chromaFormat = readUe();
    if (chromaFormat === 3) readBit(); // separate_colour_plane_flag
    const bitDepthLumaMinus8 = readUe();
    const bitDepthChromaMinus8 = readUe();
    if (chromaFormat > 3 || bitDepthLumaMinus8 > 6 || bitDepthChromaMinus8 > 6) return undefined;
    return { chromaFormat, bitDepthLumaMinus8, bitDepthChromaMinus8 };
  } catch {
    return undefined;
  }
}

/** Profile bytes written when a video track has no configuration yet: Constrained Baseline, level 3.1 (42E01F), the usual WebRTC H264 profile. */
export const PLACEHOLDER_AVC_PROFILE = { profileIndication: 0x42, profileCompatibility: 0xe0, levelIndication: 0x1f } as const;

/**
 * avcC (AVCDecoderConfigurationRecord). With `config` undefined it holds no parameter sets (allowed
 * for avc3, whose parameter sets travel in-band) and the placeholder profile bytes.
 */
export function avcC(config: H264Config | undefined): Buffer {
  const profile = config ?? PLACEHOLDER_AVC_PROFILE;
  const sps = config?.sps ?? [];
  const pps = config?.pps ?? [];
  const parts: Buffer[] = [
    u8(
      1, // configurationVersion
      profile.profileIndication,
      profile.profileCompatibility,
      profile.levelIndication,
      0xfc | 3, // reserved 6 bits, lengthSizeMinusOne = 3 (4-byte NAL unit lengths)
      0xe0 | Math.min(sps.length, 31), // reserved 3 bits, numOfSequenceParameterSets
    ),
  ];
  for (const s of sps.slice(0, 31)) parts.push(u16(s.length), s);
  parts.push(u8(Math.min(pps.length, 255)));
  for (const p of pps.slice(0, 255)) parts.push(u16(p.length), p);
  if (config && HIGH_PROFILES.has(config.profileIndication)) {
    const high = (config.sps[0] && readSpsChromaFields(config.sps[0])) ?? { chromaFormat: 1, bitDepthLumaMinus8: 0, bitDepthChromaMinus8: 0 };
    parts.push(u8(0xfc | high.chromaFormat, 0xf8 | high.bitDepthLumaMinus8, 0xf8 | high.bitDepthChromaMinus8, 0)); // numOfSequenceParameterSetExt 0
  }
  return box('avcC', ...parts);
}

/**
 * avc3 VisualSampleEntry with its avcC. 'avc3' (not 'avc1') declares that parameter sets may also
 * come in-band, which is what lets a later keyframe carry a new SPS (resolution change).
 */
export function avc3(config: H264Config | undefined, width: number, height: number): Buffer {
  return visualSampleEntry('avc3', width, height, avcC(config));
}

/**
 * vp09 VisualSampleEntry with its vpcC (VP codec ISO-BMFF binding). VP9 key frames describe
 * themselves, so a resolution change needs nothing more in the file.
 */
export function vp09(config: Vp9Config | undefined, width: number, height: number): Buffer {
  const record = vpCodecConfigurationRecord(config ?? { ...PLACEHOLDER_VP9, width, height });
  return visualSampleEntry('vp09', width, height, fullBox('vpcC', 1, 0, record));
}

/** av01 VisualSampleEntry with its av1C (AV1-ISOBMFF); key frames also carry the sequence header in-band. */
export function av01(config: Av1Config | undefined, width: number, height: number): Buffer {
  // Without a sequence header yet: profile 0, 8-bit 4:2:0, no configOBUs (the in-band one is used).
  const record = config ? av1CodecConfigurationRecord(config) : Buffer.from([0x81, 0x08, 0x0c, 0]);
  return visualSampleEntry('av01', width, height, box('av1C', record));
}

/** VP9 profile 0, 8-bit 4:2:0 BT.709-unspecified: what a track declares before its first key frame. */
const PLACEHOLDER_VP9: Omit<Vp9Config, 'width' | 'height'> = {
  codec: 'vp9',
  profile: 0,
  bitDepth: 8,
  chromaSubsampling: 1,
  colourPrimaries: 2,
  transferCharacteristics: 2,
  matrixCoefficients: 2,
  fullRange: false,
};

function visualSampleEntry(type: string, width: number, height: number, config: Buffer): Buffer {
  const compressorName = zeros(32);
  return box(
    type,
    zeros(6), // reserved
    u16(1), // data_reference_index
    u16(0), u16(0), zeros(12), // pre_defined, reserved, pre_defined[3]
    u16(width), u16(height),
    u32(0x00480000, 0x00480000), // horizresolution, vertresolution: 72 dpi
    u32(0), // reserved
    u16(1), // frame_count
    compressorName,
    u16(0x0018), // depth
    u16(0xffff), // pre_defined = -1
    config,
  );
}

/** dOps (OpusSpecificBox), channel mapping family 0 (mono or stereo). */
export function dOps(channels: number, preSkip: number, inputSampleRate = 48000, outputGain = 0): Buffer {
  const b = Buffer.allocUnsafe(11);
  b.writeUInt8(0, 0); // Version
  b.writeUInt8(channels, 1); // OutputChannelCount
  b.writeUInt16BE(preSkip, 2); // PreSkip
  b.writeUInt32BE(inputSampleRate, 4); // InputSampleRate
  b.writeInt16BE(outputGain, 8); // OutputGain (Q7.8 dB)
  b.writeUInt8(0, 10); // ChannelMappingFamily
  return box('dOps', b);
}

/** 'Opus' AudioSampleEntry: channelcount = output channels, samplesize 16, samplerate 48000 (16.16). */
export function opusSampleEntry(channels: number, preSkip: number): Buffer {
  return box(
    'Opus',
    zeros(6), // reserved
    u16(1), // data_reference_index
    zeros(8), // reserved (version 0 entry)
    u16(channels), // channelcount
    u16(16), // samplesize
    u16(0), u16(0), // pre_defined, reserved
    u32(48000 * 65536), // samplerate
    dOps(channels, preSkip),
  );
}

/** stbl with one sample entry and empty sample tables (the samples are in the fragments). */
export function stbl(sampleEntry: Buffer): Buffer {
  return box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), sampleEntry),
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0, 0)), // sample_size, sample_count
    fullBox('stco', 0, 0, u32(0)),
  );
}

/** trex: defaults for the track's fragments (all overridden by tfhd/trun). */
export function trex(trackId: number): Buffer {
  return fullBox('trex', 0, 0, u32(trackId, 1, 0, 0, 0));
}

/** Byte offset of the 64-bit fragment_duration inside a mehd version 1 box. */
export const MEHD_DURATION_OFFSET = 12;

/** mehd version 1: fragment_duration in the movie timescale, 0 = unknown. */
export function mehd(fragmentDuration = 0): Buffer {
  const d = Buffer.allocUnsafe(8);
  writeUInt64BE(d, fragmentDuration, 0);
  return fullBox('mehd', 1, 0, d);
}

/** A track as described in the init segment. */
export type InitTrack =
  | {
      kind: 'video';
      trackId: number;
      timescale: number;
      codec: 'h264' | 'vp9' | 'av1';
      /** First decoder configuration; undefined writes an entry without one (the stream carries it in-band). */
      config: VideoConfig | undefined;
      /** Clockwise display rotation in degrees (tkhd matrix). */
      rotation?: 0 | 90 | 180 | 270;
      /** See the audio variant. */
      delay?: number;
    }
  | {
      kind: 'audio';
      trackId: number;
      timescale: number;
      channels: number;
      preSkip: number;
      /** When the track's media starts on the movie timeline, in movie timescale units: an empty edit before it. */
      delay?: number;
    };

/** Sample entry size when a video track has no configuration: coded size written in avc3 (tkhd gets 0x0). */
export const PLACEHOLDER_VIDEO_SIZE = { width: 640, height: 360 } as const;

export function trak(t: InitTrack): Buffer {
  const isAudio = t.kind === 'audio';
  let width = 0;
  let height = 0;
  let entry: Buffer;
  if (t.kind === 'video') {
    // Without a config: tkhd 0x0, no presentation size to impose (Chromium would derive a display
    // aspect ratio from a non-zero tkhd size); the sample entry needs a non-zero coded size for
    // Chromium's config validation; decoders take the real size from the stream.
    const config = t.config?.codec === t.codec ? t.config : undefined;
    if (config) {
      width = config.width;
      height = config.height;
    }
    const entryWidth = config?.width ?? PLACEHOLDER_VIDEO_SIZE.width;
    const entryHeight = config?.height ?? PLACEHOLDER_VIDEO_SIZE.height;
    entry =
      t.codec === 'vp9'
        ? vp09(config as Vp9Config | undefined, entryWidth, entryHeight)
        : t.codec === 'av1'
          ? av01(config as Av1Config | undefined, entryWidth, entryHeight)
          : avc3(config as H264Config | undefined, entryWidth, entryHeight);
  } else {
    entry = opusSampleEntry(t.channels, t.preSkip);
  }
  const edit = edts(t.delay ?? 0, t.kind === 'audio' ? t.preSkip : 0);
  return box(
    'trak',
    tkhd(t.trackId, isAudio, width, height, t.kind === 'video' ? t.rotation : 0),
    ...(edit ? [edit] : []),
    box(
      'mdia',
      mdhd(t.timescale),
      hdlr(isAudio ? 'soun' : 'vide', isAudio ? 'SoundHandler' : 'VideoHandler'),
      box('minf', isAudio ? smhd() : vmhd(), dinf(), stbl(entry)),
    ),
  );
}

/**
 * edts with an elst that starts the track's media `delay` (movie timescale) into the movie: an
 * empty edit, then the media from its time `mediaTime` (media timescale) to its end
 * (segment_duration 0, as in fragmented files whose length is unknown when the moov is written).
 * A late track's fragments could instead carry the delay in their decode times, but ffmpeg (and
 * Chromium, which uses it) then counts the delay twice in the duration. `mediaTime` is Opus's
 * pre-skip, as the Opus-in-ISOBMFF mapping (section 4.3) asks: the decoder's first pre-skip
 * output samples come before the first input sample, so media time pre-skip is what plays at
 * `delay`. Undefined when neither is needed.
 */
export function edts(delay: number, mediaTime = 0): Buffer | undefined {
  if (delay === 0 && mediaTime === 0) return undefined;
  const rate = u32(0x00010000); // media_rate_integer 1, media_rate_fraction 0
  const media = [u32(0, mediaTime), rate];
  const entries = delay > 0 ? [u32(2, delay, 0xffffffff), rate, ...media] : [u32(1), ...media];
  return box('edts', fullBox('elst', 0, 0, ...entries));
}

export interface InitSegment {
  data: Buffer;
  /** Movie timescale (mvhd, mehd). */
  movieTimescale: number;
  /** Offset in `data` of mvhd's 32-bit duration (movie timescale). */
  mvhdDurationOffset: number;
  /** Offset in `data` of mehd's 64-bit fragment_duration (movie timescale). */
  mehdDurationOffset: number;
}

/** Movie timescale: milliseconds. */
export const MOVIE_TIMESCALE = 1000;

/** ftyp + moov (mvhd, one trak per track, mvex with mehd and one trex per track). */
export function initSegment(tracks: InitTrack[]): InitSegment {
  const ft = ftyp();
  const mv = mvhd(MOVIE_TIMESCALE, tracks.length === 0 ? 1 : Math.max(...tracks.map((t) => t.trackId)) + 1);
  const traks = tracks.map(trak);
  const me = mehd(0);
  const mvex = box('mvex', me, ...tracks.map((t) => trex(t.trackId)));
  const moov = box('moov', mv, ...traks, mvex);
  let traksSize = 0;
  for (const t of traks) traksSize += t.length;
  const moovStart = ft.length;
  return {
    data: Buffer.concat([ft, moov]),
    movieTimescale: MOVIE_TIMESCALE,
    mvhdDurationOffset: moovStart + 8 + MVHD_DURATION_OFFSET,
    mehdDurationOffset: moovStart + 8 + mv.length + traksSize + 8 + MEHD_DURATION_OFFSET,
  };
}

// ---------------------------------------------------------------------------------------------
// Movie fragment boxes, written in place

const T_MOOF = fourcc('moof');
const T_MFHD = fourcc('mfhd');
const T_TRAF = fourcc('traf');
const T_TFHD = fourcc('tfhd');
const T_TFDT = fourcc('tfdt');
const T_TRUN = fourcc('trun');
const T_MDAT = fourcc('mdat');

export const MOOF_HEADER_SIZE = 8;
export const MFHD_SIZE = 16;
export const TFHD_SIZE = 16;
export const TFDT_SIZE = 20;
export const TRUN_HEADER_SIZE = 20;
export const TRUN_ENTRY_SIZE = 12;
export const MDAT_HEADER_SIZE = 8;

/** tfhd flags: default-base-is-moof (data offsets count from the start of the moof). */
export const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
/** trun flags: data-offset, sample-duration, sample-size, sample-flags present. */
export const TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200 | 0x000400;

/**
 * Sample flags (ISO 14496-12 8.8.3.1): sample_depends_on (bits 25..24) 2 = depends on no other
 * sample, 1 = depends on others; sample_is_non_sync_sample (bit 16).
 */
export const SAMPLE_FLAGS_SYNC = 0x02000000;
export const SAMPLE_FLAGS_NON_SYNC = 0x01010000;

/** Size of a traf holding `sampleCount` samples (tfhd, tfdt v1, trun with 3 fields per sample). */
export function trafSize(sampleCount: number): number {
  return 8 + TFHD_SIZE + TFDT_SIZE + TRUN_HEADER_SIZE + TRUN_ENTRY_SIZE * sampleCount;
}

/** moof header and mfhd; returns the offset after mfhd. */
export function writeMoofStart(buf: Buffer, off: number, moofSize: number, sequenceNumber: number): number {
  off = writeBoxHeader(buf, off, moofSize, T_MOOF);
  off = writeFullBoxHeader(buf, off, MFHD_SIZE, T_MFHD, 0, 0);
  buf.writeUInt32BE(sequenceNumber >>> 0, off);
  return off + 4;
}

/**
 * One traf: tfhd (default-base-is-moof), tfdt version 1, trun with data_offset and per-sample
 * duration/size/flags taken from the first `count` entries of the arrays. Returns the offset after it.
 */
export function writeTraf(
  buf: Buffer,
  off: number,
  trackId: number,
  baseMediaDecodeTime: number,
  dataOffset: number,
  count: number,
  durations: Uint32Array,
  sizes: Uint32Array,
  flags: Uint32Array,
): number {
  off = writeBoxHeader(buf, off, trafSize(count), T_TRAF);
  off = writeFullBoxHeader(buf, off, TFHD_SIZE, T_TFHD, 0, TFHD_DEFAULT_BASE_IS_MOOF);
  buf.writeUInt32BE(trackId, off);
  off += 4;
  off = writeFullBoxHeader(buf, off, TFDT_SIZE, T_TFDT, 1, 0);
  writeUInt64BE(buf, baseMediaDecodeTime, off);
  off += 8;
  off = writeFullBoxHeader(buf, off, TRUN_HEADER_SIZE + TRUN_ENTRY_SIZE * count, T_TRUN, 0, TRUN_FLAGS);
  buf.writeUInt32BE(count, off);
  buf.writeInt32BE(dataOffset, off + 4);
  off += 8;
  for (let i = 0; i < count; i++) {
    const d = durations[i]!;
    const s = sizes[i]!;
    const f = flags[i]!;
    buf[off] = d >>> 24;
    buf[off + 1] = d >>> 16;
    buf[off + 2] = d >>> 8;
    buf[off + 3] = d;
    buf[off + 4] = s >>> 24;
    buf[off + 5] = s >>> 16;
    buf[off + 6] = s >>> 8;
    buf[off + 7] = s;
    buf[off + 8] = f >>> 24;
    buf[off + 9] = f >>> 16;
    buf[off + 10] = f >>> 8;
    buf[off + 11] = f;
    off += 12;
  }
  return off;
}

/** mdat header for `payloadSize` bytes of sample data; returns the offset after it. */
export function writeMdatHeader(buf: Buffer, off: number, payloadSize: number): number {
  return writeBoxHeader(buf, off, MDAT_HEADER_SIZE + payloadSize, T_MDAT);
}
