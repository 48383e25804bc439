import { readFileSync } from 'node:fs';
import { codecForMimeType, SUPPORTED_CODECS, type StreamSpec } from '../pipeline/stream-spec.js';
import { VIDEO_ORIENTATION_URI } from '../rtp/header-extension.js';
import { PcapTruncatedError, readPcap, type PcapReadResult, type PcapStats } from './pcap.js';
import { parseSdp, type SdpCodec, type SdpMedia } from './sdp.js';

/** One RTP packet of a capture, with its capture time. */
export interface CapturedPacket {
  /** Capture time in ms since the Unix epoch. */
  timeMs: number;
  /** The whole RTP packet (a view into the capture). */
  data: Buffer;
}

/** One RTP stream found in a capture and described by the SDP. */
export interface CapturedStream {
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
  /** Every RTP packet sent to the m-line's port, in capture order, other payload types included. */
  packets: CapturedPacket[];
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

/** Reads a pcap/pcapng file and its SDP file. */
export function loadCaptureFiles(pcapPath: string, sdpPath: string): Capture {
  return loadCapture(readFileSync(pcapPath), readFileSync(sdpPath, 'utf8'));
}

/**
 * Splits a capture into RTP streams the way ffmpeg's SDP input does: by UDP destination port
 * and payload type against the SDP's m-lines. One stream per m-line whose codec this version
 * records; packets of other payload types on that port stay in the stream (the pipeline counts
 * and drops them). RTCP on a muxed port is left out.
 */
export function loadCapture(pcap: Buffer, sdpText: string): Capture {
  const sdp = parseSdp(sdpText);
  let read: PcapReadResult;
  let truncated: string | undefined;
  try {
    read = readPcap(pcap);
  } catch (error) {
    if (!(error instanceof PcapTruncatedError) || !error.partial) throw error;
    read = error.partial;
    truncated = error.message;
  }
  const byMedia = new Map<SdpMedia, { stream?: CapturedStream; packets: CapturedPacket[] }>();
  let unmatchedDatagrams = 0;
  for (const record of read.records) {
    const data = record.payload;
    const media = data.length >= 12 && data[0]! >> 6 === 2 && !isRtcp(data) ? recordableMedia(sdp.media, record.dstPort) : undefined;
    if (!media) {
      unmatchedDatagrams++;
      continue;
    }
    let entry = byMedia.get(media);
    if (!entry) byMedia.set(media, (entry = { packets: [] }));
    entry.packets.push({ timeMs: record.timestampUs / 1000, data });
    if (!entry.stream) {
      const codec = media.codecs.find((c) => c.payloadType === (data[1]! & 0x7f));
      if (codec && isSupported(media, codec)) entry.stream = streamOf(media, codec, data.readUInt32BE(8), sdp.extmaps);
    }
  }
  const streams: CapturedStream[] = [];
  for (const entry of byMedia.values()) {
    if (!entry.stream) {
      unmatchedDatagrams += entry.packets.length; // no packet of a recordable payload type on this port
      continue;
    }
    entry.stream.packets = entry.packets;
    streams.push(entry.stream);
  }
  return { streams, pcap: read.stats, unmatchedDatagrams, truncated };
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

function streamOf(media: SdpMedia, codec: SdpCodec, ssrc: number, sessionExtmaps: { id: number; uri: string }[]): CapturedStream {
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
    packets: [],
  };
}

/** All streams' packets in one capture-time order (stable: ties keep each stream's order). */
export function packetsInTimeOrder<T extends CapturedStream>(streams: T[]): { stream: T; timeMs: number; data: Buffer }[] {
  const all = streams.flatMap((stream) => stream.packets.map((p) => ({ stream, timeMs: p.timeMs, data: p.data })));
  return all.sort((a, b) => a.timeMs - b.timeMs);
}

/** The pipeline's description of a captured stream. */
export function streamSpecOf(stream: CapturedStream): StreamSpec {
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
