/**
 * Child process for tests that need a process of its own (killed, or under resource limits):
 * records a fixture replayed at `speed` (argv[3], default 1) into argv[2], prints "recording"
 * once the recorder has started and, when the replay ends, the stop() summary as one JSON line.
 *
 * argv[4], optional, is a JSON `ChildOptions`. With `killAfterMs` the child kills itself with
 * SIGKILL that long after it started recording, first writing (synchronously, so it cannot be
 * lost) one line `killed <KillReport JSON>`: what the recorder had handed to the muxer at that
 * instant, which the parent compares with what the file holds. Writes to the file run on libuv's
 * threadpool, so the signal lands while they are in flight, as a kill from outside would.
 */
import { writeSync } from 'node:fs';
import { Recorder } from '../../src/index.js';
import type { Sink } from '../../src/sink/sink.js';
import { videoOpusFixture, replayRig } from './replay.js';

export interface ChildOptions {
  /** The `<codec>-opus` fixture to replay. Default 'h264'. */
  fixture?: 'h264' | 'vp8';
  /** Record only the producers of this kind (e.g. 'audio' for Ogg). Default: all. */
  kind?: 'audio' | 'video';
  fragmentDurationMs?: number;
  /** Kill this process with SIGKILL this many ms (wall clock) after recording started. */
  killAfterMs?: number;
}

/** Per recorded stream, at the instant of the kill. */
export interface KillReport {
  streams: { kind: 'audio' | 'video'; framesWritten: number; lastSampleMs: number }[];
  /** The output's counters (Sink): bytes of whole units confirmed written, handed to the file stream, and queued in memory behind it. */
  output: { committedBytes: number; bytesWritten: number; queuedBytes: number };
}

const output = process.argv[2]!;
const speed = Number(process.argv[3] ?? 1);
const options = JSON.parse(process.argv[4] ?? '{}') as ChildOptions;
const rig = await replayRig(videoOpusFixture(options.fixture ?? 'h264').capture);
const producers = rig.replayer.producers.filter((p) => options.kind === undefined || p.kind === options.kind);
const recorder = new Recorder({ router: rig.router, producers, output, fragmentDurationMs: options.fragmentDurationMs });
recorder.on('error', (error) => process.stderr.write(`recorder error: ${error.message}\n`));
await recorder.start();
process.stdout.write('recording\n');
if (options.killAfterMs !== undefined) {
  setTimeout(() => {
    // The Recorder keeps its Sink to itself; a test looks inside to tell the recorder's losses from the OS's.
    const { committedBytes, bytesWritten, queuedBytes } = (recorder as unknown as { sink: Sink }).sink;
    const report: KillReport = {
      streams: recorder.stats().map(({ kind, framesWritten, lastSampleMs }) => ({ kind, framesWritten, lastSampleMs })),
      output: { committedBytes, bytesWritten, queuedBytes },
    };
    writeSync(1, `killed ${JSON.stringify(report)}\n`);
    process.kill(process.pid, 'SIGKILL');
  }, options.killAfterMs);
}
await rig.replayer.play({ speed });
await new Promise((r) => setTimeout(r, 300));
process.stdout.write(`${JSON.stringify(await recorder.stop())}\n`);
rig.close();
