/**
 * Ogg Opus writer (RFC 7845 over the Ogg framing of RFC 3533): Opus packets in, Ogg pages out.
 *
 * ```ts
 * const w = new OggOpusWriter({ tracks: [{ kind: 'audio', codec: 'opus', timescale: 48000, channels: 2, preSkip: 0 }], write: (unit) => sink.writev(unit) });
 * w.addSample(0, { dts, data, keyframe: true, duration });   // per Opus packet
 * const { tail } = w.finish();                                 // the last page, with end-of-stream set
 * sink.writev(tail);                                           // (no patches: Ogg needs none)
 * ```
 *
 * Output, through `write()`: the two header pages (OpusHead with beginning-of-stream set, OpusTags)
 * as one unit before the first audio page, then one audio page per unit about every
 * `pageDurationMs` of media (default 1 s), or earlier when a page would exceed 255 lacing values.
 * A killed process leaves whole pages: a file that plays up to the last one, missing about a page
 * duration. The newest packet always stays held, so the page `finish()` returns carries it with
 * end-of-stream set.
 *
 * Granule positions (RFC 7845 section 4): a page's is the PCM sample position (48 kHz) at the end of
 * its last packet: every decoded sample counts, the pre-skip ones included; a sample plays at its
 * position minus pre-skip. Positions count from the recording start: a stream whose first packet
 * comes at dts t has its first page at granule t + that page's samples (a non-zero start, which
 * players honour: ffprobe reports start_time t), so the audio keeps its place on the recording's
 * timeline, as in the MP4 and Matroska outputs.
 * Ogg has no timestamps per packet, only this running count, so a hole in the sample times (a lost
 * packet the caller did not fill) is filled with 20 ms silence packets (`stats.silenceSamplesInserted`);
 * a packet that starts before the end of the previous one is placed right after it.
 *
 * Payloads are not copied: a page unit is its header Buffer followed by the packets as handed in (the
 * caller must not modify a Buffer after handing it over). Cost per packet: its lacing values and CRC
 * over its bytes at page time.
 */
import { opusPacketDuration, opusSilencePacket } from '../codec/opus.js';
import { opusHead } from './codec-private.js';
import type { Mp4Sample } from './mp4/track.js';

export interface OggOpusTrackSpec {
  kind: 'audio';
  codec: 'opus';
  /** Units per second of sample times; 48000 for Opus. */
  timescale: number;
  channels: number;
  /** Opus pre-skip in 48 kHz samples. */
  preSkip: number;
}

export interface OggOpusWriterOptions {
  /** Exactly one Opus track (Ogg Opus is audio-only here). */
  tracks: OggOpusTrackSpec[];
  /** Receives the header pages, then each audio page; one call is one unit to write together. */
  write: (unit: Buffer[]) => void;
  /** Media time one audio page spans: about what a killed process loses. Default 1000. */
  pageDurationMs?: number;
  /** Ogg bitstream serial number. Default random. */
  serialNumber?: number;
}

export interface OggOpusFinish {
  /** The last page(s) (end-of-stream set), and the header pages if no sample ever came. One unit. */
  tail: Buffer[];
  /** Always empty: nothing in an Ogg file needs rewriting at the end. Same shape as the Matroska writer's. */
  patches: { offset: number; data: Buffer }[];
}

export interface OggOpusWriterStats {
  headerWritten: boolean;
  /** Audio pages handed to write() or returned by finish(). */
  pagesWritten: number;
  packetsWritten: number;
  /** Everything handed to write() or returned by finish(). */
  bytesWritten: number;
  packetsPending: number;
  /** Samples whose dts was negative, not a number or below the previous one, and was raised to it. */
  timestampsClamped: number;
  /** 48 kHz samples of silence packets written into holes of the sample times. */
  silenceSamplesInserted: number;
  /** Packets with no stated duration and a malformed TOC, or too large for one Ogg page. */
  packetsDropped: number;
}

const FLAG_BOS = 0x02;
const FLAG_EOS = 0x04;
const PAGE_HEADER_SIZE = 27;
const MAX_SEGMENTS = 255;
const SILENCE_SAMPLES = 960;
const VENDOR = 'mediasoup-recorder';

/**
 * CRC-32 of Ogg: polynomial 0x04c11db7, MSB first, initial value 0, no final XOR. Four tables
 * ("slicing by 4"): T0 is the usual byte table, Tk[i] = T(k-1)[i] advanced by one zero byte, so four
 * bytes go per step (about 3x the speed of the byte loop).
 */
const CRC_TABLES = (() => {
  const t = new Int32Array(4 * 256); // int32 throughout: values stay small integers for the JIT
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 4; k++) {
      const prev = t[(k - 1) * 256 + i]!;
      t[k * 256 + i] = (prev << 8) ^ t[prev >>> 24]!;
    }
  }
  return t;
})();

/** Continues an Ogg CRC-32 over `data`. */
export function oggCrc(crc: number, data: Uint8Array): number {
  const t = CRC_TABLES;
  const n = data.length;
  crc |= 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    crc ^= (data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!;
    crc = t[768 + (crc >>> 24)]! ^ t[512 + ((crc >>> 16) & 0xff)]! ^ t[256 + ((crc >>> 8) & 0xff)]! ^ t[crc & 0xff]!;
  }
  for (; i < n; i++) crc = (crc << 8) ^ t[((crc >>> 24) ^ data[i]!) & 0xff]!;
  return crc >>> 0;
}

/** One Ogg page: the header Buffer (with lacing values and CRC), then `packets` as they are (complete packets only). */
export function oggPage(flags: number, granule: number, serial: number, sequence: number, packets: Buffer[]): Buffer[] {
  let segments = 0;
  for (const p of packets) segments += Math.floor(p.length / 255) + 1;
  if (segments > MAX_SEGMENTS) throw new RangeError('Ogg: more than 255 lacing values in one page');
  const h = Buffer.allocUnsafe(PAGE_HEADER_SIZE + segments);
  h.write('OggS', 0, 'latin1');
  h[4] = 0; // version
  h[5] = flags;
  // Granule position: signed 64-bit little-endian (exact up to 2^53: six years at 48 kHz).
  h.writeUInt32LE(granule % 0x1_0000_0000, 6);
  h.writeUInt32LE(Math.floor(granule / 0x1_0000_0000), 10);
  h.writeUInt32LE(serial >>> 0, 14);
  h.writeUInt32LE(sequence >>> 0, 18);
  h.writeUInt32LE(0, 22); // CRC, computed with this field zero
  h[26] = segments;
  let at = PAGE_HEADER_SIZE;
  for (const p of packets) {
    // Lacing: 255 for each full 255 bytes, then the remainder (0 when the length is a multiple of 255).
    for (let n = p.length; n >= 255; n -= 255) h[at++] = 255;
    h[at++] = p.length % 255;
  }
  let crc = oggCrc(0, h);
  for (const p of packets) crc = oggCrc(crc, p);
  h.writeUInt32LE(crc, 22);
  return [h, ...packets];
}

/** OpusTags (RFC 7845 section 5.2): vendor string, no user comments. */
function opusTags(): Buffer {
  const vendor = Buffer.from(VENDOR, 'utf8');
  const b = Buffer.alloc(8 + 4 + vendor.length + 4);
  b.write('OpusTags', 0, 'latin1');
  b.writeUInt32LE(vendor.length, 8);
  vendor.copy(b, 12);
  b.writeUInt32LE(0, 12 + vendor.length);
  return b;
}

export class OggOpusWriter {
  readonly stats: OggOpusWriterStats = {
    headerWritten: false,
    pagesWritten: 0,
    packetsWritten: 0,
    bytesWritten: 0,
    packetsPending: 0,
    timestampsClamped: 0,
    silenceSamplesInserted: 0,
    packetsDropped: 0,
  };

  private readonly spec: OggOpusTrackSpec;
  private readonly writeUnit: (unit: Buffer[]) => void;
  private readonly serial: number;
  private readonly pageSamples: number;
  private readonly silence: Buffer;
  private sequence = 0;
  private minDts = 0;
  /** End of the last packet taken, in 48 kHz samples from the recording start; NaN before the first. */
  private end = NaN;

  // The page being built.
  private packets: Buffer[] = [];
  private segments = 0;
  private pageStart = 0;
  private tail: Buffer[] | undefined;
  private finished = false;

  constructor(options: OggOpusWriterOptions) {
    const spec = options.tracks[0];
    if (options.tracks.length !== 1 || spec === undefined || spec.kind !== 'audio' || spec.codec !== 'opus') {
      throw new Error('OggOpusWriter: Ogg Opus takes exactly one Opus audio track; use WebM, Matroska or MP4 for video or several tracks');
    }
    if (!(spec.timescale > 0) || !Number.isInteger(spec.timescale)) throw new RangeError(`OggOpusWriter: bad timescale ${spec.timescale}`);
    if (spec.channels !== 1 && spec.channels !== 2) throw new RangeError('OggOpusWriter: 1 or 2 channels (channel mapping family 0)');
    const pageMs = options.pageDurationMs ?? 1000;
    if (!(pageMs > 0)) throw new RangeError('OggOpusWriter: pageDurationMs must be > 0');
    this.spec = spec;
    this.writeUnit = options.write;
    this.serial = (options.serialNumber ?? Math.floor(Math.random() * 0x1_0000_0000)) >>> 0;
    this.pageSamples = Math.round(pageMs * 48);
    this.silence = opusSilencePacket(spec.channels === 1 ? 1 : 2);
  }

  /** Adds one Opus packet (track index 0). Its Buffer is referenced until its page is written. */
  addSample(trackIndex: number, sample: Mp4Sample): void {
    if (this.finished) throw new Error('OggOpusWriter: addSample() after finish()');
    if (trackIndex !== 0) throw new RangeError(`OggOpusWriter: no track ${trackIndex}`);
    let dts = sample.dts;
    if (!(dts >= this.minDts)) {
      dts = this.minDts;
      this.stats.timestampsClamped++;
    }
    this.minDts = dts;
    const data = sample.data;
    const timescale = this.spec.timescale;
    const duration = sample.duration !== undefined ? Math.round((sample.duration * 48000) / timescale) : opusPacketDuration(data);
    if (duration === undefined || !(duration > 0) || Math.floor(data.length / 255) + 1 > MAX_SEGMENTS) {
      this.stats.packetsDropped++;
      return;
    }
    const start = Math.round((dts * 48000) / timescale);
    if (this.end !== this.end) {
      this.writeHeader();
      this.end = start;
      this.pageStart = start;
    }
    while (start - this.end >= SILENCE_SAMPLES) {
      this.take(this.silence, SILENCE_SAMPLES);
      this.stats.silenceSamplesInserted += SILENCE_SAMPLES;
    }
    this.take(data, duration);
  }

  /** Ends the stream: returns the last page (end-of-stream set) as `tail`, to be written as one unit. */
  finish(): OggOpusFinish {
    if (this.finished) return { tail: [], patches: [] };
    this.finished = true;
    const tail: Buffer[] = [];
    this.tail = tail;
    if (!this.stats.headerWritten) this.writeHeader(true);
    else this.flush(FLAG_EOS);
    this.tail = undefined;
    return { tail, patches: [] };
  }

  /** Appends one packet of `duration` samples to the page being built, first writing the page if it is full or long enough. */
  private take(data: Buffer, duration: number): void {
    const segments = Math.floor(data.length / 255) + 1;
    if (this.packets.length > 0 && (this.segments + segments > MAX_SEGMENTS || this.end - this.pageStart >= this.pageSamples)) this.flush(0);
    if (this.packets.length === 0) this.pageStart = this.end;
    this.packets.push(data);
    this.segments += segments;
    this.end += duration;
    this.stats.packetsPending++;
  }

  private flush(flags: number): void {
    const count = this.packets.length;
    if (count === 0) return;
    // Granule = PCM sample position at the end of the page's last packet: every decoded sample
    // counts, the pre-skip ones included (playback time is granule minus pre-skip).
    const page = oggPage(flags, this.end, this.serial, this.sequence++, this.packets);
    this.packets = [];
    this.segments = 0;
    this.stats.pagesWritten++;
    this.stats.packetsWritten += count;
    this.stats.packetsPending -= count;
    this.out(page);
  }

  private writeHeader(endOfStream = false): void {
    const head = oggPage(FLAG_BOS, 0, this.serial, this.sequence++, [opusHead(this.spec.channels, this.spec.preSkip)]);
    const tags = oggPage(endOfStream ? FLAG_EOS : 0, 0, this.serial, this.sequence++, [opusTags()]);
    this.stats.headerWritten = true;
    this.out([...head, ...tags]);
  }

  private out(unit: Buffer[]): void {
    for (const b of unit) this.stats.bytesWritten += b.length;
    if (this.tail !== undefined) {
      for (const b of unit) this.tail.push(b);
    } else {
      this.writeUnit(unit);
    }
  }
}
