import type { Writable } from 'node:stream';
import type { FilePatch } from '../mux/muxer.js';

/**
 * Where the muxer's bytes go, one unit (init segment, fragment) at a time. `writev()` never throws
 * and never blocks the media path: while the destination signals backpressure, units wait in an
 * in-memory queue (`queuedBytes`) and are written on 'drain', in order. A unit's Buffers go to the
 * destination corked together, so a file stream writes them with one writev(2): a killed process
 * leaves whole fragments. The first write error stops further writes and is reported once through
 * `onError`; a destination that can (a file) is then cut back to its last whole unit, so a full
 * disk leaves a file that ends where a fragment ends.
 */
export interface SinkOptions {
  onError: (error: Error) => void;
  /** Whether `end()` also ends the destination (true for files we opened, false for a caller's stream). */
  endDestination: boolean;
  /** After a write error: cut the output back to `committedBytes` (the bytes of whole units it confirmed). */
  rollBack?: (committedBytes: number) => Promise<void>;
  /** After a clean end: write `patches` over the finished output (only an output that can seek back). */
  patch?: (patches: FilePatch[]) => Promise<void>;
}

export class Sink {
  private readonly queue: Buffer[][] = [];
  private waitingForDrain = false;
  private failed: Error | undefined;
  private ending: Promise<void> | undefined;
  private rollingBack: Promise<void> | undefined;
  /** Units handed to the destination whose write callback has not come yet, and who waits for none to be left. */
  private unitsInFlight = 0;
  private onIdle: (() => void) | undefined;
  /** Bytes handed to the destination so far. */
  bytesWritten = 0;
  /** Bytes of whole units the destination confirmed as written. */
  committedBytes = 0;
  /** Bytes waiting in memory for the destination to drain. */
  queuedBytes = 0;
  /** Largest `queuedBytes` seen: how far the destination fell behind. */
  maxQueuedBytes = 0;

  constructor(
    private readonly destination: Writable,
    private readonly options: SinkOptions,
  ) {
    destination.on('error', (error: Error) => this.fail(error));
    destination.on('drain', () => this.drain());
  }

  get error(): Error | undefined {
    return this.failed;
  }

  /** Writes one unit: Buffers that belong together (the caller must not change them afterwards). */
  writev(unit: Buffer[]): void {
    if (this.failed || this.ending) return;
    if (this.waitingForDrain) {
      this.queue.push(unit);
      for (const chunk of unit) this.queuedBytes += chunk.length;
      if (this.queuedBytes > this.maxQueuedBytes) this.maxQueuedBytes = this.queuedBytes;
      return;
    }
    this.send(unit);
  }

  /**
   * Writes what is queued, then closes (files) or leaves open (caller's streams), then applies
   * `patches` where the output can take them. Resolves when done; rejects with the first write error.
   */
  end(patches: FilePatch[] = []): Promise<void> {
    this.ending ??= this.finish(patches);
    return this.ending;
  }

  private async finish(patches: FilePatch[]): Promise<void> {
    while (this.queue.length > 0 && !this.failed) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.destination.off('drain', done);
          this.destination.off('error', done);
          resolve();
        };
        this.destination.on('drain', done);
        this.destination.on('error', done);
        if (!this.waitingForDrain) this.drain();
      });
    }
    if (this.failed) return this.failedEnd();
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.destination.off('error', done);
        resolve();
      };
      this.destination.once('error', done);
      if (this.options.endDestination) {
        this.destination.once('close', done);
        this.destination.end();
      } else if (this.unitsInFlight > 0) {
        this.onIdle = done; // a caller's stream stays open: wait until it took (or refused) every unit
      } else {
        done();
      }
    });
    if (this.failed) return this.failedEnd();
    if (patches.length > 0) await this.options.patch?.(patches);
  }

  private async failedEnd(): Promise<void> {
    await this.rollingBack;
    throw this.failed;
  }

  private send(unit: Buffer[]): void {
    const destination = this.destination;
    let unitEnd = this.bytesWritten;
    for (const chunk of unit) unitEnd += chunk.length;
    // Write callbacks come in order: the last chunk's confirms the whole unit.
    const confirm = (error?: Error | null): void => {
      if (error) this.fail(error);
      else this.committedBytes = unitEnd;
      if (--this.unitsInFlight === 0) this.onIdle?.();
    };
    this.unitsInFlight++;
    destination.cork();
    for (let i = 0; i < unit.length; i++) {
      const chunk = unit[i]!;
      this.bytesWritten += chunk.length;
      if (!destination.write(chunk, i === unit.length - 1 ? confirm : undefined)) this.waitingForDrain = true;
    }
    destination.uncork();
  }

  private drain(): void {
    this.waitingForDrain = false;
    while (this.queue.length > 0 && !this.waitingForDrain && !this.failed) {
      const unit = this.queue.shift()!;
      for (const chunk of unit) this.queuedBytes -= chunk.length;
      this.send(unit);
    }
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = error;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.rollingBack = this.options.rollBack?.(this.committedBytes).catch(() => undefined);
    this.options.onError(error);
  }
}
