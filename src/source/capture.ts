import { readFileSync, statSync } from 'node:fs';
import { codecForMimeType, SUPPORTED_CODECS, type StreamSpec } from '../pipeline/stream-spec.js';
import { VIDEO_ORIENTATION_URI } from '../rtp/header-extension.js';
import { createPcapStats, iterateUdpRecords, iterateUdpRecordsInFile, PcapTruncatedError, type PcapStats, type UdpRecord } from './pcap.js';
import { parseSdp, type SdpCodec, type SdpMedia } from './sdp.js';
import { inTimeOrder, type TimeOrderOptions, type TimeOrderStats } from './time-order.js';

/** One RTP packet of a capture, with its capture time. */
export interface CapturedPacket {
  /** Capture time in ms since the Unix epoch. */
  timeMs: number;
  /** The whole RTP packet (a view into the capture). */
  data: Buffer;
}

/** One RTP stream found in a capture and described by the SDP. */
export interface CapturedStream extends CapturedStreamInfo {
  /** Every RTP packet sent to the m-line's port, in capture order, other payload types included. */
  packets: CapturedPacket[];
}

/** What the SDP and a stream's first packet say about it. */
export interface CapturedStreamInfo {
  kind: 'audio' | 'video';
  /** e.g. 'video/H264', 'audio/opus'. */
  mimeType: string;
  payloadType: number;
  /** RTP clock rate in Hz. */
  clockRate: number;
  channels: number | undefined;
  /** fmtp parameters; numeric values as numbers, as mediasoup compares them. */
  parameters: Record<string, string | number>;
  headerExtensions: { uri: string; id: number }[];
  /** SSRC of the stream's first packet. */
  ssrc: number;
  mid: string | undefined;
}

/** A capture read against its SDP. */
export interface Capture {
  streams: CapturedStream[];
  pcap: PcapStats;
  /** UDP datagrams that matched no m-line of a supported codec (other ports, unknown payload types, RTCP). */
  unmatchedDatagrams: number;
  /** Set when the capture file is cut short: what was read before the cut is in `streams`. */
  truncated: string | undefined;
}

/** Reads a pcap/pcapng file (in chunks: any size that memory holds once loaded) and its SDP file, into memory. */
export function loadCaptureFiles(pcapPath: string, sdpPath: string): Capture {
  const stats = createPcapStats();
  return collectCapture(() => iterateUdpRecordsInFile(pcapPath, stats), stats, readFileSync(sdpPath, 'utf8'));
}

/**
 * Splits a capture into RTP streams the way ffmpeg's SDP input does: by UDP destination port
 * and payload type against the SDP's m-lines. One stream per m-line whose codec this version
 * records, in m-line order; packets of other payload types on that port stay in the stream (the
 * pipeline counts and drops them). RTCP on a muxed port is left out.
 */
export function loadCapture(pcap: Buffer, sdpText: string): Capture {
  const stats = createPcapStats();
  return collectCapture(() => iterateUdpRecords(pcap, stats), stats, sdpText);
}

function collectCapture(records: () => Iterable<UdpRecord>, stats: PcapStats, sdpText: string): Capture {
  const matcher = new StreamMatcher(sdpText);
  const byMedia = new Map<SdpMedia, CapturedPacket[]>();
  let unmatchedDatagrams = 0;
  const truncated = readUntilCut(records(), (record) => {
    const media = matcher.observe(record);
    if (!media) {
      unmatchedDatagrams++;
      return;
    }
    let packets = byMedia.get(media);
    if (!packets) byMedia.set(media, (packets = []));
    packets.push({ timeMs: record.timestampUs / 1000, data: record.payload });
  });
  const streams: CapturedStream[] = [];
  for (const [media, packets] of byMedia) {
    if (!matcher.streams.has(media)) unmatchedDatagrams += packets.length; // no packet of a recordable payload type on this port
  }
  for (const [media, stream] of matcher.found()) streams.push({ ...stream, packets: byMedia.get(media)! });
  return { streams, pcap: stats, unmatchedDatagrams, truncated };
}

/** Hands every record to `onRecord`; returns the truncation message if the capture is cut short. */
function readUntilCut(records: Iterable<UdpRecord>, onRecord: (record: UdpRecord) => boolean | void): string | undefined {
  try {
    for (const record of records) if (onRecord(record) === false) return undefined;
  } catch (error) {
    if (error instanceof PcapTruncatedError) return error.message;
    throw error;
  }
  return undefined;
}

/**
 * Matches datagrams to the SDP's recordable m-lines (by destination port) and notes each m-line's
 * stream from its first packet of a recordable payload type.
 */
class StreamMatcher {
  private readonly sdp: ReturnType<typeof parseSdp>;
  /** Recordable m-lines, and the stream found for each so far. */
  readonly streams = new Map<SdpMedia, CapturedStreamInfo>();
  readonly recordable: SdpMedia[];

  constructor(sdpText: string) {
    this.sdp = parseSdp(sdpText);
    this.recordable = this.sdp.media.filter((m) => m.codecs.some((c) => isSupported(m, c)));
  }

  /** The m-line an RTP datagram belongs to (undefined: not RTP, RTCP, or no recordable m-line on its port). */
  observe(record: UdpRecord): SdpMedia | undefined {
    const data = record.payload;
    const media = data.length >= 12 && data[0]! >> 6 === 2 && !isRtcp(data) ? recordableMedia(this.recordable, record.dstPort) : undefined;
    if (media && !this.streams.has(media)) {
      const codec = media.codecs.find((c) => c.payloadType === (data[1]! & 0x7f));
      if (codec && isSupported(media, codec)) this.streams.set(media, streamOf(media, codec, data.readUInt32BE(8), this.sdp.extmaps));
    }
    return media;
  }

  /** The m-lines that have a stream, with it, in SDP order (as ffmpeg's SDP input orders its streams). */
  found(): [SdpMedia, CapturedStreamInfo][] {
    return this.recordable.filter((m) => this.streams.has(m)).map((m) => [m, this.streams.get(m)!]);
  }

  /** Whether every recordable m-line has its stream. */
  allFound(): boolean {
    return this.streams.size === this.recordable.length;
  }
}

/** One packet of a capture read as a stream: which stream, when, what. */
export interface TimedPacket {
  /** Index into the capture's `streams`. */
  index: number;
  /** Capture time in ms since the Unix epoch; never less than the previous packet's. */
  timeMs: number;
  /** The whole RTP packet. */
  data: Buffer;
}

/** A capture read packet by packet, in capture-time order: what the converter feeds from. */
export interface CapturePackets {
  streams: CapturedStreamInfo[];
  /** The packets of `streams`, in capture-time order; the counters below are final once it ends. */
  packets(): Iterable<TimedPacket>;
  /** Share of the capture read so far, 0..1. */
  progress(): number;
  pcap: PcapStats;
  unmatchedDatagrams: number;
  truncated: string | undefined;
  /** Packets more than the reorder window out of capture-time order, fed as they came. */
  packetsOutOfOrder: number;
}

/** An in-memory capture as CapturePackets. */
export function capturePackets(capture: Capture): CapturePackets {
  const queue = timedPackets(capture.streams);
  let done = 0;
  return {
    ...capture,
    packetsOutOfOrder: 0,
    progress: () => (queue.length === 0 ? 1 : done / queue.length),
    *packets() {
      for (const packet of queue) {
        done++;
        yield packet;
      }
    },
  };
}

/** All packets of `streams` (stream i = `streams[i]`) as TimedPackets, in capture-time order. */
export function timedPackets(streams: CapturedStream[]): TimedPacket[] {
  const index = new Map(streams.map((s, i) => [s, i]));
  return packetsInTimeOrder(streams).map(({ stream, timeMs, data }) => ({ index: index.get(stream)!, timeMs, data }));
}

/** Reordering allowed while streaming a capture file: see TimeOrderOptions. */
const CAPTURE_TIME_ORDER: TimeOrderOptions = { windowMs: 2000, maxHeld: 16_384 };

/**
 * Opens a capture file for streaming: a first pass finds the streams (it stops as soon as every
 * recordable m-line of the SDP has one, or reads to the end if one never does), then `packets()`
 * reads the file again, a chunk at a time, so memory stays constant whatever the file's size.
 * Records are put in capture-time order within a 2 s window (beyond it they are counted in
 * `packetsOutOfOrder` and fed as they come). Truncation is recorded in `truncated` when `packets()`
 * reaches it; other corruption throws PcapFormatError from `packets()` at the point it is found.
 */
export function openCaptureFile(pcapPath: string, sdpText: string): CapturePackets {
  const matcher = new StreamMatcher(sdpText);
  readUntilCut(iterateUdpRecordsInFile(pcapPath), (record) => {
    matcher.observe(record);
    return !matcher.allFound();
  });
  const found = matcher.found();
  const indexOf = new Map(found.map(([media], i) => [media, i]));
  const sizeBytes = statSync(pcapPath).size;
  const capture: CapturePackets = {
    streams: found.map(([, stream]) => stream),
    pcap: createPcapStats(),
    unmatchedDatagrams: 0,
    truncated: undefined,
    packetsOutOfOrder: 0,
    progress: () => (sizeBytes === 0 ? 1 : capture.pcap.bytes / sizeBytes),
    *packets() {
      const order: TimeOrderStats = { late: 0 };
      try {
        for (const { item, timeMs } of inTimeOrder(matchedPackets(), (p) => p.timeMs, CAPTURE_TIME_ORDER, order)) yield { ...item, timeMs };
      } finally {
        capture.packetsOutOfOrder = order.late;
      }
    },
  };
  function* matchedPackets(): Generator<TimedPacket, void, undefined> {
    try {
      for (const record of iterateUdpRecordsInFile(pcapPath, capture.pcap)) {
        const media = matcher.observe(record);
        const index = media && indexOf.get(media);
        if (index === undefined) capture.unmatchedDatagrams++;
        else yield { index, timeMs: record.timestampUs / 1000, data: record.payload };
      }
    } catch (error) {
      if (!(error instanceof PcapTruncatedError)) throw error;
      capture.truncated = error.message;
    }
  }
  return capture;
}

/** The m-line on UDP port `port` that has a codec this version records. */
function recordableMedia(media: SdpMedia[], port: number): SdpMedia | undefined {
  return media.find((m) => m.port === port && m.codecs.some((c) => isSupported(m, c)));
}

function isSupported(media: SdpMedia, codec: SdpCodec): boolean {
  return `${media.kind}/${codec.encodingName}`.toLowerCase() in SUPPORTED_CODECS;
}

/** RTCP packet types 192-223 occupy the byte where RTP has marker + payload type (RFC 5761). */
function isRtcp(data: Buffer): boolean {
  const type = data[1]!;
  return type >= 192 && type <= 223;
}

function streamOf(media: SdpMedia, codec: SdpCodec, ssrc: number, sessionExtmaps: { id: number; uri: string }[]): CapturedStreamInfo {
  const kind = media.kind === 'audio' ? 'audio' : 'video';
  const extmaps = new Map(sessionExtmaps.map((e) => [e.id, e.uri]));
  for (const e of media.extmaps) extmaps.set(e.id, e.uri);
  const parameters: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(codec.parameters)) parameters[key] = /^\d+$/.test(value) ? Number(value) : value;
  return {
    kind,
    mimeType: `${kind}/${codec.encodingName}`,
    payloadType: codec.payloadType,
    clockRate: codec.clockRate,
    channels: codec.channels,
    parameters,
    headerExtensions: [...extmaps].map(([id, uri]) => ({ id, uri })),
    ssrc,
    mid: media.mid,
  };
}

/** All streams' packets in one capture-time order (stable: ties keep each stream's order). */
export function packetsInTimeOrder<T extends CapturedStream>(streams: T[]): { stream: T; timeMs: number; data: Buffer }[] {
  const all = streams.flatMap((stream) => stream.packets.map((p) => ({ stream, timeMs: p.timeMs, data: p.data })));
  return all.sort((a, b) => a.timeMs - b.timeMs);
}

/** The pipeline's description of a captured stream. */
export function streamSpecOf(stream: CapturedStreamInfo): StreamSpec {
  const sprop = stream.parameters['sprop-parameter-sets'];
  return {
    ...codecForMimeType(stream.mimeType),
    payloadType: stream.payloadType,
    clockRate: stream.clockRate,
    channels: stream.channels,
    spropParameterSets: typeof sprop === 'string' ? sprop : undefined,
    label: `${stream.kind}:${stream.ssrc}`,
    videoOrientationExtensionId: stream.kind === 'video' ? stream.headerExtensions.find((e) => e.uri === VIDEO_ORIENTATION_URI)?.id : undefined,
  };
}
