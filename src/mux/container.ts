import { extname } from 'node:path';
import type { StreamSpec } from '../pipeline/stream-spec.js';

/** Output containers: fragmented MP4, WebM, Matroska (video or audio-only .mka), Ogg Opus. */
export type Container = 'mp4' | 'webm' | 'mkv' | 'mka' | 'ogg';

/** Which codecs each container takes. */
export const CONTAINER_CODECS: Record<Container, readonly StreamSpec['codec'][]> = {
  // VP8 is left out of MP4: Chromium's MP4 demuxer has no vp08 sample entry, and ffmpeg writes it
  // only as "experimental"; WebM and Matroska carry VP8 everywhere.
  mp4: ['h264', 'vp9', 'av1', 'opus'],
  webm: ['vp8', 'vp9', 'av1', 'opus'],
  mkv: ['h264', 'vp8', 'vp9', 'av1', 'opus'],
  mka: ['opus'],
  ogg: ['opus'],
};

const BY_EXTENSION: Record<string, Container> = {
  '.mp4': 'mp4',
  '.m4a': 'mp4',
  '.webm': 'webm',
  '.mkv': 'mkv',
  '.mka': 'mka',
  '.ogg': 'ogg',
  '.opus': 'ogg',
};

/** The output cannot hold what is to be recorded; nothing was started. */
export class ContainerError extends Error {
  override name = 'ContainerError';
}

/**
 * The container for an output: the explicit `format` when given, else the path's extension;
 * a Writable without a format gets MP4.
 */
export function containerFor(output: string | undefined, format: Container | undefined): Container {
  if (format !== undefined) {
    if (!(format in CONTAINER_CODECS)) throw new ContainerError(`format '${String(format)}' is not supported; supported: ${Object.keys(CONTAINER_CODECS).join(', ')}`);
    return format;
  }
  if (output === undefined) return 'mp4';
  const ext = extname(output).toLowerCase();
  const container = BY_EXTENSION[ext];
  if (!container) {
    throw new ContainerError(
      `cannot tell the format of ${output} from its extension; use one of ${Object.keys(BY_EXTENSION).join(', ')} or pass format (${Object.keys(CONTAINER_CODECS).join(', ')})`,
    );
  }
  return container;
}

/** Throws ContainerError, naming the containers that would work, when `container` cannot hold `codecs`. */
export function checkContainerCodecs(container: Container, codecs: readonly StreamSpec['codec'][]): void {
  const refused = [...new Set(codecs.filter((c) => !CONTAINER_CODECS[container].includes(c)))];
  if (refused.length === 0) return;
  const alternatives = (Object.keys(CONTAINER_CODECS) as Container[]).filter((c) => codecs.every((codec) => CONTAINER_CODECS[c].includes(codec)));
  const names = refused.map((c) => c.toUpperCase()).join(' and ');
  throw new ContainerError(
    `${names} cannot be recorded to ${container}` +
      (alternatives.length > 0 ? `; use ${alternatives.join(' or ')}` : `; no single container takes ${[...new Set(codecs)].join(' + ')}`),
  );
}
