/**
 * Pipeline cost and memory, measured on the H264+Opus fixture fed as fast as possible (no
 * mediasoup, no timers): jitter buffer + depacketizer + muxer + sink per packet, and heap per
 * concurrent recording. Every figure is also given as a ratio to a baseline run in the same
 * invocation: werift-rtp's RtpPacket.deSerialize over the same packets, the least a recorder
 * built on werift-rtp's packet classes would spend.
 *
 *   npm run bench            (node --expose-gc; writes bench/results/pipeline-<date>.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { RtpPacket } from 'werift-rtp';
import { H264Depacketizer } from '../src/codec/h264.js';
import { OpusDepacketizer } from '../src/codec/opus.js';
import { JitterBuffer } from '../src/jitter/jitter-buffer.js';
import { RecordingSession } from '../src/pipeline/recording-session.js';
import { parseRtpPacket } from '../src/rtp/packet.js';
import { TimestampUnwrapper } from '../src/rtp/unwrap.js';
import { Sink } from '../src/sink/sink.js';
import { loadCaptureFiles, packetsInTimeOrder, streamSpecOf } from '../src/source/capture.js';
import { median } from './stats.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const REPEATS = 9;
/** Runs before measuring: V8 needs about this many to finish optimizing the hot path. */
const WARMUP_RUNS = 10;
/** The fixture is looped into one continuous stream this many times (20 s each), as a long recording. */
const LAPS = 6;
const CONCURRENT_RECORDINGS = 200;

const capture = loadCaptureFiles(`${FIXTURES}h264-opus.pcap`, `${FIXTURES}h264-opus.sdp`);
const lap = packetsInTimeOrder(capture.streams);
const lapMs = lap.at(-1)!.timeMs - lap[0]!.timeMs + 20;
const streamIndex = new Map(capture.streams.map((s, i) => [s, i]));
const queue = Array.from({ length: LAPS }, (_, k) =>
  lap.map((p) => ({ index: streamIndex.get(p.stream)!, timeMs: p.timeMs + k * lapMs, data: shifted(p.data, k) })),
).flat();
const mediaBytes = queue.reduce((sum, p) => sum + p.data.length, 0);

/** A copy of an RTP packet moved `k` laps later: sequence numbers and timestamps continue. */
function shifted(packet: Buffer, k: number): Buffer {
  const copy = Buffer.from(packet);
  const stream = capture.streams.find((s) => s.ssrc === copy.readUInt32BE(8))!;
  copy.writeUInt16BE((copy.readUInt16BE(2) + k * stream.packets.length) & 0xffff, 2);
  copy.writeUInt32BE((copy.readUInt32BE(4) + k * Math.round((lapMs * stream.clockRate) / 1000)) >>> 0, 4);
  return copy;
}

/**
 * A destination that takes every write at once. The feed loop never yields to the event loop, so
 * a destination that asked to wait for 'drain' would make the Sink queue the whole recording.
 */
function nullSink(): Sink {
  const destination = new Writable({ highWaterMark: 2 ** 30, write: (_chunk, _encoding, callback) => callback() });
  return new Sink(destination, { onError: () => undefined, endDestination: false });
}

function newSession(): RecordingSession {
  const streams = capture.streams.map((s) => ({ spec: streamSpecOf(s) }));
  return new RecordingSession(streams, 'mp4', nullSink(), { onGap: () => undefined, onKeyframe: () => undefined });
}

/** Feeds packets [from, to) of the fixture into `session`, with capture times as arrival times. */
function feed(session: RecordingSession, from = 0, to = queue.length): void {
  for (let i = from; i < to; i++) {
    const { index, timeMs, data } = queue[i]!;
    session.receive(index, data, timeMs);
  }
}

function cpuNsPerPacket(run: () => void): number {
  globalThis.gc!(); // no run pays for the garbage of the one before
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / queue.length;
}

let sink = 0;
/** Each run feeds the whole looped fixture; the stages show where the time goes. All run interleaved, so machine drift hits each alike. */
const runs: Record<string, () => void> = {
  baseline: () => {
    for (const { data } of queue) sink += RtpPacket.deSerialize(data).payload.length;
  },
  parse: () => {
    for (const { data } of queue) sink += parseRtpPacket(data).payload.length;
  },
  jitter: () => {
    const buffers = capture.streams.map(() => new JitterBuffer({}, { onPacket: (p) => (sink += p.payload.length), onLoss: () => undefined, sendNack: () => undefined }));
    for (const { index, data, timeMs } of queue) buffers[index]!.push(parseRtpPacket(data), timeMs);
  },
  depacketize: () => {
    const onFrame = (): number => sink++;
    const buffers = capture.streams.map((s) => {
      const depacketizer = s.kind === 'video' ? new H264Depacketizer(onFrame) : new OpusDepacketizer(onFrame);
      const unwrap = new TimestampUnwrapper();
      return new JitterBuffer({}, { onPacket: (p) => depacketizer.push(p, unwrap.unwrap(p.timestamp)), onLoss: () => undefined, sendNack: () => undefined });
    });
    for (const { index, data, timeMs } of queue) buffers[index]!.push(parseRtpPacket(data), timeMs);
  },
  ours: () => {
    const session = newSession();
    feed(session);
    void session.finish();
  },
};
if (!globalThis.gc) throw new Error('run with node --expose-gc (npm run bench does)');
const ns: Record<string, number[]> = {};
for (let r = 0; r < REPEATS + WARMUP_RUNS; r++) {
  for (const [name, run] of Object.entries(runs)) {
    const t = cpuNsPerPacket(run);
    if (r >= WARMUP_RUNS) (ns[name] ??= []).push(t); // the first rounds warm the JIT up
  }
}
const spread = (v: number[]): { median: number; min: number; max: number; runs: number[] } => ({ median: median(v), min: Math.min(...v), max: Math.max(...v), runs: v });
const ours = ns.ours!;
const baseline = ns.baseline!;

function heapBytes(): number {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

const before = heapBytes();
const sessions = Array.from({ length: CONCURRENT_RECORDINGS }, () => newSession());
// A lap and a half into every recording, interleaved the way concurrent live recordings run.
const half = Math.floor(lap.length * 1.5);
for (let from = 0; from < half; from += 64) for (const s of sessions) feed(s, from, Math.min(half, from + 64));
const during = heapBytes();
const bytesPerRecording = (during - before) / CONCURRENT_RECORDINGS;

const result = {
  date: new Date().toISOString(),
  node: process.version,
  fixture: { packets: queue.length, mediaBytes, seconds: (queue.at(-1)!.timeMs - queue[0]!.timeMs) / 1000 },
  cpuPerPacketNs: spread(ours),
  baselineWeriftDeserializeNs: spread(baseline),
  stagesCumulativeNs: { parse: spread(ns.parse!), parseJitter: spread(ns.jitter!), parseJitterDepacketize: spread(ns.depacketize!), all: spread(ours) },
  ratioOursToBaseline: median(ours) / median(baseline),
  throughputMediaMBps: mediaBytes / (median(ours) * queue.length) * 1e3,
  memory: { concurrentRecordings: CONCURRENT_RECORDINGS, bytesPerRecording },
  targets: { cpuPerPacketNs: 1000, bytesPerRecording: 1.2e6 },
};

const row = (name: string, s: { median: number; min: number; max: number }): string =>
  `| ${name} | ${s.median.toFixed(0)} | ${s.min.toFixed(0)}-${s.max.toFixed(0)} |`;
process.stdout.write(
  [
    `Fixture looped ${LAPS} times: ${result.fixture.packets} packets, ${(mediaBytes / 1e6).toFixed(2)} MB, ${result.fixture.seconds.toFixed(1)} s of media; ${REPEATS} runs`,
    '',
    '| CPU per packet (ns) | median | spread |',
    '| --- | --- | --- |',
    row('ours: jitter buffer + depacketizer + fMP4 muxer + sink', result.cpuPerPacketNs),
    row('baseline: werift-rtp RtpPacket.deSerialize only', result.baselineWeriftDeserializeNs),
    '',
    'Where the time goes (cumulative stages, same runs):',
    '',
    '| stages | median ns | spread |',
    '| --- | --- | --- |',
    row('parse', result.stagesCumulativeNs.parse),
    row('parse + jitter buffer', result.stagesCumulativeNs.parseJitter),
    row('parse + jitter buffer + depacketizers', result.stagesCumulativeNs.parseJitterDepacketize),
    row('all: + clock, keyframe gate, silence fill, fMP4 fragmenter, sink', result.stagesCumulativeNs.all),
    '',
    `ours / baseline: ${result.ratioOursToBaseline.toFixed(2)} (target: under 1000 ns per packet; ours is ${(median(ours) / 1000).toFixed(2)} of it)`,
    `throughput: ${result.throughputMediaMBps.toFixed(0)} MB/s of media per core`,
    `memory: ${(bytesPerRecording / 1e6).toFixed(3)} MB per recording with ${CONCURRENT_RECORDINGS} at once (target 1.2 MB)`,
    '',
  ].join('\n'),
);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/pipeline-${result.date.slice(0, 10)}.json`, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
if (sink < 0) process.stdout.write('unreachable\n'); // keeps the measured loops' work observable
