import type { RecordingSource } from '../source/source.js';

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

/**
 * Makes a mix, or undefined when this build has none. The mix (src/room/mix/) is written apart;
 * once it is merged this returns `(options) => new MixSource(options)`, the only line to change.
 */
export function mixFactory(): ((options: { channels?: 1 | 2 }) => RoomMix) | undefined {
  return undefined;
}
