import type { StreamSpec } from '../pipeline/stream-spec.js';
import { Av1Depacketizer } from './av1.js';
import type { Depacketizer, FrameCallback } from './frame.js';
import { H264Depacketizer } from './h264.js';
import { OpusDepacketizer } from './opus.js';
import { Vp8Depacketizer } from './vp8.js';
import { Vp9Depacketizer } from './vp9.js';

/** The depacketizer for a stream's codec. */
export function createDepacketizer(spec: StreamSpec, onFrame: FrameCallback): Depacketizer {
  switch (spec.codec) {
    case 'h264':
      return new H264Depacketizer(onFrame, { spropParameterSets: spec.spropParameterSets });
    case 'vp8':
      return new Vp8Depacketizer(onFrame);
    case 'vp9':
      return new Vp9Depacketizer(onFrame);
    case 'av1':
      return new Av1Depacketizer(onFrame);
    case 'opus':
      return new OpusDepacketizer(onFrame);
  }
}
