import { createHash } from 'node:crypto';
import { isAbsolute, join, relative, resolve } from 'node:path';

/** Longest file-name stem built from an outside name, in characters (file systems allow 255 bytes). */
const MAX_STEM = 80;

/**
 * A file-name stem for a name from outside (a participant id): letters, digits, `_` and `-` are
 * kept, every other byte becomes `%XX`, so no separator, `..`, NUL or control character survives
 * and two different ids never share a stem. Long ids are cut and end with a hash of the whole id.
 * Stands in for the shared path helper of src/output/ until that lands; the room only calls this.
 */
export function safeName(id: string): string {
  let stem = '';
  for (const byte of Buffer.from(id, 'utf8')) {
    const c = String.fromCharCode(byte);
    stem += /[A-Za-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (stem === '') return '%';
  if (stem.length <= MAX_STEM) return stem;
  return `${stem.slice(0, MAX_STEM - 17)}~${createHash('sha256').update(id).digest('hex').slice(0, 16)}`;
}

/** `directory/relativePath`, refusing anything that would resolve outside `directory`. */
export function pathInside(directory: string, relativePath: string): string {
  const path = join(directory, relativePath);
  const rel = relative(resolve(directory), resolve(path));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`${relativePath} would leave ${directory}`);
  return path;
}
