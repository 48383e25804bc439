/**
 * Ours over UDP, in a process of its own like ffmpeg (but one for all recordings): one
 * RtpUdpEndpoint socket, a Recorder per recording, told apart by SSRC. Driven by the bench host
 * over IPC: `{ record: { id, streams, output } }` answers `{ started: id }` (the host then resumes
 * the PlainTransport's consumers), `{ stop: id }` answers `{ stopped: id, ok, detail }`, `{ gc: true }`
 * (before the bench reads its memory) answers `{ gced: live bytes }`.
 */
import { Recorder, RtpUdpEndpoint } from '../src/index.js';
import { ensureCapture } from './capture.js';
import { liveBytes, type UdpRecorderCommand, type UdpRecorderEvent } from './protocol.js';
import { warmUpPipeline } from './warm-up.js';

const send = (event: UdpRecorderEvent): void => void process.send!(event);
const endpoint = await RtpUdpEndpoint.bind();
const recorders = new Map<number, { recorder: Recorder; errors: string[] }>();

process.on('message', async (command: UdpRecorderCommand) => {
  if ('record' in command) {
    const { id, streams, output } = command.record;
    const recorder = new Recorder({ source: endpoint.source(streams), output });
    const errors: string[] = [];
    recorder.on('error', (error) => errors.push(error.message));
    recorders.set(id, { recorder, errors });
    try {
      await recorder.start();
      send({ started: id });
    } catch (error) {
      send({ failed: id, error: (error as Error).message });
    }
  } else if ('gc' in command) {
    globalThis.gc!();
    send({ gced: liveBytes() });
  } else {
    const { recorder, errors } = recorders.get(command.stop)!;
    const summary = await recorder.stop();
    send({ stopped: command.stop, ok: errors.length === 0 && !summary.outputError, detail: errors[0] ?? summary.outputError ?? 'stopped' });
  }
});
process.on('disconnect', () => endpoint.close());
await warmUpPipeline(ensureCapture());
send({ port: endpoint.local.port });
