/**
 * Long captures made from a fixture: its packets repeated lap after lap, each lap's capture times,
 * RTP sequence numbers and RTP timestamps advanced as if the sender had kept going, written to a
 * file a batch at a time (never held in memory). For the converter's memory test and bench.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { loadCaptureFiles } from '../../src/source/capture.js';
import { encodePcapHeader, encodePcapRecord, readPcapFile } from '../../src/source/pcap.js';

/** Offsets in a record made by encodePcapRecord (16-byte record header, Ethernet, IPv4, UDP). */
const UDP_CHECKSUM = 16 + 14 + 20 + 6;
const RTP = 16 + 14 + 20 + 8;
/** Opus frames are 20 ms: laps last a whole number of them so audio runs on without a gap. */
const LAP_GRANULE_US = 20_000;

export interface LongCapture {
  /** File size in bytes. */
  bytes: number;
  laps: number;
  /** Capture time from the first to the last packet, in ms. */
  durationMs: number;
  /** RTP packets written. */
  packets: number;
}

/**
 * Writes `fixture`.pcap repeated until the file holds at least `targetBytes` (RTP only: every
 * datagram of the fixture must belong to a stream of its SDP). Returns what was written.
 */
export function writeLongCapture(fixture: string, path: string, targetBytes: number): LongCapture {
  const capture = loadCaptureFiles(`${fixture}.pcap`, `${fixture}.sdp`);
  const { records } = readPcapFile(`${fixture}.pcap`);
  const clockRateOf = new Map(capture.streams.map((s) => [s.ssrc, s.clockRate]));
  const firstUs = records[0]!.timestampUs;
  const lastUs = records.at(-1)!.timestampUs;
  const lapUs = Math.ceil((lastUs - firstUs + 40_000) / LAP_GRANULE_US) * LAP_GRANULE_US;
  // Per SSRC: how far sequence numbers advance in one lap (first to last, lost ones included).
  const seqs = new Map<number, { first: number; last: number }>();
  for (const r of records) {
    const ssrc = r.payload.readUInt32BE(8);
    if (!clockRateOf.has(ssrc)) throw new Error(`${fixture}.pcap: datagram of SSRC ${ssrc} is not one of the SDP's streams`);
    const seq = r.payload.readUInt16BE(2);
    seqs.set(ssrc, { first: seqs.get(ssrc)?.first ?? seq, last: seq });
  }
  const seqSpan = new Map([...seqs].map(([ssrc, { first, last }]) => [ssrc, ((last - first) & 0xffff) + 1]));
  const templates = records.map((r) => encodePcapRecord(r));
  const lapBytes = templates.reduce((n, t) => n + t.length, 0);
  const laps = Math.max(1, Math.ceil(targetBytes / lapBytes));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, encodePcapHeader());
    for (let lap = 0; lap < laps; lap++) {
      const batch = Buffer.allocUnsafe(lapBytes);
      let o = 0;
      for (let i = 0; i < templates.length; i++) {
        const t = templates[i]!;
        t.copy(batch, o);
        const ssrc = t.readUInt32BE(RTP + 8);
        const timeUs = records[i]!.timestampUs + lap * lapUs;
        batch.writeUInt32LE(Math.floor(timeUs / 1_000_000), o);
        batch.writeUInt32LE(timeUs % 1_000_000, o + 4);
        batch.writeUInt16BE(0, o + UDP_CHECKSUM); // 0: no checksum (IPv4), rather than a wrong one
        batch.writeUInt16BE((t.readUInt16BE(RTP + 2) + lap * seqSpan.get(ssrc)!) & 0xffff, o + RTP + 2);
        const rtpAdvance = Math.round((lap * lapUs * clockRateOf.get(ssrc)!) / 1_000_000);
        batch.writeUInt32BE((t.readUInt32BE(RTP + 4) + rtpAdvance) % 2 ** 32, o + RTP + 4);
        o += t.length;
      }
      writeSync(fd, batch);
    }
  } finally {
    closeSync(fd);
  }
  return { bytes: 24 + laps * lapBytes, laps, durationMs: ((laps - 1) * lapUs + lastUs - firstUs) / 1000, packets: laps * records.length };
}
