import type { Depacketizer, Frame } from '../codec/frame.js';
import { createDepacketizer } from '../codec/depacketizers.js';
import { opusSilencePacket } from '../codec/opus.js';
import { JitterBuffer } from '../jitter/jitter-buffer.js';
import { KeyframeRequester } from '../jitter/keyframe-requester.js';
import type { Mp4Sample } from '../mux/mp4/track.js';
import { ClockMapper } from '../rtp/clock-mapper.js';
import { parseRtpPacket, type RtpPacket } from '../rtp/packet.js';
import { findHeaderExtension, rotationOf } from '../rtp/header-extension.js';
import { StreamGuard } from '../rtp/stream-guard.js';
import { TimestampUnwrapper } from '../rtp/unwrap.js';
import type { RecordingClock } from './recording-clock.js';
import type { StreamSpec } from './stream-spec.js';

/** Feedback a source carries back to the sender (mediasoup consumer, UDP peer); pcap input has none. */
export interface StreamFeedback {
  requestKeyFrame(): void;
  /** `sequenceNumbers` are 16-bit RTP sequence numbers of `mediaSsrc` to retransmit. */
  sendNack(mediaSsrc: number, sequenceNumbers: number[]): void;
}

/** Per-stream tuning; every field has a default. */
export interface StreamPipelineOptions {
  /**
   * How long, in ms of wall-clock time, packets are held while a missing one may still arrive.
   * Default 300: a recorder is not a player, and holding packets longer costs only memory (about
   * 60 kB per 1.5 Mbps stream), while it lets a lost retransmission be asked for again: with 5 %
   * loss and 40 ms jitter, 150 ms still gave up about one packet in 70 that arrived later.
   */
  latencyMs?: number;
  /** Ask the sender to retransmit missing packets (generic NACK). Default true. */
  nack?: boolean;
  /** Least time between two keyframe requests, in ms. Default 300. */
  keyframeMinIntervalMs?: number;
  /** How long to wait for a requested keyframe before asking again, in ms. Default 1000. */
  keyframeRetryIntervalMs?: number;
  /**
   * How far, in ms, a track may fall behind wall-clock time before it is moved forward: when a
   * sender's clock runs slow (an audio device skipping buffers), audio gets silence and video a
   * longer frame instead of drifting out of sync. Default 40 (two Opus frames).
   */
  driftToleranceMs?: number;
  /** Holes in a track at least this long, in ms, are reported as gaps (event and stats). Default 500. */
  gapThresholdMs?: number;
}

/**
 * A hole in a track, reported when media resumes after it: the sender sent nothing (pause, mute,
 * DTX, outage) or what it sent was lost for good (video then waits for the next keyframe).
 */
export interface StreamGap {
  /** 'loss': packets were lost for good or frames dropped; 'no-media': nothing came. */
  cause: 'loss' | 'no-media';
  /** Track time where the hole starts (end of the last sample before it), in ms from the recording start. */
  startMs: number;
  /** Length of the hole, in ms of track time (audio: filled with silence; video: the last picture stays). */
  durationMs: number;
  /** Packets lost for good in it. */
  lostPackets: number;
  /** Frames dropped in it (incomplete, or waiting for a keyframe). */
  framesDropped: number;
}

/** What happened to one stream, by cause. Counts are packets unless named otherwise. */
export interface StreamStats {
  label: string;
  kind: 'audio' | 'video';
  codec: StreamSpec['codec'];
  packetsReceived: number;
  packetsMalformed: number;
  packetsWrongPayloadType: number;
  packetsLost: number;
  packetsRecovered: number;
  packetsLate: number;
  packetsDuplicate: number;
  /** Packets dropped because their SSRC was not the track's and no packets in sequence confirmed it as the track's new one (strays). */
  packetsStraySsrc: number;
  /** Packets dropped because their RTP timestamp disagreed with their arrival time by far more than jitter, unconfirmed by packets in sequence. */
  packetsTimestampJump: number;
  /** Packets dropped because their sequence number was far from the stream's, unconfirmed by packets in sequence. */
  packetsSequenceStray: number;
  /** Packets dropped because their header layout was not the stream's (padded in a stream that does not pad, or the reverse; another CSRC count; no extension block where every packet so far had one), unconfirmed by packets in sequence: the payload would start or end in the wrong place. */
  packetsLayoutStray: number;
  /** Confirmed timestamp discontinuities: the stream's timestamps were rebased to go on from arrival time. */
  timestampRebases: number;
  /** Confirmed sequence-number discontinuities (a jump beyond the jitter buffer's maxJump): a new numbering, nothing counted lost. */
  sequenceRestarts: number;
  /**
   * Frames that landed further ahead of the track than wall-clock time since the last sample
   * allows (a jump no packet check caught): the track was re-anchored to wall-clock time. Silence is
   * never filled beyond that allowance either.
   */
  trackReanchors: number;
  /** Video: packets with a new timestamp right after a packet without the marker bit, nothing lost in between (a stray timestamp or a cleared marker); handled as a loss. */
  frameBoundaryBreaks: number;
  nackRequests: number;
  keyframeRequests: number;
  ssrcChanges: number;
  framesWritten: number;
  keyframesWritten: number;
  framesDroppedIncomplete: number;
  framesDroppedWaitingForKeyframe: number;
  framesDroppedOutOfOrder: number;
  /** Audio: silence inserted for gaps (DTX, loss, pauses), in ms. */
  silenceInsertedMs: number;
  /** Gaps of at least gapThresholdMs, and their total length in ms. */
  gaps: number;
  gapMs: number;
  /** How far the track was moved forward to keep up with wall-clock time (a slow sender clock), in ms. */
  driftCorrectedMs: number;
  /** Media bytes handed to the muxer. */
  bytes: number;
  /** Track time of the first sample written, in ms from the recording start; 0 before it. */
  firstSampleMs: number;
  /** Track time of the last sample written, in ms from the recording start. */
  lastSampleMs: number;
}

/** Where a pipeline hands its samples and notices. */
export interface StreamPipelineOutput {
  onSample(sample: Mp4Sample): void;
  onGap(gap: StreamGap): void;
  onKeyframe(): void;
}

const OPUS_SILENCE_SAMPLES = 960; // 20 ms at 48 kHz
/** Added to the wall-clock time since the last sample for how far ahead the next may land, in ms: the jitter buffer's hold and timing jitter on top. */
const WALL_CLOCK_SLACK_MS = 1000;

/**
 * One RTP stream from packet to muxer sample: parse -> jitter buffer -> depacketizer -> keyframe
 * gate (video) -> one recording timeline -> silence fill (audio). Never throws for bad packets;
 * every drop is counted in `stats()`. Time comes in as `nowMs` arguments (wall clock, ms), so the
 * same pipeline runs live and over captures.
 */
export class StreamPipeline {
  private readonly guard: StreamGuard;
  private readonly jitter: JitterBuffer;
  private readonly depacketizer: Depacketizer;
  private readonly keyframes: KeyframeRequester;
  private readonly arrivalTimestamps = new TimestampUnwrapper();
  private readonly releasedTimestamps = new TimestampUnwrapper();
  private clockMapper: ClockMapper;
  private nowMs = 0;
  /** `nowMs` when the last sample was written. */
  private lastWriteMs = 0;
  private readonly latencyMs: number;
  /** Video: timestamp of the last packet released, and whether it ended its frame (marker bit; true when nothing came yet or after a loss). */
  private frameTimestamp = 0;
  private frameEnded = true;
  /** Video: the last frame interval shorter than a gap, in timescale units (stated as each frame's duration). */
  private frameTicks: number;
  private waitingForKeyframe: boolean;
  /** Track time (timescale units) of the last sample and its end; undefined until the first sample. */
  private lastDts: number | undefined;
  private firstDts: number | undefined;
  /** Where the next sample may start: the last one's end (its stated duration, else the last frame interval). */
  private lastEnd = 0;
  /** Maps unwrapped RTP time to track time; re-anchored after an SSRC change or a resume. */
  private anchor: { rtp: number; dts: number } | undefined;
  private readonly silence: Buffer | undefined;
  /** Video: latest rotation the sender signalled, and the one last written with a keyframe. */
  private rotation: 0 | 90 | 180 | 270 = 0;
  private writtenRotation: number | undefined;
  private readonly counters = {
    packetsReceived: 0,
    packetsMalformed: 0,
    packetsWrongPayloadType: 0,
    ssrcChanges: 0,
    framesWritten: 0,
    keyframesWritten: 0,
    framesDroppedWaitingForKeyframe: 0,
    framesDroppedOutOfOrder: 0,
    frameBoundaryBreaks: 0,
    trackReanchors: 0,
    silenceSamples: 0,
    gaps: 0,
    gapTicks: 0,
    driftTicks: 0,
    bytes: 0,
  };
  /** Losses and drops since the last sample written: what the next gap, if any, is made of. */
  private lostSinceWrite = 0;
  private droppedAtWrite = 0;
  private readonly driftToleranceTicks: number;
  private readonly gapThresholdTicks: number;

  constructor(
    readonly spec: StreamSpec,
    private readonly clock: RecordingClock,
    private readonly output: StreamPipelineOutput,
    private readonly feedback: StreamFeedback | undefined,
    options: StreamPipelineOptions = {},
  ) {
    this.latencyMs = options.latencyMs ?? 300;
    this.guard = new StreamGuard(spec.clockRate, {
      onPacket: (packet, raw, arrivalMs) => this.onGuardedPacket(packet, raw, arrivalMs),
      onSsrcChange: () => this.onSsrcChange(),
    });
    this.jitter = new JitterBuffer(
      { latencyMs: this.latencyMs, nack: (options.nack ?? true) && feedback !== undefined },
      {
        onPacket: (packet) => this.onOrderedPacket(packet),
        onLoss: (_first, count) => this.onLoss(count),
        sendNack: (sequenceNumbers) => this.feedback?.sendNack(this.guard.ssrc ?? 0, sequenceNumbers),
      },
    );
    const onFrame = (frame: Frame): void => this.onFrame(frame);
    this.depacketizer = createDepacketizer(spec, onFrame);
    this.keyframes = new KeyframeRequester({
      minIntervalMs: options.keyframeMinIntervalMs ?? 300,
      retryIntervalMs: options.keyframeRetryIntervalMs ?? 1000,
      request: () => this.feedback?.requestKeyFrame(),
    });
    this.clockMapper = new ClockMapper(this.spec.clockRate);
    this.driftToleranceTicks = ((options.driftToleranceMs ?? 40) * spec.clockRate) / 1000;
    this.gapThresholdTicks = ((options.gapThresholdMs ?? 500) * spec.clockRate) / 1000;
    this.waitingForKeyframe = spec.kind === 'video';
    this.frameTicks = Math.round(spec.clockRate / 30);
    this.silence = spec.codec === 'opus' ? opusSilencePacket(spec.channels === 1 ? 1 : 2) : undefined;
  }

  /** One RTP packet as received; `arrivalMs` is its wall-clock arrival time. */
  receive(raw: Buffer, arrivalMs: number): void {
    this.nowMs = arrivalMs;
    this.counters.packetsReceived++;
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
    // Every payload format recorded has at least a descriptor byte; an empty payload without
    // padding (a padding-only packet) is a broken packet, which must read as a loss, not as a
    // fragment of nothing.
    if (packet.payload.length === 0 && (raw[0]! & 0x20) === 0) {
      this.counters.packetsMalformed++;
      return;
    }
    this.guard.push(packet, raw, arrivalMs);
  }

  /** A packet the guard let through: of the track's SSRC, its timestamp in line with arrival time. */
  private onGuardedPacket(packet: RtpPacket, raw: Buffer, arrivalMs: number): void {
    if (this.spec.videoOrientationExtensionId !== undefined && packet.extensionLength > 0) {
      const orientation = findHeaderExtension(raw, packet, this.spec.videoOrientationExtensionId);
      if (orientation) this.rotation = rotationOf(orientation);
    }
    this.clockMapper.observe(this.arrivalTimestamps.unwrap(packet.timestamp), arrivalMs);
    this.jitter.push(packet, arrivalMs);
  }

  /** Runs due timers (held packets, NACK retries, keyframe retries). */
  poll(nowMs: number): void {
    this.nowMs = nowMs;
    this.jitter.poll(nowMs);
    this.keyframes.poll(nowMs);
  }

  /** The next time `poll()` has work, in wall-clock ms; undefined when nothing is pending. */
  nextDeadlineMs(): number | undefined {
    const a = this.jitter.nextDeadlineMs();
    const b = this.waitingForKeyframe ? this.keyframes.nextDeadlineMs() : undefined;
    if (a === undefined) return b;
    return b === undefined ? a : Math.min(a, b);
  }

  /**
   * Wall-clock time (ms) of this track's time zero as the clock mapping estimates it now: the
   * first frame's arrival fixed the track's placement, later packets give a better estimate of
   * the same instant. For an unpaused recording; undefined before the first sample.
   */
  zeroWallMs(): number | undefined {
    if (!this.anchor) return undefined;
    const wallMs = this.clockMapper.toWallMs(this.anchor.rtp);
    return wallMs === undefined ? undefined : wallMs - this.ms(this.anchor.dts);
  }

  /** Video: asks for a keyframe now (at start, after a resume). */
  requestKeyframe(nowMs: number): void {
    if (this.spec.kind === 'video') this.keyframes.needKeyframe(nowMs);
  }

  /**
   * Recording resumed after a pause: the timeline continues from the recording clock, and video
   * waits for (and asks for) a keyframe, since frames in between were not recorded.
   */
  resume(nowMs: number): void {
    this.anchor = undefined;
    this.jitter.reset();
    this.depacketizer.reset();
    this.frameEnded = true;
    if (this.spec.kind === 'video') {
      this.waitingForKeyframe = true;
      this.keyframes.needKeyframe(nowMs);
    }
  }

  /** End of input: releases what the jitter buffer still holds, and brings audio level with wall-clock time. */
  finish(): void {
    this.guard.flush();
    this.jitter.flush();
    this.catchUpAtEnd();
  }

  stats(): StreamStats {
    const j = this.jitter.stats;
    const c = this.counters;
    return {
      label: this.spec.label,
      kind: this.spec.kind,
      codec: this.spec.codec,
      packetsReceived: c.packetsReceived,
      packetsMalformed: c.packetsMalformed + this.depacketizer.stats.packetsMalformed,
      packetsWrongPayloadType: c.packetsWrongPayloadType,
      packetsLost: j.lost,
      packetsRecovered: j.recovered,
      packetsLate: j.late,
      packetsDuplicate: j.duplicates,
      packetsStraySsrc: this.guard.stats.straySsrc,
      packetsTimestampJump: this.guard.stats.timestampJumps,
      packetsSequenceStray: j.strays,
      packetsLayoutStray: this.guard.stats.layoutStrays,
      timestampRebases: this.guard.stats.timestampRebases,
      sequenceRestarts: j.restarts,
      trackReanchors: c.trackReanchors,
      frameBoundaryBreaks: c.frameBoundaryBreaks,
      nackRequests: j.nackRequests,
      keyframeRequests: this.keyframes.stats.requests,
      ssrcChanges: c.ssrcChanges,
      framesWritten: c.framesWritten,
      keyframesWritten: c.keyframesWritten,
      framesDroppedIncomplete: this.depacketizer.stats.framesDroppedIncomplete,
      framesDroppedWaitingForKeyframe: c.framesDroppedWaitingForKeyframe,
      framesDroppedOutOfOrder: c.framesDroppedOutOfOrder,
      silenceInsertedMs: this.ms(c.silenceSamples),
      gaps: c.gaps,
      gapMs: this.ms(c.gapTicks),
      driftCorrectedMs: this.ms(c.driftTicks),
      bytes: c.bytes,
      firstSampleMs: this.firstDts === undefined ? 0 : this.ms(this.firstDts),
      lastSampleMs: this.lastDts === undefined ? 0 : this.ms(this.lastDts),
    };
  }

  private ms(ticks: number): number {
    return (ticks * 1000) / this.spec.clockRate;
  }

  private framesDropped(): number {
    return this.counters.framesDroppedWaitingForKeyframe + this.depacketizer.stats.framesDroppedIncomplete;
  }

  /** A new sender stream for the same track (confirmed by the guard): its numbers start afresh, the track continues. */
  private onSsrcChange(): void {
    this.counters.ssrcChanges++;
    this.jitter.flush();
    this.jitter.reset();
    this.arrivalTimestamps.reset();
    this.releasedTimestamps.reset();
    this.clockMapper = new ClockMapper(this.spec.clockRate);
    this.anchor = undefined;
    this.depacketizer.reset();
    this.frameEnded = true;
    // The new stream decodes from its first keyframe, which may not come unasked.
    if (this.spec.kind === 'video') this.waitForKeyframe();
  }

  private onOrderedPacket(packet: RtpPacket): void {
    if (this.spec.kind === 'video') this.checkFrameBoundary(packet);
    const dropped = this.depacketizer.stats.framesDroppedIncomplete;
    this.depacketizer.push(packet, this.releasedTimestamps.unwrap(packet.timestamp));
    // A frame the depacketizer had to drop (malformed, sender error) breaks the reference chain as a loss does.
    if (this.spec.kind === 'video' && this.depacketizer.stats.framesDroppedIncomplete !== dropped && !this.waitingForKeyframe) {
      this.waitForKeyframe();
    }
  }

  /**
   * Video: a frame's packets share its timestamp and the last one has the marker bit, so a new
   * timestamp right after a packet without it, nothing lost in between, means one of them lies (a
   * stray timestamp, a cleared marker): taken as a loss, since which frame is whole cannot be told.
   */
  private checkFrameBoundary(packet: RtpPacket): void {
    if (!this.frameEnded && packet.timestamp !== this.frameTimestamp) {
      this.counters.frameBoundaryBreaks++;
      this.depacketizer.reset();
      this.waitForKeyframe();
    }
    this.frameTimestamp = packet.timestamp;
    this.frameEnded = packet.marker;
  }

  private onLoss(count: number): void {
    this.frameEnded = true; // the loss explains a missing marker
    this.depacketizer.reset();
    this.lostSinceWrite += count;
    // A lost packet breaks the reference chain: nothing decodes cleanly until the next keyframe.
    if (this.spec.kind === 'video') this.waitForKeyframe();
  }

  private waitForKeyframe(): void {
    this.waitingForKeyframe = true;
    this.keyframes.setRttMs(this.jitter.rttMs); // no more than one request per round trip
    this.keyframes.needKeyframe(this.nowMs);
  }

  private onFrame(frame: Frame): void {
    if (this.waitingForKeyframe) {
      if (!frame.keyframe) {
        this.counters.framesDroppedWaitingForKeyframe++;
        return;
      }
      this.waitingForKeyframe = false;
      this.keyframes.keyframeReceived(this.nowMs);
    }
    let dts = this.trackTime(frame.timestamp);
    if (this.lastDts !== undefined && dts - this.lastEnd > this.wallClockAllowanceTicks()) {
      // Further ahead than wall-clock time can explain: a jump no packet check caught.
      this.counters.trackReanchors++;
      this.anchor = undefined;
      dts = this.trackTime(frame.timestamp);
    }
    // Audio frames must not overlap: one stamped a little ahead (within the guard's tolerance) ends after those that follow it.
    if (this.lastDts !== undefined && (dts <= this.lastDts || (this.silence !== undefined && dts < this.lastEnd))) {
      this.counters.framesDroppedOutOfOrder++;
      // A video frame not written breaks the reference chain (one stamped ahead went before it).
      if (this.spec.kind === 'video') this.waitForKeyframe();
      return;
    }
    if (this.lastDts !== undefined) this.noteGap(dts);
    if (this.silence && this.lastDts !== undefined) this.fillSilence(dts);
    const rotation = frame.keyframe && this.spec.kind === 'video' && this.rotation !== this.writtenRotation ? this.rotation : undefined;
    if (rotation !== undefined) this.writtenRotation = rotation;
    this.write({ dts, data: frame.data, keyframe: frame.keyframe, duration: frame.duration, config: frame.config, rotation });
    if (frame.keyframe && this.spec.kind === 'video') this.output.onKeyframe();
  }

  /**
   * Converts an unwrapped RTP timestamp to track time on the recording's shared clock. The first
   * anchor is placed from what the mapping knows then and revised once when the clock settles
   * (RecordingClock.settle): from the smallest delay over the settling time. Arrivals, not sender
   * reports, place a track (see ClockMapper).
   */
  private trackTime(rtpTimestamp: number): number {
    if (!this.anchor) {
      // The mapper has seen this frame's packets, so it always has an estimate; `nowMs` is only a fallback.
      const mapper = this.clockMapper;
      const recordingMs = this.clock.toRecordingMs(mapper.toWallMs(rtpTimestamp) ?? this.nowMs);
      const target = Math.round((recordingMs * this.spec.clockRate) / 1000);
      this.anchor = { rtp: rtpTimestamp, dts: Math.max(this.lastEnd, target) };
      const move = (ticks: number): void => {
        // Everything handed out so far is held by the muxer and moves with it.
        if (this.anchor) this.anchor = { rtp: this.anchor.rtp, dts: this.anchor.dts + ticks };
        if (this.lastDts !== undefined) this.lastDts += ticks;
        this.lastEnd += ticks;
      };
      this.clock.place(this.spec, { clockRate: this.spec.clockRate, dts: this.anchor.dts, wallMs: () => mapper.toWallMs(rtpTimestamp), move }, this.nowMs);
    } else {
      this.clock.settleIfDue(this.nowMs);
      this.keepUpWithWallClock(rtpTimestamp);
    }
    return rtpTimestamp - this.anchor.rtp + this.anchor.dts;
  }

  /**
   * Moves the track forward when the sender's RTP clock has fallen behind ours by more than the
   * tolerance (RTP time advancing slower than packets arrive), so audio and video of a sender
   * stay together and with wall-clock time. Never backward: a clock that runs fast, or a replay
   * faster than real time, keeps its RTP timing rather than losing media.
   */
  private keepUpWithWallClock(rtpTimestamp: number): void {
    const anchor = this.anchor!;
    const wallMs = this.clockMapper.toRecentWallMs(rtpTimestamp);
    if (wallMs === undefined) return;
    const dts = rtpTimestamp - anchor.rtp + anchor.dts;
    const behind = Math.round((this.clock.toRecordingMs(wallMs) * this.spec.clockRate) / 1000) - dts;
    if (behind <= this.driftToleranceTicks) return;
    // Audio moves by whole frames, so that silence fills the hole exactly.
    const step = this.silence ? Math.floor(behind / OPUS_SILENCE_SAMPLES) * OPUS_SILENCE_SAMPLES : behind;
    this.counters.driftTicks += step;
    this.anchor = { rtp: rtpTimestamp, dts: dts + step };
  }

  /**
   * Audio whose clock fell behind in the recording's last second has not been corrected yet
   * (the recent estimate needs a second to see it): the latest arrivals say how far, and trailing
   * silence makes up for it, so audio ends with the video of the same sender.
   */
  private catchUpAtEnd(): void {
    if (!this.silence || !this.anchor) return;
    const rtpEnd = this.lastEnd - this.anchor.dts + this.anchor.rtp;
    const wallMs = this.clockMapper.toLatestWallMs(rtpEnd);
    if (wallMs === undefined) return;
    const behind = Math.round((this.clock.toRecordingMs(wallMs) * this.spec.clockRate) / 1000) - this.lastEnd;
    // No tolerance here: trailing silence cannot put audio out of step with video.
    const frames = Math.round(behind / OPUS_SILENCE_SAMPLES);
    if (frames <= 0) return;
    this.counters.driftTicks += frames * OPUS_SILENCE_SAMPLES;
    this.fillSilence(this.lastEnd + frames * OPUS_SILENCE_SAMPLES);
  }

  /** Reports the hole before a sample at `dts`, if long enough; the losses and drops since the last sample are its cause. */
  private noteGap(dts: number): void {
    const hole = dts - this.lastEnd;
    if (hole < this.gapThresholdTicks) return;
    const framesDropped = this.framesDropped() - this.droppedAtWrite;
    this.counters.gaps++;
    this.counters.gapTicks += hole;
    this.output.onGap({
      cause: this.lostSinceWrite > 0 || framesDropped > 0 ? 'loss' : 'no-media',
      startMs: this.ms(this.lastEnd),
      durationMs: this.ms(hole),
      lostPackets: this.lostSinceWrite,
      framesDropped,
    });
  }

  /**
   * How far past the last sample's end, in timescale units, the next sample may land: the
   * wall-clock time since the last sample was written, plus slack for the jitter buffer's hold.
   */
  private wallClockAllowanceTicks(): number {
    return ((this.nowMs - this.lastWriteMs + this.latencyMs + WALL_CLOCK_SLACK_MS) * this.spec.clockRate) / 1000;
  }

  /**
   * Audio holes (DTX, loss, a paused sender) become Opus silence so players never stall on them;
   * never more than wall-clock time allows, whatever the timestamps say, so no timestamp can make
   * this loop long.
   */
  private fillSilence(dts: number): void {
    const end = Math.min(dts, this.lastEnd + this.wallClockAllowanceTicks());
    for (let t = this.lastEnd; end - t >= OPUS_SILENCE_SAMPLES; t += OPUS_SILENCE_SAMPLES) {
      this.counters.silenceSamples += OPUS_SILENCE_SAMPLES;
      this.write({ dts: t, data: this.silence!, keyframe: true, duration: OPUS_SILENCE_SAMPLES });
    }
  }

  private write(sample: Mp4Sample): void {
    this.lastWriteMs = this.nowMs;
    this.lostSinceWrite = 0;
    this.droppedAtWrite = this.framesDropped();
    this.counters.framesWritten++;
    if (sample.keyframe && this.spec.kind === 'video') this.counters.keyframesWritten++;
    this.counters.bytes += sample.data.length;
    this.firstDts ??= sample.dts;
    const first = this.lastDts === undefined;
    const interval = first ? 1 : sample.dts - this.lastDts!;
    this.lastDts = sample.dts;
    this.lastEnd = sample.dts + (sample.duration ?? interval);
    if (sample.duration === undefined && this.spec.kind === 'video') {
      // The muxers give the last frame of a file its stated duration, else the interval before it,
      // which after a hole (waiting for a keyframe) would stretch the file past the session.
      if (!first && interval < this.gapThresholdTicks) this.frameTicks = interval;
      sample.duration = this.frameTicks;
    }
    this.output.onSample(sample);
  }
}
