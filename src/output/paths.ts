/**
 * File paths inside a configured output directory, built from names that come from outside the
 * app (participant ids, room names, values filled into templates). Every name becomes exactly one
 * path component by escaping, never by rejection, so any participant id can be recorded:
 *
 * - Kept as is: ASCII letters, digits, `-`, `_`, and `.` except at the start or end.
 * - Everything else is percent-encoded, byte by byte of its UTF-8 (`%2F` for `/`, `%00` for NUL,
 *   `%25` for `%` itself): separators, `..`, absolute paths and control characters cannot act on the
 *   path, and no Unicode trick survives (bidi overrides, zero-width characters, look-alikes, NFC vs
 *   NFD forms a file system might fold: all come out as distinct visible ASCII).
 * - A leading or trailing `.` is encoded (`.`, `..` and hidden files cannot be made; Windows would
 *   drop a trailing one), and so is the first letter of a Windows device name (`CON`, `NUL`, `COM1`...).
 *
 * The escape is deterministic and collision-free: percent-decoding gives the name back, so two
 * different names never share a file (on a case-sensitive file system: `Alice` and `alice` stay
 * apart on Linux, not on a case-insensitive macOS or Windows volume). A name whose escape would
 * exceed the file system's 255-byte component limit is cut and suffixed with `~` and 128 bits of
 * its SHA-256 (a `~` never appears otherwise: it is encoded), so it stays unique and readable.
 * Rejected with an `OutputPathError`: an empty name, and a string that is not well-formed Unicode
 * (a lone surrogate: its UTF-8 would be that of U+FFFD, so two names would share one file).
 *
 * ```ts
 * await outputPath('/recordings', [roomId, participantId], { extension: '.webm' });
 * // -> '/recordings/room%2F1/alice%40example.com.webm'
 * ```
 */
import { createHash } from 'node:crypto';
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';

/** A name cannot become a path inside the directory, or the path would leave it (a symlink). */
export class OutputPathError extends Error {
  override name = 'OutputPathError';
}

/** Options of `outputPath`. */
export interface OutputPathOptions {
  /** Appended to the last name, after escaping (`'.mp4'`): chosen by the app, so it must be a plain `.` + letters/digits. */
  extension?: string;
}

/** Longest path component most file systems take (ext4, XFS, btrfs, APFS, NTFS), in bytes. */
export const MAX_COMPONENT_BYTES = 255;
/** Longest path Linux takes (PATH_MAX, with its terminating NUL left out), in bytes. */
export const MAX_PATH_BYTES = 4095;

const KEPT = /^[A-Za-z0-9._-]$/;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/i;
const LONE_SURROGATE = /\p{Cs}/u;
const EXTENSION = /^\.[A-Za-z0-9]{1,16}$/;
/** `~` and 32 hex digits: what a cut name ends with. */
const HASH_SUFFIX_BYTES = 33;

/** One outside name as one safe path component (see the module comment); `reserveBytes` are left free for an extension. */
export function escapeFileName(name: string, reserveBytes = 0): string {
  if (name.length === 0) throw new OutputPathError('an empty name cannot be a file name');
  if (LONE_SURROGATE.test(name)) throw new OutputPathError(`name ${JSON.stringify(name)} is not well-formed Unicode (lone surrogate)`);
  const chars = [...name];
  const escaped = chars.map((char, i) => {
    const edgeDot = char === '.' && (i === 0 || i === chars.length - 1);
    const deviceStart = i === 0 && WINDOWS_DEVICE.test(name);
    return KEPT.test(char) && !edgeDot && !deviceStart ? char : percentEncode(char);
  });
  const joined = escaped.join('');
  const limit = MAX_COMPONENT_BYTES - reserveBytes;
  if (joined.length <= limit) return joined;
  // Cut between escapes, never inside one, and make the cut name unique by the whole name's hash.
  let prefix = '';
  for (const piece of escaped) {
    if (prefix.length + piece.length > limit - HASH_SUFFIX_BYTES) break;
    prefix += piece;
  }
  return `${prefix}~${createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 32)}`;
}

/**
 * The path of a file inside `directory` named by `names` (outside names, each escaped into one
 * component: directories, then the file), plus `options.extension`. Checks, after escaping, that
 * the path resolves inside `directory` both as written and through symlinks that exist now (an
 * existing component linking out of the directory, or a dangling link, is refused). A link made
 * later, between this check and the open, is not seen. Resolves to an absolute path; rejects with
 * an `OutputPathError`.
 */
export async function outputPath(directory: string, names: readonly string[], options: OutputPathOptions = {}): Promise<string> {
  const extension = options.extension ?? '';
  if (extension !== '' && !EXTENSION.test(extension)) throw new OutputPathError(`extension ${JSON.stringify(extension)} must be '.' and 1-16 letters or digits`);
  if (names.length === 0) throw new OutputPathError('no name to build an output path from');
  const components = names.map((name, i) => escapeFileName(name, i === names.length - 1 ? extension.length : 0));
  components[components.length - 1] += extension;
  const base = resolve(directory);
  const path = join(base, ...components);
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw new OutputPathError(`output path is longer than ${MAX_PATH_BYTES} bytes: ${path.slice(0, 80)}...`);
  if (!isInside(base, path)) throw new OutputPathError(`output path ${path} is outside ${base}`);
  const [realBase, realPath] = await Promise.all([resolveExisting(base), resolveExisting(path)]);
  if (!isInside(realBase, realPath)) throw new OutputPathError(`output path ${path} leads out of ${base} through a symlink (to ${realPath})`);
  return path;
}

/** Whether `path` is strictly below `directory` (both absolute and normalized). */
function isInside(directory: string, path: string): boolean {
  const rel = relative(directory, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** `path` with symlinks resolved as far as it exists; the rest (to be created) appended as written. */
async function resolveExisting(path: string): Promise<string> {
  const rest: string[] = [];
  for (let current = path; ; current = dirname(current)) {
    try {
      return join(await realpath(current), ...rest.reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new OutputPathError(`cannot resolve ${current}: ${code ?? (error as Error).message}`, { cause: error });
    }
    // Missing, unless it is a link to something missing: opening it would create that target.
    const link = await lstat(current).then(
      (stat) => stat.isSymbolicLink(),
      () => false,
    );
    if (link) throw new OutputPathError(`${current} is a dangling symlink`);
    if (dirname(current) === current) return join(current, ...rest.reverse());
    rest.push(basename(current));
  }
}

function percentEncode(char: string): string {
  let out = '';
  for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}
