import type { SourceListener, RecordingSource, SourceStream } from '../../source/source.js';
import type { StreamSpec } from '../../pipeline/stream-spec.js';
import { MixInputStream, type MixInput, type MixInputSpec, type MixInputStats, type MixInputTuning } from './mix-input.js';
import { SAMPLES_PER_MS } from './mix-timeline.js';
import { Mixer } from './mixer.js';
import { MIX_FRAME_SAMPLES, OPUS_ENCODER_DELAY, OpusRtpPacketizer } from './opus-rtp-packetizer.js';

export interface MixSourceOptions {
  /** Channels of the mix: 2 (stereo) or 1 (mono). Default 2. */
  channels?: 1 | 2;
  /**
   * How far behind real time the mix is made, in ms: how long a packet may be delayed or
   * reordered on its way and still be mixed. A packet later than that is concealed instead.
   * Default 100. The whole delay is `delayMs` (this plus 31.5 ms: a frame, the limiter's and the encoder's look-ahead).
   */
  latencyMs?: number;
  /** Opus bitrate of the mix, in bits per second. Default 64000 stereo, 32000 mono. */
  bitrate?: number;
  /** RTP payload type of the mix's packets. Default 111. */
  payloadType?: number;
  /** Longest stretch, in ms, concealed by the decoder after an input's last decoded packet; silence after that. Default 100. */
  concealMaxMs?: number;
  /** How far, in ms, an input may drift from where its arrivals place it before it is moved back there. Default 40. */
  driftToleranceMs?: number;
  /** Highest peak of the mix, in dBFS; the limiter keeps the sum under it. Default -1. */
  limiterCeilingDbfs?: number;
  /** Time constant of the limiter's recovery after a peak, in ms. Default 150. */
  limiterReleaseMs?: number;
}

/** Counters of a MixSource. */
export interface MixSourceStats {
  /** Mix packets (20 ms frames) sent. */
  framesSent: number;
  /** Frames skipped because this process stalled for longer than the mix can catch up on (200 ms). */
  framesSkipped: number;
  /** Frames the limiter turned down, and the lowest gain it applied (1: never). */
  framesLimited: number;
  limiterMinGain: number;
  /** Errors caught in the mix's timer (a bug, reported also as a process warning). */
  errors: number;
  inputs: MixInputStats[];
}

/** Frames mixed at most in one timer run to catch up after a stall; beyond that the mix skips ahead. */
const MAX_CATCH_UP_FRAMES = 10;
const LIMITER_LOOKAHEAD = 240;
/**
 * How far, in 48 kHz samples, the mix's decoded audio lags the instants it was captured at: the
 * limiter's look-ahead, and the inputs' own encoder look-ahead (an input's decoded audio comes
 * 312 samples after its RTP time; the mix's own encoder delay is declared as pre-skip, which players
 * drop, as in the participants' files).
 */
const OUTPUT_DELAY = LIMITER_LOOKAHEAD + OPUS_ENCODER_DELAY;

/**
 * The room's audio mix as one Opus stream: every input's Opus is decoded, placed on one
 * timeline (performance.now() clock), summed with a limiter and encoded to 20 ms Opus frames,
 * sent as RTP packets from a timer in real time, `delayMs` behind. A RecordingSource with one
 * stream, so `new Recorder({ source: mix, output: 'mix.ogg' })` records it.
 *
 * Each packet's `arrivalMs` given to the listener is the wall-clock instant its decoded audio
 * belongs to (when it was said: the limiter's and the inputs' encoder look-ahead taken out), not when it was
 * sent, so a Recorder places the mix on the same timeline as recordings of the participants' own
 * streams.
 *
 * Time is read from the global `performance` (the same clock as perf_hooks'), so that tests can
 * run the mix on a simulated clock.
 */
export class MixSource implements RecordingSource {
  private readonly mixer: Mixer;
  private readonly packetizer: OpusRtpPacketizer;
  private readonly spec: StreamSpec;
  private readonly latencyMs: number;
  private readonly inputTuning: MixInputTuning;
  private listener: SourceListener | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private framesSent = 0;
  private framesSkipped = 0;
  private errors = 0;
  /** Frames skipped since the last packet, which its timestamp steps over. */
  private unsentFrames = 0;

  constructor(options: MixSourceOptions = {}) {
    const channels = options.channels ?? 2;
    if (channels !== 1 && channels !== 2) throw new RangeError(`channels ${String(channels)} must be 1 or 2`);
    this.latencyMs = options.latencyMs ?? 100;
    if (!(this.latencyMs >= 0)) throw new RangeError(`latencyMs ${this.latencyMs} must be >= 0`);
    const payloadType = options.payloadType ?? 111;
    this.inputTuning = {
      channels,
      latencyMs: this.latencyMs,
      concealMaxMs: options.concealMaxMs ?? 100,
      driftToleranceMs: options.driftToleranceMs ?? 40,
    };
    this.mixer = new Mixer(channels, {
      ceilingDbfs: options.limiterCeilingDbfs,
      lookahead: LIMITER_LOOKAHEAD,
      release: (options.limiterReleaseMs ?? 150) * SAMPLES_PER_MS,
    });
    this.packetizer = new OpusRtpPacketizer({ channels, payloadType, bitrate: options.bitrate ?? (channels === 2 ? 64000 : 32000) });
    this.spec = { kind: 'audio', codec: 'opus', payloadType, clockRate: 48000, channels, label: 'mix' };
  }

  /**
   * Delay of the mix behind real time, in ms: a sample that arrives now plays this much later in
   * the mix's live stream. latencyMs, plus a frame (a frame is sent once its last sample is
   * latencyMs old), plus the limiter's (5 ms) and the Opus encoder's (6.5 ms) look-ahead.
   */
  get delayMs(): number {
    return this.latencyMs + (MIX_FRAME_SAMPLES + OUTPUT_DELAY) / SAMPLES_PER_MS;
  }

  /**
   * The wall-clock instant (performance.now() clock, ms) that the first sample of the mix's
   * decoded stream belongs to: where a recording of the mix starts on the room's timeline.
   * Undefined before start().
   */
  get firstSampleWallMs(): number | undefined {
    const timeline = this.mixer.timeline;
    return timeline.zeroMs === undefined ? undefined : timeline.wallMsOf(-OUTPUT_DELAY);
  }

  /** The SSRC of the mix's packets. */
  get ssrc(): number {
    return this.packetizer.ssrc;
  }

  /**
   * A participant's Opus RTP stream to mix from now on; feed it raw RTP packets with their
   * arrival time (performance.now()). Packets before start() or while paused are not mixed.
   * @throws RangeError when clockRate is not 48000 (Opus' only RTP clock rate)
   */
  addInput(id: string, spec: MixInputSpec): MixInput {
    const input = new MixInputStream(id, spec, this.mixer.timeline, this.inputTuning);
    this.mixer.add(input);
    return input;
  }

  codecs(): StreamSpec['codec'][] {
    return ['opus'];
  }

  async open(): Promise<SourceStream[]> {
    return [{ spec: this.spec, feedback: { requestKeyFrame: () => undefined, sendNack: () => undefined } }];
  }

  /** Starts the timeline (position 0 is now) and the timer that sends a frame every 20 ms. */
  async start(listener: SourceListener): Promise<void> {
    this.listener = listener;
    this.mixer.timeline.zeroMs = performance.now();
    this.mixer.timeline.running = true;
    this.schedule();
  }

  /** Stops mixing and sending; inputs' packets meanwhile are dropped. */
  async pause(): Promise<void> {
    this.mixer.timeline.running = false;
    clearTimeout(this.timer);
  }

  /** Mixing goes on from now; inputs are placed afresh from their next packets. */
  async resume(): Promise<void> {
    const timeline = this.mixer.timeline;
    if (this.closed || timeline.running || timeline.zeroMs === undefined) return;
    this.skipTo(this.framePositionAt(performance.now()), true);
    timeline.running = true;
    this.schedule();
  }

  /** Stops the timer and closes the inputs. Safe to call twice. */
  close(): void {
    this.closed = true;
    this.mixer.timeline.running = false;
    clearTimeout(this.timer);
    this.mixer.closeInputs();
  }

  stats(): MixSourceStats {
    const limiter = this.mixer.limiter.stats;
    return {
      framesSent: this.framesSent,
      framesSkipped: this.framesSkipped,
      framesLimited: limiter.framesLimited,
      limiterMinGain: limiter.minGain,
      errors: this.errors,
      inputs: this.mixer.inputStats(),
    };
  }

  /** The first position of the frame being made at wall-clock `nowMs`, latencyMs behind. */
  private framePositionAt(nowMs: number): number {
    const position = this.mixer.timeline.toPosition(nowMs - this.latencyMs) - MIX_FRAME_SAMPLES;
    return Math.max(this.mixer.timeline.head, Math.floor(position / MIX_FRAME_SAMPLES) * MIX_FRAME_SAMPLES);
  }

  /** When the frame at the head is due: once its last position is latencyMs old. */
  private headDueMs(): number {
    const timeline = this.mixer.timeline;
    return timeline.wallMsOf(timeline.head + MIX_FRAME_SAMPLES) + this.latencyMs;
  }

  /**
   * Moves the mix to `position` without mixing what lies between; the next packet's timestamp
   * jumps as far, so that RTP time keeps pace with the packets' arrivalMs (a Recorder would
   * otherwise take the jump for a slow sender clock and fill it with silence).
   */
  private skipTo(position: number, restartInputs: boolean): void {
    this.unsentFrames += (position - this.mixer.timeline.head) / MIX_FRAME_SAMPLES;
    this.mixer.skipTo(position, restartInputs);
  }

  private schedule(): void {
    if (!this.mixer.timeline.running) return;
    this.timer = setTimeout(() => this.tick(), Math.max(0, this.headDueMs() - performance.now()));
  }

  private tick(): void {
    try {
      const now = performance.now();
      const caughtUpAt = this.framePositionAt(now);
      if (caughtUpAt - this.mixer.timeline.head > MAX_CATCH_UP_FRAMES * MIX_FRAME_SAMPLES) {
        this.framesSkipped += (caughtUpAt - this.mixer.timeline.head) / MIX_FRAME_SAMPLES;
        this.skipTo(caughtUpAt, false);
      }
      while (this.mixer.timeline.running && this.headDueMs() <= now) {
        const from = this.mixer.timeline.head;
        const packet = this.packetizer.packetize(this.mixer.mixFrame(), this.unsentFrames);
        this.unsentFrames = 0;
        this.framesSent++;
        this.listener!.rtp(0, packet, this.mixer.timeline.wallMsOf(from - OUTPUT_DELAY));
      }
    } catch (error) {
      this.errors++;
      process.emitWarning(error as Error);
    }
    this.schedule();
  }
}
