/** Helpers of the room tests: staggered replays, beep onsets on the room timeline, scripted audio levels. */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { types } from 'mediasoup';
import { Replayer, type ReplayOptions } from '../../src/replay/replayer.js';
import type { Capture, CapturedStream } from '../../src/source/capture.js';
import { parseRtpPacket } from '../../src/rtp/packet.js';
import { findHeaderExtension } from '../../src/rtp/header-extension.js';

const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

/** A replay of a capture as one participant: producers on the router, started at a given performance.now() time. */
export interface Participant {
  replayer: Replayer;
  /** performance.now() when the first packet was handed to mediasoup. */
  firstSendMs: number | undefined;
  playing: Promise<unknown>;
}

/**
 * Creates the participant's producers now and starts sending at `atMs` (performance.now()).
 * `levels(ms)`, when given, sets every audio packet's ssrc-audio-level (-dBov, 0 loudest .. 127
 * silence) by the time since the first send: who talks when, for the AudioLevelObserver.
 */
export async function joinAt(router: types.Router, capture: Capture, atMs: number, levels?: (sinceStartMs: number) => number): Promise<Participant> {
  const replayer = await Replayer.create(router, capture.streams);
  const participant: Participant = { replayer, firstSendMs: undefined, playing: Promise.resolve() };
  const send: ReplayOptions['send'] = (stream, packet, deliver) => {
    participant.firstSendMs ??= performance.now();
    deliver(levels && stream.kind === 'audio' ? withAudioLevel(stream, packet, levels(performance.now() - participant.firstSendMs)) : packet);
  };
  participant.playing = (async () => {
    const waitMs = atMs - performance.now();
    if (waitMs > 0) await sleep(waitMs);
    return replayer.play({ speed: 1, send });
  })();
  return participant;
}

/** A copy of an audio packet whose ssrc-audio-level extension says `level` (-dBov), voice flag set when loud. */
function withAudioLevel(stream: CapturedStream, packet: Buffer, level: number): Buffer {
  const id = stream.headerExtensions.find((e) => e.uri === AUDIO_LEVEL_URI)?.id;
  if (id === undefined) throw new Error('the capture has no ssrc-audio-level extension');
  const copy = Buffer.from(packet);
  const ext = findHeaderExtension(copy, parseRtpPacket(copy), id);
  if (!ext) throw new Error('audio packet without ssrc-audio-level');
  ext[0] = (level < 50 ? 0x80 : 0) | level;
  return copy;
}

/**
 * Onsets (ms on the room timeline) of the beeps in a file's audio, laid on the timeline by ffmpeg:
 * `-itsoffset` the file's start in the manifest, silence padded from room time 0. `-copyts`: else
 * ffmpeg shifts each input by its own start time, which for MP4 and Matroska Opus is the pre-skip
 * (-6.5 ms: packets the decoder drops), and would move those files 6.5 ms against an Ogg one.
 */
export function beepOnsetsMs(file: string, startMs: number): number[] {
  const pcm = execFileSync(
    'ffmpeg',
    ['-nostdin', '-v', 'error', '-copyts', '-itsoffset', (startMs / 1000).toFixed(6), '-i', file, '-map', '0:a', '-af', 'aresample=async=1:first_pts=0', '-ac', '1', '-ar', '48000', '-f', 's16le', '-'],
    { maxBuffer: 512 * 1024 * 1024 },
  );
  const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length >> 1);
  const onsets: number[] = [];
  let quietSince = -Infinity;
  for (let i = 0; i < samples.length; i++) {
    if (Math.abs(samples[i]!) > 3000) {
      if (i - quietSince > 48 * 300) onsets.push(i / 48);
      quietSince = i;
    }
  }
  return onsets;
}
