/**
 * Seeded fuzzing of malformed payloads (issue 10, campaign "malformed payloads of each codec").
 *
 * 1. Depacketizers alone: the fixtures' real packets, lap after lap, a fifth of them mutated
 *    (payload-mutator.ts: bit flips, truncation, junk, NAL/FU-A/STAP-A, VP8/VP9 descriptors, AV1
 *    aggregation headers and OBUs, Opus TOC). No exception, no frame bigger than what was pushed
 *    since the last one, no more frames than timestamps, and every frame passes the bitstream
 *    checks of frame-checks.ts.
 * 2. The whole converter, into each container: captures whose packets got the mutations the payload
 *    format lets a receiver detect (its own fields: FU-A start/end, STAP-A sizes, VP8/VP9 start and
 *    end bits, AV1 Z/Y bits, any Opus TOC or frame-count damage, empty and cut-down payloads). The
 *    mutations must be counted (malformed or dropped) and every file decodes with `ffmpeg -v
 *    error` silent. Damage inside entropy-coded data cannot be seen without decoding and is left
 *    to part 1's checks.
 *    With any damage (all of part 1's mutations on a fifth of the packets) the files may show
 *    decode errors where media data was hit, but the conversion never throws and every file stays
 *    a readable container no longer and no bigger than the capture.
 * 3. Capture records: junk datagrams (to the media ports and others), corrupted record headers and
 *    a cut at random offsets: a clear error or a counted drop, and a file that decodes.
 *
 * CI default: FUZZ_PACKETS_PER_CODEC=4000 (part 1), 2 seeds (parts 2 and 3). Full run, 10^6
 * mutated packets per codec in part 1 and 10 seeds in parts 2 and 3:
 *   FUZZ_PACKETS_PER_CODEC=1000000 FUZZ_SEEDS=10 npx vitest run --config test/vitest.config.ts test/fuzz-payloads.test.ts
 * A failure names its seed; FUZZ_SEED=<n> reruns that one seed.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertCapture, convertCaptureFile } from '../src/convert.js';
import { createDepacketizer } from '../src/codec/depacketizers.js';
import type { Frame } from '../src/codec/frame.js';
import { parseRtpPacket, type RtpPacket } from '../src/rtp/packet.js';
import { TimestampUnwrapper } from '../src/rtp/unwrap.js';
import { loadCaptureFiles, streamSpecOf, type CapturedStream } from '../src/source/capture.js';
import { readPcapFile, writePcap, type PcapWriteRecord } from '../src/source/pcap.js';
import { frameProblem } from './helpers/frame-checks.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { mutatePayload, type FuzzCodec } from './helpers/payload-mutator.js';
import { rng } from './helpers/random.js';
import { FIXTURES } from './helpers/replay.js';

const PACKETS_PER_CODEC = Number(process.env.FUZZ_PACKETS_PER_CODEC ?? 4000);
const SEEDS = process.env.FUZZ_SEED ? [Number(process.env.FUZZ_SEED)] : Array.from({ length: Number(process.env.FUZZ_SEEDS ?? 2) }, (_, i) => 1 + i);
const CODECS: FuzzCodec[] = ['h264', 'vp8', 'vp9', 'av1', 'opus'];
/** Share of packets mutated. */
const MUTATION_RATE = 0.2;

const fixtureOf = (codec: FuzzCodec): string => `${FIXTURES}${codec === 'opus' ? 'h264' : codec}-opus`;

function fuzzedStream(codec: FuzzCodec): CapturedStream {
  const capture = loadCaptureFiles(`${fixtureOf(codec)}.pcap`, `${fixtureOf(codec)}.sdp`);
  return capture.streams.find((s) => (codec === 'opus' ? s.kind === 'audio' : s.kind === 'video'))!;
}

/** Where a packet's payload lies in its raw bytes, and the packet with `payload` in its place (no padding kept). */
function withPayload(raw: Buffer, packet: RtpPacket, payload: Buffer): Buffer {
  const start = packet.payload.byteOffset - raw.byteOffset;
  const out = Buffer.concat([raw.subarray(0, start), payload]);
  out[0]! &= ~0x20; // no padding
  return out;
}

interface DepacketizerFuzzResult {
  mutated: number;
  frames: number;
  failures: string[];
}

/** `seed` as FUZZ_SEED takes it; each codec draws from its own stream of it. */
function fuzzDepacketizer(codec: FuzzCodec, stream: CapturedStream, seed: number, target: number): DepacketizerFuzzResult {
  const random = rng(seed * 1000 + CODECS.indexOf(codec));
  const failures: string[] = [];
  const spec = streamSpecOf(stream);
  const packets = stream.packets.map((p) => parseRtpPacket(p.data)).filter((p) => p.payloadType === stream.payloadType);
  const unwrap = new TimestampUnwrapper();
  const base = packets.map((p) => unwrap.unwrap(p.timestamp));
  const lapTicks = base.at(-1)! - base[0]! + spec.clockRate;
  let pushedBytes = 0;
  let timestampsPushed = 0;
  let lastTimestamp = -1;
  let frames = 0;
  let recent: string[] = [];
  const depacketizer = createDepacketizer(spec, (frame: Frame) => {
    frames++;
    const problem = frameProblem(codec, frame) ?? (frame.data.length > pushedBytes + 4096 ? `frame of ${frame.data.length} bytes from ${pushedBytes} pushed` : undefined);
    if (problem && failures.length < 10) failures.push(`FUZZ_SEED=${seed}: ${problem} (mutations since last frame: ${recent.join(', ') || 'none'})`);
    pushedBytes = 0;
    recent = [];
  });
  let mutated = 0;
  for (let lap = 0; mutated < target; lap++) {
    for (let i = 0; i < packets.length && mutated < target; i++) {
      let packet = packets[i]!;
      if (random() < MUTATION_RATE) {
        const m = mutatePayload(codec, packet.payload, random);
        packet = { ...packet, payload: m.payload };
        recent.push(m.kind);
        mutated++;
      }
      if (random() < 0.005) depacketizer.reset(); // a loss now and then, so resynchronising is fuzzed too
      const timestamp = base[i]! + lap * lapTicks;
      if (timestamp !== lastTimestamp) timestampsPushed++;
      lastTimestamp = timestamp;
      pushedBytes += packet.payload.length;
      try {
        depacketizer.push(packet, timestamp);
      } catch (error) {
        failures.push(`FUZZ_SEED=${seed}: push threw ${(error as Error).stack} (mutations: ${recent.join(', ')})`);
        return { mutated, frames, failures };
      }
    }
  }
  if (frames > timestampsPushed) failures.push(`FUZZ_SEED=${seed}: ${frames} frames from ${timestampsPushed} timestamps`);
  return { mutated, frames, failures };
}

describe('depacketizers under malformed payloads', () => {
  for (const codec of CODECS) {
    it(`${codec}: no exception, no oversized or malformed frame`, () => {
      const stream = fuzzedStream(codec);
      let mutated = 0;
      const failures: string[] = [];
      for (const seed of SEEDS) {
        const r = fuzzDepacketizer(codec, stream, seed, Math.ceil(PACKETS_PER_CODEC / SEEDS.length));
        mutated += r.mutated;
        failures.push(...r.failures);
      }
      process.stderr.write(`fuzz ${codec}: ${mutated} mutated packets, ${failures.length} failures\n`);
      expect(failures).toEqual([]);
      expect(mutated).toBeGreaterThanOrEqual(PACKETS_PER_CODEC);
    });
  }
});

type PayloadMutator = (p: Buffer, random: () => number) => Buffer | undefined;

/** Mutations of the payload format's own fields, which a receiver can and must detect. */
const DETECTABLE: Record<FuzzCodec, PayloadMutator> = {
  h264: (p, r) => {
    const type = p[0]! & 0x1f;
    const pick = r();
    if (pick < 0.2) return Buffer.alloc(0);
    if (pick < 0.4) return Buffer.concat([Buffer.from([p[0]! | 0x80]), p.subarray(1)]); // forbidden_zero_bit
    if (type === 28) {
      if (pick < 0.7) return Buffer.concat([p.subarray(0, 1), Buffer.from([p[1]! ^ (r() < 0.5 ? 0x80 : 0x40)]), p.subarray(2)]); // FU-A S or E flipped
      return p.subarray(0, 1 + Math.floor(r() * 2)); // FU-A without a NAL byte
    }
    if (type === 24) {
      const out = Buffer.from(p);
      out.writeUInt16BE(Math.min(0xffff, out.readUInt16BE(1) + 1 + Math.floor(r() * 100)), 1); // STAP-A size overruns
      return out;
    }
    return undefined;
  },
  vp8: (p, r) => {
    if (r() < 0.3) return Buffer.alloc(0);
    if ((p[0]! & 0x1f) === 0x10) return Buffer.concat([Buffer.from([p[0]! & ~0x10]), p.subarray(1)]); // frame start lost its S bit
    return undefined;
  },
  vp9: (p, r) => {
    if (r() < 0.3) return Buffer.alloc(0);
    return Buffer.concat([Buffer.from([p[0]! ^ (r() < 0.5 ? 0x08 : 0x04)]), p.subarray(1)]); // B or E flipped
  },
  // No empty payloads for AV1: the depacketizer ignores them as RTP padding-only packets, and it
  // cannot tell those from a packet emptied in transit without the RTP P bit, which RtpPacket does
  // not carry (reported; an emptied packet mid-TU comes out as a TU that does not decode).
  av1: (p, r) => {
    return Buffer.concat([Buffer.from([p[0]! ^ (r() < 0.5 ? 0x80 : 0x40)]), p.subarray(1)]); // Z or Y flipped
  },
  opus: (p, r) => mutatePayload('opus', p, r).payload,
};

/** The fixture's records with about `rate` of the codec's stream's packets mutated by `mutate` (default: detectable mutations). */
function mutatedCapture(codec: FuzzCodec, seed: number, rate: number, mutate: PayloadMutator = DETECTABLE[codec]): { records: PcapWriteRecord[]; mutated: number } {
  const random = rng(seed);
  const stream = fuzzedStream(codec);
  const ssrc = stream.ssrc;
  const { records } = readPcapFile(`${fixtureOf(codec)}.pcap`);
  let mutated = 0;
  const out = records.map((record) => {
    if (record.payload.length < 12 || record.payload.readUInt32BE(8) !== ssrc || random() >= rate) return record;
    const packet = parseRtpPacket(record.payload);
    const payload = mutate(packet.payload, random);
    if (!payload || payload.equals(packet.payload)) return record;
    mutated++;
    return { ...record, payload: withPayload(record.payload, packet, payload) };
  });
  return { records: out, mutated };
}

const CONTAINERS: Record<FuzzCodec, string[]> = { h264: ['mp4', 'mkv'], vp8: ['webm', 'mkv'], vp9: ['webm', 'mp4'], av1: ['mp4', 'webm'], opus: ['mp4', 'mkv'] };

describe('the converter under malformed payloads', () => {
  const dir = tempDir('fuzz-payloads-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const codec of CODECS) {
    it(`${codec}: detectable damage is counted and every container decodes cleanly`, async () => {
      let total = 0;
      for (const seed of SEEDS) {
        const { records, mutated } = mutatedCapture(codec, seed, 0.05);
        expect(mutated).toBeGreaterThan(5);
        total += mutated;
        const pcap = join(dir, `${codec}-${seed}.pcap`);
        writeFileSync(pcap, writePcap(records));
        const spanMs = (records.at(-1)!.timestampUs - records[0]!.timestampUs) / 1000;
        for (const container of CONTAINERS[codec]) {
          const out = join(dir, `${codec}-${seed}.${container}`);
          const summary = await convertCaptureFile(pcap, `${fixtureOf(codec)}.sdp`, out);
          const stats = summary.streams.find((s) => (codec === 'opus' ? s.kind === 'audio' : s.kind === 'video'))!;
          const noticed = stats.packetsMalformed + stats.framesDroppedIncomplete + stats.framesDroppedWaitingForKeyframe;
          expect(noticed, `seed ${seed} ${container}: ${mutated} mutated packets went unnoticed`).toBeGreaterThan(0);
          expect(summary.durationMs, `seed ${seed} ${container}`).toBeLessThanOrEqual(spanMs + 1000);
          expect(ffmpegDecodeErrors(out), `seed ${seed} ${container}`).toBe('');
        }
        if (codec === 'opus') {
          // Ogg holds the audio alone.
          const capture = loadCaptureFiles(pcap, `${fixtureOf(codec)}.sdp`);
          const out = join(dir, `${codec}-${seed}.ogg`);
          await convertCapture({ ...capture, streams: capture.streams.filter((s) => s.kind === 'audio') }, out);
          expect(ffmpegDecodeErrors(out), `seed ${seed} ogg`).toBe('');
        }
      }
      process.stderr.write(`fuzz converter ${codec}: ${total} packets with detectable damage over ${SEEDS.length} seeds, ${CONTAINERS[codec].join('+')}\n`);
    });

    it(`${codec}: any damage (a fifth of its packets) never throws, and every container's file stays within the capture's length and size`, async () => {
      let total = 0;
      for (const seed of SEEDS) {
        const { records, mutated } = mutatedCapture(codec, seed, MUTATION_RATE, (p, r) => mutatePayload(codec, p, r).payload);
        total += mutated;
        const pcap = join(dir, `${codec}-any-${seed}.pcap`);
        const bytes = writePcap(records);
        writeFileSync(pcap, bytes);
        const spanMs = (records.at(-1)!.timestampUs - records[0]!.timestampUs) / 1000;
        for (const container of CONTAINERS[codec]) {
          const out = join(dir, `${codec}-any-${seed}.${container}`);
          const summary = await convertCaptureFile(pcap, `${fixtureOf(codec)}.sdp`, out);
          expect(summary.durationMs, `seed ${seed} ${container}`).toBeLessThanOrEqual(spanMs + 1000);
          expect(summary.bytes, `seed ${seed} ${container}`).toBeLessThan(bytes.length);
          // The container itself stays readable: ffprobe finds both streams.
          expect(ffprobeStreams(out, false).streams, `seed ${seed} ${container}`).toHaveLength(2);
        }
      }
      process.stderr.write(`fuzz converter ${codec}: ${total} packets with any damage over ${SEEDS.length} seeds, ${CONTAINERS[codec].join('+')}\n`);
    });
  }
});

describe('the converter under damaged capture records', () => {
  const dir = tempDir('fuzz-records-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const truth = JSON.parse(readFileSync(`${FIXTURES}h264-opus.json`, 'utf8'));
  const { records } = readPcapFile(`${FIXTURES}h264-opus.pcap`);

  it('junk datagrams (not RTP, RTCP-like, unknown payload types, other ports) are all counted and change nothing', async () => {
    for (const seed of SEEDS) {
      const random = rng(seed);
      const withJunk: PcapWriteRecord[] = [];
      let junk = 0;
      for (const record of records) {
        withJunk.push(record);
        if (random() >= 0.05) continue;
        const bytes = Buffer.from(Array.from({ length: Math.floor(random() * 1400) }, () => Math.floor(random() * 256)));
        if (bytes.length >= 2 && bytes[0]! >> 6 === 2) bytes[1] = random() < 0.5 ? 200 : (bytes[1]! & 0x80) | 100 + Math.floor(random() * 20); // RTCP, or a payload type the SDP lacks
        const port = random() < 0.8 ? record.dstPort : 1 + Math.floor(random() * 65535);
        withJunk.push({ ...record, dstPort: port, payload: bytes });
        junk++;
      }
      const pcap = join(dir, `junk-${seed}.pcap`);
      writeFileSync(pcap, writePcap(withJunk));
      const out = join(dir, `junk-${seed}.mp4`);
      const summary = await convertCaptureFile(pcap, `${FIXTURES}h264-opus.sdp`, out);
      const dropped = summary.unmatchedDatagrams + summary.streams.reduce((n, s) => n + s.packetsWrongPayloadType + s.packetsMalformed, 0);
      expect(dropped, `seed ${seed}`).toBe(junk);
      expect(summary.streams.map((s) => s.framesWritten), `seed ${seed}`).toEqual([truth.video.encoded.frames, truth.audio.encoded.packets]);
      expect(ffmpegDecodeErrors(out), `seed ${seed}`).toBe('');
    }
  });

  it('a corrupted record header or a cut gives a clear capture error or a counted truncation, and the file decodes', async () => {
    const whole = writePcap(records);
    const recordStarts: number[] = [];
    for (let o = 24; o < whole.length; o += 16 + whole.readUInt32LE(o + 8)) recordStarts.push(o);
    const outcomes = { converted: 0, truncated: 0, captureError: 0 };
    for (const seed of SEEDS) {
      const random = rng(seed);
      for (let trial = 0; trial < 6; trial++) {
        const bytes = Buffer.from(whole);
        const at = recordStarts[Math.floor(random() * recordStarts.length)]!;
        const damage = trial % 3;
        let capture = bytes;
        if (damage === 0) bytes.writeUInt32LE(Math.floor(random() * 2 ** 32), at + 8 + 4 * Math.floor(random() * 2)); // captured or original length
        else if (damage === 1) bytes.fill(Math.floor(random() * 256), at, at + 16); // record header overwritten
        else capture = bytes.subarray(0, at + 1 + Math.floor(random() * 40)); // cut inside a record
        const pcap = join(dir, `damaged-${seed}-${trial}.pcap`);
        writeFileSync(pcap, capture);
        const out = join(dir, `damaged-${seed}-${trial}.mp4`);
        try {
          const summary = await convertCaptureFile(pcap, `${FIXTURES}h264-opus.sdp`, out);
          if (summary.truncated) outcomes.truncated++;
          else outcomes.converted++;
        } catch (error) {
          expect((error as Error).name, `seed ${seed} trial ${trial}: ${(error as Error).stack}`).toMatch(/^Pcap(Format|Truncated)Error$/);
          expect((error as Error).message).toContain(pcap);
          outcomes.captureError++;
        }
        // A capture error in the first records comes before the output is opened.
        if (existsSync(out)) expect(ffmpegDecodeErrors(out), `seed ${seed} trial ${trial}`).toBe('');
      }
    }
    process.stderr.write(`fuzz records: ${JSON.stringify(outcomes)}\n`);
  });
});
