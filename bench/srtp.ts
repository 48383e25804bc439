/**
 * What SRTP costs the recorder per packet, on the H264+Opus fixture looped into one stream: the
 * recording pipeline fed plain RTP, against the same pipeline fed SRTP that SrtpSession
 * authenticates and decrypts first (AES_CM_128_HMAC_SHA1_80, packets protected beforehand by
 * werift-rtp as mediasoup would). Also SRTP alone, ours against werift-rtp's SrtpSession.decrypt,
 * the library it could have used instead. CPU time, medians, runs interleaved.
 *
 *   node --expose-gc --import tsx bench/srtp.ts
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { ProtectionProfileAes128CmHmacSha1_80, RtpHeader, SrtpSession as WeriftSrtp } from 'werift-rtp';
import { RecordingSession } from '../src/pipeline/recording-session.js';
import { Sink } from '../src/sink/sink.js';
import { loadCaptureFiles, packetsInTimeOrder, streamSpecOf } from '../src/source/capture.js';
import { SrtpSession, type UdpSrtpParameters } from '../src/source/srtp.js';
import { median } from './stats.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const REPEATS = 9;
const WARMUP_RUNS = 5;
/** Laps of the 20 s fixture, sequence numbers and timestamps continued: 6 laps wrap video's sequence number once. */
const LAPS = 6;

const capture = loadCaptureFiles(`${FIXTURES}h264-opus.pcap`, `${FIXTURES}h264-opus.sdp`);
const lap = packetsInTimeOrder(capture.streams);
const lapMs = lap.at(-1)!.timeMs - lap[0]!.timeMs + 20;
const streamIndex = new Map(capture.streams.map((s, i) => [s, i]));
const queue = Array.from({ length: LAPS }, (_, k) =>
  lap.map((p) => {
    const data = Buffer.from(p.data);
    data.writeUInt16BE((data.readUInt16BE(2) + k * p.stream.packets.length) & 0xffff, 2);
    data.writeUInt32BE((data.readUInt32BE(4) + k * Math.round((lapMs * p.stream.clockRate) / 1000)) >>> 0, 4);
    return { index: streamIndex.get(p.stream)!, timeMs: p.timeMs + k * lapMs, data };
  }),
).flat();

const key = randomBytes(30);
const parameters: UdpSrtpParameters = {
  sender: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: key.toString('base64') },
  recorder: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: randomBytes(30).toString('base64') },
};
const weriftKeys = { localMasterKey: key.subarray(0, 16), localMasterSalt: key.subarray(16), remoteMasterKey: key.subarray(0, 16), remoteMasterSalt: key.subarray(16) };
const weriftConfig = { keys: weriftKeys, profile: ProtectionProfileAes128CmHmacSha1_80 };
const protector = new WeriftSrtp(weriftConfig);
const protectedQueue = queue.map((p) => {
  const header = RtpHeader.deSerialize(p.data);
  return { ...p, data: protector.encrypt(p.data.subarray(header.payloadOffset), header) };
});

function newSession(): RecordingSession {
  const destination = new Writable({ highWaterMark: 2 ** 30, write: (_chunk, _encoding, callback) => callback() });
  const sink = new Sink(destination, { onError: () => undefined, endDestination: false });
  return new RecordingSession(capture.streams.map((s) => ({ spec: streamSpecOf(s) })), 'mp4', sink, { onGap: () => undefined, onKeyframe: () => undefined });
}

let sink = 0;
type Run = (packets: Buffer[]) => void;
/** Each run gets fresh copies of its input (decryption works in place), made outside the timed part. */
const runs: Record<string, { input: { data: Buffer }[]; run: Run }> = {
  plainPipeline: {
    input: queue,
    run: (packets) => {
      const session = newSession();
      packets.forEach((data, i) => session.receive(queue[i]!.index, data, queue[i]!.timeMs));
      void session.finish();
    },
  },
  srtpPipeline: {
    input: protectedQueue,
    run: (packets) => {
      const session = newSession();
      const srtp = new SrtpSession(parameters);
      packets.forEach((data, i) => {
        const packet = srtp.unprotectRtp(data);
        if (typeof packet === 'string') throw new Error(`packet ${i} ${packet}`);
        session.receive(queue[i]!.index, packet, queue[i]!.timeMs);
      });
      void session.finish();
    },
  },
  oursSrtpOnly: {
    input: protectedQueue,
    run: (packets) => {
      const srtp = new SrtpSession(parameters);
      for (const data of packets) {
        const packet = srtp.unprotectRtp(data);
        if (typeof packet === 'string') throw new Error(packet);
        sink += packet.length;
      }
    },
  },
  weriftSrtpOnly: {
    input: protectedQueue,
    run: (packets) => {
      const srtp = new WeriftSrtp(weriftConfig);
      for (const data of packets) sink += srtp.decrypt(data).length;
    },
  },
};

if (!globalThis.gc) throw new Error('run with node --expose-gc');
const ns: Record<string, number[]> = {};
for (let r = 0; r < WARMUP_RUNS + REPEATS; r++) {
  for (const [name, { input, run }] of Object.entries(runs)) {
    const packets = input.map((p) => Buffer.from(p.data));
    globalThis.gc();
    const start = process.cpuUsage();
    run(packets);
    const used = process.cpuUsage(start);
    if (r >= WARMUP_RUNS) (ns[name] ??= []).push(((used.user + used.system) * 1000) / packets.length);
  }
}
const m = Object.fromEntries(Object.entries(ns).map(([name, v]) => [name, median(v)])) as Record<keyof typeof runs, number>;
const spread = (name: string): string => `${Math.min(...ns[name]!).toFixed(0)}-${Math.max(...ns[name]!).toFixed(0)}`;
process.stdout.write(
  [
    `${queue.length} packets (fixture looped ${LAPS} times), ${REPEATS} runs, node ${process.version}`,
    '',
    '| CPU per packet (ns) | median | spread |',
    '| --- | --- | --- |',
    ...Object.keys(runs).map((name) => `| ${name} | ${m[name]!.toFixed(0)} | ${spread(name)} |`),
    '',
    `pipeline with SRTP / plain: ${(m.srtpPipeline / m.plainPipeline).toFixed(2)}`,
    `SRTP alone, ours / werift-rtp: ${(m.oursSrtpOnly / m.weriftSrtpOnly).toFixed(2)}`,
    '',
  ].join('\n'),
);
if (sink < 0) process.stdout.write('unreachable\n');
