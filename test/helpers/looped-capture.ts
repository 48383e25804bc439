/**
 * A fixture capture played over and over as one continuous session: each loop's packets follow the
 * last loop's in capture time, sequence numbers and RTP timestamps (wrapping as they would), so a
 * 20 s fixture stands for an hour or a day of media. Packets are made as they are read (a
 * generator), so a day's worth never sits in memory.
 */
import type { Capture } from '../../src/source/capture.js';
import { packetsInTimeOrder } from '../../src/source/capture.js';

export interface LoopedPacket {
  /** Index of the packet's stream in the capture. */
  stream: number;
  /** Capture (arrival) time, in ms from the session's first packet. */
  timeMs: number;
  /** A fresh copy of the packet, header rewritten for its loop. */
  data: Buffer;
}

/** Where counters start: e.g. near the top, to wrap early. */
export interface LoopStart {
  /** Added to every stream's sequence numbers (mod 2^16), or stream by stream. */
  sequenceOffset?: number | number[];
  /** Added to every stream's timestamps (mod 2^32), or stream by stream. */
  timestampOffset?: number | number[];
}

const offsetOf = (offset: number | number[] | undefined, stream: number): number => (Array.isArray(offset) ? offset[stream]! : (offset ?? 0));

/** Length of one loop, in ms: the fixture's span of capture time and of each stream's RTP time, plus one audio frame (20 ms), whole ms. */
export function loopSpanMs(capture: Capture): number {
  const times = capture.streams.flatMap((s) => [s.packets[0]!.timeMs, s.packets.at(-1)!.timeMs]);
  const rtpSpansMs = capture.streams.map((s) => (((s.packets.at(-1)!.data.readUInt32BE(4) - s.packets[0]!.data.readUInt32BE(4)) >>> 0) * 1000) / s.clockRate);
  return Math.ceil(Math.max(Math.max(...times) - Math.min(...times), ...rtpSpansMs) + 20);
}

/** The capture's packets, `loops` times over, in capture-time order. */
export function* loopCapture(capture: Capture, loops: number, start: LoopStart = {}): Generator<LoopedPacket> {
  const order = packetsInTimeOrder(capture.streams);
  const index = new Map(capture.streams.map((s, i) => [s, i]));
  const origin = Math.min(...capture.streams.map((s) => s.packets[0]!.timeMs));
  const spanMs = loopSpanMs(capture);
  const seqStep = capture.streams.map((s) => s.packets.length);
  const tsStep = capture.streams.map((s) => Math.round((spanMs * s.clockRate) / 1000));
  for (let loop = 0; loop < loops; loop++) {
    for (const { stream, timeMs, data } of order) {
      const i = index.get(stream)!;
      const copy = Buffer.from(data);
      copy.writeUInt16BE((data.readUInt16BE(2) + offsetOf(start.sequenceOffset, i) + loop * seqStep[i]!) & 0xffff, 2);
      copy.writeUInt32BE((data.readUInt32BE(4) + offsetOf(start.timestampOffset, i) + loop * tsStep[i]!) >>> 0, 4);
      yield { stream: i, timeMs: timeMs - origin + loop * spanMs, data: copy };
    }
  }
}

/** What a live feed went through. */
export interface FeedResult {
  packets: number;
  /** Arrival time of the first and last packet, in ms. */
  firstMs: number;
  lastMs: number;
}

/** The parts of a RecordingSession a live feed drives. */
export interface LiveSession {
  receive(index: number, raw: Buffer, nowMs: number): void;
  poll(nowMs: number): void;
  nextDeadlineMs(): number | undefined;
}

/**
 * Feeds packets to a session as the live recorder does, with time passed in: each packet at its
 * arrival time, the session's timers fired in order in between, as a timer would fire them.
 * `each` runs after every packet (e.g. to sample memory or script events).
 */
export function feedLive(session: LiveSession, packets: Iterable<LoopedPacket>, each?: (p: LoopedPacket, n: number) => void): FeedResult {
  const result: FeedResult = { packets: 0, firstMs: NaN, lastMs: NaN };
  for (const p of packets) {
    for (let due = session.nextDeadlineMs(); due !== undefined && due <= p.timeMs; ) {
      session.poll(due);
      const next = session.nextDeadlineMs();
      if (next !== undefined && next <= due) break; // everything due by `due` is done; never spin
      due = next;
    }
    session.receive(p.stream, p.data, p.timeMs);
    if (result.packets++ === 0) result.firstMs = p.timeMs;
    result.lastMs = p.timeMs;
    each?.(p, result.packets);
  }
  return result;
}
