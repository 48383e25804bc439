/**
 * The page Chromium runs: fake camera and microphone -> mediasoup-client -> the test's router;
 * also plays recorded files back. Bundled with esbuild by ../server.ts; driven by the test
 * through `window.e2e` (see api.ts).
 */
import { Device, types } from 'mediasoup-client';
const BEEP_THRESHOLD = 0.2; // as ../av-marks.ts reads the files
import type { CaptureMarks, PageApi, PlayResult, ProduceOptions, ProduceResult, VideoSenderStats } from './api.js';

// The project's tsconfig checks this file with Node's lib only (no DOM lib, so that nothing in
// src/ can use a browser global by mistake): the few browser APIs used here are declared here.
interface Track {
  getSettings(): { width?: number; height?: number; frameRate?: number };
  clone(): Track;
}
interface Stream {
  getAudioTracks(): Track[];
  getVideoTracks(): Track[];
}
type Constraint = boolean | { width: { exact: number }; height: { exact: number } };
type AudioConstraint = boolean | { echoCancellation: boolean; noiseSuppression: boolean; autoGainControl: boolean };
interface VideoElement {
  muted: boolean;
  playsInline: boolean;
  src: string;
  playbackRate: number;
  readonly videoWidth: number;
  readonly videoHeight: number;
  readonly duration: number;
  readonly currentTime: number;
  readonly error: { code: number; message: string } | null;
  play(): Promise<void>;
  remove(): void;
  addEventListener(type: 'resize' | 'error' | 'ended' | 'loadedmetadata', listener: () => void): void;
}
declare const navigator: { mediaDevices: { getUserMedia(constraints: { audio: AudioConstraint; video: Constraint }): Promise<Stream> } };
/** Insertable streams (breakout box): a track's frames with their capture timestamps. */
declare const MediaStreamTrackProcessor: new (init: { track: Track }) => { readable: { getReader(): { read(): Promise<{ done: boolean; value?: any }> } } };
declare const location: { search: string };
declare const document: {
  querySelectorAll(selector: 'video'): { forEach(f: (v: VideoElement) => void): void };
  createElement(tag: 'video'): VideoElement;
  body: { append(element: VideoElement): void };
};

const peer = new URLSearchParams(location.search).get('peer') ?? 'default';
let sendTransport: types.Transport | undefined;
let videoProducer: types.Producer | undefined;

async function rpc<T>(method: string, body: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch('/rpc', { method: 'POST', body: JSON.stringify({ peer, method, ...body }) });
  if (!response.ok) throw new Error(`${method}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function produce(options: ProduceOptions): Promise<ProduceResult> {
  const video: Constraint = options.width
    ? { width: { exact: options.width }, height: { exact: options.height ?? Math.round((options.width * 9) / 16) } }
    : true;
  // Raw audio for the marks (no echo canceller, noise suppressor or gain control smearing the beep).
  const audioConstraint: AudioConstraint = options.rawAudio ? { echoCancellation: false, noiseSuppression: false, autoGainControl: false } : true;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraint, video });
  if (options.rawAudio) {
    watchCaptureTimes(stream);
    void watchFlashes(stream.getVideoTracks()[0]!);
    void watchBeeps(stream.getAudioTracks()[0]!);
  }
  const device = new Device();
  await device.load({ routerRtpCapabilities: await rpc<types.RtpCapabilities>('capabilities') });
  const transport = device.createSendTransport(await rpc<types.TransportOptions>('createTransport'));
  sendTransport = transport;
  transport.on('connect', ({ dtlsParameters }, callback, errback) => {
    rpc('connect', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
  });
  transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
    rpc<{ id: string }>('produce', { transportId: transport.id, kind, rtpParameters }).then(callback, errback);
  });
  const audio = await transport.produce({ track: stream.getAudioTracks()[0]! });
  const codec = device.rtpCapabilities.codecs!.find((c) => c.mimeType.toLowerCase() === `video/${options.codec.toLowerCase()}`);
  if (!codec) throw new Error(`${options.codec} is not in the device's capabilities`);
  const track = stream.getVideoTracks()[0]!;
  const producer = await transport.produce({
    track,
    codec,
    ...(options.startBitrateKbps ? { codecOptions: { videoGoogleStartBitrate: options.startBitrateKbps } } : {}),
  });
  videoProducer = producer;
  const { width, height, frameRate } = track.getSettings();
  return {
    handler: device.handlerName,
    audioProducerId: audio.id,
    videoProducerId: producer.id,
    audioCodec: audio.rtpParameters.codecs[0]!.mimeType,
    videoCodec: producer.rtpParameters.codecs[0]!.mimeType,
    camera: { width, height, frameRate },
  };
}

async function videoStats(): Promise<VideoSenderStats> {
  if (!sendTransport) throw new Error('not producing');
  const report = await sendTransport.getStats();
  const all: Record<string, any>[] = [];
  report.forEach((s: Record<string, any>) => all.push(s));
  const out = all.find((s) => s.type === 'outbound-rtp' && s.kind === 'video');
  if (!out) throw new Error('no outbound-rtp video stats');
  return {
    pliCount: out.pliCount ?? 0,
    firCount: out.firCount ?? 0,
    nackCount: out.nackCount ?? 0,
    frameWidth: out.frameWidth,
    frameHeight: out.frameHeight,
    framesPerSecond: out.framesPerSecond,
    framesEncoded: out.framesEncoded ?? 0,
    keyFramesEncoded: out.keyFramesEncoded,
    packetsSent: out.packetsSent ?? 0,
    bytesSent: out.bytesSent ?? 0,
    encoderImplementation: out.encoderImplementation,
    qualityLimitationReason: out.qualityLimitationReason,
    mimeType: all.find((s) => s.id === out.codecId)?.mimeType,
  };
}

function play(src: string, rate: number, timeoutMs: number): Promise<PlayResult> {
  document.querySelectorAll('video').forEach((v) => v.remove());
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  document.body.append(video);
  const sizes: string[] = [];
  const started = performance.now();
  let duration = NaN;
  return new Promise<PlayResult>((resolve) => {
    const done = (ended: boolean, error?: string): void => {
      clearTimeout(timer);
      resolve({
        ended,
        ...(error ? { error } : {}),
        videoWidth: video.videoWidth,
        videoHeight: video.videoHeight,
        duration,
        endedAt: video.currentTime,
        sizes,
        playMs: Math.round(performance.now() - started),
      });
    };
    const timer = setTimeout(() => done(false, `timed out at ${video.currentTime} s of ${video.duration} s`), timeoutMs);
    video.addEventListener('resize', () => sizes.push(`${video.videoWidth}x${video.videoHeight}`));
    video.addEventListener('error', () => done(false, `MediaError ${video.error?.code}: ${video.error?.message}`));
    video.addEventListener('ended', () => done(true));
    video.addEventListener('loadedmetadata', () => {
      duration = video.duration;
      video.playbackRate = rate;
      video.play().catch((error: Error) => done(false, `play(): ${error.message}`));
    });
    video.src = src;
  });
}

async function scaleVideoDownBy(factor: number): Promise<void> {
  if (!videoProducer) throw new Error('not producing');
  await videoProducer.setRtpEncodingParameters({ scaleResolutionDownBy: factor });
}

const captured: CaptureMarks = { flashesUs: [], beepsUs: [], videoFrames: 0, audioChunks: 0, captureTimes: [], frameTimestampsUs: [], timeOriginMs: performance.timeOrigin };

/**
 * The video frames' capture times on performance.now()'s clock (requestVideoFrameCallback's
 * captureTime, with the frame's timestamp as mediaTime): insertable streams give video frames
 * Chromium's TimeTicks, audio chunks performance.now() time; these pairs convert one to the other.
 */
function watchCaptureTimes(stream: Stream): void {
  const video = document.createElement('video') as any;
  video.muted = true;
  video.srcObject = stream;
  document.body.append(video);
  void video.play();
  const onFrame = (_now: number, metadata: { captureTime?: number; mediaTime: number }): void => {
    if (metadata.captureTime !== undefined && captured.captureTimes.length < 400) captured.captureTimes.push({ captureMs: metadata.captureTime, mediaTimeS: metadata.mediaTime });
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}

/** Capture timestamps of the flashes (the first frame whose centre luma is above mid-grey). */
async function watchFlashes(track: Track): Promise<void> {
  const reader = new MediaStreamTrackProcessor({ track: track.clone() }).readable.getReader();
  let bright = false;
  for (;;) {
    const { done, value: frame } = await reader.read();
    if (done || !frame) return;
    try {
      const data = new Uint8Array(frame.allocationSize());
      const [plane] = await frame.copyTo(data);
      const y = data[plane.offset + (frame.codedHeight >> 1) * plane.stride + (frame.codedWidth >> 1)]!;
      if (y > 128 && !bright) captured.flashesUs.push(frame.timestamp);
      if (captured.frameTimestampsUs.length < 400) captured.frameTimestampsUs.push(frame.timestamp);
      bright = y > 128;
      captured.videoFrames++;
    } finally {
      frame.close();
    }
  }
}

/** Capture timestamps of the beeps' onsets, to the sample: the first sample above BEEP_THRESHOLD after 300 ms of quiet. */
async function watchBeeps(track: Track): Promise<void> {
  const reader = new MediaStreamTrackProcessor({ track: track.clone() }).readable.getReader();
  let lastLoudUs = -Infinity;
  for (;;) {
    const { done, value: audio } = await reader.read();
    if (done || !audio) return;
    try {
      const samples = new Float32Array(audio.numberOfFrames);
      audio.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
      for (let i = 0; i < samples.length; i++) {
        if (Math.abs(samples[i]!) < BEEP_THRESHOLD) continue;
        const atUs = audio.timestamp + (i * 1e6) / audio.sampleRate;
        if (atUs - lastLoudUs > 300_000) captured.beepsUs.push(atUs);
        lastLoudUs = atUs;
      }
      captured.audioChunks++;
    } finally {
      audio.close();
    }
  }
}

const api: PageApi = { produce, videoStats, scaleVideoDownBy, play, marks: async () => captured };
(globalThis as unknown as { e2e: PageApi }).e2e = api;
