import type { Writable } from 'node:stream';

/**
 * Where the muxer's bytes go. `write()` never throws and never blocks the media path: while the
 * destination signals backpressure, chunks wait in an in-memory queue (`queuedBytes`) and are
 * written on 'drain', in order. The first write error stops further writes and is reported once
 * through `onError`; what was written before stays as it was.
 */
export class Sink {
  private readonly queue: Buffer[] = [];
  private waitingForDrain = false;
  private failed: Error | undefined;
  private ending: Promise<void> | undefined;
  /** Bytes handed to the destination so far. */
  bytesWritten = 0;
  /** Bytes waiting in memory for the destination to drain. */
  queuedBytes = 0;
  /** Largest `queuedBytes` seen: how far the destination fell behind. */
  maxQueuedBytes = 0;

  constructor(
    private readonly destination: Writable,
    private readonly onError: (error: Error) => void,
    /** Whether `end()` also ends the destination (true for files we opened, false for a caller's stream). */
    private readonly endDestination: boolean,
  ) {
    destination.on('error', (error: Error) => this.fail(error));
    destination.on('drain', () => this.drain());
  }

  get error(): Error | undefined {
    return this.failed;
  }

  write(chunk: Buffer): void {
    if (this.failed || this.ending) return;
    if (this.waitingForDrain) {
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
      if (this.queuedBytes > this.maxQueuedBytes) this.maxQueuedBytes = this.queuedBytes;
      return;
    }
    this.send(chunk);
  }

  /** Writes what is queued, then closes (files) or leaves open (caller's streams). Resolves when done; rejects with the first write error. */
  end(): Promise<void> {
    this.ending ??= this.finish();
    return this.ending;
  }

  private async finish(): Promise<void> {
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
    if (this.failed) throw this.failed;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.destination.once('error', onError);
      const done = (): void => {
        this.destination.off('error', onError);
        resolve();
      };
      if (this.endDestination) {
        this.destination.once('close', done);
        this.destination.end();
      } else if (this.destination.writableNeedDrain) {
        this.destination.once('drain', done);
      } else {
        done();
      }
    });
    if (this.failed) throw this.failed;
  }

  private send(chunk: Buffer): void {
    this.bytesWritten += chunk.length;
    if (!this.destination.write(chunk)) this.waitingForDrain = true;
  }

  private drain(): void {
    this.waitingForDrain = false;
    while (this.queue.length > 0 && !this.waitingForDrain && !this.failed) {
      const chunk = this.queue.shift()!;
      this.queuedBytes -= chunk.length;
      this.send(chunk);
    }
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = error;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.onError(error);
  }
}
