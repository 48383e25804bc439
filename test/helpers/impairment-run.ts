/**
 * One impairment case, end to end through a real mediasoup worker: a fixture is replayed into a
 * router with an Impairer on one path, recorded into one file per container, and each file is
 * measured with ffprobe/ffmpeg against the decodable-frames oracle. Shared by the impairment
 * matrix test (which asserts) and bench/ (which tabulates).
 *
 * Paths:
 * - 'sender': replayer -> Impairer -> mediasoup -> DirectTransport -> recorder. The replayer may
 *   retransmit what mediasoup NACKs or not (a sender without retransmission: loss is for good).
 * - 'udp': replayer -> mediasoup -> PlainTransport -> ImpairingUdpProxy -> RtpUdpEndpoint ->
 *   recorder. The recorder NACKs mediasoup, which retransmits from its buffer.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Recorder, RtpUdpEndpoint, sendToRecorder, type PlainTransportLink, type RecorderSummary, type StreamGap } from '../../src/index.js';
import type { Container } from '../../src/mux/container.js';
import { decodableFrames, type DecodableFrames } from './decodable-frames.js';
import { Impairer, type ImpairmentProfile } from './impairer.js';
import { ImpairingUdpProxy } from './impairing-udp-proxy.js';
import { ffmpegDecodeErrors, ffprobeStreams } from './oracles.js';
import { probeTimes } from './probe-times.js';
import { replayRig, videoOpusFixture } from './replay.js';

/** A `gap` event: which stream, and the gap. */
export type RecorderGap = { stream: string } & StreamGap;

export interface ImpairmentCase {
  profile: ImpairmentProfile;
  codec: 'h264' | 'vp8';
  path: 'sender' | 'udp';
  /** Sender path: whether the replayer answers mediasoup's NACKs. */
  retransmit: boolean;
  /** One recorder (and file) per container, all fed at once. */
  containers: Container[];
}

/** One recorded file of a case. */
export interface ImpairedRecording {
  container: Container;
  path: string;
  summary: RecorderSummary;
  gaps: RecorderGap[];
}

/** What one file holds, measured by independent readers. */
export interface ImpairedFile extends ImpairedRecording {
  /** Video frames ffprobe counts in the file. */
  videoFrames: number;
  /** `ffmpeg -v error -f null` output: empty when clean. */
  decodeErrors: string;
  /** Audio track length, in s (silence keeps it whole). */
  audioDurationS: number;
}

/** A case as recorded; `measureImpairment()` reads its files. */
export interface ImpairmentRecording {
  case: ImpairmentCase;
  /** The fixture's video frames. */
  fixtureFrames: number;
  /** Frames a perfect receiver could decode from what the impaired path let through. */
  oracle: DecodableFrames;
  impairer: Impairer['stats'];
  /** Replayer: retransmissions of what mediasoup NACKed on the sender path. */
  senderRetransmissions: number;
  files: ImpairedRecording[];
  /** Wall-clock time of the case, in ms. */
  elapsedMs: number;
}

export interface ImpairmentResult extends ImpairmentRecording {
  files: ImpairedFile[];
}

/**
 * Plays the case at `speed` (1 = real time) into one file per container in `dir`. Files are read
 * afterwards by measureImpairment(), whose tools block the event loop: not while any case plays.
 */
export async function recordImpairmentCase(c: ImpairmentCase, dir: string, speed = 2): Promise<ImpairmentRecording> {
  const started = performance.now();
  const { capture, truth } = videoOpusFixture(c.codec);
  const video = capture.streams.find((s) => s.kind === 'video')!;
  const rig = await replayRig(capture);
  const closers: (() => void)[] = [() => rig.close()];
  /** UDP path: consumers resume once the recorders listen. */
  const recorderStarted: (() => Promise<void>)[] = [];
  try {
    const name = `${c.codec}-${c.path}${c.path === 'sender' && !c.retransmit ? '-noretransmit' : ''}-${c.profile.name.replace(/[^a-z0-9]+/gi, '_')}`;
    const files = c.containers.map((container) => ({ container, path: join(dir, `${name}.${container}`), gaps: [] as RecorderGap[] }));
    // Sender path: the impairer sits in the replayer's send; each packet goes on to its own producer.
    const sendFor = new WeakMap<Buffer, (packet: Buffer) => void>();
    let impairer = new Impairer(c.profile, (packet) => sendFor.get(packet)?.(packet));
    let videoSsrc = video.ssrc;
    let recorders: Recorder[];
    if (c.path === 'sender') {
      recorders = files.map((f) => new Recorder({ router: rig.router, producers: rig.replayer.producers, output: f.path }));
    } else {
      const endpoint = await RtpUdpEndpoint.bind();
      closers.push(() => endpoint.close());
      const links: { link: PlainTransportLink; proxy: ImpairingUdpProxy }[] = [];
      for (let i = 0; i < files.length; i++) {
        const proxy = await ImpairingUdpProxy.create(endpoint.local, c.profile);
        closers.push(() => proxy.close());
        const link = await sendToRecorder(rig.router, rig.replayer.producers, { address: '127.0.0.1', port: proxy.upstreamPort });
        closers.push(() => link.close());
        links.push({ link, proxy });
      }
      recorders = links.map(({ link }, i) => new Recorder({ source: endpoint.source(link.streams), output: files[i]!.path }));
      // Each proxy draws the same losses (same seed, same packets); the first one is measured.
      impairer = links[0]!.proxy.impairer;
      videoSsrc = links[0]!.link.streams.find((s) => s.label.startsWith('video'))!.rtpParameters.encodings![0]!.ssrc!;
      links.forEach(({ link }) => recorderStarted.push(() => link.resume()));
    }
    const errors: string[] = [];
    recorders.forEach((r, i) => {
      r.on('gap', (gap) => files[i]!.gaps.push(gap));
      r.on('error', (e) => errors.push(`${e.stream ?? ''} ${e.message}`));
    });
    await Promise.all(recorders.map((r) => r.start()));
    await Promise.all(recorderStarted.map((resume) => resume()));
    const replay = await rig.replayer.play({
      speed,
      retransmit: c.retransmit,
      send:
        c.path === 'sender'
          ? (_stream, packet, send) => {
              sendFor.set(packet, send);
              impairer.push(packet);
            }
          : undefined,
    });
    await impairer.drain();
    await new Promise((r) => setTimeout(r, 500)); // last retransmissions and the jitter buffer's hold
    const summaries = await Promise.all(recorders.map((r) => r.stop()));
    if (errors.length > 0) throw new Error(`recorder errors: ${errors.join('; ')}`);
    return {
      case: c,
      fixtureFrames: truth.video.encoded.frames,
      oracle: decodableFrames(impairer.log, videoSsrc, video.mimeType, (ssrc, seq) => impairer.wasDelivered(ssrc, seq)),
      impairer: { ...impairer.stats },
      senderRetransmissions: replay.packetsRetransmitted,
      files: files.map((f, i) => ({ ...f, summary: summaries[i]! })),
      elapsedMs: performance.now() - started,
    };
  } finally {
    closers.reverse().forEach((close) => close());
  }
}

/** Reads every file of a recorded case with ffprobe and ffmpeg. */
export function measureImpairment(recording: ImpairmentRecording): ImpairmentResult {
  return {
    ...recording,
    files: recording.files.map((f) => ({
      ...f,
      videoFrames: Number(ffprobeStreams(f.path).streams.find((s) => s.codec_type === 'video')?.nb_read_frames ?? 0),
      decodeErrors: ffmpegDecodeErrors(f.path),
      audioDurationS: probeTimes(f.path).audio.durationS,
    })),
  };
}

/** Records `cases` at most `concurrency` at a time, in their order. */
export async function recordImpairmentCases(cases: ImpairmentCase[], dir: string, concurrency: number, speed = 2): Promise<ImpairmentRecording[]> {
  const results: ImpairmentRecording[] = new Array(cases.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < cases.length) {
      const i = next++;
      results[i] = await recordImpairmentCase(cases[i]!, dir, speed);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return results;
}
