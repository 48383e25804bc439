/**
 * Depacketizer cost on the fixture's real packets: ours against werift-rtp's frame path
 * (dePacketizeRtpPackets per access unit, OpusRtpPayload.deSerialize per packet) in the same run.
 * The reason werift-rtp is not used for depacketizing: see src/codec/h264.ts.
 *
 *   npm run bench
 */
import { createRequire } from 'node:module';
import { H264Depacketizer } from '../src/codec/h264.js';
import { OpusDepacketizer } from '../src/codec/opus.js';
import { parseRtpPacket, type RtpPacket } from '../src/rtp/packet.js';
import { TimestampUnwrapper } from '../src/rtp/unwrap.js';
import { loadCaptureFiles } from '../src/source/capture.js';
import { median } from './stats.js';

const werift = createRequire(import.meta.url)('werift-rtp') as {
  dePacketizeRtpPackets(codec: string, packets: { payload: Buffer; header: { timestamp: number } }[]): { data: Buffer };
  OpusRtpPayload: { deSerialize(payload: Buffer): { payload: Buffer } };
};

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const RUNS = 9;
const WARMUP_RUNS = 10;
const capture = loadCaptureFiles(`${FIXTURES}h264-opus.pcap`, `${FIXTURES}h264-opus.sdp`);
const packetsOf = (kind: string): RtpPacket[] => capture.streams.find((s) => s.kind === kind)!.packets.map((p) => parseRtpPacket(p.data));
const video = packetsOf('video');
const audio = packetsOf('audio');
const accessUnits: RtpPacket[][] = [];
for (const p of video) {
  if (accessUnits.at(-1)?.[0]!.timestamp === p.timestamp) accessUnits.at(-1)!.push(p);
  else accessUnits.push([p]);
}

let sink = 0;
/** CPU ns per packet of `run`, median of RUNS after warm-up. */
function measure(packets: number, run: () => void): number {
  const runs: number[] = [];
  for (let r = 0; r < WARMUP_RUNS + RUNS; r++) {
    const start = process.cpuUsage();
    run();
    const used = process.cpuUsage(start);
    if (r >= WARMUP_RUNS) runs.push(((used.user + used.system) * 1000) / packets);
  }
  return median(runs);
}

const ours = {
  h264: measure(video.length, () => {
    const unwrap = new TimestampUnwrapper();
    const d = new H264Depacketizer((f) => (sink += f.data.length));
    for (const p of video) d.push(p, unwrap.unwrap(p.timestamp));
  }),
  opus: measure(audio.length, () => {
    const d = new OpusDepacketizer((f) => (sink += f.data.length));
    for (const p of audio) d.push(p, p.timestamp);
  }),
};
const theirs = {
  h264: measure(video.length, () => {
    for (const au of accessUnits) sink += werift.dePacketizeRtpPackets('MPEG4/ISO/AVC', au.map((p) => ({ payload: p.payload, header: { timestamp: p.timestamp } }))).data.length;
  }),
  opus: measure(audio.length, () => {
    for (const p of audio) sink += werift.OpusRtpPayload.deSerialize(p.payload).payload.length;
  }),
};

process.stdout.write(
  [
    '| depacketizer, CPU ns per packet (median) | ours | werift-rtp | ours / werift-rtp |',
    '| --- | --- | --- | --- |',
    `| H264 (${video.length} packets, ${accessUnits.length} frames) | ${ours.h264.toFixed(0)} | ${theirs.h264.toFixed(0)} | ${(ours.h264 / theirs.h264).toFixed(2)} |`,
    `| Opus (${audio.length} packets) | ${ours.opus.toFixed(0)} | ${theirs.opus.toFixed(0)} | ${(ours.opus / theirs.opus).toFixed(2)} |`,
    '',
  ].join('\n'),
);
if (sink < 0) process.stdout.write('unreachable\n'); // keeps the measured work observable
