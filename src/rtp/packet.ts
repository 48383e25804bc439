/**
 * The RTP packet as the pipeline sees it. Parsed by hand rather than with werift-rtp's
 * `RtpPacket.deSerialize`, which allocates header-extension objects and measured ~6.9 us per
 * packet here: more than the whole pipeline's budget (1 us). werift-rtp is still used for RTCP.
 */
export interface RtpPacket {
  payloadType: number;
  /** 16-bit sequence number as on the wire. */
  sequenceNumber: number;
  /** 32-bit RTP timestamp as on the wire, in units of the stream's clock rate. */
  timestamp: number;
  ssrc: number;
  marker: boolean;
  /** Payload without header, CSRCs, header extensions and padding: a view into the packet buffer, not a copy. */
  payload: Buffer;
  /** Header-extension profile (0xBEDE one-byte, 0x100x two-byte), 0 when the packet has none. */
  extensionProfile: number;
  /**
   * Where the header-extension block's data (after its 4-byte preamble) lies in the raw packet, in
   * bytes; 0/0 when absent. Offsets rather than a view: a second Buffer view per packet costs more
   * than everything else the parser does, and most packets' extensions are never read.
   */
  extensionOffset: number;
  extensionLength: number;
}

export class RtpParseError extends Error {
  override name = 'RtpParseError';
}

const MIN_HEADER_BYTES = 12;

/** Parses one RTP packet. Throws RtpParseError for anything that is not a well-formed RTP v2 packet. */
export function parseRtpPacket(buf: Buffer): RtpPacket {
  if (buf.length < MIN_HEADER_BYTES) throw new RtpParseError(`RTP packet of ${buf.length} bytes is shorter than the 12-byte header`);
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) throw new RtpParseError(`RTP version ${b0 >> 6}, expected 2`);
  const b1 = buf[1]!;
  let offset = MIN_HEADER_BYTES + (b0 & 0x0f) * 4;
  let extensionProfile = 0;
  let extensionOffset = 0;
  let extensionLength = 0;
  if (b0 & 0x10) {
    if (buf.length < offset + 4) throw new RtpParseError('RTP header extension runs past the end of the packet');
    extensionProfile = buf.readUInt16BE(offset);
    const words = buf.readUInt16BE(offset + 2);
    extensionOffset = offset + 4;
    extensionLength = words * 4;
    offset = extensionOffset + extensionLength;
    if (buf.length < offset) throw new RtpParseError('RTP header extension runs past the end of the packet');
  }
  let end = buf.length;
  if (b0 & 0x20) {
    const padding = buf[end - 1]!;
    if (padding === 0 || end - padding < offset) throw new RtpParseError(`RTP padding of ${padding} bytes is invalid`);
    end -= padding;
  }
  if (offset > end) throw new RtpParseError('RTP header runs past the end of the packet');
  return {
    payloadType: b1 & 0x7f,
    marker: (b1 & 0x80) !== 0,
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payload: buf.subarray(offset, end),
    extensionProfile,
    extensionOffset,
    extensionLength,
  };
}
