/**
 * Runs the recording pipeline over the bench capture a few times, output discarded, before a
 * process's recorders are measured. A Node process compiles hot code on first use (the first
 * conversion in a fresh process costs twice a warm one: see the offline stage); an application
 * server pays that once in its lifetime, not per recording, so the cost per recording is
 * measured warm. ffmpeg and GStreamer are compiled ahead of time and have no such cost.
 */
import { Writable } from 'node:stream';
import { convertCapture } from '../src/convert.js';
import { loadCaptureFiles } from '../src/source/capture.js';
import type { BenchCapture } from './capture.js';

export async function warmUpPipeline(capture: BenchCapture, runs = 3): Promise<void> {
  const loaded = loadCaptureFiles(capture.pcap, capture.sdp);
  for (let i = 0; i < runs; i++) {
    await convertCapture(loaded, new Writable({ write: (_chunk, _encoding, done) => done(), writev: (_chunks, done) => done() }), { format: 'mp4' });
  }
}
