/**
 * Child process for tests that need a process of its own (killed, or under resource limits):
 * records the fixture replayed at `speed` (argv[3], default 1) into argv[2], prints "recording"
 * once the recorder has started and, when the replay ends, the stop() summary as one JSON line.
 */
import { Recorder } from '../../src/index.js';
import { h264OpusFixture, replayRig } from './replay.js';

const output = process.argv[2]!;
const speed = Number(process.argv[3] ?? 1);
const rig = await replayRig(h264OpusFixture().capture);
const recorder = new Recorder({ router: rig.router, producers: rig.replayer.producers, output });
recorder.on('error', (error) => process.stderr.write(`recorder error: ${error.message}\n`));
await recorder.start();
process.stdout.write('recording\n');
await rig.replayer.play({ speed });
await new Promise((r) => setTimeout(r, 300));
process.stdout.write(`${JSON.stringify(await recorder.stop())}\n`);
rig.close();
