/**
 * The RTCP a receiver needs: recognising RTCP among RTP on one port, reading sender reports, and
 * writing receiver reports, NACKs and PLIs (serialized by werift-rtp).
 */
import { GenericNack, PictureLossIndication, RtcpPayloadSpecificFeedback, RtcpReceiverInfo, RtcpRrPacket } from 'werift-rtp';

/**
 * RTP and RTCP multiplexed on one port (RFC 5761 section 4): RTCP packet types 192-223 fall where
 * RTP's marker bit and payload type would be, a range RTP payload types avoid.
 */
export function isRtcp(datagram: Buffer): boolean {
  if (datagram.length < 2) return false;
  const type = datagram[1]!;
  return type >= 192 && type <= 223;
}

/** What a receiver report needs of an RTCP sender report: which stream, and when it was sent. */
export interface SenderReport {
  ssrc: number;
  /** The middle 32 bits of the NTP timestamp, echoed as LSR in receiver reports. */
  ntpMiddle: number;
}

const SR = 200;

/** The sender reports in a compound RTCP packet; anything malformed ends the walk (what came before is kept). */
export function senderReportsIn(compound: Buffer): SenderReport[] {
  const reports: SenderReport[] = [];
  let offset = 0;
  while (offset + 4 <= compound.length) {
    if (compound[offset]! >> 6 !== 2) break;
    const length = (compound.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + length > compound.length) break;
    if (compound[offset + 1] === SR && length >= 28) {
      const seconds = compound.readUInt32BE(offset + 8);
      const fraction = compound.readUInt32BE(offset + 12);
      reports.push({
        ssrc: compound.readUInt32BE(offset + 4),
        ntpMiddle: (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0,
      });
    }
    offset += length;
  }
  return reports;
}

/** One report block of a receiver report (RFC 3550 6.4.1). */
export interface ReportBlock {
  ssrc: number;
  /** Fraction of packets lost since the last report, in 1/256. */
  fractionLost: number;
  /** Cumulative packets lost (24 bits on the wire; duplicates can make the count negative, sent as 0). */
  packetsLost: number;
  /** Extended highest sequence number received. */
  highestSequence: number;
  /** Interarrival jitter, in RTP clock units. */
  jitter: number;
  /** Middle 32 bits of the last SR's NTP timestamp, 0 without one. */
  lsr: number;
  /** Time since that SR, in 1/65536 s, 0 without one. */
  dlsr: number;
}

export function receiverReport(senderSsrc: number, blocks: ReportBlock[]): Buffer {
  const reports = blocks.map((b) => new RtcpReceiverInfo({ ...b, packetsLost: Math.min(Math.max(b.packetsLost, 0), 0x7fffff) }));
  return new RtcpRrPacket({ ssrc: senderSsrc, reports }).serialize();
}

export function genericNack(senderSsrc: number, mediaSsrc: number, sequenceNumbers: number[]): Buffer {
  return new GenericNack({ senderSsrc, mediaSourceSsrc: mediaSsrc, lost: sequenceNumbers }).serialize();
}

export function pictureLossIndication(senderSsrc: number, mediaSsrc: number): Buffer {
  return new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc, mediaSsrc }) }).serialize();
}
