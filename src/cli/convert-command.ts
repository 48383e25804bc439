import { parseArgs } from 'node:util';
import { convertCaptureFile, type ConvertSummary } from '../convert.js';
import type { Container } from '../mux/container.js';
import { formatSummaryLine } from './summary.js';

const USAGE =
  'usage: mediasoup-recorder convert <capture.pcap|.pcapng> --sdp <session.sdp> -o <out.mp4|.webm|.mkv|.mka|.ogg> [--format mp4|webm|mkv|mka|ogg] [--latency-ms 150] [--json]';

/** `convert`: pcap/pcapng + SDP -> fragmented MP4 (or WebM, Matroska, Ogg), streamed in constant memory. Returns the process exit code. */
export async function convertCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      sdp: { type: 'string' },
      output: { type: 'string', short: 'o' },
      'latency-ms': { type: 'string' },
      format: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const capturePath = positionals[0];
  if (!capturePath || !values.sdp || !values.output) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const latencyMs = values['latency-ms'] === undefined ? undefined : Number(values['latency-ms']);
  if (latencyMs !== undefined && !(latencyMs >= 0)) throw new Error(`--latency-ms must be a number of ms, got ${values['latency-ms']}`);
  const progress = process.stderr.isTTY && !values.json ? progressBar() : undefined;
  const summary: ConvertSummary = await convertCaptureFile(capturePath, values.sdp, values.output, { latencyMs, format: values.format as Container | undefined, onProgress: progress });
  if (progress) process.stderr.write('\n');
  if (summary.truncated) process.stderr.write(`warning: ${summary.truncated}; converted what came before\n`);
  process.stdout.write(values.json ? `${JSON.stringify({ path: values.output, ...summary })}\n` : `${formatSummaryLine(values.output, summary)}\n`);
  return 0;
}

function progressBar(): (fraction: number) => void {
  return (fraction) => {
    const width = 30;
    const filled = Math.round(Math.min(1, fraction) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(fraction * 100).toFixed(0)} %`);
  };
}
