import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openFileSink, OutputOpenError } from '../src/sink/file.js';
import { Sink } from '../src/sink/sink.js';
import { rng } from './helpers/random.js';

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

describe('Sink under a destination that fails at a seeded random byte', () => {
  it('confirms and rolls back to exactly the whole units before the failing one, 500 cases, one error each', async () => {
    const random = rng(0xd15c);
    for (let run = 0; run < 500; run++) {
      // Units of 1-4 chunks of 1-3000 bytes; the destination takes bytes until `capacity`, then
      // fails the write that crosses it, as write(2) does on a full disk (the bytes that fit stay).
      const units = Array.from({ length: 1 + Math.floor(random() * 30) }, () =>
        Array.from({ length: 1 + Math.floor(random() * 4) }, () => Buffer.alloc(1 + Math.floor(random() * 3000), run)),
      );
      const total = units.flat().reduce((n, c) => n + c.length, 0);
      const capacity = Math.floor(random() * total);
      let accepted = 0;
      const destination = new Writable({
        highWaterMark: 1 + Math.floor(random() * 8000),
        write(chunk: Buffer, _enc, callback) {
          const fits = Math.min(chunk.length, capacity - accepted);
          accepted += fits;
          const fail = (): void => callback(fits < chunk.length ? Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }) : null);
          if (random() < 0.5) setImmediate(fail);
          else fail();
        },
      });
      const errors: Error[] = [];
      const rolledBackTo: number[] = [];
      const sink = new Sink(destination, { onError: (e) => errors.push(e), endDestination: false, rollBack: async (n) => void rolledBackTo.push(n) });
      for (const unit of units) sink.writev(unit);
      await expect(sink.end(), `run ${run}`).rejects.toThrow(/ENOSPC/);
      let wholeBytes = 0;
      for (const unit of units) {
        const bytes = unit.reduce((n, c) => n + c.length, 0);
        if (wholeBytes + bytes > capacity) break;
        wholeBytes += bytes;
      }
      expect(errors, `run ${run}`).toHaveLength(1);
      expect(rolledBackTo, `run ${run}`).toEqual([wholeBytes]);
      expect(sink.committedBytes, `run ${run}`).toBe(wholeBytes);
      expect(accepted, `run ${run}`).toBe(capacity);
    }
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

  it('reports the kernel ENOSPC of /dev/full once, without throwing, and rejects end()', async () => {
    const errors: Error[] = [];
    const sink = await openFileSink('/dev/full', (e) => errors.push(e));
    expect(() => {
      sink.writev([Buffer.alloc(1000), Buffer.alloc(1000)]);
      sink.writev([Buffer.alloc(10)]);
    }).not.toThrow();
    await expect(sink.end()).rejects.toThrow(/ENOSPC/);
    expect(errors).toHaveLength(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(sink.committedBytes).toBe(0);
  });

  it('fails with a clear error for an unwritable path', async () => {
    await expect(openFileSink('/nonexistent-dir/x/out.mp4', () => undefined)).rejects.toThrow(OutputOpenError);
    await expect(openFileSink('/nonexistent-dir/x/out.mp4', () => undefined)).rejects.toThrow(/cannot open output file \/nonexistent-dir\/x\/out.mp4 for writing: ENOENT/);
  });
});
