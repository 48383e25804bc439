import { simulateDay } from '../test/helpers/day-long.js';
import { h264OpusFixture } from '../test/helpers/replay.js';
const r = await simulateDay({ capture: h264OpusFixture().capture, hours: 0.05, file: '/tmp/guards/x.mp4', sampleEveryMs: 60000 });
console.log(JSON.stringify({ ...r, summary: r.summary.streams.map((s) => [s.kind, s.framesWritten, s.ssrcChanges, s.packetsReceived]) }));
