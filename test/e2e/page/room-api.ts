/** What the room page (room.ts, in Chromium) exposes as `window.room`, shared with the tests. Types only. */

/** A participant made in the page: a solid-colour canvas and a tone that sounds in scheduled windows. */
export interface SyntheticMedia {
  /** CSS colour filling the picture. */
  color: string;
  /** Pitch of the participant's tone, in Hz. */
  toneHz: number;
  width: number;
  height: number;
  frameRate: number;
  /** When the tone sounds: wall-clock start (Date.now() ms), length in ms, and amplitude (0-1). */
  tones: { atMs: number; durationMs: number; gain: number }[];
}

export interface JoinResult {
  audioProducerId: string;
  videoProducerId: string;
  /** RTP header extensions of the audio producer (URIs), as negotiated. */
  audioHeaderExtensions: string[];
  videoCodec: string;
  /** How often the page's AudioContext clock moved while it was matched to the wall clock (ms per step; NaN with the microphone). */
  clockStepMs: number;
}

/** One recording as the server lists it. */
export interface RecordingEntry {
  name: string;
  files: { path: string; kind: string; url: string; durationMs: number }[];
}

export interface RoomApi {
  /** Joins with `synthetic` media, or with the camera and microphone when absent. */
  join(synthetic?: SyntheticMedia): Promise<JoinResult>;
  /** Closes this page's producers (server side too) and its transport. */
  leave(): Promise<void>;
}
