import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as E from '../src/mux/webm/ebml.js';
import { ID } from '../src/mux/webm/ebml.js';
import { mkvinfo, tempDir } from './helpers/oracles.js';

const hex = (b: Buffer): string => b.toString('hex');

describe('EBML VINT sizes', () => {
  it('uses the shortest length whose all-ones value (reserved: unknown size) is not the value', () => {
    expect(E.vintLength(0)).toBe(1);
    expect(E.vintLength(126)).toBe(1);
    expect(E.vintLength(127)).toBe(2); // 0xFF would mean "unknown"
    expect(E.vintLength(16382)).toBe(2);
    expect(E.vintLength(16383)).toBe(3);
    expect(E.vintLength(2 ** 21 - 2)).toBe(3);
    expect(E.vintLength(2 ** 21 - 1)).toBe(4);
    expect(E.vintLength(2 ** 28 - 1)).toBe(5);
    expect(E.vintLength(2 ** 49 - 1)).toBe(8);
    expect(E.vintLength(Number.MAX_SAFE_INTEGER)).toBe(8);
  });

  it('refuses sizes it cannot write', () => {
    expect(() => E.vintLength(-1)).toThrow(RangeError);
    expect(() => E.vintLength(1.5)).toThrow(RangeError);
    expect(() => E.vintLength(NaN)).toThrow(RangeError);
    expect(() => E.vintLength(2 ** 60)).toThrow(RangeError);
  });

  it('writes the marker bit then the value, big-endian', () => {
    const b = Buffer.alloc(8);
    const vint = (value: number, length: number): string => {
      b.fill(0xaa);
      expect(E.writeVint(b, 0, value, length)).toBe(length);
      return hex(b.subarray(0, length));
    };
    expect(vint(1, 1)).toBe('81');
    expect(vint(0, 1)).toBe('80');
    expect(vint(126, 1)).toBe('fe');
    expect(vint(127, 2)).toBe('407f');
    expect(vint(500, 2)).toBe('41f4');
    expect(vint(1, 4)).toBe('10000001');
    expect(vint(5, 8)).toBe('0100000000000005');
    expect(vint(2 ** 53 - 1, 8)).toBe('011fffffffffffff');
    expect(hex(E.UNKNOWN_SIZE)).toBe('01ffffffffffffff');
  });
});

describe('EBML IDs and elements', () => {
  it('writes IDs as spelled, 1 to 4 bytes', () => {
    expect(E.idLength(ID.SimpleBlock)).toBe(1);
    expect(E.idLength(ID.EBMLVersion)).toBe(2);
    expect(E.idLength(ID.TimestampScale)).toBe(3);
    expect(E.idLength(ID.EBML)).toBe(4);
    expect(hex(E.header(ID.EBML, 35))).toBe('1a45dfa3a3');
    expect(hex(E.header(ID.Cluster, 200))).toBe('1f43b67540c8');
    expect(hex(E.header(ID.Segment, 7, 8))).toBe('185380670100000000000007');
    expect(hex(E.unknownSizeHeader(ID.Segment))).toBe('1853806701ffffffffffffff');
  });

  it('unsigned integers: fewest bytes, at least one; or a fixed width', () => {
    expect(hex(E.uint(ID.TrackNumber, 0))).toBe('d78100');
    expect(hex(E.uint(ID.TrackNumber, 1))).toBe('d78101');
    expect(hex(E.uint(ID.TrackNumber, 255))).toBe('d781ff');
    expect(hex(E.uint(ID.TrackNumber, 256))).toBe('d7820100');
    expect(hex(E.uint(ID.TimestampScale, 1_000_000))).toBe('2ad7b1830f4240');
    expect(hex(E.uint(ID.SeekPosition, 300, 8))).toBe('53ac88000000000000012c');
    expect(hex(E.uint(ID.CueClusterPosition, 2 ** 40 + 1))).toBe('f1860100000000' + '01');
    expect(() => E.uint(ID.TrackNumber, -1)).toThrow(RangeError);
  });

  it('floats are 64-bit big-endian; strings UTF-8 without terminator; binary as is', () => {
    expect(hex(E.float(ID.Duration, 1.5))).toBe('4489883ff8000000000000');
    expect(hex(E.string(ID.DocType, 'webm'))).toBe('428284' + hex(Buffer.from('webm')));
    expect(hex(E.string(ID.WritingApp, 'é'))).toBe('574182c3a9');
    expect(hex(E.binary(ID.CodecPrivate, Buffer.from([1, 2, 3])))).toBe('63a283010203');
    const big = Buffer.alloc(300, 7);
    const el = E.binary(ID.CodecPrivate, big);
    expect(hex(el.subarray(0, 4))).toBe('63a2412c');
    expect(el.length).toBe(304);
  });

  it('master elements concatenate their children behind one header', () => {
    const m = E.master(ID.Seek, [E.uint(ID.SeekPosition, 1), E.uint(ID.SeekPosition, 2)]);
    expect(hex(m)).toBe('4dbb88' + '53ac8101' + '53ac8102');
    expect(hex(E.master(ID.Cues, []))).toBe('1c53bb6b80');
  });

  it('Void elements take exactly the bytes asked for', () => {
    for (const total of [2, 3, 11, 21, 128, 129, 130, 500]) {
      const v = E.voidElement(total);
      expect(v.length).toBe(total);
      expect(v[0]).toBe(ID.Void);
      // declared size = total minus ID and size bytes
      const sizeLength = v[1]! >= 0x80 ? 1 : 8;
      let size = v[1]! & (sizeLength === 1 ? 0x7f : 0);
      for (let i = 2; i < 1 + sizeLength; i++) size = size * 256 + v[i]!;
      expect(size).toBe(total - 1 - sizeLength);
      expect(v.subarray(1 + sizeLength).every((x) => x === 0)).toBe(true);
    }
    expect(() => E.voidElement(1)).toThrow(RangeError);
  });
});

describe('EBML read back by mkvinfo', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('ebml-');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('a document built from these elements, unknown-size Segment and Voids included, reads as written', () => {
    const ebml = E.master(ID.EBML, [
      E.uint(ID.EBMLVersion, 1),
      E.uint(ID.EBMLReadVersion, 1),
      E.uint(ID.EBMLMaxIDLength, 4),
      E.uint(ID.EBMLMaxSizeLength, 8),
      E.string(ID.DocType, 'matroska'),
      E.uint(ID.DocTypeVersion, 4),
      E.uint(ID.DocTypeReadVersion, 2),
    ]);
    const info = E.master(ID.Info, [
      E.uint(ID.TimestampScale, 1_000_000),
      E.string(ID.MuxingApp, 'ebml test'),
      E.string(ID.WritingApp, 'écrit'),
      E.voidElement(200),
      E.float(ID.Duration, 1234.5),
    ]);
    const file = Buffer.concat([ebml, E.unknownSizeHeader(ID.Segment), E.voidElement(21), info]);
    const path = join(dir, 'doc.mkv');
    writeFileSync(path, file);
    const out = mkvinfo(path);
    expect(out).toContain('Document type: matroska');
    expect(out).toContain('Document type version: 4');
    expect(out).toContain('Segment: size unknown');
    expect(out).toContain('EBML void: size 19');
    expect(out).toContain('EBML void: size 191'); // 200 bytes: ID, 8-byte size, 191 zeros
    expect(out).toContain('Timestamp scale: 1000000');
    expect(out).toContain('Multiplexing application: ebml test');
    expect(out).toContain('Writing application: écrit');
    expect(out).toContain('Duration: 00:00:01.234500000');
  });
});
