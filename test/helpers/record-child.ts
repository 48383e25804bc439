/**
 * Child process for the kill test: records the fixture replayed in real time to argv[2] and
 * prints "recording" once the recorder has started. The parent kills it with SIGKILL.
 */
import { Recorder } from '../../src/index.js';
import { h264OpusFixture, replayRig } from './replay.js';

const output = process.argv[2]!;
const rig = await replayRig(h264OpusFixture().capture);
const recorder = new Recorder({ router: rig.router, producers: rig.replayer.producers, output });
await recorder.start();
process.stdout.write('recording\n');
await rig.replayer.play({ speed: 1 });
