import { join } from 'node:path';
import { RecordingSession } from '../src/pipeline/recording-session.js';
import { openFileSink } from '../src/sink/file.js';
import { streamSpecOf } from '../src/source/capture.js';
import { MUTATIONS, mutate } from '../test/helpers/header-fuzzer.js';
import { feedLive, loopCapture, type LoopedPacket } from '../test/helpers/looped-capture.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from '../test/helpers/oracles.js';
import { rng } from '../test/helpers/random.js';
import { videoOpusFixture } from '../test/helpers/replay.js';
const n = Number(process.argv[2]); const codec = process.argv[3] as 'h264' | 'vp8' | 'vp9' | 'av1'; const rate = Number(process.argv[4]);
const skip = new Set(process.argv.slice(5));
const capture = videoOpusFixture(codec).capture;
const container = codec === 'h264' || codec === 'av1' ? 'mp4' : 'webm';
const random = rng(0xf022 + n);
const file = join(tempDir('one-'), `x.${container}`);
const session = new RecordingSession(capture.streams.map((s) => ({ spec: streamSpecOf(s), feedback: { requestKeyFrame: () => undefined, sendNack: () => undefined } })), container, await openFileSink(file, () => undefined), { onGap: () => undefined, onKeyframe: () => undefined }, { latencyMs: 300 });
function* f(): Generator<LoopedPacket> {
  for (const p of loopCapture(capture, 10, { sequenceOffset: Math.floor(random() * 65536), timestampOffset: Math.floor(random() * 2 ** 32) })) {
    if (random() >= rate) { yield p; continue; }
    const kind = MUTATIONS[Math.floor(random() * MUTATIONS.length)]!;
    const bad = { ...p, data: mutate(p.data, kind, random, capture.streams[p.stream]!.clockRate) };
    const inPlace = kind !== 'junk' && random() < 0.5;
    if (skip.has(kind)) { yield p; continue; }
    if (inPlace) yield bad; else { yield p; yield bad; }
  }
}
const r = feedLive(session, f());
session.poll(r.lastMs + 300);
const s = await session.finish();
const probe = ffprobeStreams(file, false);
console.log((ffmpegDecodeErrors(file).slice(0, 100) || 'clean'), 'session', (r.lastMs - r.firstMs + 300) / 1000, 'format', probe.format.duration, 'streams', probe.streams.map((x) => `${x.codec_type} ${x.start_time} + ${x.duration}`).join('; '));
console.log(JSON.stringify(s.streams.map((x) => [x.label, x.packetsTimestampJump, x.timestampRebases, x.packetsSequenceStray, x.sequenceRestarts, x.packetsLayoutStray, x.packetsStraySsrc, x.ssrcChanges, x.trackReanchors, x.lastSampleMs, x.driftCorrectedMs])));
