/**
 * Depacketizer cost on the fixtures' real packets: ours against werift-rtp's frame path
 * (dePacketizeRtpPackets per frame, OpusRtpPayload.deSerialize per packet) in the same run, as
 * ratios. Why werift-rtp is not used for depacketizing: see the top of each src/codec/*.ts.
 *
 *   npm run bench
 */
import { createRequire } from 'node:module';
import { createDepacketizer } from '../src/codec/depacketizers.js';
import { parseRtpPacket, type RtpPacket } from '../src/rtp/packet.js';
import { TimestampUnwrapper } from '../src/rtp/unwrap.js';
import { loadCaptureFiles, streamSpecOf } from '../src/source/capture.js';
import { median } from './stats.js';

const werift = createRequire(import.meta.url)('werift-rtp') as {
  dePacketizeRtpPackets(codec: string, packets: { payload: Buffer; header: { timestamp: number; sequenceNumber: number } }[]): { data: Buffer };
  OpusRtpPayload: { deSerialize(payload: Buffer): { payload: Buffer } };
};

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const RUNS = 9;
const WARMUP_RUNS = 10;
/** Each run feeds the stream this many times over (timestamps moved on), so per-run set-up costs fade. */
const LAPS = 10;
/** werift-rtp's codec names for dePacketizeRtpPackets. */
const WERIFT_CODEC: Record<string, string> = { h264: 'MPEG4/ISO/AVC', vp8: 'VP8', vp9: 'VP9', av1: 'AV1' };

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

const rows: string[] = [];
for (const name of ['h264', 'vp8', 'vp9', 'av1']) {
  const capture = loadCaptureFiles(`${FIXTURES}${name}-opus.pcap`, `${FIXTURES}${name}-opus.sdp`);
  for (const stream of capture.streams) {
    if (stream.kind === 'audio' && name !== 'h264') continue; // the same Opus stream in every fixture
    const spec = streamSpecOf(stream);
    const packets = stream.packets.map((p) => parseRtpPacket(p.data));
    const frames: RtpPacket[][] = [];
    for (const p of packets) {
      if (frames.at(-1)?.[0]!.timestamp === p.timestamp) frames.at(-1)!.push(p);
      else frames.push([p]);
    }
    const unwrap = new TimestampUnwrapper();
    const timestamps = packets.map((p) => unwrap.unwrap(p.timestamp));
    const lapSpan = timestamps.at(-1)! - timestamps[0]! + 3000;
    const ours = measure(packets.length * LAPS, () => {
      const d = createDepacketizer(spec, (f) => (sink += f.data.length));
      for (let lap = 0; lap < LAPS; lap++) for (let i = 0; i < packets.length; i++) d.push(packets[i]!, timestamps[i]! + lap * lapSpan);
    });
    let theirFailures = 0;
    const theirs =
      spec.codec === 'opus'
        ? measure(packets.length * LAPS, () => {
            for (let lap = 0; lap < LAPS; lap++) for (const p of packets) sink += werift.OpusRtpPayload.deSerialize(p.payload).payload.length;
          })
        : measure(packets.length * LAPS, () => {
            for (let lap = 0; lap < LAPS; lap++)
            for (const frame of frames) {
              const input = frame.map((p) => ({ payload: p.payload, header: { timestamp: p.timestamp, sequenceNumber: p.sequenceNumber } }));
              try {
                sink += werift.dePacketizeRtpPackets(WERIFT_CODEC[spec.codec]!, input).data.length;
              } catch {
                theirFailures++; // werift-rtp throws on some valid payloads (AV1 with W=0)
              }
            }
          });
    const failed = theirFailures > 0 ? ` (threw on ${theirFailures / (WARMUP_RUNS + RUNS) / LAPS} of ${frames.length} frames)` : '';
    rows.push(`| ${spec.codec} (${packets.length} packets, ${frames.length} frames) | ${ours.toFixed(0)} | ${theirs.toFixed(0)}${failed} | ${(ours / theirs).toFixed(2)} |`);
  }
}

process.stdout.write(
  ['| depacketizer, CPU ns per packet (median) | ours | werift-rtp | ours / werift-rtp |', '| --- | --- | --- | --- |', ...rows, ''].join('\n'),
);
if (sink < 0) process.stdout.write('unreachable\n'); // keeps the measured work observable
