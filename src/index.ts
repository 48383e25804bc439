export {
  Recorder,
  RecorderError,
  type RecorderOptions,
  type RecorderOutputOptions,
  type RecorderProducersOptions,
  type RecorderSourceOptions,
  type RecorderEvents,
  type RecorderSummary,
  type RecorderEndReason,
} from './recorder.js';
export type { RecordingOptions, RecordingSummary } from './pipeline/recording-session.js';
export type { StreamStats, StreamGap, StreamPipelineOptions } from './pipeline/stream-pipeline.js';
export { UnsupportedCodecError, SUPPORTED_CODECS } from './pipeline/stream-spec.js';
export { OutputOpenError } from './sink/file.js';
export type { RecordingSource, SourceListener, SourceStream, SourceEndReason } from './source/source.js';
export { RtpUdpEndpoint, type UdpStream, type UdpAddress, type UdpSourceOptions, type RtpUdpEndpointOptions, type RtpUdpEndpointStats } from './source/udp.js';
export { sendToRecorder, type PlainTransportLink, type PlainTransportLinkOptions } from './source/mediasoup-plain.js';
export type { UdpSrtpParameters } from './source/srtp.js';
export type { SrtpCryptoSuite, SrtpParameters } from './source/srtp-keys.js';
export { RoomRecorder, type RoomRecorderOptions, type RoomRecorderEvents, type RoomStats } from './room/room-recorder.js';
export type { RoomManifest, ManifestFile, ManifestTrack, ManifestParticipant, ManifestSpeakerView, ManifestSpeakerChange } from './room/manifest.js';
export { outputPath, escapeFileName, OutputPathError, MAX_COMPONENT_BYTES, MAX_PATH_BYTES, type OutputPathOptions } from './output/paths.js';
export { MixSource, type MixSourceOptions, type MixSourceStats } from './room/mix/mix-source.js';
export type { MixInput, MixInputSpec, MixInputStats } from './room/mix/mix-input.js';
