import { opusPacketDuration } from '../../codec/opus.js';
import { JitterBuffer } from '../../jitter/jitter-buffer.js';
import { ClockMapper } from '../../rtp/clock-mapper.js';
import { parseRtpPacket, type RtpPacket } from '../../rtp/packet.js';
import { TimestampUnwrapper } from '../../rtp/unwrap.js';
import { createOpusCodec, type OpusCodec } from './opus-binding.js';
import { SAMPLES_PER_MS, type MixTimeline } from './mix-timeline.js';
import { PcmRing } from './pcm-ring.js';

/** One participant's Opus RTP stream going into the mix. */
export interface MixInput {
  /** One raw RTP packet as received, at `arrivalMs` (performance.now() clock). Bad packets are counted and dropped, never thrown. */
  receive(packet: Buffer, arrivalMs: number): void;
  /** No more packets: what is held and decoded is still mixed, then the input leaves the mix. Safe to call twice. */
  close(): void;
}

/** The RTP stream an input carries. */
export interface MixInputSpec {
  payloadType: number;
  /** RTP clock rate in Hz; 48000, as RFC 7587 fixes it for Opus. */
  clockRate: number;
  /** Channels the sender signals (2 for Opus in SDP); the mix decodes to its own channel count whatever it is. */
  channels?: number;
}

/** What became of one input's packets. Counts are packets unless named otherwise. */
export interface MixInputStats {
  id: string;
  packetsReceived: number;
  /** Not RTP, or not a valid Opus packet. */
  packetsMalformed: number;
  packetsWrongPayloadType: number;
  /** Received before the mix started or while it was paused. */
  packetsWhileStopped: number;
  packetsDuplicate: number;
  /** Given up as lost by the jitter buffer. */
  packetsLost: number;
  /** Arrived after their place on the timeline was mixed or concealed. */
  packetsLate: number;
  decodeErrors: number;
  ssrcChanges: number;
  /** Times the input's placement moved to follow the sender's clock (drift beyond the tolerance). */
  reanchors: number;
  /** Audio decoded from packets, in ms. */
  decodedMs: number;
  /** Audio made up by the decoder's packet loss concealment, in ms. */
  concealedMs: number;
}

/** Tuning an input gets from its MixSource. */
export interface MixInputTuning {
  channels: 1 | 2;
  /** How far behind real time the mix reads, in ms: the jitter buffer's wait. */
  latencyMs: number;
  /** Longest concealment after the last decoded audio, in ms. */
  concealMaxMs: number;
  /** How far, in ms, placement by RTP time may stray from placement by arrival before it is moved. */
  driftToleranceMs: number;
}

/**
 * One input of the mix: parses and checks its RTP, reorders it (JitterBuffer, no NACKs: the mix
 * has no path back to the sender), decodes it and lays the audio on the mix timeline where the
 * clock mapping puts it: the first packet at its (least-delayed) arrival, the rest by RTP time
 * from there, so a late joiner starts late and a pause in sending (DTX, mute) stays silence.
 * Loss is concealed by the decoder (Opus PLC, fed a packet of no frame data), never left as a
 * hole that would click: when the jitter buffer gives a gap up, and when the mix reaches a place
 * no packet has filled yet (a late packet then finds its place taken and is dropped, keeping the
 * decoder's output continuous). Concealment stops concealMaxMs after the last decoded audio.
 */
export class MixInputStream implements MixInput {
  private readonly counters = {
    packetsReceived: 0,
    packetsMalformed: 0,
    packetsWrongPayloadType: 0,
    packetsWhileStopped: 0,
    packetsLate: 0,
    decodeErrors: 0,
    ssrcChanges: 0,
    reanchors: 0,
    decodedSamples: 0,
    concealedSamples: 0,
  };
  /** Created at the first packet: mono when the stream is coded mono (a microphone, mostly), which costs a third less to decode. */
  private decoder: OpusCodec | undefined;
  private decoderChannels: 1 | 2 = 1;
  private readonly jitter: JitterBuffer;
  private readonly ring: PcmRing;
  private readonly arrivalTimestamps = new TimestampUnwrapper();
  private readonly releasedTimestamps = new TimestampUnwrapper();
  private clock: ClockMapper;
  private ssrc: number | undefined;
  /** Timeline position of an unwrapped RTP timestamp; set by the first packet, moved to follow drift. */
  private anchor: { rtp: number; position: number } | undefined;
  /** Timeline position where what has been written (decoded or concealed) ends. */
  private writtenEnd = 0;
  /** Where the last decoded (not concealed) audio ends; -Infinity before any. */
  private decodedEnd = -Infinity;
  /** A one-byte Opus packet (the last packet's TOC, one frame, no data): the decoder conceals one frame for it. */
  private concealPacket: Buffer | undefined;
  /** A packet before the next one was lost for good (or undecodable): the hole before the next one is concealed. */
  private lossPending = false;
  private closed = false;
  private readonly concealMaxSamples: number;
  private readonly driftToleranceSamples: number;

  constructor(
    readonly id: string,
    private readonly spec: MixInputSpec,
    private readonly timeline: MixTimeline,
    private readonly tuning: MixInputTuning,
  ) {
    if (spec.clockRate !== 48000) throw new RangeError(`Opus input ${id} has clock rate ${spec.clockRate}; RFC 7587 fixes 48000`);
    this.jitter = new JitterBuffer(
      { latencyMs: tuning.latencyMs, nack: false },
      { onPacket: (packet) => this.onPacket(packet), onLoss: () => (this.lossPending = true), sendNack: () => undefined },
    );
    this.concealMaxSamples = tuning.concealMaxMs * SAMPLES_PER_MS;
    this.driftToleranceSamples = tuning.driftToleranceMs * SAMPLES_PER_MS;
    // Placement never runs more than the drift tolerance ahead of arrival, and the mix reads
    // latencyMs behind: room for that, the longest concealment and a 120 ms packet, so nothing
    // placed in time is cut off (the ring drops what falls beyond it).
    this.ring = new PcmRing((tuning.latencyMs + tuning.concealMaxMs + tuning.driftToleranceMs + 140) * SAMPLES_PER_MS, tuning.channels);
    this.clock = new ClockMapper(spec.clockRate);
    this.writtenEnd = timeline.head;
  }

  receive(raw: Buffer, arrivalMs: number): void {
    if (this.closed) return;
    this.counters.packetsReceived++;
    if (!this.timeline.running) {
      this.counters.packetsWhileStopped++;
      return;
    }
    let packet: RtpPacket;
    try {
      packet = parseRtpPacket(raw);
    } catch {
      this.counters.packetsMalformed++;
      return;
    }
    if (packet.payloadType !== this.spec.payloadType) {
      this.counters.packetsWrongPayloadType++;
      return;
    }
    if (packet.ssrc !== this.ssrc) this.onSsrc(packet.ssrc);
    this.clock.observe(this.arrivalTimestamps.unwrap(packet.timestamp), arrivalMs);
    this.jitter.push(packet, arrivalMs);
  }

  close(): void {
    if (this.closed) return;
    if (this.timeline.running) this.jitter.flush();
    this.closed = true;
  }

  /** Closed, and everything it wrote has been mixed: the mixer lets it go. */
  get drained(): boolean {
    return this.closed && this.writtenEnd <= this.timeline.head;
  }

  /**
   * Gets the positions before `to` ready to be mixed now: a gap the jitter buffer still waits on
   * there is given up, and what no packet filled is concealed (up to concealMaxMs).
   */
  prepare(to: number): void {
    if (this.writtenEnd >= to) return;
    if (this.jitter.nextDeadlineMs() !== undefined) this.jitter.flush();
    if (!this.closed) this.conceal(Math.min(to, this.decodedEnd + this.concealMaxSamples));
  }

  /** Adds this input's audio at positions `from` .. `from + count - 1` into `sum`. */
  takeInto(from: number, count: number, sum: Float32Array): void {
    if (this.writtenEnd > from) this.ring.takeInto(from, count, sum);
  }

  /** The mix skipped ahead to `timeline.head` (a stall): what was written has no place any more. */
  skipped(): void {
    this.ring.clear();
    this.writtenEnd = this.timeline.head;
  }

  /** The mix resumed after a pause: the stream is placed afresh from its next packet. */
  restart(): void {
    this.skipped();
    this.jitter.reset();
    this.arrivalTimestamps.reset();
    this.releasedTimestamps.reset();
    this.clock = new ClockMapper(this.spec.clockRate);
    this.anchor = undefined;
    this.decodedEnd = -Infinity;
    this.lossPending = false;
  }

  stats(): MixInputStats {
    const c = this.counters;
    const j = this.jitter.stats;
    return {
      id: this.id,
      packetsReceived: c.packetsReceived,
      packetsMalformed: c.packetsMalformed,
      packetsWrongPayloadType: c.packetsWrongPayloadType,
      packetsWhileStopped: c.packetsWhileStopped,
      packetsDuplicate: j.duplicates,
      packetsLost: j.lost,
      packetsLate: c.packetsLate + j.late,
      decodeErrors: c.decodeErrors,
      ssrcChanges: c.ssrcChanges,
      reanchors: c.reanchors,
      decodedMs: c.decodedSamples / SAMPLES_PER_MS,
      concealedMs: c.concealedSamples / SAMPLES_PER_MS,
    };
  }

  /** A new sender stream (new SSRC): its numbering and clock start afresh, placed by its own arrivals. */
  private onSsrc(ssrc: number): void {
    if (this.ssrc !== undefined) {
      this.counters.ssrcChanges++;
      this.jitter.flush();
      this.jitter.reset();
      this.arrivalTimestamps.reset();
      this.releasedTimestamps.reset();
      this.clock = new ClockMapper(this.spec.clockRate);
      this.anchor = undefined;
    }
    this.ssrc = ssrc;
  }

  private onPacket(packet: RtpPacket): void {
    const payload = packet.payload;
    const duration = opusPacketDuration(payload);
    const rtp = this.releasedTimestamps.unwrap(packet.timestamp);
    if (duration === undefined) {
      this.counters.packetsMalformed++;
      this.lossPending = true;
      return;
    }
    let position = this.place(rtp);
    const head = this.timeline.head;
    if (position < this.writtenEnd) {
      if (position + duration <= this.writtenEnd) {
        // Its place was mixed or concealed already.
        this.counters.packetsLate++;
        return;
      }
      // Straddles the end of what is written (concealed, mostly): it follows on from there, as the
      // decoder's output follows on from the concealment, rather than overwrite half of it.
      this.anchor!.position += this.writtenEnd - position;
      position = this.writtenEnd;
    } else if (position + duration <= head) {
      this.counters.packetsLate++;
      return;
    }
    if (position > this.writtenEnd && this.lossPending) this.conceal(Math.min(position, this.decodedEnd + this.concealMaxSamples));
    this.lossPending = false;
    let pcm: Int16Array;
    try {
      pcm = int16View(this.decoderFor(payload[0]!).decode(payload));
    } catch {
      this.counters.decodeErrors++;
      this.lossPending = true;
      return;
    }
    const samples = pcm.length / this.decoderChannels;
    this.ring.write(position, pcm, this.decoderChannels, head);
    this.writtenEnd = position + samples;
    this.decodedEnd = this.writtenEnd;
    this.counters.decodedSamples += samples;
    this.concealPacket = Buffer.from([payload[0]! & 0xfc]);
  }

  /**
   * The decoder, made for the first packet: stereo only for a stereo mix of a stream coded in
   * stereo (TOC bit 2). It stays: a decoder's state is the stream's history, and one decoder
   * takes the other kind of packet too (a mono decoder downmixes a stereo packet, a stereo one upmixes a mono packet).
   */
  private decoderFor(toc: number): OpusCodec {
    if (this.decoder === undefined) {
      this.decoderChannels = this.tuning.channels === 2 && (toc & 0x04) !== 0 ? 2 : 1;
      this.decoder = createOpusCodec(this.decoderChannels);
    }
    return this.decoder;
  }

  /**
   * Timeline position of an unwrapped RTP timestamp: by RTP time from the anchor, and the anchor
   * moved when that strays from the arrival-based mapping by more than the tolerance (the
   * sender's clock runs at another rate than ours, or it restarted its timestamps).
   */
  private place(rtp: number): number {
    const mapped = this.timeline.toPosition(this.clock.toWallMs(rtp)!);
    if (this.anchor === undefined) {
      this.anchor = { rtp, position: mapped };
    } else if (Math.abs(mapped - (this.anchor.position + rtp - this.anchor.rtp)) > this.driftToleranceSamples) {
      this.counters.reanchors++;
      this.anchor = { rtp, position: mapped };
    }
    return this.anchor.position + rtp - this.anchor.rtp;
  }

  /** Conceals from the end of what is written up to `until` (or a little past: whole frames), if there is anything to conceal from. */
  private conceal(until: number): void {
    const head = this.timeline.head;
    if (this.concealPacket === undefined || this.decoder === undefined || until <= head) return;
    while (this.writtenEnd < until) {
      let pcm: Int16Array;
      try {
        pcm = int16View(this.decoder.decode(this.concealPacket));
      } catch {
        this.counters.decodeErrors++;
        return;
      }
      const samples = pcm.length / this.decoderChannels;
      if (samples === 0) return;
      this.ring.write(this.writtenEnd, pcm, this.decoderChannels, head);
      this.writtenEnd += samples;
      this.counters.concealedSamples += samples;
    }
  }
}

/** The decoder's output as 16-bit samples; copied only if the buffer is not 2-byte aligned. */
function int16View(buf: Buffer): Int16Array {
  if (buf.byteOffset % 2 === 0) return new Int16Array(buf.buffer, buf.byteOffset, buf.length >> 1);
  const copy = new Int16Array(buf.length >> 1);
  new Uint8Array(copy.buffer).set(buf);
  return copy;
}
