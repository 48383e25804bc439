import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lookupRtpStream, parseSdp, SdpAmbiguityError, SdpParseError } from '../src/source/sdp.js';

const fixtureSdp = readFileSync(new URL('../fixtures/h264-opus.sdp', import.meta.url), 'utf8');
const truth = JSON.parse(readFileSync(new URL('../fixtures/h264-opus.json', import.meta.url), 'utf8'));

/** A Chrome offer (audio + video, BUNDLE on the placeholder port 9, rtx, red, ulpfec), CRLF line ends as on the wire. */
const chromeOffer = `
v=0
o=- 8056155468046374322 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
a=extmap-allow-mixed
a=msid-semantic: WMS 3f8bd5d0-5a3b-4c1e-9a61-1d2f3c4b5a69
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:Yx8v
a=ice-pwd:9nY5cLZ1bq6mF0oQ2wE3rT4y
a=ice-options:trickle
a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF
a=setup:actpass
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=sendrecv
a=msid:3f8bd5d0-5a3b-4c1e-9a61-1d2f3c4b5a69 6d7a2f0e-1c3b-4a5d-8e9f-0a1b2c3d4e5f
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:3735928559 cname:k3H9pQz2Lw8sXy1a
a=ssrc:3735928559 msid:3f8bd5d0-5a3b-4c1e-9a61-1d2f3c4b5a69 6d7a2f0e-1c3b-4a5d-8e9f-0a1b2c3d4e5f
m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 45 46 98 99 100 101 112 113 116 117 118
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:Yx8v
a=ice-pwd:9nY5cLZ1bq6mF0oQ2wE3rT4y
a=ice-options:trickle
a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF
a=setup:actpass
a=mid:1
a=extmap:14 urn:ietf:params:rtp-hdrext:toffset
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:13 urn:3gpp:video-orientation
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay
a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type
a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing
a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id
a=sendrecv
a=msid:3f8bd5d0-5a3b-4c1e-9a61-1d2f3c4b5a69 0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 transport-cc
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=rtpmap:102 H264/90000
a=rtcp-fb:102 goog-remb
a=rtcp-fb:102 transport-cc
a=rtcp-fb:102 ccm fir
a=rtcp-fb:102 nack
a=rtcp-fb:102 nack pli
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
a=rtpmap:103 rtx/90000
a=fmtp:103 apt=102
a=rtpmap:104 H264/90000
a=rtcp-fb:104 goog-remb
a=rtcp-fb:104 transport-cc
a=rtcp-fb:104 ccm fir
a=rtcp-fb:104 nack
a=rtcp-fb:104 nack pli
a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f
a=rtpmap:105 rtx/90000
a=fmtp:105 apt=104
a=rtpmap:106 H264/90000
a=rtcp-fb:106 goog-remb
a=rtcp-fb:106 transport-cc
a=rtcp-fb:106 ccm fir
a=rtcp-fb:106 nack
a=rtcp-fb:106 nack pli
a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:107 rtx/90000
a=fmtp:107 apt=106
a=rtpmap:108 H264/90000
a=rtcp-fb:108 goog-remb
a=rtcp-fb:108 transport-cc
a=rtcp-fb:108 ccm fir
a=rtcp-fb:108 nack
a=rtcp-fb:108 nack pli
a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f
a=rtpmap:109 rtx/90000
a=fmtp:109 apt=108
a=rtpmap:127 H264/90000
a=rtcp-fb:127 goog-remb
a=rtcp-fb:127 transport-cc
a=rtcp-fb:127 ccm fir
a=rtcp-fb:127 nack
a=rtcp-fb:127 nack pli
a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f
a=rtpmap:125 rtx/90000
a=fmtp:125 apt=127
a=rtpmap:39 H264/90000
a=rtcp-fb:39 goog-remb
a=rtcp-fb:39 transport-cc
a=rtcp-fb:39 ccm fir
a=rtcp-fb:39 nack
a=rtcp-fb:39 nack pli
a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f
a=rtpmap:40 rtx/90000
a=fmtp:40 apt=39
a=rtpmap:45 AV1/90000
a=rtcp-fb:45 goog-remb
a=rtcp-fb:45 transport-cc
a=rtcp-fb:45 ccm fir
a=rtcp-fb:45 nack
a=rtcp-fb:45 nack pli
a=fmtp:45 level-idx=5;profile=0;tier=0
a=rtpmap:46 rtx/90000
a=fmtp:46 apt=45
a=rtpmap:98 VP9/90000
a=rtcp-fb:98 goog-remb
a=rtcp-fb:98 transport-cc
a=rtcp-fb:98 ccm fir
a=rtcp-fb:98 nack
a=rtcp-fb:98 nack pli
a=fmtp:98 profile-id=0
a=rtpmap:99 rtx/90000
a=fmtp:99 apt=98
a=rtpmap:100 VP9/90000
a=rtcp-fb:100 goog-remb
a=rtcp-fb:100 transport-cc
a=rtcp-fb:100 ccm fir
a=rtcp-fb:100 nack
a=rtcp-fb:100 nack pli
a=fmtp:100 profile-id=2
a=rtpmap:101 rtx/90000
a=fmtp:101 apt=100
a=rtpmap:112 H264/90000
a=rtcp-fb:112 goog-remb
a=rtcp-fb:112 transport-cc
a=rtcp-fb:112 ccm fir
a=rtcp-fb:112 nack
a=rtcp-fb:112 nack pli
a=fmtp:112 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f
a=rtpmap:113 rtx/90000
a=fmtp:113 apt=112
a=rtpmap:116 red/90000
a=rtpmap:117 rtx/90000
a=fmtp:117 apt=116
a=rtpmap:118 ulpfec/90000
a=ssrc-group:FID 1431655765 2863311530
a=ssrc:1431655765 cname:k3H9pQz2Lw8sXy1a
a=ssrc:1431655765 msid:3f8bd5d0-5a3b-4c1e-9a61-1d2f3c4b5a69 0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e
a=ssrc:2863311530 cname:k3H9pQz2Lw8sXy1a
a=ssrc:2863311530 msid:3f8bd5d0-5a3b-4c1e-9a61-1d2f3c4b5a69 0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e
`
  .trim()
  .split('\n')
  .join('\r\n');

/** Parses and returns the error thrown, failing the test if none is. */
function parseError(text: string): SdpParseError {
  try {
    parseSdp(text);
  } catch (err) {
    if (err instanceof SdpParseError) return err;
    throw err;
  }
  throw new Error('expected an SdpParseError');
}

describe('fixture SDP', () => {
  const sdp = parseSdp(fixtureSdp);

  it('describes both streams with the ports, payload types and SSRCs of the JSON', () => {
    expect(sdp.connection).toEqual({ addressType: 'IP4', address: truth.video.dstAddress });
    expect(sdp.media.map((m) => m.kind)).toEqual(['video', 'audio']);
    const [video, audio] = sdp.media as [NonNullable<(typeof sdp.media)[0]>, NonNullable<(typeof sdp.media)[0]>];
    expect(video).toMatchObject({ port: truth.video.dstPort, protocol: 'RTP/AVP', payloadTypes: [truth.video.payloadType], mid: truth.video.mid, direction: 'sendonly' });
    expect(audio).toMatchObject({ port: truth.audio.dstPort, protocol: 'RTP/AVP', payloadTypes: [truth.audio.payloadType], mid: truth.audio.mid, direction: 'sendonly' });
    // The session-level c= line applies to media without their own.
    expect(video.connection?.address).toBe(truth.video.dstAddress);
    expect(video.ssrcs.map((s) => s.ssrc)).toEqual([truth.video.ssrc]);
    expect(audio.ssrcs.map((s) => s.ssrc)).toEqual([truth.audio.ssrc]);
    expect(audio.ssrcs[0]!.attributes.cname).toBeTruthy();
  });

  it('parses rtpmap and fmtp of H264 and Opus', () => {
    const video = lookupRtpStream(sdp, truth.video.dstPort, truth.video.payloadType)!;
    expect(video.codec).toMatchObject({ encodingName: 'H264', clockRate: truth.video.clockRate, channels: undefined });
    expect(video.codec.parameters['packetization-mode']).toBe(String(truth.video.packetizationMode));
    expect(video.codec.parameters['profile-level-id']).toBe(truth.video.profileLevelId);
    // Base64 padding '=' must survive splitting at the first '='.
    expect(video.codec.parameters['sprop-parameter-sets']).toBe(truth.video.spropParameterSets);
    const [sps] = video.codec.parameters['sprop-parameter-sets']!.split(',');
    expect(Buffer.from(sps!, 'base64')[0]! & 0x1f).toBe(7);

    const audio = lookupRtpStream(sdp, truth.audio.dstPort, truth.audio.payloadType)!;
    expect(audio.codec).toMatchObject({ encodingName: 'opus', clockRate: truth.audio.clockRate, channels: truth.audio.channels });
    expect(audio.codec.parameters['sprop-stereo']).toBe('1');
  });

  it('declares the header extensions the packets carry, with the JSON ids', () => {
    const [video, audio] = sdp.media;
    const ids = truth.headerExtensions.ids as Record<string, number>;
    const audioLevel = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
    for (const [uri, id] of Object.entries(ids)) {
      expect(audio!.extmaps).toContainEqual({ id, uri, direction: undefined });
      if (uri !== audioLevel) expect(video!.extmaps).toContainEqual({ id, uri, direction: undefined });
    }
    expect(video!.extmaps.some((e) => e.uri === audioLevel)).toBe(false);
  });

  it('maps port and payload type to the stream, and nothing else', () => {
    expect(lookupRtpStream(sdp, truth.video.dstPort, truth.audio.payloadType)).toBeUndefined();
    expect(lookupRtpStream(sdp, truth.audio.dstPort, truth.video.payloadType)).toBeUndefined();
    expect(lookupRtpStream(sdp, truth.video.dstPort + 1, truth.video.payloadType)).toBeUndefined();
    expect(lookupRtpStream(sdp, truth.audio.dstPort, truth.audio.payloadType)!.media.kind).toBe('audio');
  });
});

describe('Chrome offer', () => {
  const sdp = parseSdp(chromeOffer);
  const [audio, video] = sdp.media as [NonNullable<(typeof sdp.media)[0]>, NonNullable<(typeof sdp.media)[0]>];

  it('reads the m-lines, BUNDLE placeholders and per-media attributes', () => {
    expect(sdp.media).toHaveLength(2);
    expect(audio).toMatchObject({ kind: 'audio', port: 9, protocol: 'UDP/TLS/RTP/SAVPF', mid: '0', direction: 'sendrecv', rtcpMux: true, rtcpPort: 9 });
    expect(video).toMatchObject({ kind: 'video', port: 9, mid: '1' });
    expect(audio.connection).toEqual({ addressType: 'IP4', address: '0.0.0.0' });
    expect(audio.payloadTypes).toEqual([111, 63, 9, 0, 8, 13, 110, 126]);
    expect(video.payloadTypes).toHaveLength(25);
    expect(video.codecs.map((c) => c.payloadType)).toEqual(video.payloadTypes);
    expect(sdp.attributes.find((a) => a.name === 'group')?.value).toBe('BUNDLE 0 1');
  });

  it('merges rtcp-fb lines into the codecs', () => {
    const vp8 = video.codecs.find((c) => c.payloadType === 96)!;
    expect(vp8.feedback).toEqual(['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli']);
    expect(audio.codecs.find((c) => c.payloadType === 111)!.feedback).toEqual(['transport-cc']);
    expect(audio.codecs.find((c) => c.payloadType === 9)!.feedback).toEqual([]);
  });

  it('reads rtx, red and ulpfec', () => {
    const byPt = (pt: number) => video.codecs.find((c) => c.payloadType === pt)!;
    const rtx = video.codecs.filter((c) => c.encodingName === 'rtx');
    expect(rtx).toHaveLength(12);
    // Every rtx names an associated payload type that exists in the same m-line.
    for (const codec of rtx) expect(video.payloadTypes).toContain(Number(codec.parameters.apt));
    expect(byPt(103).parameters).toEqual({ apt: '102' });
    expect(byPt(116)).toMatchObject({ encodingName: 'red', clockRate: 90000, fmtp: undefined, parameters: {} });
    expect(byPt(118)).toMatchObject({ encodingName: 'ulpfec', clockRate: 90000 });
    const audioRed = audio.codecs.find((c) => c.payloadType === 63)!;
    expect(audioRed).toMatchObject({ encodingName: 'red', clockRate: 48000, channels: 2, fmtp: '111/111' });
    expect(audioRed.parameters).toEqual({ '111/111': '' });
  });

  it('distinguishes H264 variants by fmtp', () => {
    const h264 = video.codecs.filter((c) => c.encodingName === 'H264');
    expect(h264.map((c) => `${c.payloadType}:${c.parameters['packetization-mode']}:${c.parameters['profile-level-id']}`)).toEqual([
      '102:1:42001f',
      '104:0:42001f',
      '106:1:42e01f',
      '108:0:42e01f',
      '127:1:4d001f',
      '39:0:4d001f',
      '112:1:64001f',
    ]);
  });

  it('defaults audio channels to 1 when rtpmap has none', () => {
    expect(audio.codecs.find((c) => c.payloadType === 0)).toMatchObject({ encodingName: 'PCMU', clockRate: 8000, channels: 1 });
    expect(audio.codecs.find((c) => c.payloadType === 111)!.channels).toBe(2);
  });

  it('reads extmaps, SSRCs and the FID group', () => {
    expect(audio.extmaps.map((e) => e.id)).toEqual([1, 2, 3, 4]);
    expect(video.extmaps.find((e) => e.id === 14)?.uri).toBe('urn:ietf:params:rtp-hdrext:toffset');
    expect(video.ssrcGroups).toEqual([{ semantics: 'FID', ssrcs: [1431655765, 2863311530] }]);
    expect(video.ssrcs.map((s) => s.ssrc)).toEqual([1431655765, 2863311530]);
    expect(video.ssrcs[0]!.attributes).toEqual({ cname: 'k3H9pQz2Lw8sXy1a', msid: '3f8bd5d0-5a3b-4c1e-9a61-1d2f3c4b5a69 0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e' });
    expect(audio.ssrcs[0]!.ssrc).toBe(3735928559); // above 2^31: must not go negative
  });

  it('looks up bundled streams on the shared port by payload type', () => {
    expect(lookupRtpStream(sdp, 9, 111)).toMatchObject({ media: { kind: 'audio' }, codec: { encodingName: 'opus' } });
    expect(lookupRtpStream(sdp, 9, 106)).toMatchObject({ media: { kind: 'video' }, codec: { encodingName: 'H264' } });
    expect(lookupRtpStream(sdp, 9, 107)!.codec.parameters.apt).toBe('106');
    expect(lookupRtpStream(sdp, 9, 50)).toBeUndefined();
  });
});

describe('lookup edge cases', () => {
  it('refuses to guess when two m-lines share port and payload type, unless the SSRC decides', () => {
    const sdp = parseSdp(
      ['v=0', 's=-', 'c=IN IP4 10.0.0.1', 'm=video 7000 RTP/AVP 96', 'a=rtpmap:96 VP8/90000', 'a=ssrc:11 cname:a', 'm=video 7000 RTP/AVP 96', 'a=rtpmap:96 H264/90000', 'a=ssrc:22 cname:b'].join('\n'),
    );
    expect(() => lookupRtpStream(sdp, 7000, 96)).toThrow(SdpAmbiguityError);
    expect(() => lookupRtpStream(sdp, 7000, 96)).toThrow(/line 4.*line 7/);
    expect(lookupRtpStream(sdp, 7000, 96, 22)!.codec.encodingName).toBe('H264');
    expect(lookupRtpStream(sdp, 7000, 96, 11)!.codec.encodingName).toBe('VP8');
    expect(() => lookupRtpStream(sdp, 7000, 96, 33)).toThrow(/none declares SSRC 33/);
  });

  it('treats "port/count" as RTP on every second port', () => {
    const sdp = parseSdp(['v=0', 's=-', 'm=audio 5000/2 RTP/AVP 0'].join('\n'));
    expect(lookupRtpStream(sdp, 5000, 0)!.codec.encodingName).toBe('PCMU');
    expect(lookupRtpStream(sdp, 5002, 0)).toBeDefined();
    expect(lookupRtpStream(sdp, 5001, 0)).toBeUndefined(); // RTCP port
    expect(lookupRtpStream(sdp, 5004, 0)).toBeUndefined();
  });

  it('uses the RFC 3551 table for static payload types without rtpmap, and ignores port-0 m-lines', () => {
    const sdp = parseSdp(['v=0', 's=-', 'm=audio 6000 RTP/AVP 0 8 9', 'm=video 0 RTP/AVP 96', 'a=rtpmap:96 VP8/90000'].join('\n'));
    expect(sdp.media[0]!.codecs.map((c) => `${c.encodingName}/${c.clockRate}/${c.channels}`)).toEqual(['PCMU/8000/1', 'PCMA/8000/1', 'G722/8000/1']);
    expect(lookupRtpStream(sdp, 0, 96)).toBeUndefined();
  });

  it('inherits session-level direction and extmaps', () => {
    const sdp = parseSdp(['v=0', 's=-', 'a=recvonly', 'a=extmap:5 urn:x', 'm=audio 6000 RTP/AVP 0', 'a=extmap:5/sendonly urn:y', 'm=audio 6002 RTP/AVP 0', 'a=inactive'].join('\n'));
    expect(sdp.media.map((m) => m.direction)).toEqual(['recvonly', 'inactive']);
    expect(sdp.media[0]!.extmaps).toEqual([{ id: 5, uri: 'urn:y', direction: 'sendonly' }]);
    expect(sdp.media[1]!.extmaps).toEqual([{ id: 5, uri: 'urn:x', direction: undefined }]);
  });
});

describe('malformed SDP', () => {
  const valid = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=video 5004 RTP/AVP 96', 'a=rtpmap:96 H264/90000'];
  /** Replaces line `n` (1-based) of the valid SDP. */
  const withLine = (n: number, text: string) => valid.map((l, i) => (i === n - 1 ? text : l)).join('\r\n');

  it('accepts the valid base', () => {
    expect(parseSdp(valid.join('\r\n')).media[0]!.codecs[0]!.encodingName).toBe('H264');
  });

  const cases: Array<[string, string, number, RegExp]> = [
    ['a line without "x="', withLine(3, 'hello'), 3, /expected "<letter>=<value>"/],
    ['a missing v= line', valid.slice(1).join('\n'), 1, /must start with v=0/],
    ['a wrong version', withLine(1, 'v=1'), 1, /version "1"/],
    ['a bad c= line', withLine(4, 'c=IN IP4'), 4, /c= must be/],
    ['a non-numeric port', withLine(6, 'm=video port RTP/AVP 96'), 6, /port "port"/],
    ['a port above 65535', withLine(6, 'm=video 70000 RTP/AVP 96'), 6, /port "70000"/],
    ['a payload type above 127', withLine(6, 'm=video 5004 RTP/AVP 200'), 6, /payload type "200"/],
    ['an m= line with too few fields', withLine(6, 'm=video 5004'), 6, /m= must be/],
    ['an rtpmap without clock rate', withLine(7, 'a=rtpmap:96 H264'), 7, /a=rtpmap must be/],
    ['an rtpmap with clock rate 0', withLine(7, 'a=rtpmap:96 H264/0'), 7, /clock rate .* is 0/],
    ['a dynamic payload type without rtpmap', withLine(7, 'a=sendonly'), 6, /payload type 96 of m=video has no a=rtpmap/],
  ];
  for (const [what, text, line, message] of cases) {
    it(`names line ${line} for ${what}`, () => {
      const err = parseError(text);
      expect(err.line).toBe(line);
      expect(err.message).toMatch(new RegExp(`^SDP line ${line}: `));
      expect(err.message).toMatch(message);
    });
  }

  it('names the line of bad attribute values', () => {
    const extra = (attribute: string) => [...valid, attribute].join('\n');
    expect(parseError(extra('a=extmap:0 urn:x')).line).toBe(8);
    expect(parseError(extra('a=extmap:abc')).message).toMatch(/a=extmap must be/);
    expect(parseError(extra('a=ssrc:99999999999 cname:x')).message).toMatch(/a=ssrc must be/);
    expect(parseError(extra('a=ssrc-group:FID x y')).message).toMatch(/a=ssrc-group must be/);
    expect(parseError(extra('a=fmtp:abc x=1')).message).toMatch(/a=fmtp must be/);
    expect(parseError(extra('a=rtcp-fb:')).message).toMatch(/a=rtcp-fb needs a value/);
    expect(parseError(extra('a=mid:')).message).toMatch(/a=mid needs a value/);
  });

  it('rejects empty input', () => {
    expect(parseError('').message).toMatch(/empty SDP/);
    expect(parseError('\r\n\r\n').line).toBe(1);
  });
});
