/** Real mediasoup worker + router + fixture replayer for integration tests. */
import { readFileSync } from 'node:fs';
import * as mediasoup from 'mediasoup';
import { mediaCodecsFor, Replayer } from '../../src/replay/replayer.js';
import { loadCaptureFiles, type Capture } from '../../src/source/capture.js';

export const FIXTURES = new URL('../../fixtures/', import.meta.url).pathname;

/** The H264+Opus fixture's capture and its encoder-side ground truth (fixtures/h264-opus.json). */
export function h264OpusFixture(): { capture: Capture; truth: FixtureTruth } {
  return videoOpusFixture('h264');
}

/** A `<codec>-opus` fixture's capture and its encoder-side ground truth (fixtures/<codec>-opus.json). */
export function videoOpusFixture(codec: 'h264' | 'vp8' | 'vp9' | 'av1' | 'h264-resize' | 'vp8-resize'): { capture: Capture; truth: FixtureTruth } {
  return {
    capture: loadCaptureFiles(`${FIXTURES}${codec}-opus.pcap`, `${FIXTURES}${codec}-opus.sdp`),
    truth: JSON.parse(readFileSync(`${FIXTURES}${codec}-opus.json`, 'utf8')) as FixtureTruth,
  };
}

export interface FixtureTruth {
  video: { width: number; height: number; fps: number; encoded: { frames: number; keyframes: number }; pcap: { rtpPackets: number } };
  audio: { encoded: { packets: number; durationSeconds?: number }; pcap: { rtpPackets: number } };
}

/** A worker and a router that accept the capture's codecs, and a replayer producing into it. */
export async function replayRig(capture: Capture): Promise<{
  worker: mediasoup.types.Worker;
  router: mediasoup.types.Router;
  replayer: Replayer;
  close(): void;
}> {
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  const router = await worker.createRouter({ mediaCodecs: mediaCodecsFor(capture.streams) });
  const replayer = await Replayer.create(router, capture.streams);
  return { worker, router, replayer, close: () => worker.close() };
}
