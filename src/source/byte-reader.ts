import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Sequential reads over a capture, from memory or from a file in chunks, so the pcap reader works
 * the same on both and never needs more than one record in memory. Views returned by `take` and
 * `peek` stay valid after later reads: a file reader never overwrites a chunk it handed out, it
 * allocates the next one.
 */
export interface ByteReader {
  /** Offset of the next unread byte from the start of the input, in bytes. */
  readonly offset: number;
  /** The next `n` bytes without consuming them; shorter only at the end of the input. */
  peek(n: number): Buffer;
  /** Consumes and returns the next `n` bytes; shorter only at the end of the input. */
  take(n: number): Buffer;
  /** Consumes up to `n` bytes without reading them into memory; returns how many there were. */
  skip(n: number): number;
}

/** A ByteReader over a Buffer: every view is a subarray of it, nothing is copied. */
export class BufferByteReader implements ByteReader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}

  peek(n: number): Buffer {
    return this.buf.subarray(this.offset, this.offset + n);
  }

  take(n: number): Buffer {
    const view = this.peek(n);
    this.offset += view.length;
    return view;
  }

  skip(n: number): number {
    return this.take(n).length;
  }
}

/** Bytes read from the file at a time: big enough that syscalls cost nothing next to parsing. */
const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/**
 * A ByteReader over a file, read `chunkBytes` at a time with positioned reads. Memory held is one
 * chunk plus the views callers keep; skipped bytes are never read.
 */
export class FileByteReader implements ByteReader {
  offset = 0;
  private chunk = Buffer.alloc(0);
  /** Position in `chunk` of the byte at `offset`. */
  private chunkPos = 0;
  /** File position of the first byte after `chunk`. */
  private filePos = 0;
  private readonly fd: number;
  private readonly size: number;
  private closed = false;

  constructor(
    path: string,
    private readonly chunkBytes = DEFAULT_CHUNK_BYTES,
  ) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
  }

  peek(n: number): Buffer {
    if (this.chunk.length - this.chunkPos < n) this.refill(n);
    return this.chunk.subarray(this.chunkPos, this.chunkPos + n);
  }

  take(n: number): Buffer {
    const view = this.peek(n);
    this.chunkPos += view.length;
    this.offset += view.length;
    return view;
  }

  skip(n: number): number {
    const buffered = this.chunk.length - this.chunkPos;
    if (n <= buffered) {
      this.chunkPos += n;
      this.offset += n;
      return n;
    }
    const skipped = buffered + Math.max(0, Math.min(n - buffered, this.size - this.filePos));
    this.filePos += skipped - buffered;
    this.chunk = Buffer.alloc(0);
    this.chunkPos = 0;
    this.offset += skipped;
    return skipped;
  }

  /** Closes the file; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  /** Starts a new chunk with the unread rest of the current one and at least `n` bytes if the file has them. */
  private refill(n: number): void {
    const rest = this.chunk.subarray(this.chunkPos);
    const next = Buffer.allocUnsafe(Math.max(this.chunkBytes, n));
    rest.copy(next);
    let filled = rest.length;
    while (filled < next.length) {
      const read = readSync(this.fd, next, filled, next.length - filled, this.filePos);
      if (read === 0) break;
      filled += read;
      this.filePos += read;
    }
    this.chunk = next.subarray(0, filled);
    this.chunkPos = 0;
  }
}
