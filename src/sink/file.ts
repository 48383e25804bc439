import { createWriteStream } from 'node:fs';
import { open, truncate } from 'node:fs/promises';
import { Sink } from './sink.js';

/** The output file could not be opened; nothing was recorded. */
export class OutputOpenError extends Error {
  override name = 'OutputOpenError';
}

/**
 * Opens `path` for writing (truncating it) before any media flows, so an unwritable path fails
 * `start()` with a clear message instead of losing the first seconds of a recording. After a
 * write error (disk full) the file is cut back to its last whole fragment, so it stays playable;
 * after a clean end the container's patches (durations, seek entries) are written in place.
 */
export async function openFileSink(path: string, onError: (error: Error) => void): Promise<Sink> {
  let handle;
  try {
    handle = await open(path, 'w');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new OutputOpenError(`cannot open output file ${path} for writing: ${reason}`, { cause: error });
  }
  // Each fragment reaches the kernel with one write(2): a killed process loses only what was not yet written.
  const stream = createWriteStream('', { fd: handle, autoClose: true });
  return new Sink(stream, {
    onError,
    endDestination: true,
    rollBack: (committedBytes) => truncate(path, committedBytes),
    patch: async (patches) => {
      const file = await open(path, 'r+');
      try {
        for (const { offset, data } of patches) await file.write(data, 0, data.length, offset);
      } finally {
        await file.close();
      }
    },
  });
}
