/**
 * Reads UDP datagrams out of packet captures (classic pcap and pcapng) and writes small classic
 * pcap files. Own code rather than an npm package: the packages found (pcap-parser, pcap-ng-parser)
 * each read only one of the two formats and only Ethernet.
 *
 * Everything here is synchronous, over a Buffer or over a file read in chunks (byte-reader.ts), one
 * record at a time, so a capture of any size is read in constant memory. Payloads are returned as
 * views into the Buffer or the chunk, so nothing is copied.
 */
import { BufferByteReader, FileByteReader, type ByteReader } from './byte-reader.js';

/** One UDP datagram found in a capture. */
export interface UdpRecord {
  /** Capture time in microseconds since the Unix epoch (nanosecond captures are truncated to microseconds). */
  timestampUs: number;
  /** Source IP address in text form ("192.0.2.1", "2001:db8::1"). */
  srcAddress: string;
  /** UDP source port. */
  srcPort: number;
  /** Destination IP address in text form. */
  dstAddress: string;
  /** UDP destination port. */
  dstPort: number;
  /** UDP payload (bounded by the UDP length field): a view into the capture buffer, not a copy. */
  payload: Buffer;
}

/** Why a captured packet was not returned as a UdpRecord. */
export type PcapSkipReason =
  /** The interface's link type is not one this reader decodes. */
  | 'unsupportedLinkType'
  /** Link layer carries something other than IPv4/IPv6 (ARP, LLC, ...). */
  | 'notIp'
  /** IP packet whose payload is not UDP (TCP, ICMP, unknown extension header, ...). */
  | 'notUdp'
  /** IP fragment: UDP payload is incomplete (first fragment) or absent (later fragments). */
  | 'ipFragment'
  /** The capture holds fewer bytes than the headers say (snap length cut the packet). */
  | 'truncatedPacket'
  /** Header fields are inconsistent (bad IP version or header length, UDP length below 8, unknown interface id). */
  | 'malformed'
  /** pcapng Simple Packet Block: carries no timestamp, so it cannot be replayed in time. */
  | 'noTimestamp'
  /** Record over 256 KiB: too big for a UDP datagram, skipped without being read. */
  | 'oversized';

/** Counters filled while reading a capture. */
export interface PcapStats {
  /** Container format, known once the first bytes were read. */
  format: 'pcap' | 'pcapng' | undefined;
  /** Packet records seen (returned or skipped). */
  packets: number;
  /** Bytes of the capture read or skipped so far. */
  bytes: number;
  /** UDP records returned. */
  udp: number;
  /** Packets not returned, by reason. */
  skipped: Record<PcapSkipReason, number>;
}

/** Returns a zeroed PcapStats to pass to iterateUdpRecords. */
export function createPcapStats(): PcapStats {
  return {
    format: undefined,
    packets: 0,
    bytes: 0,
    udp: 0,
    skipped: {
      unsupportedLinkType: 0,
      notIp: 0,
      notUdp: 0,
      ipFragment: 0,
      truncatedPacket: 0,
      malformed: 0,
      noTimestamp: 0,
      oversized: 0,
    },
  };
}

/** The input is not a capture, or its structure is corrupt. */
export class PcapFormatError extends Error {
  override name = 'PcapFormatError';
  /** Byte offset in the file where the problem was found. */
  readonly byteOffset: number;
  constructor(message: string, byteOffset: number) {
    super(`${message} (at byte offset ${byteOffset})`);
    this.byteOffset = byteOffset;
  }
}

/**
 * The capture ends in the middle of a header or record. Thrown only after every complete record
 * before that point was yielded; readPcap attaches what it collected as `partial`.
 */
export class PcapTruncatedError extends PcapFormatError {
  override name = 'PcapTruncatedError';
  /** Records read before the truncation (set by readPcap and readPcapFile; undefined from the iterator). */
  partial: PcapReadResult | undefined;
  constructor(message: string, byteOffset: number) {
    super(message, byteOffset);
  }
}

/** All UDP records of a capture and the counters. */
export interface PcapReadResult {
  records: UdpRecord[];
  stats: PcapStats;
}

// Link-layer header types (https://www.tcpdump.org/linktypes.html).
/** LINKTYPE_NULL: BSD loopback, 4-byte address family in the capturing host's byte order. */
export const LINKTYPE_NULL = 0;
/** LINKTYPE_ETHERNET. */
export const LINKTYPE_ETHERNET = 1;
/** LINKTYPE_RAW: raw IPv4 or IPv6, version taken from the first nibble. */
export const LINKTYPE_RAW = 101;
/** LINKTYPE_LOOP: OpenBSD loopback, address family in network byte order. */
export const LINKTYPE_LOOP = 108;
/** LINKTYPE_LINUX_SLL: Linux cooked capture v1 (16-byte header). */
export const LINKTYPE_LINUX_SLL = 113;
/** LINKTYPE_IPV4: raw IPv4. */
export const LINKTYPE_IPV4 = 228;
/** LINKTYPE_IPV6: raw IPv6. */
export const LINKTYPE_IPV6 = 229;
/** LINKTYPE_LINUX_SLL2: Linux cooked capture v2 (20-byte header). */
export const LINKTYPE_LINUX_SLL2 = 276;
/** DLT_RAW as written into files by some BSD libpcaps: 12 on most, 14 on OpenBSD. */
const DLT_RAW_12 = 12;
const DLT_RAW_14 = 14;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const PCAP_GLOBAL_HEADER_BYTES = 24;
const PCAP_RECORD_HEADER_BYTES = 16;
/** Wireshark's upper bound for one record; bigger lengths mean a corrupt file, not a big packet. */
const MAX_RECORD_BYTES = 256 * 1024 * 1024;
/**
 * Largest record decoded, in bytes (Wireshark's usual packet limit): a UDP datagram over IP is at
 * most 64 KiB plus headers, so a bigger record is none and is skipped unread, not held in memory.
 */
const MAX_DECODED_PACKET_BYTES = 262_144;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = [0x8100, 0x88a8, 0x9100];
const IPPROTO_UDP = 17;

/**
 * Iterates the UDP records of a classic pcap or pcapng capture. The format is checked at once (a
 * PcapFormatError naming the magic found if it is neither); records are decoded lazily. Packets that
 * are not UDP over IP are counted in `stats.skipped`. If the capture is cut short, every complete
 * record is yielded and then a PcapTruncatedError is thrown, so a caller that consumed the records
 * keeps them. A structurally corrupt file throws PcapFormatError where the corruption is found.
 */
export function iterateUdpRecords(buf: Buffer, stats: PcapStats = createPcapStats()): Generator<UdpRecord, void, undefined> {
  return iterateRecords(new BufferByteReader(buf), stats);
}

/**
 * Iterates the UDP records of a capture file, reading it in chunks: memory stays one chunk plus
 * the records the caller keeps, whatever the file's size. Same contract as iterateUdpRecords;
 * errors name the file. The file is closed when the iteration ends (or is abandoned with return()).
 */
export function iterateUdpRecordsInFile(path: string, stats: PcapStats = createPcapStats()): Generator<UdpRecord, void, undefined> {
  const reader = new FileByteReader(path);
  try {
    return closingAfter(reader, iterateRecords(reader, stats), path);
  } catch (err) {
    reader.close();
    throw namingFile(err, path);
  }
}

function* closingAfter(reader: FileByteReader, records: Generator<UdpRecord, void, undefined>, path: string): Generator<UdpRecord, void, undefined> {
  try {
    yield* records;
  } catch (err) {
    throw namingFile(err, path);
  } finally {
    reader.close();
  }
}

function namingFile(err: unknown, path: string): unknown {
  if (err instanceof PcapFormatError) err.message = `${path}: ${err.message}`;
  return err;
}

function iterateRecords(input: ByteReader, stats: PcapStats): Generator<UdpRecord, void, undefined> {
  const head = input.peek(4);
  if (head.length < 4) {
    if (head.length === 0) throw new PcapFormatError('Not a pcap or pcapng capture: the input is empty', 0);
    throw new PcapFormatError(`Not a pcap or pcapng capture: only ${head.length} bytes, too short for a magic number`, 0);
  }
  const magicBE = head.readUInt32BE(0);
  const magicLE = head.readUInt32LE(0);
  if (magicBE === PCAPNG_SHB) {
    stats.format = 'pcapng';
    return readPcapng(input, stats);
  }
  if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS || magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) {
    stats.format = 'pcap';
    return readClassic(input, stats);
  }
  throw new PcapFormatError(`Not a pcap or pcapng capture: magic 0x${head.toString('hex')} is neither pcap (a1b2c3d4/a1b23c4d, either byte order) nor pcapng (0a0d0d0a)`, 0);
}

/** Collects every record of `records`; a PcapTruncatedError gets what came before it as `partial`. */
function collect(records: Iterable<UdpRecord>, stats: PcapStats): PcapReadResult {
  const collected: UdpRecord[] = [];
  try {
    for (const record of records) collected.push(record);
  } catch (err) {
    if (err instanceof PcapTruncatedError) err.partial = { records: collected, stats };
    throw err;
  }
  return { records: collected, stats };
}

/** Reads all UDP records of a capture held in memory. Throws PcapTruncatedError (with `partial`) if it is cut short. */
export function readPcap(buf: Buffer): PcapReadResult {
  const stats = createPcapStats();
  return collect(iterateUdpRecords(buf, stats), stats);
}

/**
 * Reads all UDP records of a capture file into memory (any size the memory holds; the file is
 * read in chunks, not as one Buffer); errors name the file. Same truncation contract as readPcap.
 */
export function readPcapFile(path: string): PcapReadResult {
  const stats = createPcapStats();
  return collect(iterateUdpRecordsInFile(path, stats), stats);
}

// ---------------------------------------------------------------------------------------------
// Classic pcap

function* readClassic(input: ByteReader, stats: PcapStats): Generator<UdpRecord, void, undefined> {
  const header = input.take(PCAP_GLOBAL_HEADER_BYTES);
  const littleEndian = header.readUInt32LE(0) === PCAP_MAGIC_US || header.readUInt32LE(0) === PCAP_MAGIC_NS;
  const magic = littleEndian ? header.readUInt32LE(0) : header.readUInt32BE(0);
  const nanos = magic === PCAP_MAGIC_NS;
  if (header.length < PCAP_GLOBAL_HEADER_BYTES) {
    throw new PcapTruncatedError(`pcap global header cut short: ${header.length} of ${PCAP_GLOBAL_HEADER_BYTES} bytes`, 0);
  }
  const u32 = littleEndian ? (b: Buffer, o: number) => b.readUInt32LE(o) : (b: Buffer, o: number) => b.readUInt32BE(o);
  const snapLength = u32(header, 16);
  // Upper bits of the link-type field carry FCS flags; IP lengths bound the payload, so FCS trailers need no handling.
  const linkType = u32(header, 20) & 0xffff;
  const maxRecord = Math.max(snapLength, 262_144);
  for (;;) {
    const offset = input.offset;
    stats.bytes = offset;
    const recordHeader = input.take(PCAP_RECORD_HEADER_BYTES);
    if (recordHeader.length === 0) return;
    if (recordHeader.length < PCAP_RECORD_HEADER_BYTES) {
      throw new PcapTruncatedError(`pcap record header cut short: ${recordHeader.length} of ${PCAP_RECORD_HEADER_BYTES} bytes`, offset);
    }
    const seconds = u32(recordHeader, 0);
    const fraction = u32(recordHeader, 4);
    const capturedLength = u32(recordHeader, 8);
    if (capturedLength > maxRecord || capturedLength > MAX_RECORD_BYTES) {
      throw new PcapFormatError(`pcap record claims ${capturedLength} captured bytes, more than the snap length ${snapLength}: corrupt file`, offset);
    }
    const oversized = capturedLength > MAX_DECODED_PACKET_BYTES;
    const got = oversized ? input.skip(capturedLength) : undefined;
    const data = oversized ? undefined : input.take(capturedLength);
    const length = got ?? data!.length;
    if (length < capturedLength) {
      throw new PcapTruncatedError(`pcap record data cut short: ${length} of ${capturedLength} bytes`, offset);
    }
    stats.packets++;
    if (!data) {
      stats.skipped.oversized++;
      continue;
    }
    const timestampUs = seconds * 1_000_000 + (nanos ? Math.floor(fraction / 1000) : fraction);
    const record = decodeLinkLayer(linkType, data, timestampUs, stats);
    if (record) {
      stats.udp++;
      yield record;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html)

interface PcapngInterface {
  linkType: number;
  /** Timestamp units per second (if_tsresol), as a BigInt because 64-bit tick counts exceed 2^53. */
  unitsPerSecond: bigint;
  /** if_tsoffset: seconds to add to every timestamp of this interface. */
  offsetSeconds: bigint;
}

const BLOCK_IDB = 1;
const BLOCK_OPB = 2;
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;
const OPT_END = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
/** Largest packet or interface block read into memory: a decodable packet plus room for block options. */
const MAX_READ_BLOCK_BYTES = MAX_DECODED_PACKET_BYTES + 64 * 1024;

/**
 * Blocks are read one at a time; what carries over between blocks is the section's byte order and
 * its interface list (packet blocks name their interface by index in it; a new section resets both).
 */
function* readPcapng(input: ByteReader, stats: PcapStats): Generator<UdpRecord, void, undefined> {
  let littleEndian = true;
  let interfaces: PcapngInterface[] = [];
  for (;;) {
    const offset = input.offset;
    stats.bytes = offset;
    const head = input.peek(12);
    if (head.length === 0) return;
    if (head.length < 12) {
      throw new PcapTruncatedError(`pcapng block header cut short: ${head.length} of 12 bytes`, offset);
    }
    // The SHB block type is a palindrome, so it can be recognised before the byte order is known.
    const isSectionHeader = head.readUInt32BE(0) === PCAPNG_SHB;
    if (isSectionHeader) {
      if (head.readUInt32LE(8) === PCAPNG_BYTE_ORDER_MAGIC) littleEndian = true;
      else if (head.readUInt32BE(8) === PCAPNG_BYTE_ORDER_MAGIC) littleEndian = false;
      else throw new PcapFormatError(`pcapng section header has byte-order magic 0x${head.subarray(8, 12).toString('hex')}, expected 1a2b3c4d`, offset + 8);
      interfaces = [];
    }
    const u32 = littleEndian ? (b: Buffer, o: number) => b.readUInt32LE(o) : (b: Buffer, o: number) => b.readUInt32BE(o);
    const u16 = littleEndian ? (b: Buffer, o: number) => b.readUInt16LE(o) : (b: Buffer, o: number) => b.readUInt16BE(o);
    const blockType = u32(head, 0);
    const blockLength = u32(head, 4);
    if (blockLength < 12 || blockLength % 4 !== 0) {
      throw new PcapFormatError(`pcapng block of type 0x${blockType.toString(16)} has invalid length ${blockLength} (must be a multiple of 4, at least 12)`, offset);
    }
    const isPacket = !isSectionHeader && (blockType === BLOCK_EPB || blockType === BLOCK_OPB);
    const isInterface = !isSectionHeader && blockType === BLOCK_IDB;
    if (isInterface && blockLength > MAX_READ_BLOCK_BYTES) {
      throw new PcapFormatError(`pcapng interface description block of ${blockLength} bytes: corrupt file`, offset);
    }
    // Only packet and interface blocks are read; others (and oversized packets) are skipped unread but for their trailing length.
    const block = (isPacket || isInterface) && blockLength <= MAX_READ_BLOCK_BYTES ? input.take(blockLength) : undefined;
    const trailer = block ? block.subarray(blockLength - 4) : undefined;
    const got = block ? block.length : input.skip(blockLength - 4);
    const trailing = trailer ?? input.take(4);
    if (got + (block ? 0 : trailing.length) < blockLength) {
      throw new PcapTruncatedError(`pcapng block of type 0x${blockType.toString(16)} cut short: ${got + (block ? 0 : trailing.length)} of ${blockLength} bytes`, offset);
    }
    if (u32(trailing, 0) !== blockLength) {
      throw new PcapFormatError(`pcapng block of type 0x${blockType.toString(16)}: trailing length ${u32(trailing, 0)} differs from leading length ${blockLength}`, offset);
    }
    const body = 8;
    const bodyEnd = blockLength - 4;
    const need = (bytes: number, what: string): void => {
      if (body + bytes > bodyEnd) throw new PcapFormatError(`pcapng ${what} block of ${blockLength} bytes is too short for its fixed fields`, offset);
    };
    if (isSectionHeader) {
      need(16, 'section header');
    } else if (isInterface) {
      need(8, 'interface description');
      interfaces.push(parseInterfaceOptions(block!, u16(block!, body), body + 8, bodyEnd, littleEndian, offset));
    } else if (isPacket) {
      // EPB: if_id u32, ts hi, ts lo, caplen, len. OPB (obsolete): if_id u16, drops u16, ts hi, ts lo, caplen, len.
      need(20, blockType === BLOCK_EPB ? 'enhanced packet' : 'packet');
      stats.packets++;
      if (!block) {
        stats.skipped.oversized++;
        continue;
      }
      const interfaceId = blockType === BLOCK_EPB ? u32(block, body) : u16(block, body);
      const capturedLength = u32(block, body + 12);
      const dataStart = body + 20;
      if (dataStart + capturedLength > bodyEnd) {
        throw new PcapFormatError(`pcapng packet block claims ${capturedLength} captured bytes but holds ${bodyEnd - dataStart}`, offset);
      }
      const iface = interfaces[interfaceId];
      if (!iface) {
        stats.skipped.malformed++;
      } else {
        const ticks = (BigInt(u32(block, body + 4)) << 32n) | BigInt(u32(block, body + 8));
        const timestampUs = Number(((ticks * 1_000_000n) / iface.unitsPerSecond) + iface.offsetSeconds * 1_000_000n);
        const record = decodeLinkLayer(iface.linkType, block.subarray(dataStart, dataStart + capturedLength), timestampUs, stats);
        if (record) {
          stats.udp++;
          yield record;
        }
      }
    } else if (blockType === BLOCK_SPB) {
      stats.packets++;
      stats.skipped.noTimestamp++;
    }
    // Any other block (name resolution, statistics, decryption secrets, custom) carries no packets.
  }
}

function parseInterfaceOptions(
  buf: Buffer,
  linkType: number,
  start: number,
  end: number,
  littleEndian: boolean,
  blockOffset: number,
): PcapngInterface {
  const u16 = littleEndian ? (o: number) => buf.readUInt16LE(o) : (o: number) => buf.readUInt16BE(o);
  const iface: PcapngInterface = { linkType, unitsPerSecond: 1_000_000n, offsetSeconds: 0n };
  let o = start;
  while (o + 4 <= end) {
    const code = u16(o);
    const length = u16(o + 2);
    const value = o + 4;
    if (value + length > end) throw new PcapFormatError(`pcapng interface option ${code} of ${length} bytes runs past its block`, blockOffset);
    if (code === OPT_END) break;
    if (code === OPT_IF_TSRESOL && length >= 1) {
      const resolution = buf[value]!;
      const exponent = BigInt(resolution & 0x7f);
      iface.unitsPerSecond = resolution & 0x80 ? 2n ** exponent : 10n ** exponent;
    } else if (code === OPT_IF_TSOFFSET && length >= 8) {
      iface.offsetSeconds = littleEndian ? buf.readBigInt64LE(value) : buf.readBigInt64BE(value);
    }
    o = value + ((length + 3) & ~3);
  }
  return iface;
}

// ---------------------------------------------------------------------------------------------
// Link layer, IP and UDP

function decodeLinkLayer(linkType: number, frame: Buffer, timestampUs: number, stats: PcapStats): UdpRecord | undefined {
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      return decodeEthernet(frame, timestampUs, stats);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      return decodeLoopback(frame, linkType === LINKTYPE_LOOP, timestampUs, stats);
    case LINKTYPE_LINUX_SLL:
      return decodeEtherType(frame, 14, 16, timestampUs, stats);
    case LINKTYPE_LINUX_SLL2:
      return decodeEtherType(frame, 0, 20, timestampUs, stats);
    case LINKTYPE_RAW:
    case DLT_RAW_12:
    case DLT_RAW_14:
      return decodeIp(frame, timestampUs, stats);
    case LINKTYPE_IPV4:
      return decodeIpv4(frame, timestampUs, stats);
    case LINKTYPE_IPV6:
      return decodeIpv6(frame, timestampUs, stats);
    default:
      stats.skipped.unsupportedLinkType++;
      return undefined;
  }
}

function decodeEthernet(frame: Buffer, timestampUs: number, stats: PcapStats): UdpRecord | undefined {
  let typeOffset = 12;
  if (frame.length < typeOffset + 2) return skip(stats, 'truncatedPacket');
  // Stacked 802.1Q / 802.1ad tags: each adds 4 bytes before the real EtherType.
  while (ETHERTYPE_VLAN.includes(frame.readUInt16BE(typeOffset))) {
    typeOffset += 4;
    if (frame.length < typeOffset + 2) return skip(stats, 'truncatedPacket');
  }
  return decodeEtherType(frame, typeOffset, typeOffset + 2, timestampUs, stats);
}

function decodeEtherType(frame: Buffer, typeOffset: number, payloadOffset: number, timestampUs: number, stats: PcapStats): UdpRecord | undefined {
  if (frame.length < payloadOffset) return skip(stats, 'truncatedPacket');
  const etherType = frame.readUInt16BE(typeOffset);
  if (etherType === ETHERTYPE_IPV4) return decodeIpv4(frame.subarray(payloadOffset), timestampUs, stats);
  if (etherType === ETHERTYPE_IPV6) return decodeIpv6(frame.subarray(payloadOffset), timestampUs, stats);
  return skip(stats, 'notIp');
}

function decodeLoopback(frame: Buffer, networkOrder: boolean, timestampUs: number, stats: PcapStats): UdpRecord | undefined {
  if (frame.length < 4) return skip(stats, 'truncatedPacket');
  // DLT_NULL stores the family in the capturing host's byte order, which the file does not record:
  // take whichever reading is a small number.
  let family = frame.readUInt32BE(0);
  if (!networkOrder && family > 0xffff) family = frame.readUInt32LE(0);
  const ip = frame.subarray(4);
  if (family === 2) return decodeIpv4(ip, timestampUs, stats);
  // AF_INET6 differs between BSDs (24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS) and is 10 on Linux.
  if (family === 24 || family === 28 || family === 30 || family === 10) return decodeIpv6(ip, timestampUs, stats);
  return skip(stats, 'notIp');
}

function decodeIp(packet: Buffer, timestampUs: number, stats: PcapStats): UdpRecord | undefined {
  if (packet.length < 1) return skip(stats, 'truncatedPacket');
  const version = packet[0]! >> 4;
  if (version === 4) return decodeIpv4(packet, timestampUs, stats);
  if (version === 6) return decodeIpv6(packet, timestampUs, stats);
  return skip(stats, 'notIp');
}

function decodeIpv4(packet: Buffer, timestampUs: number, stats: PcapStats): UdpRecord | undefined {
  if (packet.length < 20) return skip(stats, 'truncatedPacket');
  const headerLength = (packet[0]! & 0x0f) * 4;
  if (packet[0]! >> 4 !== 4 || headerLength < 20) return skip(stats, 'malformed');
  let totalLength = packet.readUInt16BE(2);
  // Zero total length appears in captures of TCP-segmentation-offloaded packets; trust the capture.
  if (totalLength === 0) totalLength = packet.length;
  if (totalLength < headerLength) return skip(stats, 'malformed');
  if (packet.length < headerLength) return skip(stats, 'truncatedPacket');
  const flagsAndOffset = packet.readUInt16BE(6);
  if ((flagsAndOffset & 0x1fff) !== 0 || (flagsAndOffset & 0x2000) !== 0) return skip(stats, 'ipFragment');
  if (packet[9] !== IPPROTO_UDP) return skip(stats, 'notUdp');
  const src = `${packet[12]}.${packet[13]}.${packet[14]}.${packet[15]}`;
  const dst = `${packet[16]}.${packet[17]}.${packet[18]}.${packet[19]}`;
  // Bounded by the IP length so Ethernet padding and FCS trailers are not taken as payload.
  return decodeUdp(packet.subarray(headerLength, totalLength), packet.length < totalLength, src, dst, timestampUs, stats);
}

// IPv6 extension headers that may precede UDP and share the (next header, length in 8-octet units) layout.
const IPV6_HOP_BY_HOP = 0;
const IPV6_ROUTING = 43;
const IPV6_FRAGMENT = 44;
const IPV6_AUTH = 51;
const IPV6_DEST_OPTIONS = 60;
const IPV6_MOBILITY = 135;

function decodeIpv6(packet: Buffer, timestampUs: number, stats: PcapStats): UdpRecord | undefined {
  if (packet.length < 40) return skip(stats, 'truncatedPacket');
  if (packet[0]! >> 4 !== 6) return skip(stats, 'malformed');
  const payloadLength = packet.readUInt16BE(4);
  // Payload length 0 means a jumbogram (hop-by-hop option); not used for RTP, so treated as malformed.
  if (payloadLength === 0) return skip(stats, 'malformed');
  const end = 40 + payloadLength;
  let next = packet[6]!;
  let offset = 40;
  for (;;) {
    if (next === IPPROTO_UDP) break;
    if (offset + 8 > Math.min(end, packet.length)) return skip(stats, offset + 8 > end ? 'malformed' : 'truncatedPacket');
    if (next === IPV6_HOP_BY_HOP || next === IPV6_ROUTING || next === IPV6_DEST_OPTIONS || next === IPV6_MOBILITY) {
      const following = packet[offset]!;
      offset += (packet[offset + 1]! + 1) * 8;
      next = following;
    } else if (next === IPV6_FRAGMENT) {
      const fragment = packet.readUInt16BE(offset + 2);
      // Offset 0 with no more-fragments flag is an "atomic fragment": the whole datagram is here.
      if ((fragment & 0xfff8) !== 0 || (fragment & 1) !== 0) return skip(stats, 'ipFragment');
      next = packet[offset]!;
      offset += 8;
    } else if (next === IPV6_AUTH) {
      const following = packet[offset]!;
      offset += (packet[offset + 1]! + 2) * 4;
      next = following;
    } else {
      return skip(stats, 'notUdp');
    }
  }
  if (offset > end) return skip(stats, 'malformed');
  const src = formatIpv6(packet, 8);
  const dst = formatIpv6(packet, 24);
  return decodeUdp(packet.subarray(offset, end), packet.length < end, src, dst, timestampUs, stats);
}

function decodeUdp(
  segment: Buffer,
  ipCut: boolean,
  srcAddress: string,
  dstAddress: string,
  timestampUs: number,
  stats: PcapStats,
): UdpRecord | undefined {
  if (segment.length < 8) return skip(stats, ipCut ? 'truncatedPacket' : 'malformed');
  const udpLength = segment.readUInt16BE(4);
  if (udpLength < 8) return skip(stats, 'malformed');
  if (udpLength > segment.length) return skip(stats, ipCut ? 'truncatedPacket' : 'malformed');
  return {
    timestampUs,
    srcAddress,
    srcPort: segment.readUInt16BE(0),
    dstAddress,
    dstPort: segment.readUInt16BE(2),
    payload: segment.subarray(8, udpLength),
  };
}

function skip(stats: PcapStats, reason: PcapSkipReason): undefined {
  stats.skipped[reason]++;
  return undefined;
}

/** Formats 16 bytes at `offset` as an RFC 5952 IPv6 address (longest zero run compressed, lower case). */
export function formatIpv6(buf: Buffer, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + i * 2));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

// ---------------------------------------------------------------------------------------------
// Writer: classic pcap, microsecond timestamps, Ethernet/IPv4/UDP.

/** Fixed locally administered MAC addresses; loopback captures have no meaningful ones. */
const WRITER_SRC_MAC = Buffer.from('020000000001', 'hex');
const WRITER_DST_MAC = Buffer.from('020000000002', 'hex');
/** Snap length written to the header, in bytes. */
const WRITER_SNAP_LENGTH = 65_535;
const ETHERNET_HEADER_BYTES = 14;
const IPV4_HEADER_BYTES = 20;
const UDP_HEADER_BYTES = 8;
/** Largest UDP payload that fits an IPv4 datagram, in bytes. */
const MAX_UDP_PAYLOAD = 65_535 - IPV4_HEADER_BYTES - UDP_HEADER_BYTES;

/** Input to the writer: a UdpRecord whose payload may be any Buffer. */
export type PcapWriteRecord = Omit<UdpRecord, 'payload'> & { payload: Uint8Array };

/** Encodes the 24-byte classic pcap global header (little-endian, microseconds, LINKTYPE_ETHERNET). */
export function encodePcapHeader(): Buffer {
  const header = Buffer.alloc(PCAP_GLOBAL_HEADER_BYTES);
  header.writeUInt32LE(PCAP_MAGIC_US, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(WRITER_SNAP_LENGTH, 16);
  header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  return header;
}

/**
 * Encodes one record (16-byte record header + Ethernet/IPv4/UDP frame) for a file started with
 * encodePcapHeader. Addresses must be dotted IPv4; the UDP checksum is computed so tools like
 * Wireshark and tcpreplay accept the frames.
 */
export function encodePcapRecord(record: PcapWriteRecord): Buffer {
  const { timestampUs, payload } = record;
  if (!Number.isSafeInteger(timestampUs) || timestampUs < 0) throw new RangeError(`pcap writer: timestampUs ${timestampUs} is not a non-negative integer number of microseconds`);
  if (payload.length > MAX_UDP_PAYLOAD) throw new RangeError(`pcap writer: UDP payload of ${payload.length} bytes exceeds the IPv4 maximum ${MAX_UDP_PAYLOAD}`);
  checkPort(record.srcPort, 'srcPort');
  checkPort(record.dstPort, 'dstPort');
  const src = parseIpv4(record.srcAddress, 'srcAddress');
  const dst = parseIpv4(record.dstAddress, 'dstAddress');
  const frameLength = ETHERNET_HEADER_BYTES + IPV4_HEADER_BYTES + UDP_HEADER_BYTES + payload.length;
  const out = Buffer.alloc(PCAP_RECORD_HEADER_BYTES + frameLength);
  out.writeUInt32LE(Math.floor(timestampUs / 1_000_000), 0);
  out.writeUInt32LE(timestampUs % 1_000_000, 4);
  out.writeUInt32LE(frameLength, 8);
  out.writeUInt32LE(frameLength, 12);
  let o = PCAP_RECORD_HEADER_BYTES;
  WRITER_DST_MAC.copy(out, o);
  WRITER_SRC_MAC.copy(out, o + 6);
  out.writeUInt16BE(ETHERTYPE_IPV4, o + 12);
  o += ETHERNET_HEADER_BYTES;
  const ip = o;
  out[ip] = 0x45;
  out.writeUInt16BE(IPV4_HEADER_BYTES + UDP_HEADER_BYTES + payload.length, ip + 2);
  out.writeUInt16BE(0x4000, ip + 6); // don't fragment
  out[ip + 8] = 64; // TTL
  out[ip + 9] = IPPROTO_UDP;
  src.copy(out, ip + 12);
  dst.copy(out, ip + 16);
  out.writeUInt16BE(internetChecksum(out.subarray(ip, ip + IPV4_HEADER_BYTES), 0), ip + 10);
  o += IPV4_HEADER_BYTES;
  const udpLength = UDP_HEADER_BYTES + payload.length;
  out.writeUInt16BE(record.srcPort, o);
  out.writeUInt16BE(record.dstPort, o + 2);
  out.writeUInt16BE(udpLength, o + 4);
  out.set(payload, o + UDP_HEADER_BYTES);
  // Pseudo-header: addresses, protocol, UDP length.
  const pseudo = src.readUInt16BE(0) + src.readUInt16BE(2) + dst.readUInt16BE(0) + dst.readUInt16BE(2) + IPPROTO_UDP + udpLength;
  const checksum = internetChecksum(out.subarray(o, o + udpLength), pseudo);
  out.writeUInt16BE(checksum === 0 ? 0xffff : checksum, o + 6); // 0 means "no checksum" in UDP over IPv4
  return out;
}

/** Builds a whole classic pcap (Ethernet/IPv4/UDP, microsecond timestamps) from records in file order. */
export function writePcap(records: Iterable<PcapWriteRecord>): Buffer {
  const parts = [encodePcapHeader()];
  for (const record of records) parts.push(encodePcapRecord(record));
  return Buffer.concat(parts);
}

function checkPort(port: number, name: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`pcap writer: ${name} ${port} is not a port number 0..65535`);
}

function parseIpv4(address: string, name: string): Buffer {
  const parts = address.split('.');
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  if (bytes.length !== 4 || bytes.some((b) => !(b >= 0 && b <= 255))) {
    throw new RangeError(`pcap writer: ${name} "${address}" is not a dotted IPv4 address (the writer emits IPv4 only)`);
  }
  return Buffer.from(bytes);
}

/** RFC 1071 ones'-complement checksum of `data`, starting from a partial sum. */
function internetChecksum(data: Buffer, initial: number): number {
  let sum = initial;
  const even = data.length & ~1;
  for (let i = 0; i < even; i += 2) sum += data.readUInt16BE(i);
  if (data.length & 1) sum += data[data.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
