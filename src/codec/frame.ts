import type { RtpPacket } from '../rtp/packet.js';

/** H264 decoder configuration carried by the stream (in-band SPS/PPS). */
export interface H264Config {
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

/** One complete media frame rebuilt from RTP packets. */
export interface Frame {
  /** Unwrapped RTP timestamp (can exceed 2^32), in units of the stream's clock rate. */
  timestamp: number;
  /**
   * Frame payload as it goes into the container: for H264 an access unit in AVCC form (each NAL
   * unit preceded by its 4-byte big-endian length; keyframes carry SPS and PPS); for Opus one packet.
   */
  data: Buffer;
  /** True for frames a decoder can start from (H264 IDR; every Opus packet). */
  keyframe: boolean;
  /** Set on keyframes whose SPS/PPS differ from the previous ones (the first keyframe included). */
  config?: H264Config;
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
