/**
 * What reached the router, as a reference for the files' timeline: an audio producer tapped by a
 * DirectTransport consumer, each RTP packet kept with its arrival on the room clock, and its
 * Opus decoded afterwards by @discordjs/opus (libopus, not the recorder's code) to find when
 * each tone burst arrived. Single arrivals jitter by tens of ms on a loaded machine (pacing, the
 * event loop), so each packet is placed by its RTP time from the packet that came soonest (the
 * least delay): the sender's capture clock read by the router's arrival clock.
 */
import { createRequire } from 'node:module';
import type { types } from 'mediasoup';

const { OpusEncoder } = createRequire(import.meta.url)('@discordjs/opus') as {
  OpusEncoder: new (rate: number, channels: number) => { decode(packet: Buffer): Buffer };
};

/** Chromium sends 20 ms Opus frames: a packet leaves once its last sample is captured. */
const FRAME_MS = 20;

/** The payload of an RTP packet (after CSRCs and the header extension, without padding). */
function rtpPayload(packet: Buffer): Buffer {
  let offset = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  const padding = packet[0]! & 0x20 ? packet[packet.length - 1]! : 0;
  return packet.subarray(offset, packet.length - padding);
}

export class ArrivalTap {
  private readonly packets: { atMs: number; rtpTime: number; payload: Buffer }[] = [];

  private constructor(readonly producerId: string) {}

  /** Taps `producer` on `router`; `nowMs` is the room clock (RoomRecorder.nowMs). */
  static async open(router: types.Router, producer: types.Producer, nowMs: () => number): Promise<ArrivalTap> {
    const tap = new ArrivalTap(producer.id);
    const transport = await router.createDirectTransport();
    const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    // Loopback does not reorder: arrival order is sequence order.
    consumer.on('rtp', (packet: Buffer) => tap.packets.push({ atMs: nowMs(), rtpTime: packet.readUInt32BE(4), payload: Buffer.from(rtpPayload(packet)) }));
    producer.observer.once('close', () => transport.close());
    return tap;
  }

  /** Room ms at which each burst (|sample| above `threshold`, after `quietMs` of quiet) reached the router, as placed by the least delay. */
  onsets(threshold: number, quietMs = 300): number[] {
    if (this.packets.length === 0) return [];
    const first = this.packets[0]!.rtpTime;
    // RTP ms since the first packet (no wrap in a test's minute: 32 bits at 48 kHz last 24 h).
    const rtpMs = (rtpTime: number): number => (((rtpTime - first) >>> 0) * 1000) / 48000;
    const leastDelay = Math.min(...this.packets.map((p) => p.atMs - rtpMs(p.rtpTime)));
    const decoder = new OpusEncoder(48000, 2);
    const out: number[] = [];
    let last = -Infinity;
    for (const { rtpTime, payload } of this.packets) {
      const pcm = decoder.decode(payload);
      const samples = pcm.length / 4; // stereo s16
      for (let k = 0; k < samples; k++) {
        if (Math.abs(pcm.readInt16LE(k * 4)) / 32768 <= threshold) continue;
        const ms = leastDelay + rtpMs(rtpTime) - FRAME_MS + (k * 1000) / 48000;
        if (ms - last > quietMs) out.push(ms);
        last = ms;
      }
    }
    return out;
  }
}
