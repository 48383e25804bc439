/** What the pipeline must know about one incoming RTP stream. */
export interface StreamSpec {
  kind: 'audio' | 'video';
  codec: 'h264' | 'vp8' | 'vp9' | 'av1' | 'opus';
  payloadType: number;
  /** RTP clock rate in Hz (90000 for video, 48000 for Opus). */
  clockRate: number;
  /** Audio channels (Opus: 2 for stereo, 1 for mono). */
  channels?: number;
  /** H264 only: base64 SPS/PPS from the SDP's or producer's `sprop-parameter-sets`. */
  spropParameterSets?: string;
  /** A label for stats and errors, e.g. the producer id. */
  label: string;
  /** Video: the id of the `urn:3gpp:video-orientation` header extension, when the stream carries it. */
  videoOrientationExtensionId?: number;
}

/** Codecs this version records, by RTP mime type (lower case). */
export const SUPPORTED_CODECS: Record<string, { kind: 'audio' | 'video'; codec: StreamSpec['codec'] }> = {
  'video/h264': { kind: 'video', codec: 'h264' },
  'video/vp8': { kind: 'video', codec: 'vp8' },
  'video/vp9': { kind: 'video', codec: 'vp9' },
  'video/av1': { kind: 'video', codec: 'av1' },
  'audio/opus': { kind: 'audio', codec: 'opus' },
};

/** The stream's codec is not one this version can record. */
export class UnsupportedCodecError extends Error {
  override name = 'UnsupportedCodecError';
}

/** Looks a mime type up in SUPPORTED_CODECS; throws UnsupportedCodecError naming what is supported. */
export function codecForMimeType(mimeType: string): { kind: 'audio' | 'video'; codec: StreamSpec['codec'] } {
  const found = SUPPORTED_CODECS[mimeType.toLowerCase()];
  if (!found) {
    throw new UnsupportedCodecError(
      `codec ${mimeType} is not supported; supported codecs: ${Object.keys(SUPPORTED_CODECS).join(', ')}`,
    );
  }
  return found;
}
