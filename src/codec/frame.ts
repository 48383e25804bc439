import type { RtpPacket } from '../rtp/packet.js';

/** H264 decoder configuration carried by the stream (in-band SPS/PPS). */
export interface H264Config {
  codec: 'h264';
  /** SPS NAL units, without start codes or length prefixes. */
  sps: Buffer[];
  /** PPS NAL units, without start codes or length prefixes. */
  pps: Buffer[];
  /** Coded picture size after cropping, from the SPS. */
  width: number;
  height: number;
  /** profile_idc, constraint flags and level_idc: bytes 1..3 of the first SPS. */
  profileIndication: number;
  profileCompatibility: number;
  levelIndication: number;
}

/** VP8 stream properties, from a key frame's header (RFC 6386 section 9.1). */
export interface Vp8Config {
  codec: 'vp8';
  width: number;
  height: number;
}

/**
 * VP9 stream properties, from a key frame's uncompressed header (VP9 bitstream spec 6.2), in the
 * terms of the VP codec ISO-BMFF binding's vpcC box (also what Matroska's Colour elements take).
 */
export interface Vp9Config {
  codec: 'vp9';
  width: number;
  height: number;
  /** 0 to 3. */
  profile: number;
  /** 8, 10 or 12. */
  bitDepth: number;
  /** vpcC chromaSubsampling: 0 4:2:0 vertical, 1 4:2:0 colocated, 2 4:2:2, 3 4:4:4. */
  chromaSubsampling: number;
  /** VP9 color_space mapped to ISO/IEC 23091-2 code points (2 = unspecified). */
  colourPrimaries: number;
  transferCharacteristics: number;
  matrixCoefficients: number;
  fullRange: boolean;
}

/** AV1 stream properties, from the sequence header OBU (AV1 spec 5.5), as av1C needs them. */
export interface Av1Config {
  codec: 'av1';
  width: number;
  height: number;
  seqProfile: number;
  seqLevelIdx0: number;
  seqTier0: number;
  highBitdepth: boolean;
  twelveBit: boolean;
  monochrome: boolean;
  chromaSubsamplingX: number;
  chromaSubsamplingY: number;
  chromaSamplePosition: number;
  /** The whole sequence header OBU (header with obu_has_size_field = 1, size, payload), for av1C's configOBUs. */
  sequenceHeaderObu: Buffer;
}

/** Decoder configuration of a video stream, by codec. */
export type VideoConfig = H264Config | Vp8Config | Vp9Config | Av1Config;

/** One complete media frame rebuilt from RTP packets. */
export interface Frame {
  /** Unwrapped RTP timestamp (can exceed 2^32), in units of the stream's clock rate. */
  timestamp: number;
  /**
   * Frame payload as it goes into the container: for H264 an access unit in AVCC form (each NAL
   * unit preceded by its 4-byte big-endian length; keyframes carry SPS and PPS); VP8 and VP9 one
   * frame as the encoder wrote it; AV1 one temporal unit of OBUs with size fields and without
   * temporal delimiters (keyframes carry the sequence header); Opus one packet.
   */
  data: Buffer;
  /** True for frames a decoder can start from (H264 IDR, VP8/VP9/AV1 key frames; every Opus packet). */
  keyframe: boolean;
  /** Set on keyframes whose configuration differs from the previous one (the first keyframe included). */
  config?: VideoConfig;
  /** Duration in clock-rate units where the payload states it (Opus TOC); undefined for video. */
  duration?: number;
}

/**
 * Rebuilds frames from RTP packets of one stream. Packets arrive in sequence order with no
 * duplicates (the jitter buffer sees to that); `reset()` tells of a gap, after which no frame that
 * misses a packet may be emitted.
 */
export interface Depacketizer {
  /** Feeds the next packet; `timestamp` is its unwrapped RTP timestamp. Emits frames through the callback given at construction. */
  push(packet: RtpPacket, timestamp: number): void;
  /** A packet was lost: drop the frame being assembled and wait for the start of a new one. */
  reset(): void;
  /** Frames dropped because they were incomplete, and malformed payloads dropped. */
  readonly stats: DepacketizerStats;
}

export interface DepacketizerStats {
  framesEmitted: number;
  framesDroppedIncomplete: number;
  packetsMalformed: number;
}

export type FrameCallback = (frame: Frame) => void;
