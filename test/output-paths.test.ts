import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeFileName, MAX_COMPONENT_BYTES, outputPath, OutputPathError } from '../src/index.js';
import { rng } from './helpers/random.js';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'paths-'));
/** The components of `path` below `dir`. */
const below = (dir: string, path: string): string[] => relative(dir, path).split(sep);

describe('escapeFileName', () => {
  it('keeps letters, digits, - _ and inner dots', () => {
    expect(escapeFileName('Alice_01-a.b')).toBe('Alice_01-a.b');
  });

  it.each([
    ['..', '%2E%2E'],
    ['.', '%2E'],
    ['.hidden', '%2Ehidden'],
    ['trailing.', 'trailing%2E'],
    ['/etc/passwd', '%2Fetc%2Fpasswd'],
    ['a/../../b', 'a%2F..%2F..%2Fb'],
    ['C:\\Windows', 'C%3A%5CWindows'],
    ['nul\0byte', 'nul%00byte'],
    ['new\nline', 'new%0Aline'],
    ['100%', '100%25'],
    ['tilde~', 'tilde%7E'],
    ['two words', 'two%20words'],
    ['CON', '%43ON'],
    ['nul.txt', '%6Eul.txt'],
    ['com1', '%63om1'],
    ['console', 'console'],
  ])('escapes %j as %j', (name, escaped) => {
    expect(escapeFileName(name)).toBe(escaped);
  });

  it('turns Unicode tricks into distinct visible ASCII: bidi override, zero width, NFC vs NFD, look-alikes', () => {
    const rlo = escapeFileName('evil\u202Egpj.mp4');
    expect(rlo).toBe('evil%E2%80%AEgpj.mp4');
    expect(escapeFileName('ali\u200Bce')).toBe('ali%E2%80%8Bce');
    const nfc = escapeFileName('Jos\u00e9');
    const nfd = escapeFileName('Jose\u0301');
    expect(nfc).toBe('Jos%C3%A9');
    expect(nfd).toBe('Jose%CC%81');
    expect(escapeFileName('\u0430lice')).not.toBe(escapeFileName('alice')); // Cyrillic а
    for (const out of [rlo, nfc, nfd]) expect(out).toMatch(/^[A-Za-z0-9._%-]+$/);
  });

  it('rejects an empty name and a lone surrogate with a clear error', () => {
    expect(() => escapeFileName('')).toThrow(OutputPathError);
    expect(() => escapeFileName('')).toThrow('an empty name cannot be a file name');
    expect(() => escapeFileName('a\uD800b')).toThrow(/not well-formed Unicode/);
    expect(escapeFileName('\uD83D\uDE00')).toBe('%F0%9F%98%80'); // a paired surrogate is a code point
  });

  it('is collision-free: percent-decoding gives every name back, over 20,000 seeded random names', () => {
    const random = rng(10);
    const alphabet = ['a', 'Z', '0', '.', '-', '_', '/', '\\', '\0', '%', '~', ' ', ':', '\u202E', '\u200B', 'é', 'e\u0301', '😀', '\u0430'];
    const names = new Set<string>();
    const escapes = new Set<string>();
    const wrong: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const length = 1 + Math.floor(random() * 8);
      let name = '';
      for (let j = 0; j < length; j++) name += alphabet[Math.floor(random() * alphabet.length)];
      const escaped = escapeFileName(name);
      if (decodeURIComponent(escaped) !== name || !/^[A-Za-z0-9._%-]+$/.test(escaped) || /^\.|\.$/.test(escaped)) wrong.push(name);
      names.add(name);
      escapes.add(escaped);
    }
    expect(wrong).toEqual([]);
    expect(escapes.size).toBe(names.size); // as many files as distinct names
    expect(names.size).toBeGreaterThan(10_000);
  });

  it('cuts a very long name to the component limit with a hash: deterministic, unique, readable', () => {
    const long = 'participant-'.repeat(100);
    const a = escapeFileName(`${long}a`);
    const b = escapeFileName(`${long}b`);
    expect(a.length).toBeLessThanOrEqual(MAX_COMPONENT_BYTES);
    expect(a).toMatch(/^participant-participant-.*~[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
    expect(escapeFileName(`${long}a`)).toBe(a);
    // Room for an extension, and a cut never splits an escape.
    const unicode = escapeFileName('é'.repeat(300), 4);
    expect(unicode.length).toBeLessThanOrEqual(MAX_COMPONENT_BYTES - 4);
    expect(unicode).toMatch(/^(%C3%A9)+~[0-9a-f]{32}$/);
    // A name just at the limit is kept whole.
    expect(escapeFileName('x'.repeat(MAX_COMPONENT_BYTES))).toBe('x'.repeat(MAX_COMPONENT_BYTES));
  });
});

describe('outputPath', () => {
  it('builds dir/name/name.ext, one component per name, inside the directory', async () => {
    const dir = fresh();
    expect(await outputPath(dir, ['room-1', 'alice'], { extension: '.webm' })).toBe(join(dir, 'room-1', 'alice.webm'));
  });

  it.each([['..'], ['../../etc/passwd'], ['/etc/passwd'], ['.'], ['a/b'], ['a\\b'], ['x\0y']])('confines %j to one component inside the directory', async (name) => {
    const dir = fresh();
    const path = await outputPath(dir, [name, name], { extension: '.mp4' });
    expect(path.startsWith(dir + sep)).toBe(true);
    const parts = below(dir, path);
    expect(parts).toHaveLength(2);
    expect(parts.every((p) => p !== '..' && p !== '.' && !p.includes('\0'))).toBe(true);
  });

  it('rejects no names, an empty name, a bad extension and a path over PATH_MAX', async () => {
    const dir = fresh();
    await expect(outputPath(dir, [])).rejects.toThrow('no name to build an output path from');
    await expect(outputPath(dir, ['room', ''])).rejects.toThrow('an empty name cannot be a file name');
    await expect(outputPath(dir, ['a'], { extension: '/../x' })).rejects.toThrow(/extension "\/\.\.\/x" must be/);
    await expect(outputPath(dir, Array.from({ length: 20 }, () => 'n'.repeat(250)))).rejects.toThrow(/longer than 4095 bytes/);
    await expect(outputPath(dir, [''])).rejects.toThrow(OutputPathError);
  });

  it('keeps a very long last name with its extension within the component limit', async () => {
    const dir = fresh();
    const file = below(dir, await outputPath(dir, ['y'.repeat(1000)], { extension: '.mp4' }))[0]!;
    expect(file.length).toBeLessThanOrEqual(MAX_COMPONENT_BYTES);
    expect(file).toMatch(/~[0-9a-f]{32}\.mp4$/);
  });

  it('refuses a path that leads out through a symlink (directory, file, dangling), allows a symlinked base', async () => {
    const dir = fresh();
    const outside = fresh();
    symlinkSync(outside, join(dir, 'room'));
    await expect(outputPath(dir, ['room', 'alice'])).rejects.toThrow(/leads out of .* through a symlink/);
    writeFileSync(join(outside, 'target.mp4'), '');
    symlinkSync(join(outside, 'target.mp4'), join(dir, 'bob.mp4'));
    await expect(outputPath(dir, ['bob'], { extension: '.mp4' })).rejects.toThrow(/through a symlink/);
    symlinkSync(join(outside, 'missing.mp4'), join(dir, 'ghost.mp4'));
    await expect(outputPath(dir, ['ghost'], { extension: '.mp4' })).rejects.toThrow(/dangling symlink/);
    // A link inside the directory to another place inside it is fine; so is a base that is a link.
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real'), join(dir, 'alias'));
    expect(await outputPath(dir, ['alias', 'carol'])).toBe(join(dir, 'alias', 'carol'));
    const linkedBase = join(fresh(), 'base');
    symlinkSync(dir, linkedBase);
    expect(await outputPath(linkedBase, ['dave'])).toBe(join(linkedBase, 'dave'));
  });

  it('resolves a relative directory to an absolute path', async () => {
    const path = await outputPath('recordings-that-do-not-exist', ['x']);
    expect(path).toBe(join(process.cwd(), 'recordings-that-do-not-exist', 'x'));
  });
});
