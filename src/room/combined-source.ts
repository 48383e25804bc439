import type { StreamSpec } from '../pipeline/stream-spec.js';
import type { RecordingSource, SourceListener, SourceStream } from '../source/source.js';

/** Several sources recorded as one: their streams one after the other, in the order given. */
export class CombinedSource implements RecordingSource {
  private readonly firstIndex: number[] = [];

  constructor(private readonly sources: RecordingSource[]) {}

  codecs(): StreamSpec['codec'][] {
    return this.sources.flatMap((s) => s.codecs());
  }

  async open(): Promise<SourceStream[]> {
    const streams: SourceStream[] = [];
    try {
      for (const source of this.sources) {
        this.firstIndex.push(streams.length);
        streams.push(...(await source.open()));
      }
    } catch (error) {
      this.close();
      throw error;
    }
    return streams;
  }

  async start(listener: SourceListener): Promise<void> {
    await Promise.all(
      this.sources.map((source, k) => {
        const first = this.firstIndex[k]!;
        return source.start({
          rtp: (index, packet, arrivalMs) => listener.rtp(first + index, packet, arrivalMs),
          ended: (reason) => listener.ended(reason),
        });
      }),
    );
  }

  async pause(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.pause()));
  }

  async resume(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.resume()));
  }

  close(): void {
    for (const source of this.sources) source.close();
  }
}
