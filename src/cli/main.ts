#!/usr/bin/env node
import { convertCommand } from './convert-command.js';

const USAGE = `usage:
  mediasoup-recorder convert <capture.pcap|.pcapng> --sdp <session.sdp> -o <out.mp4|.webm|.mkv|.mka|.ogg> [--format F] [--latency-ms 150] [--json]
  mediasoup-recorder demo [-o out/demo.mp4] [--speed 1]`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'convert') return convertCommand(rest);
  // Loaded on demand: only the demo needs a mediasoup worker.
  if (command === 'demo') return (await import('./demo-command.js')).demoCommand(rest);
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = 1;
  },
);
