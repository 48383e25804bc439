import { performance } from 'node:perf_hooks';
import type { types } from 'mediasoup';
import { startsKeyframe } from '../codec/keyframe-start.js';
import type { StreamSpec } from '../pipeline/stream-spec.js';
import { genericNack } from '../rtp/rtcp.js';
import { RECORDER_SSRC, onRouterEnd, producerMimeType, recorderCapabilities } from '../source/mediasoup-direct.js';
import type { RecordingSource, SourceListener, SourceStream } from '../source/source.js';
import { RtpSplicer } from './rtp-splicer.js';

/** SSRC of the speaker track as the pipeline sees it (any fixed value: it is never sent anywhere). */
const SPEAKER_SSRC = 0x5350_4b52;

/** Label of the speaker track in stats, gaps and errors. */
export const SPEAKER_LABEL = 'video:speaker';

/** A switch of the speaker view: to whom, when asked (undefined for the first) and when the keyframe came (performance.now() ms). */
export interface SpeakerSwitch {
  participant: string;
  requestedAtMs: number | undefined;
  atMs: number;
}

interface Candidate {
  producer: types.Producer;
  consumer: types.Consumer;
  mimeType: string;
}

/**
 * The speaker track: every candidate's video producer (one codec) consumed on one DirectTransport,
 * spliced into one RTP stream that shows the participant asked for by `show()` from their next
 * keyframe on (requested at once; the current participant stays until it comes). Only the shown
 * and the awaited consumers run; the others are paused in the worker.
 */
export class SpeakerVideoSource implements RecordingSource {
  private transport: types.DirectTransport | undefined;
  private stopWatching: (() => void) | undefined;
  private readonly candidates = new Map<string, Candidate>();
  private listener: SourceListener | undefined;
  private requestedAtMs: number | undefined;
  private lastShown: string | undefined;
  private readonly splicer: RtpSplicer;
  private readonly payloadType: number;

  constructor(
    private readonly router: types.Router,
    readonly codec: StreamSpec['codec'],
    private readonly onSwitch: (change: SpeakerSwitch) => void,
  ) {
    const capability = recorderCapabilities(router).codecs?.find((c) => c.mimeType.toLowerCase() === `video/${codec}`);
    if (!capability?.preferredPayloadType) throw new Error(`the router has no ${codec} codec`);
    this.payloadType = capability.preferredPayloadType;
    this.splicer = new RtpSplicer(SPEAKER_SSRC, this.payloadType, 90000, (id) => this.inputOf(id), (id, atMs) => this.switched(id, atMs));
  }

  codecs(): StreamSpec['codec'][] {
    return [this.codec];
  }

  async open(): Promise<SourceStream[]> {
    this.transport = await this.router.createDirectTransport();
    const spec: StreamSpec = { kind: 'video', codec: this.codec, payloadType: this.payloadType, clockRate: 90000, label: SPEAKER_LABEL };
    return [{ spec, feedback: { requestKeyFrame: () => this.requestKeyFrames(), sendNack: (_ssrc, seqs) => this.sendNack(seqs) } }];
  }

  async start(listener: SourceListener): Promise<void> {
    this.listener = listener;
    this.stopWatching = onRouterEnd(this.router, this.transport!, (reason) => listener.ended(reason));
  }

  async pause(): Promise<void> {}

  async resume(): Promise<void> {}

  /** Participant shown now, and the one waited for. */
  get shown(): string | undefined {
    return this.splicer.current;
  }

  get next(): string | undefined {
    return this.splicer.next;
  }

  /** Packets passed on and dropped, and switches made. */
  get stats(): RtpSplicer['stats'] {
    return this.splicer.stats;
  }

  /** Whether `participant` has a video producer in the view. */
  has(participant: string): boolean {
    return this.candidates.has(participant);
  }

  /** Makes `producer` (video of this source's codec) the participant's picture in the view. */
  async add(participant: string, producer: types.Producer): Promise<void> {
    const transport = this.transport!;
    const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: recorderCapabilities(this.router), paused: true });
    const old = this.candidates.get(participant);
    this.candidates.set(participant, { producer, consumer, mimeType: producerMimeType(producer) });
    if (old) {
      // Another stream under the same name: it starts at its own keyframe, not mid-way in the old one's numbering.
      old.consumer.close();
      this.splicer.end(participant);
    }
    consumer.on('rtp', (packet: Buffer) => {
      const out = this.splicer.push(participant, packet, performance.now());
      if (out) this.listener?.rtp(0, out, performance.now());
    });
    if (this.splicer.current === participant || this.splicer.next === participant) await this.run(participant);
  }

  /** The participant's video `producer` left the view (closed, participant gone); a newer one of theirs stays. */
  remove(participant: string, producer: types.Producer): void {
    if (this.candidates.get(participant)?.producer !== producer) return;
    this.candidates.get(participant)!.consumer.close();
    this.candidates.delete(participant);
    this.splicer.end(participant);
  }

  /** Shows `participant` from their next keyframe on, which is asked for now. */
  async show(participant: string): Promise<void> {
    if (!this.candidates.has(participant) || participant === this.splicer.current || participant === this.splicer.next) return;
    const previous = this.splicer.next;
    this.splicer.switchTo(participant);
    this.requestedAtMs = this.splicer.current === undefined ? undefined : performance.now();
    if (previous !== undefined) await this.idle(previous);
    await this.run(participant);
  }

  close(): void {
    this.stopWatching?.();
    this.transport?.close();
  }

  private inputOf(id: string): { startsKeyframe(raw: Buffer): boolean } | undefined {
    const candidate = this.candidates.get(id);
    return candidate && { startsKeyframe: (raw) => startsKeyframe(candidate.mimeType, raw) };
  }

  private switched(participant: string, atMs: number): void {
    const previous = this.lastShown;
    this.lastShown = participant;
    this.onSwitch({ participant, requestedAtMs: this.requestedAtMs, atMs });
    this.requestedAtMs = undefined;
    if (previous !== undefined && previous !== participant) void this.idle(previous);
  }

  /** Resumes a candidate's consumer (mediasoup then asks its producer for a keyframe) and asks once more. */
  private async run(participant: string): Promise<void> {
    const consumer = this.candidates.get(participant)?.consumer;
    if (!consumer || consumer.closed) return;
    await consumer.resume().catch(() => undefined);
    await consumer.requestKeyFrame().catch(() => undefined);
  }

  private async idle(participant: string): Promise<void> {
    const consumer = this.candidates.get(participant)?.consumer;
    if (consumer && !consumer.closed) await consumer.pause().catch(() => undefined);
  }

  private requestKeyFrames(): void {
    for (const id of [this.splicer.current, this.splicer.next]) {
      const consumer = id === undefined ? undefined : this.candidates.get(id)?.consumer;
      if (consumer && !consumer.closed) consumer.requestKeyFrame().catch(() => undefined);
    }
  }

  private sendNack(outSeqs: number[]): void {
    const target = this.splicer.toInputSequence(outSeqs);
    const consumer = target && this.candidates.get(target.id)?.consumer;
    const transport = this.transport;
    if (!consumer || consumer.closed || !transport || transport.closed || target.seqs.length === 0) return;
    const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
    if (ssrc !== undefined) transport.sendRtcp(genericNack(RECORDER_SSRC, ssrc, target.seqs));
  }
}
