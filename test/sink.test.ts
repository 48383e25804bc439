import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openFileSink, OutputOpenError } from '../src/sink/file.js';
import { Sink } from '../src/sink/sink.js';

/** A destination that takes one chunk at a time, slowly: backpressure on every write. */
function slowWritable(received: Buffer[]): Writable {
  return new Writable({
    highWaterMark: 4,
    write(chunk: Buffer, _enc, callback) {
      setTimeout(() => {
        received.push(chunk);
        callback();
      }, 2);
    },
  });
}

describe('Sink', () => {
  it('queues while the destination is behind and writes everything in order', async () => {
    const received: Buffer[] = [];
    const sink = new Sink(slowWritable(received), { onError: () => undefined, endDestination: false });
    for (let i = 0; i < 20; i++) sink.writev([Buffer.from([i, i, i]), Buffer.from([i, i, i])]);
    expect(sink.queuedBytes).toBeGreaterThan(0);
    await sink.end();
    expect(Buffer.concat(received)).toEqual(Buffer.concat(Array.from({ length: 20 }, (_, i) => Buffer.alloc(6, i))));
    expect(sink.bytesWritten).toBe(120);
    expect(sink.queuedBytes).toBe(0);
    expect(sink.maxQueuedBytes).toBeGreaterThan(0);
  });

  it('reports the first error once, stops writing and rejects end()', async () => {
    const errors: Error[] = [];
    let writes = 0;
    const failing = new Writable({
      write(_chunk, _enc, callback) {
        writes++;
        callback(new Error('ENOSPC: no space left on device'));
      },
    });
    const sink = new Sink(failing, { onError: (e) => errors.push(e), endDestination: false });
    sink.writev([Buffer.from([1])]);
    await new Promise((r) => setTimeout(r, 10));
    sink.writev([Buffer.from([2])]);
    sink.writev([Buffer.from([3])]);
    await expect(sink.end()).rejects.toThrow(/ENOSPC/);
    expect(errors).toHaveLength(1);
    expect(writes).toBe(1);
  });

  it('confirms only whole units, and rolls back to them when a unit fails half-written', async () => {
    let accepted = 0;
    const failsAt10 = new Writable({
      write(chunk: Buffer, _enc, callback) {
        if (accepted + chunk.length > 10) return callback(new Error('EFBIG: file too large'));
        accepted += chunk.length;
        callback();
      },
    });
    const rolledBackTo: number[] = [];
    const sink = new Sink(failsAt10, { onError: () => undefined, endDestination: false, rollBack: async (n) => void rolledBackTo.push(n) });
    sink.writev([Buffer.alloc(3), Buffer.alloc(3)]); // a whole unit: 6 bytes
    sink.writev([Buffer.alloc(3), Buffer.alloc(3)]); // its first chunk fits, its second does not
    await expect(sink.end()).rejects.toThrow(/EFBIG/);
    expect(accepted).toBe(9);
    expect(sink.committedBytes).toBe(6);
    expect(rolledBackTo).toEqual([6]);
  });
});

describe('openFileSink', () => {
  it('writes chunks to the file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sink-')), 'out.bin');
    const sink = await openFileSink(path, () => undefined);
    sink.writev([Buffer.from('abc'), Buffer.from('de')]);
    sink.writev([Buffer.from('f')]);
    await sink.end();
    expect(readFileSync(path, 'utf8')).toBe('abcdef');
  });

  it('fails with a clear error for an unwritable path', async () => {
    await expect(openFileSink('/nonexistent-dir/x/out.mp4', () => undefined)).rejects.toThrow(OutputOpenError);
    await expect(openFileSink('/nonexistent-dir/x/out.mp4', () => undefined)).rejects.toThrow(/cannot open output file \/nonexistent-dir\/x\/out.mp4 for writing: ENOENT/);
  });
});
