import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as mediasoup from 'mediasoup';
import { Recorder } from '../recorder.js';
import { mediaCodecsFor, Replayer } from '../replay/replayer.js';
import { loadCaptureFiles } from '../source/capture.js';
import { formatSummary } from './summary.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures');

/**
 * `demo` (npm start): replays the H264+Opus fixture through a real mediasoup router into the
 * recorder, in real time, and prints where the file went and what it holds.
 */
export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      output: { type: 'string', short: 'o', default: 'out/demo.mp4' },
      speed: { type: 'string', default: '1' },
      capture: { type: 'string', default: `${FIXTURES}/h264-opus.pcap` },
      sdp: { type: 'string', default: `${FIXTURES}/h264-opus.sdp` },
    },
  });
  const speed = Number(values.speed);
  if (!(speed > 0)) throw new Error(`--speed must be a positive number, got ${values.speed}`);
  const capture = loadCaptureFiles(values.capture, values.sdp);
  mkdirSync(dirname(resolve(values.output)), { recursive: true });

  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  try {
    const router = await worker.createRouter({ mediaCodecs: mediaCodecsFor(capture.streams) });
    const replayer = await Replayer.create(router, capture.streams);
    const recorder = new Recorder({ router, producers: replayer.producers, output: values.output });
    recorder.on('error', (error) => process.stderr.write(`recorder error (${error.stream ?? 'recording'}): ${error.message}\n`));
    await recorder.start();
    const seconds = (capture.streams[0]!.packets.at(-1)!.timeMs - capture.streams[0]!.packets[0]!.timeMs) / 1000;
    process.stderr.write(`replaying ${values.capture} (${seconds.toFixed(1)} s) at ${speed}x into mediasoup ${mediasoup.version}, recording to ${values.output}\n`);
    const replay = await replayer.play({ speed });
    // Let the last packets through mediasoup and the jitter buffer before stopping.
    await new Promise((r) => setTimeout(r, 300));
    const summary = await recorder.stop();
    replayer.close();
    process.stdout.write(`${formatSummary(resolve(values.output), summary)}\n`);
    process.stdout.write(`  replayer: ${replay.packetsSent} packets sent, ${replay.packetsRetransmitted} retransmitted on NACK, ${replay.keyframeRequestsReceived} keyframe requests\n`);
    return summary.outputError ? 1 : 0;
  } finally {
    worker.close();
  }
}
