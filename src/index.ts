export { Recorder, RecorderError, type RecorderOptions, type RecorderEvents, type RecorderSummary } from './recorder.js';
export type { RecordingOptions, RecordingSummary } from './pipeline/recording-session.js';
export type { StreamStats, StreamGap, StreamPipelineOptions } from './pipeline/stream-pipeline.js';
export { UnsupportedCodecError, SUPPORTED_CODECS } from './pipeline/stream-spec.js';
export { OutputOpenError } from './sink/file.js';
