import type { VideoConfig } from '../../codec/frame.js';

/** A track as declared to the fragmenter before recording starts. */
export type Mp4TrackSpec =
  | { kind: 'video'; codec: 'h264' | 'vp9' | 'av1'; /** units per second of sample times; 90000 for RTP video */ timescale: number }
  | { kind: 'audio'; codec: 'opus'; /** 48000 for Opus */ timescale: number; channels: number; /** Opus pre-skip in 48 kHz samples */ preSkip: number };

/** One sample handed to the fragmenter. */
export interface Mp4Sample {
  /** Decode time in the track's timescale, counted from the start of the recording; never decreases. */
  dts: number;
  data: Buffer;
  keyframe: boolean;
  /** Duration in the track's timescale if known up front (Opus); otherwise taken from the next sample. */
  duration?: number;
  /** Video: set when the decoder configuration is new (first keyframe, resolution change). */
  config?: VideoConfig;
  /** Video: clockwise rotation, in degrees, the picture needs to be shown upright; set on keyframes when it changes. */
  rotation?: 0 | 90 | 180 | 270;
}
