import type { RecordingSource } from '../source/source.js';
import { MixSource } from './mix/mix-source.js';

/** A participant's Opus stream into a mix (the agreed interface of src/room/mix/). */
export interface RoomMixInput {
  /** One raw RTP packet, arrived at `arrivalMs` (performance.now() clock). */
  receive(packet: Buffer, arrivalMs: number): void;
  close(): void;
}

/** One Opus stream of the room's mix, for one recording (the agreed interface of src/room/mix/'s MixSource). */
export interface RoomMix extends RecordingSource {
  addInput(id: string, spec: { payloadType: number; clockRate: number; channels?: number }): RoomMixInput;
}

/** Makes a mix (src/room/mix/'s MixSource). */
export function mixFactory(): ((options: { channels?: 1 | 2 }) => RoomMix) | undefined {
  return (options) => new MixSource(options);
}
