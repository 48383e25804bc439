import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferByteReader, FileByteReader } from '../src/source/byte-reader.js';
import {
  createPcapStats,
  encodePcapHeader,
  encodePcapRecord,
  formatIpv6,
  iterateUdpRecords,
  iterateUdpRecordsInFile,
  PcapFormatError,
  PcapTruncatedError,
  readPcap,
  readPcapFile,
  writePcap,
  type PcapStats,
  type UdpRecord,
} from '../src/source/pcap.js';
import { tempDir } from './helpers/oracles.js';
import { rng } from './helpers/random.js';

// ---------------------------------------------------------------------------------------------
// Builders for synthetic captures. Independent of the writer under test so the reader is checked
// against hand-laid bytes.

function u16(value: number, le = false): Buffer {
  const b = Buffer.alloc(2);
  if (le) b.writeUInt16LE(value);
  else b.writeUInt16BE(value);
  return b;
}

function u32(value: number, le = false): Buffer {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(value);
  else b.writeUInt32BE(value);
  return b;
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

function ipv6Bytes(address: string): Buffer {
  // Expands "a:b::c" into 16 bytes.
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(groups.map((g) => u16(parseInt(g, 16))));
}

function udpSegment(srcPort: number, dstPort: number, payload: Buffer): Buffer {
  return Buffer.concat([u16(srcPort), u16(dstPort), u16(8 + payload.length), u16(0), payload]);
}

interface Ipv4Options {
  protocol?: number;
  /** Extra header option bytes (multiple of 4). */
  options?: Buffer;
  /** Flags (3 bits) and fragment offset (13 bits) field. */
  flagsAndOffset?: number;
}

function ipv4(src: string, dst: string, l4: Buffer, opts: Ipv4Options = {}): Buffer {
  const options = opts.options ?? Buffer.alloc(0);
  const header = Buffer.alloc(20);
  header[0] = 0x40 | ((20 + options.length) / 4);
  header.writeUInt16BE(20 + options.length + l4.length, 2);
  header.writeUInt16BE(opts.flagsAndOffset ?? 0, 6);
  header[8] = 64;
  header[9] = opts.protocol ?? 17;
  ipv4Bytes(src).copy(header, 12);
  ipv4Bytes(dst).copy(header, 16);
  return Buffer.concat([header, options, l4]);
}

function udp4(payload: string | Buffer, srcPort = 1000, dstPort = 2000, src = '10.0.0.1', dst = '10.0.0.2', opts: Ipv4Options = {}): Buffer {
  return ipv4(src, dst, udpSegment(srcPort, dstPort, Buffer.from(payload)), opts);
}

/** IPv6 packet; `extensions` are [type, body] pairs chained before the final protocol. */
function ipv6(src: string, dst: string, finalProtocol: number, l4: Buffer, extensions: Array<[number, Buffer]> = []): Buffer {
  const extBytes: Buffer[] = [];
  extensions.forEach(([, body], i) => {
    const next = i + 1 < extensions.length ? extensions[i + 1]![0] : finalProtocol;
    extBytes.push(Buffer.concat([Buffer.from([next]), body]));
  });
  const ext = Buffer.concat(extBytes);
  const header = Buffer.alloc(40);
  header[0] = 0x60;
  header.writeUInt16BE(ext.length + l4.length, 4);
  header[6] = extensions.length > 0 ? extensions[0]![0] : finalProtocol;
  header[7] = 64;
  ipv6Bytes(src).copy(header, 8);
  ipv6Bytes(dst).copy(header, 24);
  return Buffer.concat([header, ext, l4]);
}

function ethernet(etherType: number, payload: Buffer, vlanTags: Array<[number, number]> = []): Buffer {
  const tags = vlanTags.map(([tpid, tci]) => Buffer.concat([u16(tpid), u16(tci)]));
  return Buffer.concat([Buffer.alloc(6, 0xaa), Buffer.alloc(6, 0xbb), ...tags, u16(etherType), payload]);
}

function sll(protocol: number, payload: Buffer): Buffer {
  // packet type, ARPHRD, address length, 8-byte address, protocol
  return Buffer.concat([u16(0), u16(1), u16(6), Buffer.alloc(8, 0xcc), u16(protocol), payload]);
}

function sll2(protocol: number, payload: Buffer): Buffer {
  // protocol, reserved, interface index, ARPHRD, packet type, address length, 8-byte address
  return Buffer.concat([u16(protocol), u16(0), u32(3), u16(1), Buffer.from([0, 6]), Buffer.alloc(8, 0xcc), payload]);
}

interface ClassicRecord {
  seconds: number;
  /** Microseconds or nanoseconds, per the file's magic. */
  fraction: number;
  data: Buffer;
  originalLength?: number;
}

function classicPcap(opts: { le: boolean; nanos?: boolean; linkType: number; snapLength?: number }, records: ClassicRecord[]): Buffer {
  const { le } = opts;
  const header = Buffer.concat([
    u32(opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, le),
    u16(2, le),
    u16(4, le),
    u32(0, le),
    u32(0, le),
    u32(opts.snapLength ?? 65535, le),
    u32(opts.linkType, le),
  ]);
  const body = records.map((r) =>
    Buffer.concat([u32(r.seconds, le), u32(r.fraction, le), u32(r.data.length, le), u32(r.originalLength ?? r.data.length, le), r.data]),
  );
  return Buffer.concat([header, ...body]);
}

// pcapng blocks.
function pad4(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
}

function block(le: boolean, type: number, body: Buffer): Buffer {
  const padded = pad4(body);
  const length = 12 + padded.length;
  return Buffer.concat([u32(type, le), u32(length, le), padded, u32(length, le)]);
}

function option(le: boolean, code: number, value: Buffer): Buffer {
  return Buffer.concat([u16(code, le), u16(value.length, le), pad4(value)]);
}

function shb(le: boolean, options: Buffer = Buffer.alloc(0)): Buffer {
  // byte-order magic, version 1.0, section length -1
  return block(le, 0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d, le), u16(1, le), u16(0, le), Buffer.alloc(8, 0xff), options]));
}

function idb(le: boolean, linkType: number, opts: { tsresol?: number; tsoffset?: bigint } = {}): Buffer {
  const options: Buffer[] = [];
  if (opts.tsresol !== undefined) options.push(option(le, 9, Buffer.from([opts.tsresol])));
  if (opts.tsoffset !== undefined) {
    const v = Buffer.alloc(8);
    if (le) v.writeBigInt64LE(opts.tsoffset);
    else v.writeBigInt64BE(opts.tsoffset);
    options.push(option(le, 14, v));
  }
  if (options.length > 0) options.push(option(le, 0, Buffer.alloc(0)));
  return block(le, 1, Buffer.concat([u16(linkType, le), u16(0, le), u32(0, le), ...options]));
}

function epb(le: boolean, interfaceId: number, ticks: bigint, data: Buffer): Buffer {
  return block(
    le,
    6,
    Buffer.concat([u32(interfaceId, le), u32(Number(ticks >> 32n), le), u32(Number(ticks & 0xffffffffn), le), u32(data.length, le), u32(data.length, le), pad4(data)]),
  );
}

function opb(le: boolean, interfaceId: number, ticks: bigint, data: Buffer): Buffer {
  return block(
    le,
    2,
    Buffer.concat([u16(interfaceId, le), u16(0, le), u32(Number(ticks >> 32n), le), u32(Number(ticks & 0xffffffffn), le), u32(data.length, le), u32(data.length, le), pad4(data)]),
  );
}

function spb(le: boolean, data: Buffer): Buffer {
  return block(le, 3, Buffer.concat([u32(data.length, le), pad4(data)]));
}

function collect(buf: Buffer): { records: UdpRecord[]; stats: PcapStats } {
  const stats = createPcapStats();
  const records = [...iterateUdpRecords(buf, stats)];
  return { records, stats };
}

function skippedTotal(stats: PcapStats): number {
  return Object.values(stats.skipped).reduce((a, b) => a + b, 0);
}

// ---------------------------------------------------------------------------------------------

describe('classic pcap', () => {
  const frame = ethernet(0x0800, udp4('hello', 5000, 6000, '192.0.2.1', '198.51.100.7'));

  for (const le of [true, false]) {
    for (const nanos of [false, true]) {
      it(`reads ${le ? 'little' : 'big'}-endian ${nanos ? 'nanosecond' : 'microsecond'} files`, () => {
        const fraction = nanos ? 123_456_789 : 123_456;
        const buf = classicPcap({ le, nanos, linkType: 1 }, [
          { seconds: 1_700_000_000, fraction, data: frame },
          { seconds: 1_700_000_001, fraction: 0, data: frame },
        ]);
        const { records, stats } = collect(buf);
        expect(stats.format).toBe('pcap');
        expect(records).toHaveLength(2);
        // Nanoseconds are truncated to whole microseconds.
        expect(records[0]!.timestampUs).toBe(1_700_000_000_123_456);
        expect(records[1]!.timestampUs).toBe(1_700_000_001_000_000);
        expect(records[0]).toMatchObject({ srcAddress: '192.0.2.1', srcPort: 5000, dstAddress: '198.51.100.7', dstPort: 6000 });
        expect(records[0]!.payload.toString()).toBe('hello');
      });
    }
  }

  it('returns payloads as views into the input, not copies', () => {
    const buf = classicPcap({ le: true, linkType: 1 }, [{ seconds: 1, fraction: 0, data: frame }]);
    const [record] = collect(buf).records;
    expect(record!.payload.buffer).toBe(buf.buffer);
    buf[buf.length - 1] = 0x21; // last byte of the payload
    expect(record!.payload.toString()).toBe('hell!');
  });

  it('rejects a record longer than any snap length as corrupt, naming the offset', () => {
    const buf = classicPcap({ le: true, linkType: 1 }, [{ seconds: 1, fraction: 0, data: frame }]);
    buf.writeUInt32LE(0x7fffffff, 24 + 8); // captured length of the first record
    expect(() => collect(buf)).toThrow(PcapFormatError);
    expect(() => collect(buf)).toThrow(/offset 24/);
  });
});

describe('pcapng', () => {
  const payloadFor = (i: number) => ethernet(0x0800, udp4(`pkt${i}`, 1000 + i, 2000 + i));

  for (const le of [true, false]) {
    it(`reads ${le ? 'little' : 'big'}-endian sections with EPB, OPB and per-interface link types`, () => {
      const buf = Buffer.concat([
        shb(le, option(le, 4, Buffer.from('test app'))),
        idb(le, 1), // Ethernet, default microseconds
        idb(le, 101, { tsresol: 9 }), // raw IP, nanoseconds
        epb(le, 0, 1_700_000_000_000_001n, payloadFor(0)),
        epb(le, 1, 1_700_000_000_000_002_999n, udp4('raw', 7, 8)),
        opb(le, 0, 1_700_000_000_000_003n, payloadFor(2)),
      ]);
      const { records, stats } = collect(buf);
      expect(stats.format).toBe('pcapng');
      expect(records.map((r) => r.payload.toString())).toEqual(['pkt0', 'raw', 'pkt2']);
      expect(records.map((r) => r.timestampUs)).toEqual([1_700_000_000_000_001, 1_700_000_000_000_002, 1_700_000_000_000_003]);
      expect(skippedTotal(stats)).toBe(0);
    });
  }

  it('applies binary if_tsresol and if_tsoffset', () => {
    const buf = Buffer.concat([
      shb(true),
      idb(true, 1, { tsresol: 0x80 | 10, tsoffset: 1_600_000_000n }), // units of 2^-10 s
      epb(true, 0, 1024n * 5n + 512n, payloadFor(0)), // 5.5 s
    ]);
    const { records } = collect(buf);
    expect(records[0]!.timestampUs).toBe(1_600_000_005_500_000);
  });

  it('counts Simple Packet Blocks as skipped (no timestamp) and ignores unknown blocks', () => {
    const buf = Buffer.concat([
      shb(true),
      idb(true, 1),
      block(true, 4, Buffer.from([0, 0, 0, 0])), // name resolution
      spb(true, payloadFor(9)),
      block(true, 5, Buffer.alloc(12)), // interface statistics
      block(true, 0x40000bad, Buffer.from('custom block data')),
      epb(true, 0, 7n, payloadFor(1)),
      block(true, 0x12345678, Buffer.alloc(3)), // unknown type
    ]);
    const { records, stats } = collect(buf);
    expect(records.map((r) => r.payload.toString())).toEqual(['pkt1']);
    expect(stats.packets).toBe(2);
    expect(stats.skipped.noTimestamp).toBe(1);
  });

  it('starts afresh at each section: byte order and interface numbering', () => {
    const buf = Buffer.concat([
      shb(true),
      idb(true, 1),
      epb(true, 0, 1n, payloadFor(0)),
      shb(false),
      idb(false, 113), // interface 0 of the second section is SLL
      epb(false, 0, 2n, sll(0x0800, udp4('sll', 1, 2))),
      epb(false, 1, 3n, payloadFor(2)), // interface 1 does not exist in this section
    ]);
    const { records, stats } = collect(buf);
    expect(records.map((r) => r.payload.toString())).toEqual(['pkt0', 'sll']);
    expect(stats.skipped.malformed).toBe(1);
  });

  it('rejects a bad byte-order magic and a block length that is not a multiple of 4', () => {
    const badBom = shb(true);
    badBom.writeUInt32LE(0x11223344, 8);
    expect(() => collect(badBom)).toThrow(/byte-order magic 0x44332211/);

    const buf = Buffer.concat([shb(true), idb(true, 1), epb(true, 0, 1n, payloadFor(0))]);
    const epbOffset = shb(true).length + idb(true, 1).length;
    buf.writeUInt32LE(30, epbOffset + 4);
    expect(() => collect(buf)).toThrow(PcapFormatError);
    expect(() => collect(buf)).toThrow(new RegExp(`invalid length 30.*offset ${epbOffset}`));
  });
});

describe('link types', () => {
  const ip4 = udp4('v4', 1111, 2222, '10.1.2.3', '10.4.5.6');
  const ip6 = ipv6('2001:db8::1', 'fe80::2:3', 17, udpSegment(3333, 4444, Buffer.from('v6')));

  const cases: Array<[string, number, Buffer, string]> = [
    ['Ethernet', 1, ethernet(0x0800, ip4), 'v4'],
    ['Ethernet IPv6', 1, ethernet(0x86dd, ip6), 'v6'],
    ['Ethernet 802.1Q', 1, ethernet(0x0800, ip4, [[0x8100, 100]]), 'v4'],
    ['Ethernet QinQ (802.1ad + 802.1Q)', 1, ethernet(0x86dd, ip6, [[0x88a8, 10], [0x8100, 20]]), 'v6'],
    ['BSD loopback, little-endian family', 0, Buffer.concat([u32(2, true), ip4]), 'v4'],
    ['BSD loopback, big-endian family', 0, Buffer.concat([u32(2), ip4]), 'v4'],
    ['BSD loopback IPv6 (macOS AF_INET6 30)', 0, Buffer.concat([u32(30, true), ip6]), 'v6'],
    ['OpenBSD loop', 108, Buffer.concat([u32(24), ip6]), 'v6'],
    ['Linux SLL', 113, sll(0x0800, ip4), 'v4'],
    ['Linux SLL IPv6', 113, sll(0x86dd, ip6), 'v6'],
    ['Linux SLL2', 276, sll2(0x0800, ip4), 'v4'],
    ['Linux SLL2 IPv6', 276, sll2(0x86dd, ip6), 'v6'],
    ['raw IP (101) v4', 101, ip4, 'v4'],
    ['raw IP (101) v6', 101, ip6, 'v6'],
    ['BSD DLT_RAW 12', 12, ip4, 'v4'],
    ['OpenBSD DLT_RAW 14', 14, ip6, 'v6'],
    ['IPv4 (228)', 228, ip4, 'v4'],
    ['IPv6 (229)', 229, ip6, 'v6'],
  ];

  for (const [name, linkType, data, expected] of cases) {
    it(`decodes ${name} in both formats`, () => {
      const classic = collect(classicPcap({ le: true, linkType }, [{ seconds: 1, fraction: 0, data }]));
      const ng = collect(Buffer.concat([shb(true), idb(true, linkType), epb(true, 0, 1_000_000n, data)]));
      for (const { records, stats } of [classic, ng]) {
        expect(skippedTotal(stats)).toBe(0);
        expect(records).toHaveLength(1);
        expect(records[0]!.payload.toString()).toBe(expected);
        if (expected === 'v4') expect(records[0]).toMatchObject({ srcAddress: '10.1.2.3', srcPort: 1111, dstAddress: '10.4.5.6', dstPort: 2222 });
        else expect(records[0]).toMatchObject({ srcAddress: '2001:db8::1', srcPort: 3333, dstAddress: 'fe80::2:3', dstPort: 4444 });
      }
    });
  }

  it('counts an unsupported link type as skipped', () => {
    const { records, stats } = collect(classicPcap({ le: true, linkType: 147 }, [{ seconds: 1, fraction: 0, data: ip4 }]));
    expect(records).toHaveLength(0);
    expect(stats.skipped.unsupportedLinkType).toBe(1);
  });
});

describe('IP and UDP', () => {
  const read = (...frames: Buffer[]) => collect(classicPcap({ le: true, linkType: 1 }, frames.map((data, i) => ({ seconds: i, fraction: 0, data }))));

  it('honours IPv4 header options', () => {
    const { records } = read(ethernet(0x0800, udp4('opt', 1, 2, '1.2.3.4', '5.6.7.8', { options: Buffer.from([1, 1, 1, 0, 0x94, 4, 0, 0]) })));
    expect(records[0]!.payload.toString()).toBe('opt');
    expect(records[0]!.srcPort).toBe(1);
  });

  it('bounds the payload by the IP and UDP lengths, ignoring Ethernet padding and FCS', () => {
    const frame = Buffer.concat([ethernet(0x0800, udp4('x')), Buffer.alloc(17, 0xee)]);
    expect(read(frame).records[0]!.payload.toString()).toBe('x');
  });

  it('skips fragments, non-UDP and non-IP packets with counted reasons', () => {
    const { records, stats } = read(
      ethernet(0x0800, udp4('first fragment', 1, 2, '1.1.1.1', '2.2.2.2', { flagsAndOffset: 0x2000 })),
      ethernet(0x0800, udp4('later fragment', 1, 2, '1.1.1.1', '2.2.2.2', { flagsAndOffset: 0x0010 })),
      ethernet(0x0800, udp4('dont fragment', 1, 2, '1.1.1.1', '2.2.2.2', { flagsAndOffset: 0x4000 })),
      ethernet(0x0800, ipv4('1.1.1.1', '2.2.2.2', Buffer.alloc(20), { protocol: 6 })),
      ethernet(0x0806, Buffer.alloc(28)), // ARP
      ethernet(0x86dd, ipv6('::1', '::2', 17, udpSegment(1, 2, Buffer.from('frag6')), [[44, Buffer.from([0, 0, 0x01, 0, 0, 0, 1])]])),
      ethernet(0x86dd, ipv6('::1', '::2', 6, Buffer.alloc(20))),
    );
    expect(records.map((r) => r.payload.toString())).toEqual(['dont fragment']);
    expect(stats.skipped).toMatchObject({ ipFragment: 3, notUdp: 2, notIp: 1 });
    expect(stats.packets).toBe(7);
    expect(stats.udp).toBe(1);
  });

  it('walks IPv6 extension headers and accepts atomic fragments', () => {
    const hopByHop: [number, Buffer] = [0, Buffer.from([0, 1, 4, 0, 0, 0, 0])]; // len 0 => 8 bytes, PadN
    const destOptions: [number, Buffer] = [60, Buffer.from([1, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])]; // len 1 => 16 bytes
    const atomicFragment: [number, Buffer] = [44, Buffer.from([0, 0, 0, 0, 0, 0, 9])];
    const packet = ipv6('2001:db8:0:0:1:0:0:1', '::ffff:c000:201', 17, udpSegment(9, 10, Buffer.from('ext')), [hopByHop, destOptions, atomicFragment]);
    const { records, stats } = read(ethernet(0x86dd, packet));
    expect(skippedTotal(stats)).toBe(0);
    expect(records[0]).toMatchObject({ srcAddress: '2001:db8::1:0:0:1', dstAddress: '::ffff:c000:201', srcPort: 9, dstPort: 10 });
    expect(records[0]!.payload.toString()).toBe('ext');
  });

  it('counts packets cut by the snap length as truncatedPacket', () => {
    const full = ethernet(0x0800, udp4('a long payload that the snap length cuts'));
    const { records, stats } = collect(classicPcap({ le: true, linkType: 1, snapLength: 50 }, [{ seconds: 0, fraction: 0, data: full.subarray(0, 50), originalLength: full.length }]));
    expect(records).toHaveLength(0);
    expect(stats.skipped.truncatedPacket).toBe(1);
  });

  it('counts inconsistent headers as malformed', () => {
    const badUdpLength = udp4('abc');
    badUdpLength.writeUInt16BE(4, 20 + 4); // UDP length below its own header
    const badIhl = udp4('abc');
    badIhl[0] = 0x44;
    const { stats } = read(ethernet(0x0800, badUdpLength), ethernet(0x0800, badIhl));
    expect(stats.skipped.malformed).toBe(2);
  });

  it('formats IPv6 addresses per RFC 5952', () => {
    const cases: Array<[string, string]> = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
      ['2001:0db8:0000:0001:0000:0000:0000:0001', '2001:db8:0:1::1'], // longest run wins
      ['2001:0db8:0000:0001:0001:0001:0001:0001', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
      ['fe80:0000:0000:0001:0000:0000:0000:0000', 'fe80:0:0:1::'],
    ];
    for (const [full, expected] of cases) {
      const bytes = Buffer.from(full.replace(/:/g, ''), 'hex');
      expect(formatIpv6(bytes)).toBe(expected);
    }
  });
});

describe('truncated and invalid input', () => {
  const frames = [0, 1, 2].map((i) => ethernet(0x0800, udp4(`record ${i}`, 10 + i, 20 + i)));

  /** Checks every cut point: complete records come out, then a PcapTruncatedError at the first incomplete one. */
  function checkCuts(full: Buffer, recordEnds: number[], firstRecordStart: number, headerBoundaries: number[] = []): void {
    for (let cut = 4; cut < full.length; cut++) {
      const buf = full.subarray(0, cut);
      const complete = recordEnds.filter((end) => end <= cut).length;
      const boundary = cut === firstRecordStart || recordEnds.includes(cut) || headerBoundaries.includes(cut);
      const stats = createPcapStats();
      const got: UdpRecord[] = [];
      let error: unknown;
      try {
        for (const r of iterateUdpRecords(buf, stats)) got.push(r);
      } catch (err) {
        error = err;
      }
      expect(got.map((r) => r.payload.toString()), `cut at ${cut}`).toEqual(frames.slice(0, complete).map((_, i) => `record ${i}`));
      if (boundary) {
        expect(error, `cut at ${cut}`).toBeUndefined();
      } else {
        expect(error, `cut at ${cut}`).toBeInstanceOf(PcapTruncatedError);
        const expectedOffset = cut < firstRecordStart ? expect.any(Number) : complete === 0 ? firstRecordStart : recordEnds[complete - 1]!;
        expect((error as PcapTruncatedError).byteOffset, `cut at ${cut}`).toEqual(expectedOffset);
        expect((error as Error).message).toMatch(/cut short.*at byte offset \d+/);
      }
    }
  }

  it('classic pcap: yields complete records, then throws PcapTruncatedError with the offset', () => {
    const full = classicPcap({ le: true, linkType: 1 }, frames.map((data) => ({ seconds: 1, fraction: 0, data })));
    let end = 24;
    const ends = frames.map((f) => (end += 16 + f.length));
    checkCuts(full, ends, 24);
  });

  it('pcapng: yields complete records, then throws PcapTruncatedError with the offset', () => {
    const head = Buffer.concat([shb(true), idb(true, 1)]);
    const blocks = frames.map((f, i) => epb(true, 0, BigInt(i), f));
    let end = head.length;
    const ends = blocks.map((b) => (end += b.length));
    // Cuts inside the SHB/IDB are truncations before any record; a cut between them is a valid empty capture.
    checkCuts(Buffer.concat([head, ...blocks]), ends, head.length, [shb(true).length]);
  });

  it('readPcap attaches the records read before the truncation', () => {
    const full = classicPcap({ le: false, linkType: 1 }, frames.map((data) => ({ seconds: 1, fraction: 0, data })));
    const cut = full.subarray(0, full.length - 3);
    let caught: unknown;
    try {
      readPcap(cut);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PcapTruncatedError);
    const partial = (caught as PcapTruncatedError).partial!;
    expect(partial.records.map((r) => r.payload.toString())).toEqual(['record 0', 'record 1']);
    expect(partial.stats.udp).toBe(2);
  });

  it('names the magic number of something that is not a capture', () => {
    expect(() => readPcap(Buffer.from('hello world, not a capture'))).toThrow(/magic 0x68656c6c/);
    expect(() => readPcap(Buffer.from('hello world, not a capture'))).toThrow(PcapFormatError);
    expect(() => readPcap(Buffer.alloc(0))).toThrow(/empty/);
    expect(() => readPcap(Buffer.from([0xd4, 0xc3]))).toThrow(/only 2 bytes/);
  });

  it('throws the format error before iteration starts', () => {
    // Callers learn about a wrong file at the call, not at the first next().
    expect(() => iterateUdpRecords(Buffer.from('GIF89a........................'))).toThrow(PcapFormatError);
  });

  it('reports a short global header as truncation at offset 0', () => {
    const header = classicPcap({ le: true, linkType: 1 }, []).subarray(0, 10);
    expect(() => readPcap(header)).toThrow(PcapTruncatedError);
    expect(() => readPcap(header)).toThrow(/global header cut short: 10 of 24 bytes \(at byte offset 0\)/);
  });
});

describe('reading a file in chunks', () => {
  const dir = tempDir('pcap-file-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const frames = [0, 1, 2, 3].map((i) => ethernet(0x0800, udp4(`record ${i}`, 10 + i, 20 + i)));
  const captures: Record<string, Buffer> = {
    classic: classicPcap({ le: false, linkType: 1 }, frames.map((data, i) => ({ seconds: i, fraction: 0, data }))),
    // Two sections: the second changes byte order and interface numbering, so the reader's state must carry across chunks.
    pcapng: Buffer.concat([
      shb(true),
      idb(true, 1),
      epb(true, 0, 1n, frames[0]!),
      block(true, 4, Buffer.alloc(5000)), // a name-resolution block, skipped unread
      epb(true, 0, 2n, frames[1]!),
      shb(false),
      idb(false, 113),
      idb(false, 1),
      epb(false, 1, 3n, frames[2]!),
      epb(false, 1, 4n, frames[3]!),
    ]),
  };
  const readAll = (records: () => Iterable<UdpRecord>): { payloads: string[]; times: number[]; error: unknown } => {
    const payloads: string[] = [];
    const times: number[] = [];
    let error: unknown;
    try {
      for (const r of records()) {
        payloads.push(r.payload.toString());
        times.push(r.timestampUs);
      }
    } catch (err) {
      error = err;
    }
    return { payloads, times, error };
  };

  for (const [name, full] of Object.entries(captures)) {
    it(`${name}: a file yields what the same bytes in memory yield, at every cut, with the path in errors`, () => {
      const path = join(dir, `${name}.cap`);
      for (let cut = 4; cut <= full.length; cut += cut < 200 ? 1 : 97) {
        const bytes = full.subarray(0, cut);
        writeFileSync(path, bytes);
        const fromFile = readAll(() => iterateUdpRecordsInFile(path));
        const fromMemory = readAll(() => iterateUdpRecords(bytes));
        expect(fromFile.payloads, `cut at ${cut}`).toEqual(fromMemory.payloads);
        expect(fromFile.times, `cut at ${cut}`).toEqual(fromMemory.times);
        expect(fromFile.error?.constructor, `cut at ${cut}`).toBe(fromMemory.error?.constructor);
        if (fromMemory.error) expect((fromFile.error as Error).message).toBe(`${path}: ${(fromMemory.error as Error).message}`);
      }
      writeFileSync(path, full);
      expect(readAll(() => iterateUdpRecordsInFile(path)).payloads).toEqual(frames.map((_, i) => `record ${i}`));
    });
  }

  it('FileByteReader returns the bytes BufferByteReader does, for any chunk size', () => {
    const random = rng(7);
    const data = Buffer.from(Array.from({ length: 3000 }, () => Math.floor(random() * 256)));
    const path = join(dir, 'bytes.bin');
    writeFileSync(path, data);
    for (const chunkBytes of [1, 3, 7, 64, 4096]) {
      const file = new FileByteReader(path, chunkBytes);
      const memory = new BufferByteReader(data);
      const kept: [Buffer, Buffer][] = [];
      while (memory.offset < data.length) {
        const n = Math.floor(random() * 100);
        const op = random();
        if (op < 0.2) expect(file.skip(n)).toBe(memory.skip(n));
        else if (op < 0.4) expect(file.peek(n).equals(memory.peek(n))).toBe(true);
        else kept.push([file.take(n), memory.take(n)]);
        expect(file.offset).toBe(memory.offset);
      }
      // Views handed out earlier are still intact: chunks are never overwritten.
      for (const [a, b] of kept) expect(a.equals(b)).toBe(true);
      expect(file.take(10).length).toBe(0);
      file.close();
      file.close();
    }
  });

  it('skips a record too big for a UDP datagram without reading it, and counts it', () => {
    const big = ethernet(0x0800, Buffer.alloc(400_000));
    const classic = classicPcap({ le: true, linkType: 1, snapLength: 1 << 20 }, [frames[0]!, big, frames[1]!].map((data) => ({ seconds: 0, fraction: 0, data })));
    const pcapng = Buffer.concat([shb(true), idb(true, 1), epb(true, 0, 1n, frames[0]!), epb(true, 0, 2n, big), epb(true, 0, 3n, frames[1]!)]);
    for (const capture of [classic, pcapng]) {
      const path = join(dir, 'oversized.cap');
      writeFileSync(path, capture);
      const stats = createPcapStats();
      expect([...iterateUdpRecordsInFile(path, stats)].map((r) => r.payload.toString())).toEqual(['record 0', 'record 1']);
      expect(stats.skipped.oversized).toBe(1);
      expect(stats.packets).toBe(3);
    }
  });
});

describe('writer', () => {
  const records = [
    { timestampUs: 1_700_000_000_000_001, srcAddress: '127.0.0.1', srcPort: 5014, dstAddress: '127.0.0.1', dstPort: 5004, payload: Buffer.from([0x80, 0x60, 1, 2]) },
    { timestampUs: 1_700_000_000_999_999, srcAddress: '192.168.1.20', srcPort: 40000, dstAddress: '10.0.0.1', dstPort: 5006, payload: Buffer.alloc(1200, 7) },
    { timestampUs: 1_700_000_001_000_000, srcAddress: '10.0.0.1', srcPort: 1, dstAddress: '10.0.0.2', dstPort: 2, payload: Buffer.alloc(0) },
  ];

  it('round-trips through the reader', () => {
    const { records: read, stats } = readPcap(writePcap(records));
    expect(stats.format).toBe('pcap');
    expect(read).toHaveLength(records.length);
    read.forEach((r, i) => {
      const { payload, ...rest } = records[i]!;
      expect(r).toMatchObject(rest);
      expect(Buffer.compare(r.payload, payload)).toBe(0);
    });
  });

  it('concatenating header and records equals writePcap', () => {
    const streamed = Buffer.concat([encodePcapHeader(), ...records.map(encodePcapRecord)]);
    expect(streamed.equals(writePcap(records))).toBe(true);
  });

  it('writes valid IPv4 header and UDP checksums', () => {
    const frame = encodePcapRecord(records[1]!).subarray(16);
    const sum16 = (b: Buffer, initial = 0) => {
      let s = initial;
      for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
      if (b.length % 2) s += b[b.length - 1]! << 8;
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return s;
    };
    const ip = frame.subarray(14, 34);
    expect(sum16(ip)).toBe(0xffff);
    const udp = frame.subarray(34);
    const pseudo = sum16(Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17]), u16(udp.length)]));
    expect(sum16(udp, pseudo)).toBe(0xffff);
  });

  it('rejects what it cannot write', () => {
    const base = records[0]!;
    expect(() => encodePcapRecord({ ...base, srcAddress: '::1' })).toThrow(/srcAddress "::1" is not a dotted IPv4/);
    expect(() => encodePcapRecord({ ...base, dstPort: 70000 })).toThrow(/dstPort 70000/);
    expect(() => encodePcapRecord({ ...base, timestampUs: 1.5 })).toThrow(/timestampUs/);
    expect(() => encodePcapRecord({ ...base, payload: Buffer.alloc(70000) })).toThrow(/exceeds/);
  });
});

describe('fixture h264-opus.pcap', () => {
  const truth = JSON.parse(readFileSync(new URL('../fixtures/h264-opus.json', import.meta.url), 'utf8'));
  const { records, stats } = readPcapFile(new URL('../fixtures/h264-opus.pcap', import.meta.url).pathname);

  it('has the packet counts the generator recorded, and nothing skipped', () => {
    expect(skippedTotal(stats)).toBe(0);
    expect(records).toHaveLength(truth.pcap.udpRecords);
    expect(records.filter((r) => r.dstPort === truth.video.dstPort)).toHaveLength(truth.video.pcap.rtpPackets);
    expect(records.filter((r) => r.dstPort === truth.audio.dstPort)).toHaveLength(truth.audio.pcap.rtpPackets);
    expect(truth.video.pcap.rtpPackets + truth.audio.pcap.rtpPackets).toBe(truth.pcap.udpRecords);
  });

  it('has arrival times in order, spanning the recorded duration', () => {
    for (let i = 1; i < records.length; i++) expect(records[i]!.timestampUs).toBeGreaterThanOrEqual(records[i - 1]!.timestampUs);
    const video = records.filter((r) => r.dstPort === truth.video.dstPort);
    expect(video[0]!.timestampUs).toBe(truth.video.pcap.firstArrivalUs);
    expect(video.at(-1)!.timestampUs).toBe(truth.video.pcap.lastArrivalUs);
    const spanSeconds = (records.at(-1)!.timestampUs - records[0]!.timestampUs) / 1e6;
    expect(spanSeconds).toBeGreaterThan(truth.audio.pcap.durationSeconds - 0.5);
    expect(spanSeconds).toBeLessThan(truth.audio.pcap.durationSeconds + 0.5);
  });

  it('carries RTP with the SSRCs and first sequence numbers of the JSON', () => {
    for (const kind of ['video', 'audio'] as const) {
      const stream = records.filter((r) => r.dstPort === truth[kind].dstPort);
      expect(stream[0]!.payload[0]! >> 6).toBe(2);
      expect(stream[0]!.payload.readUInt32BE(8)).toBe(truth[kind].ssrc);
      expect(stream[0]!.payload.readUInt16BE(2)).toBe(truth[kind].pcap.firstSequenceNumber);
      expect(stream[0]).toMatchObject({ srcAddress: truth[kind].pcap.srcAddress, srcPort: truth[kind].pcap.srcPort, dstAddress: truth[kind].dstAddress });
    }
  });
});
