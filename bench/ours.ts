/**
 * Ours, both ways of receiving: in this process over a DirectTransport (`new Recorder({ router,
 * producers, output })`, the recommended use), and over UDP in a recorder process of its own
 * (bench/udp-recorder.ts) that a PlainTransport per recording sends to (sendToRecorder).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { types } from 'mediasoup';
import { Recorder, sendToRecorder } from '../src/index.js';
import { DirectSource } from '../src/source/mediasoup-direct.js';
import type { ImpairmentProfile } from '../test/helpers/impairer.js';
import type { Recording } from './baselines.js';
import { ImpairedSource, ImpairedUdpLink } from './impaired.js';
import type { UdpRecorderCommand, UdpRecorderEvent } from './protocol.js';

/** The id under which the answer to a gc request waits. */
const GC = -2;
const now = (): number => performance.timeOrigin + performance.now();

export async function startOursDirect(router: types.Router, producers: types.Producer[], output: string, profile: ImpairmentProfile | undefined): Promise<Recording> {
  const requestedAtMs = now();
  const source = profile ? new ImpairedSource(new DirectSource(router, producers), profile) : undefined;
  const recorder = source ? new Recorder({ source, output }) : new Recorder({ router, producers, output });
  const errors: string[] = [];
  recorder.on('error', (error) => errors.push(error.message));
  await recorder.start();
  return {
    output,
    requestedAtMs,
    oracle: () => source?.videoOracle(),
    stop: async () => {
      const summary = await recorder.stop();
      return { ok: errors.length === 0 && !summary.outputError, detail: errors[0] ?? summary.outputError ?? 'stopped' };
    },
  };
}

/** The recorder process for ours over UDP, and the PlainTransports that feed it. */
export class UdpRecorderProcess {
  private nextId = 0;
  private readonly waiting = new Map<number, (event: UdpRecorderEvent) => void>();

  private constructor(
    private readonly child: ChildProcess,
    private readonly port: number,
  ) {
    child.on('message', (event: UdpRecorderEvent) => {
      const id = 'started' in event ? event.started : 'failed' in event ? event.failed : 'stopped' in event ? event.stopped : 'gced' in event ? GC : -1;
      this.waiting.get(id)?.(event);
      this.waiting.delete(id);
    });
  }

  static async start(): Promise<UdpRecorderProcess> {
    const child = fork(new URL('./udp-recorder.ts', import.meta.url).pathname, { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [event] = (await once(child, 'message')) as [{ port: number }];
    return new UdpRecorderProcess(child, event.port);
  }

  get pid(): number {
    return this.child.pid!;
  }

  private ask(command: UdpRecorderCommand, id: number): Promise<UdpRecorderEvent> {
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.send(command);
    });
  }

  async record(router: types.Router, producers: types.Producer[], output: string, profile: ImpairmentProfile | undefined): Promise<Recording> {
    const requestedAtMs = now();
    const id = this.nextId++;
    const link = profile ? await ImpairedUdpLink.create(this.port, profile) : undefined;
    const plain = await sendToRecorder(router, producers, { address: '127.0.0.1', port: link?.port ?? this.port });
    const started = await this.ask({ record: { id, streams: plain.streams, output } }, id);
    if ('failed' in started) {
      plain.close();
      link?.close();
      throw new Error(started.error);
    }
    await plain.resume();
    return {
      output,
      requestedAtMs,
      oracle: () => link?.impairers.oracle(plain.streams.find((s) => s.label.startsWith('video'))!.rtpParameters.encodings![0]!.ssrc!),
      stop: async () => {
        const stopped = await this.ask({ stop: id }, id);
        plain.close();
        link?.close();
        return 'stopped' in stopped ? { ok: stopped.ok, detail: stopped.detail } : { ok: false, detail: 'no answer' };
      },
    };
  }

  /** A full garbage collection in the recorder process, so its memory is read without garbage in it; resolves to its live bytes. */
  async gc(): Promise<number> {
    const event = await this.ask({ gc: true }, GC);
    return 'gced' in event ? event.gced : NaN;
  }

  close(): void {
    this.child.disconnect();
  }
}
