/**
 * SDP reader (RFC 8866) limited to what recording plain RTP needs: where the media goes (connection
 * address, port), which payload types mean which codec (rtpmap, fmtp, rtcp-fb), which header
 * extensions are in use (extmap), and the SSRCs, mids and directions. Everything else is kept as
 * raw attributes.
 */

/** A c= line. */
export interface SdpConnection {
  /** "IP4" or "IP6". */
  addressType: string;
  /** Address without the TTL / count suffix. */
  address: string;
}

/** One payload type of an m-line, with its rtpmap, fmtp and rtcp-fb lines merged. */
export interface SdpCodec {
  payloadType: number;
  /** Encoding name as written in rtpmap ("H264", "opus", "rtx"); compare case-insensitively. */
  encodingName: string;
  /** RTP clock rate in Hz. */
  clockRate: number;
  /** Audio channel count from rtpmap; 1 when not given for audio, undefined for other media. */
  channels: number | undefined;
  /** fmtp parameters split at ';' and the first '=' (values keep any further '='); a parameter without '=' maps to "". */
  parameters: Record<string, string>;
  /** fmtp text after the payload type, unparsed (for formats such as red's "111/111"). */
  fmtp: string | undefined;
  /** rtcp-fb values for this payload type, including those given for "*". */
  feedback: string[];
}

/** An a=extmap line. */
export interface SdpExtmap {
  /** Extension id used in the RTP header (1-14 one-byte, 1-255 two-byte form). */
  id: number;
  uri: string;
  /** Direction suffix of the id ("sendonly", ...), if any. */
  direction: string | undefined;
}

/** The a=ssrc lines of one SSRC. */
export interface SdpSsrc {
  ssrc: number;
  /** Source attributes (cname, msid, ...) by name; attributes without a value map to "". */
  attributes: Record<string, string>;
}

/** An a=ssrc-group line. */
export interface SdpSsrcGroup {
  /** "FID" (rtx), "FEC-FR", "SIM", ... */
  semantics: string;
  ssrcs: number[];
}

/** Media direction attribute. */
export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** A raw attribute line: `a=name:value` or `a=name`. */
export interface SdpAttribute {
  name: string;
  /** Text after the first ':', or undefined for property attributes. */
  value: string | undefined;
  /** 1-based line number in the SDP text. */
  line: number;
}

/** One m-line section. */
export interface SdpMedia {
  /** Position among the m-lines, from 0. */
  index: number;
  /** "audio", "video", "application", ... */
  kind: string;
  /** UDP port of the media; 0 for a rejected or bundled-away m-line. */
  port: number;
  /** Number of consecutive ports (m=video 5004/2 ...), 1 by default. */
  portCount: number;
  /** Transport protocol ("RTP/AVP", "UDP/TLS/RTP/SAVPF", ...). */
  protocol: string;
  /** Format list as written on the m-line. */
  formats: string[];
  /** The formats as payload types, in m-line order, for RTP protocols; empty otherwise. */
  payloadTypes: number[];
  /** Codec for every payload type of the m-line (static types without rtpmap use the RFC 3551 table when known). */
  codecs: SdpCodec[];
  /** Media-level c= line, or the session's when the media has none. */
  connection: SdpConnection | undefined;
  extmaps: SdpExtmap[];
  ssrcs: SdpSsrc[];
  ssrcGroups: SdpSsrcGroup[];
  mid: string | undefined;
  /** Media-level direction, falling back to the session-level one, then "sendrecv". */
  direction: SdpDirection;
  /** a=rtcp port if given (RTCP on another port than port + 1). */
  rtcpPort: number | undefined;
  rtcpMux: boolean;
  /** All attribute lines of the section, in order. */
  attributes: SdpAttribute[];
  /** 1-based line number of the m-line. */
  line: number;
}

/** A parsed session description. */
export interface SessionDescription {
  /** s= line. */
  sessionName: string | undefined;
  /** Session-level c= line. */
  connection: SdpConnection | undefined;
  /** Session-level direction attribute, if any. */
  direction: SdpDirection | undefined;
  /** Session-level extmap lines (apply to every m-line that has none of its own with that id). */
  extmaps: SdpExtmap[];
  /** Session-level attribute lines, in order. */
  attributes: SdpAttribute[];
  media: SdpMedia[];
}

/** Malformed SDP; the message names the 1-based line. */
export class SdpParseError extends Error {
  override name = 'SdpParseError';
  /** 1-based line number of the offending line. */
  readonly line: number;
  constructor(message: string, line: number) {
    super(`SDP line ${line}: ${message}`);
    this.line = line;
  }
}

/** RFC 3551 static payload types a sender may use without an rtpmap line. */
const STATIC_PAYLOAD_TYPES: Record<number, [string, number, number | undefined]> = {
  0: ['PCMU', 8000, 1],
  3: ['GSM', 8000, 1],
  4: ['G723', 8000, 1],
  8: ['PCMA', 8000, 1],
  9: ['G722', 8000, 1],
  10: ['L16', 44100, 2],
  11: ['L16', 44100, 1],
  13: ['CN', 8000, 1],
  14: ['MPA', 90000, undefined],
  18: ['G729', 8000, 1],
  26: ['JPEG', 90000, undefined],
  31: ['H261', 90000, undefined],
  32: ['MPV', 90000, undefined],
  33: ['MP2T', 90000, undefined],
  34: ['H263', 90000, undefined],
};

const DIRECTIONS: readonly string[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

interface MediaDraft {
  media: SdpMedia;
  rtpmaps: Map<number, { name: string; clockRate: number; channels: number | undefined }>;
  fmtps: Map<number, string>;
  feedback: Map<string, string[]>;
  ssrcs: Map<number, SdpSsrc>;
  direction: SdpDirection | undefined;
}

/** Parses SDP text (CRLF or LF line ends). Throws SdpParseError naming the line for malformed input. */
export function parseSdp(text: string): SessionDescription {
  const session: SessionDescription = { sessionName: undefined, connection: undefined, direction: undefined, extmaps: [], attributes: [], media: [] };
  const drafts: MediaDraft[] = [];
  let current: MediaDraft | undefined;
  const lines = text.split(/\r?\n/);
  let sawVersion = false;
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    if (raw.trim() === '') return; // blank lines, typically the final line break
    if (raw.length < 2 || raw[1] !== '=' || !/^[a-z]$/.test(raw[0]!)) {
      throw new SdpParseError(`expected "<letter>=<value>", got ${JSON.stringify(raw.slice(0, 40))}`, lineNo);
    }
    const type = raw[0]!;
    const value = raw.slice(2);
    if (!sawVersion) {
      if (type !== 'v') throw new SdpParseError(`SDP must start with v=0, found "${type}="`, lineNo);
      if (value.trim() !== '0') throw new SdpParseError(`unsupported SDP version "${value}"`, lineNo);
      sawVersion = true;
      return;
    }
    switch (type) {
      case 's':
        if (!current) session.sessionName = value;
        break;
      case 'c': {
        const connection = parseConnection(value, lineNo);
        if (current) current.media.connection = connection;
        else session.connection = connection;
        break;
      }
      case 'm':
        current = parseMediaLine(value, lineNo, drafts.length);
        drafts.push(current);
        break;
      case 'a':
        parseAttribute(value, lineNo, session, current);
        break;
      default:
        // o=, t=, b=, i=, u=, e=, p=, z=, k=, r=: nothing a recorder needs.
        break;
    }
  });
  if (!sawVersion) throw new SdpParseError('empty SDP (no v= line)', 1);
  session.media = drafts.map((d) => finishMedia(d, session));
  return session;
}

function parseConnection(value: string, line: number): SdpConnection {
  const parts = value.trim().split(/\s+/);
  if (parts.length !== 3 || parts[0] !== 'IN') throw new SdpParseError(`c= must be "IN <IP4|IP6> <address>", got "${value}"`, line);
  return { addressType: parts[1]!, address: parts[2]!.split('/')[0]! };
}

function parseMediaLine(value: string, line: number, index: number): MediaDraft {
  const parts = value.trim().split(/\s+/);
  if (parts.length < 3) throw new SdpParseError(`m= must be "<media> <port> <proto> <fmt> ...", got "${value}"`, line);
  const [kind, portText, protocol, ...formats] = parts as [string, string, string, ...string[]];
  const portMatch = /^(\d+)(?:\/(\d+))?$/.exec(portText);
  const port = portMatch ? Number(portMatch[1]) : NaN;
  if (!portMatch || port > 65535) throw new SdpParseError(`m= port "${portText}" is not a port number 0..65535`, line);
  const isRtp = /RTP\//.test(protocol);
  const payloadTypes: number[] = [];
  if (isRtp) {
    for (const f of formats) {
      const pt = /^\d{1,3}$/.test(f) ? Number(f) : NaN;
      if (!(pt <= 127)) throw new SdpParseError(`m= payload type "${f}" is not a number 0..127`, line);
      payloadTypes.push(pt);
    }
  }
  return {
    media: {
      index,
      kind,
      port,
      portCount: portMatch[2] ? Number(portMatch[2]) : 1,
      protocol,
      formats,
      payloadTypes,
      codecs: [],
      connection: undefined,
      extmaps: [],
      ssrcs: [],
      ssrcGroups: [],
      mid: undefined,
      direction: 'sendrecv',
      rtcpPort: undefined,
      rtcpMux: false,
      attributes: [],
      line,
    },
    rtpmaps: new Map(),
    fmtps: new Map(),
    feedback: new Map(),
    ssrcs: new Map(),
    direction: undefined,
  };
}

function parseAttribute(text: string, line: number, session: SessionDescription, draft: MediaDraft | undefined): void {
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const value = colon < 0 ? undefined : text.slice(colon + 1);
  const attribute: SdpAttribute = { name, value, line };
  (draft ? draft.media.attributes : session.attributes).push(attribute);
  const requireValue = (): string => {
    if (value === undefined || value.trim() === '') throw new SdpParseError(`a=${name} needs a value`, line);
    return value.trim();
  };
  if (DIRECTIONS.includes(name)) {
    if (draft) draft.direction = name as SdpDirection;
    else session.direction = name as SdpDirection;
    return;
  }
  switch (name) {
    case 'extmap': {
      const match = /^(\d+)(?:\/(\w+))?\s+(\S+)/.exec(requireValue());
      if (!match || Number(match[1]) < 1 || Number(match[1]) > 255) throw new SdpParseError(`a=extmap must be "<id 1-255>[/direction] <uri>", got "${value}"`, line);
      const extmap = { id: Number(match[1]), uri: match[3]!, direction: match[2] };
      (draft ? draft.media.extmaps : session.extmaps).push(extmap);
      return;
    }
    default:
      break;
  }
  if (!draft) return; // the remaining attributes are media-level only
  switch (name) {
    case 'rtpmap': {
      const match = /^(\d{1,3})\s+([^/\s]+)\/(\d+)(?:\/(\d+))?\s*$/.exec(requireValue());
      if (!match || Number(match[1]) > 127) throw new SdpParseError(`a=rtpmap must be "<pt> <name>/<clock rate>[/<channels>]", got "${value}"`, line);
      const clockRate = Number(match[3]);
      if (clockRate === 0) throw new SdpParseError(`a=rtpmap clock rate of payload type ${match[1]} is 0`, line);
      draft.rtpmaps.set(Number(match[1]), { name: match[2]!, clockRate, channels: match[4] ? Number(match[4]) : undefined });
      return;
    }
    case 'fmtp': {
      const match = /^(\d{1,3})(?:\s+(.*))?$/.exec(requireValue());
      if (!match) throw new SdpParseError(`a=fmtp must be "<pt> <parameters>", got "${value}"`, line);
      draft.fmtps.set(Number(match[1]), (match[2] ?? '').trim());
      return;
    }
    case 'rtcp-fb': {
      const match = /^(\d{1,3}|\*)\s+(.+)$/.exec(requireValue());
      if (!match) throw new SdpParseError(`a=rtcp-fb must be "<pt|*> <feedback>", got "${value}"`, line);
      const list = draft.feedback.get(match[1]!) ?? [];
      list.push(match[2]!.trim());
      draft.feedback.set(match[1]!, list);
      return;
    }
    case 'ssrc': {
      const match = /^(\d+)\s+([^:\s]+)(?::(.*))?$/.exec(requireValue());
      if (!match || Number(match[1]) > 0xffffffff) throw new SdpParseError(`a=ssrc must be "<ssrc 0..2^32-1> <attribute>[:<value>]", got "${value}"`, line);
      const ssrc = Number(match[1]);
      let entry = draft.ssrcs.get(ssrc);
      if (!entry) {
        entry = { ssrc, attributes: {} };
        draft.ssrcs.set(ssrc, entry);
      }
      entry.attributes[match[2]!] = match[3] ?? '';
      return;
    }
    case 'ssrc-group': {
      const [semantics, ...ssrcTexts] = requireValue().split(/\s+/) as [string, ...string[]];
      const ssrcs = ssrcTexts.map(Number);
      if (ssrcs.length === 0 || ssrcs.some((s) => !Number.isInteger(s) || s < 0 || s > 0xffffffff)) throw new SdpParseError(`a=ssrc-group must be "<semantics> <ssrc> ...", got "${value}"`, line);
      draft.media.ssrcGroups.push({ semantics, ssrcs });
      return;
    }
    case 'mid':
      draft.media.mid = requireValue();
      return;
    case 'rtcp': {
      const port = Number(requireValue().split(/\s+/)[0]);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SdpParseError(`a=rtcp port "${value}" is not a port number`, line);
      draft.media.rtcpPort = port;
      return;
    }
    case 'rtcp-mux':
      draft.media.rtcpMux = true;
      return;
    default:
      return;
  }
}

function finishMedia(draft: MediaDraft, session: SessionDescription): SdpMedia {
  const { media } = draft;
  media.connection ??= session.connection;
  media.direction = draft.direction ?? session.direction ?? 'sendrecv';
  media.ssrcs = [...draft.ssrcs.values()];
  for (const extmap of session.extmaps) {
    if (!media.extmaps.some((e) => e.id === extmap.id)) media.extmaps.push(extmap);
  }
  const wildcard = draft.feedback.get('*') ?? [];
  for (const payloadType of media.payloadTypes) {
    const rtpmap = draft.rtpmaps.get(payloadType);
    const fallback = STATIC_PAYLOAD_TYPES[payloadType];
    if (!rtpmap && !fallback) {
      // A dynamic type without rtpmap cannot be decoded; line number points at the m-line.
      throw new SdpParseError(`payload type ${payloadType} of m=${media.kind} has no a=rtpmap line`, media.line);
    }
    const fmtp = draft.fmtps.get(payloadType);
    const channels = rtpmap ? (rtpmap.channels ?? (media.kind === 'audio' ? 1 : undefined)) : fallback![2];
    media.codecs.push({
      payloadType,
      encodingName: rtpmap ? rtpmap.name : fallback![0],
      clockRate: rtpmap ? rtpmap.clockRate : fallback![1],
      channels,
      parameters: fmtp === undefined ? {} : parseFmtp(fmtp),
      fmtp,
      feedback: [...wildcard, ...(draft.feedback.get(String(payloadType)) ?? [])],
    });
  }
  return media;
}

function parseFmtp(text: string): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (const part of text.split(';')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq < 0) parameters[item] = '';
    else parameters[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return parameters;
}

/** The m-line and codec an RTP packet belongs to. */
export interface RtpStreamMatch {
  media: SdpMedia;
  codec: SdpCodec;
}

/** Several m-lines match a lookup; the SDP alone cannot tell which one a packet belongs to. */
export class SdpAmbiguityError extends Error {
  override name = 'SdpAmbiguityError';
}

/**
 * Finds the m-line and codec for an RTP packet received on UDP destination `port` with `payloadType`.
 * Returns undefined when no m-line on that port lists the payload type. When several do (BUNDLE
 * with a shared payload type), `ssrc` picks the one declaring it in a=ssrc lines; if that still
 * leaves more than one, or none, SdpAmbiguityError is thrown rather than guessing.
 */
export function lookupRtpStream(sdp: SessionDescription, port: number, payloadType: number, ssrc?: number): RtpStreamMatch | undefined {
  let matches: RtpStreamMatch[] = [];
  for (const media of sdp.media) {
    if (media.port === 0 || !mediaUsesPort(media, port)) continue;
    const codec = media.codecs.find((c) => c.payloadType === payloadType);
    if (codec) matches.push({ media, codec });
  }
  if (matches.length > 1 && ssrc !== undefined) {
    matches = matches.filter((m) => m.media.ssrcs.some((s) => s.ssrc === ssrc));
    if (matches.length === 0) throw new SdpAmbiguityError(`payload type ${payloadType} on port ${port} appears in several m-lines and none declares SSRC ${ssrc}`);
  }
  if (matches.length > 1) {
    const where = matches.map((m) => `m=${m.media.kind} (line ${m.media.line})`).join(', ');
    throw new SdpAmbiguityError(`payload type ${payloadType} on port ${port} appears in ${where}; pass the SSRC to choose`);
  }
  return matches[0];
}

/** Whether `port` is one of the m-line's media ports: for RTP, "5004/2" means RTP on 5004 and 5006 (RTCP takes the odd ports). */
function mediaUsesPort(media: SdpMedia, port: number): boolean {
  const step = media.payloadTypes.length > 0 ? 2 : 1;
  const delta = port - media.port;
  return delta >= 0 && delta % step === 0 && delta / step < media.portCount;
}
