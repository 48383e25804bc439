import { performance } from 'node:perf_hooks';
import type { types } from 'mediasoup';
import { recorderCapabilities } from '../source/mediasoup-direct.js';
import type { MixInput } from './mix/mix-input.js';
import type { MixSource } from './mix/mix-source.js';

/**
 * The room's audio producers consumed once more, on a DirectTransport of their own, and fed to
 * every mix of the room (mix.ogg and the speaker file's audio each have one).
 */
export class MixFeed {
  private transport: types.DirectTransport | undefined;
  private readonly inputs = new Map<string, { consumer: types.Consumer; inputs: MixInput[] }>();

  constructor(
    private readonly router: types.Router,
    private readonly mixes: MixSource[],
  ) {}

  async open(): Promise<void> {
    this.transport = await this.router.createDirectTransport();
  }

  /** Mixes `producer` (Opus) from now on; its input ends when the producer closes or `remove()` is called. */
  async add(participant: string, producer: types.Producer): Promise<void> {
    const consumer = await this.transport!.consume({ producerId: producer.id, rtpCapabilities: recorderCapabilities(this.router) });
    const codec = consumer.rtpParameters.codecs[0]!;
    const spec = { payloadType: codec.payloadType, clockRate: codec.clockRate, channels: codec.channels };
    const inputs = this.mixes.map((mix) => mix.addInput(`${participant}:${producer.id}`, spec));
    this.inputs.set(producer.id, { consumer, inputs });
    consumer.on('rtp', (packet: Buffer) => {
      const arrivalMs = performance.now();
      for (const input of inputs) input.receive(packet, arrivalMs);
    });
    consumer.observer.once('close', () => this.remove(producer.id));
  }

  remove(producerId: string): void {
    const entry = this.inputs.get(producerId);
    if (!entry) return;
    this.inputs.delete(producerId);
    entry.consumer.close();
    for (const input of entry.inputs) input.close();
  }

  close(): void {
    for (const id of [...this.inputs.keys()]) this.remove(id);
    this.transport?.close();
  }
}
