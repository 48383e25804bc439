/**
 * The messages between the bench processes (IPC): runner <-> host (bench/host.ts), host <-> sender
 * (bench/sender.ts), host <-> ours' UDP recorder process (bench/udp-recorder.ts). A module of its
 * own because those three are scripts: importing one would run it.
 */
import type { UdpStream } from '../src/index.js';
import type { DecodableFrames } from '../test/helpers/decodable-frames.js';
import type { ImpairmentProfile } from '../test/helpers/impairer.js';

export const APPROACHES = ['ours-direct', 'ours-udp', 'ffmpeg', 'gstreamer'] as const;
export type Approach = (typeof APPROACHES)[number];

export interface HostConfig {
  /** Distinct live streams the sender plays; recording i records stream i % streams. */
  streams: number;
  dir: string;
  groups: { approach: Approach; count: number; profile?: ImpairmentProfile }[];
}

export interface StartedRecording {
  approach: Approach;
  output: string;
  stream: number;
  requestedAtMs: number;
  pid?: number;
}

export interface StoppedRecording extends StartedRecording {
  ok: boolean;
  detail: string;
  oracle?: DecodableFrames;
}

export type HostCommand = { config: HostConfig } | { gc: true } | { record: true } | { window: true } | { pause: number } | { profile: 'start' | string } | { stop: true };
export type HostEvent =
  | { ready: { pids: { host: number; worker: number; sender: number; udpRecorder?: number }; senderStartMs: number } }
  | { recording: { started: StartedRecording[]; failed: { approach: Approach; error: string }[] } }
  | { resumed: { stream: number; epochMs: number } }
  /** After a full GC: V8 heap + external + array buffers in use, bytes (live data, free of the RSS's heap-sizing noise). */
  | { gced: { host: number; udpRecorder?: number } }
  | { profiled: string }
  | { stopped: { recordings: StoppedRecording[]; loopDelayMs: { p99: number; max: number } } };

export interface SenderStream {
  /** The PlainTransport's port. */
  port: number;
  videoSsrc: number;
  audioSsrc: number;
  phaseMs: number;
}

export type SenderCommand = { streams: SenderStream[] } | { pause: { ms: number } };
export type SenderEvent = { started: number } | { resumed: { stream: number; epochMs: number } };

/** V8 heap + external + array buffers in use, bytes. */
export function liveBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

export type UdpRecorderCommand = { record: { id: number; streams: UdpStream[]; output: string } } | { stop: number } | { gc: true };
export type UdpRecorderEvent = { port: number } | { started: number } | { failed: number; error: string } | { stopped: number; ok: boolean; detail: string } | { gced: number };
