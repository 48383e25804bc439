import type { Container } from '../mux/container.js';
import type { StreamGap, StreamStats } from '../pipeline/stream-pipeline.js';

/**
 * What a RoomRecorder wrote, placed on one timeline: the room's, whose zero is `startedAt` (the
 * moment `start()` ran). Every `...Ms` field is milliseconds on that timeline unless it says
 * otherwise. Written as `<directory>/manifest.json`.
 */
export interface RoomManifest {
  /** Schema version of this document. */
  version: 1;
  /** Wall-clock time of the room timeline's zero, ISO 8601 (UTC). */
  startedAt: string;
  /** Room time at which `stop()` ended the recording. */
  durationMs: number;
  files: ManifestFile[];
  participants: ManifestParticipant[];
  /** The speaker view, when `speakerView` was asked for. */
  speakerView?: ManifestSpeakerView;
}

/** One output file. */
export interface ManifestFile {
  /** Path relative to the room's directory, with `/` separators. */
  path: string;
  kind: 'participant' | 'speaker' | 'mix';
  /** The participant, for `kind: 'participant'`. */
  participant?: string;
  container: Container;
  /** Bytes. */
  size: number;
  /** Length of the file's media, in ms (its longest track). */
  durationMs: number;
  /** Room time of the file's time zero: a player's time t in this file is room time `startMs + t`. */
  startMs: number;
  /** Room time at which the file was closed. */
  endMs: number;
  tracks: ManifestTrack[];
  /** The first output error (e.g. disk full), if writing stopped early. */
  outputError?: string;
}

/** One track of a file. */
export interface ManifestTrack {
  kind: 'audio' | 'video';
  codec: StreamStats['codec'];
  /** The producer the track was first recorded from (the speaker track: none, see speakerChanges). */
  producerId?: string;
  /** Producers that continued the track (a participant who republished), with the room time each took over. */
  producers?: { id: string; fromMs: number }[];
  /** Room time of the track's first and last sample; both undefined when nothing was written. */
  startMs?: number;
  endMs?: number;
  frames: number;
  /** Holes in the track (room time), with their cause. */
  gaps: (Omit<StreamGap, 'startMs'> & { startMs: number })[];
}

/** A participant's presence: one entry per join. */
export interface ManifestParticipant {
  id: string;
  /**
   * Each stay in the room: from the first producer added to leaving (removeParticipant(), all
   * producers closed, or the end of the recording), with the files that hold it (more than one
   * when a producer came that the open file had no track for).
   */
  presences: { joinMs: number; leaveMs?: number; files: string[] }[];
}

/** The speaker view's switches and who could not be in it. */
export interface ManifestSpeakerView {
  /** The speaker file, relative to the directory; undefined when no video ever came. */
  file?: string;
  /** Codec of the speaker track; participants sending another one are left out. */
  codec?: StreamStats['codec'];
  /** Who was shown when: `fromMs` is the room time of the keyframe the view switched at. */
  speakerChanges: ManifestSpeakerChange[];
  /** Participants left out of the view, and why. */
  excluded: { participant: string; codec: string; reason: string }[];
}

export interface ManifestSpeakerChange {
  participant: string;
  /** Room time the view showed this participant from (the keyframe's) and until (the next switch or the end). */
  fromMs: number;
  toMs?: number;
  /** Room time the switch was decided, and how long the keyframe took from then (ms). The first speaker has none. */
  requestedMs?: number;
  latencyMs?: number;
}
