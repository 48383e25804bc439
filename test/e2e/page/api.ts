/** What the page (main.ts, in Chromium) exposes as `window.e2e`, shared with the test. Types only. */

export interface ProduceOptions {
  /** The video codec to send ('VP8' or 'H264'); the router offers both. */
  codec: 'VP8' | 'H264';
  /** getUserMedia size (exact); the fake camera's default (640x480) when absent. */
  width?: number;
  height?: number;
  /** mediasoup-client `codecOptions.videoGoogleStartBitrate`, in kbps. */
  startBitrateKbps?: number;
  /** Audio without Chromium's processing (echo canceller, noise suppressor, gain control), and the capture marks watched (`marks()`). */
  rawAudio?: boolean;
}

/** Chromium's capture timestamps of the fake devices' flashes and beeps (insertable streams on the local tracks), in µs. */
export interface CaptureMarks {
  /** VideoFrame.timestamp of each flash's first frame. */
  flashesUs: number[];
  /** AudioData.timestamp of each beep's chunk plus the onset sample's place in it. */
  beepsUs: number[];
  videoFrames: number;
  audioChunks: number;
  /** requestVideoFrameCallback's captureTime (performance.now() clock) and mediaTime of the frames shown. */
  captureTimes: { captureMs: number; mediaTimeS: number }[];
  /** performance.timeOrigin: performance.now()'s zero on the Unix epoch clock, in ms. */
  timeOriginMs: number;
  /** VideoFrame.timestamp of the first frames (to match with captureTimes). */
  frameTimestampsUs: number[];
}

export interface ProduceResult {
  /** mediasoup-client's handler (Chrome111, ...). */
  handler: string;
  audioProducerId: string;
  videoProducerId: string;
  /** Negotiated codecs, as the producers' RTP parameters name them. */
  audioCodec: string;
  videoCodec: string;
  /** The camera track's settings. */
  camera: { width?: number; height?: number; frameRate?: number };
}

/** The sender's `outbound-rtp` video stats (RTCPeerConnection.getStats()). */
export interface VideoSenderStats {
  pliCount: number;
  firCount: number;
  nackCount: number;
  frameWidth?: number;
  frameHeight?: number;
  framesPerSecond?: number;
  framesEncoded: number;
  keyFramesEncoded?: number;
  packetsSent: number;
  bytesSent: number;
  encoderImplementation?: string;
  qualityLimitationReason?: string;
  mimeType?: string;
}

export interface PlayResult {
  ended: boolean;
  /** MediaError code and message, if the element failed. */
  error?: string;
  videoWidth: number;
  videoHeight: number;
  /** `duration` at `loadedmetadata`: what Chromium reads from the file, in s. */
  duration: number;
  /**
   * `currentTime` at `ended`, in s. Not a property of the file: at a fast playback rate the audio
   * renderer's clock runs past the last sample by up to one output buffer times the rate.
   */
  endedAt: number;
  /** Every size the element reported (`resize` events), in order. */
  sizes: string[];
  /** Wall-clock time the element took to play the file, in ms. */
  playMs: number;
}

export interface PageApi {
  produce(options: ProduceOptions): Promise<ProduceResult>;
  videoStats(): Promise<VideoSenderStats>;
  /** Scales the video encoder's output down by `factor` (RTCRtpEncodingParameters.scaleResolutionDownBy). */
  scaleVideoDownBy(factor: number): Promise<void>;
  /** Plays `src` in a new <video> (muted, at `rate`) to its end, or until an error or `timeoutMs`. */
  play(src: string, rate: number, timeoutMs: number): Promise<PlayResult>;
  /** What the page saw of the fake devices' marks so far (with `rawAudio`). */
  marks(): Promise<CaptureMarks>;
}
