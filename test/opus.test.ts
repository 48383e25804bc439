import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../src/codec/frame.js';
import { OpusDepacketizer, opusPacketDuration, opusSilencePacket } from '../src/codec/opus.js';
import type { RtpPacket } from '../src/rtp/packet.js';
import { rng } from './helpers/random.js';

interface OpusCodec {
  encode(pcm: Buffer): Buffer;
  /** PCM s16le, interleaved; throws on packets libopus rejects. */
  decode(packet: Buffer): Buffer;
  setBitrate(bps: number): void;
}
const { OpusEncoder } = createRequire(import.meta.url)('@discordjs/opus') as {
  OpusEncoder: new (rate: number, channels: number) => OpusCodec;
};

/** Samples per channel libopus decodes from `packet`, or undefined when it rejects it. */
function libopusSamples(decoder: OpusCodec, channels: number, packet: Buffer): number | undefined {
  try {
    return decoder.decode(packet).length / 2 / channels;
  } catch {
    return undefined;
  }
}

/** `samples` per channel of a tone plus noise, s16le interleaved. */
function pcm(samples: number, channels: number, r: () => number): Buffer {
  const out = Buffer.alloc(samples * channels * 2);
  for (let i = 0; i < samples * channels; i++) {
    out.writeInt16LE(Math.round(6000 * Math.sin(i / 7) + 2000 * (r() - 0.5)), i * 2);
  }
  return out;
}

let seq = 0;
function rtp(payload: Buffer): RtpPacket {
  return {
    payloadType: 111,
    sequenceNumber: seq++ & 0xffff,
    timestamp: 0,
    ssrc: 1,
    marker: false,
    payload,
    extensionProfile: 0,
    extensionOffset: 0,
    extensionLength: 0,
  };
}

describe('opusPacketDuration', () => {
  it('matches libopus on packets it encodes, all frame sizes, SILK/hybrid/CELT, mono and stereo', () => {
    const r = rng(1);
    const seenConfigs = new Set<number>();
    const seenCodes = new Set<number>();
    for (const channels of [1, 2]) {
      for (const bitrate of [8000, 24000, 96000]) {
        const enc = new OpusEncoder(48000, channels);
        enc.setBitrate(bitrate);
        const dec = new OpusEncoder(48000, channels);
        for (const samples of [120, 240, 480, 960, 1920, 2880]) {
          const packet = enc.encode(pcm(samples, channels, r));
          seenConfigs.add(packet[0]! >> 3);
          seenCodes.add(packet[0]! & 3);
          expect(opusPacketDuration(packet)).toBe(samples);
          expect(libopusSamples(dec, channels, packet)).toBe(samples);
        }
      }
    }
    // The encoder made packets of several modes and frame-count codes.
    expect(seenConfigs.size).toBeGreaterThan(6);
    expect([...seenCodes].length).toBeGreaterThan(1);
  });

  it('reads each TOC config per RFC 6716 table 2', () => {
    const ms = [10, 20, 40, 60, 10, 20, 40, 60, 10, 20, 40, 60, 10, 20, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20];
    for (let config = 0; config < 32; config++) {
      expect(opusPacketDuration(Buffer.from([config << 3, 0xff, 0xfe]))).toBe(ms[config]! * 48);
    }
  });

  it('counts frames per code 0-3, and rejects what RFC 6716 section 3.4 forbids', () => {
    const celt20 = 31 << 3; // 960 samples per frame
    // code 1: two frames of equal size, so an even payload
    expect(opusPacketDuration(Buffer.from([celt20 | 1, 1, 2, 3, 4]))).toBe(1920);
    expect(opusPacketDuration(Buffer.from([celt20 | 1, 1, 2, 3]))).toBeUndefined();
    // code 2: first length coded; 2-byte length form (252 + 4 * b)
    expect(opusPacketDuration(Buffer.from([celt20 | 2, 2, 9, 9, 9]))).toBe(1920);
    expect(opusPacketDuration(Buffer.from([celt20 | 2, 5, 9]))).toBeUndefined();
    expect(opusPacketDuration(Buffer.concat([Buffer.from([celt20 | 2, 252, 1]), Buffer.alloc(256)]))).toBe(1920);
    expect(opusPacketDuration(Buffer.from([celt20 | 2, 252]))).toBeUndefined();
    // code 3: count byte; 6 x 20 ms = 120 ms is the limit
    expect(opusPacketDuration(Buffer.from([celt20 | 3, 3, 1, 2, 3]))).toBe(2880);
    expect(opusPacketDuration(Buffer.from([celt20 | 3, 6]))).toBe(5760);
    expect(opusPacketDuration(Buffer.from([celt20 | 3, 7]))).toBeUndefined();
    expect(opusPacketDuration(Buffer.from([celt20 | 3, 0]))).toBeUndefined();
    expect(opusPacketDuration(Buffer.from([celt20 | 3]))).toBeUndefined();
    // code 3 CBR must split evenly; padding is taken out first
    expect(opusPacketDuration(Buffer.from([celt20 | 3, 3, 1, 2, 3, 4]))).toBeUndefined();
    expect(opusPacketDuration(Buffer.from([celt20 | 3, 0x40 | 3, 1, 1, 2, 3, 4]))).toBe(2880);
    expect(opusPacketDuration(Buffer.from([celt20 | 3, 0x40 | 3, 9, 1, 2, 3]))).toBeUndefined();
    // code 3 VBR: count - 1 lengths, each must fit
    expect(opusPacketDuration(Buffer.from([celt20 | 3, 0x80 | 2, 1, 7, 8, 9]))).toBe(1920);
    expect(opusPacketDuration(Buffer.from([celt20 | 3, 0x80 | 2, 5, 7, 8]))).toBeUndefined();
    // frames over 1275 bytes
    expect(opusPacketDuration(Buffer.alloc(1276, celt20))).toBe(960);
    expect(opusPacketDuration(Buffer.alloc(1277, celt20))).toBeUndefined();
    expect(opusPacketDuration(Buffer.alloc(0))).toBeUndefined();
  });

  it('agrees with libopus on which random packets are valid and how long they are', () => {
    const r = rng(99);
    const decoders = [new OpusEncoder(48000, 1), new OpusEncoder(48000, 2)];
    let valid = 0;
    let invalid = 0;
    for (let i = 0; i < 20_000; i++) {
      // Mostly short packets, where the length rules bite; some long ones.
      const len = 1 + Math.floor(r() < 0.9 ? r() * 12 : r() * 1400);
      const packet = Buffer.alloc(len);
      for (let j = 0; j < len; j++) packet[j] = Math.floor(r() * 256);
      if (len > 1 && r() < 0.5) packet[1] = (packet[1]! & 0xc0) | (1 + Math.floor(r() * 8)); // plausible frame counts
      const channels = packet[0]! & 4 ? 2 : 1;
      const expected = libopusSamples(decoders[channels - 1]!, channels, packet);
      expect(opusPacketDuration(packet), `packet ${packet.toString('hex').slice(0, 40)}`).toBe(expected);
      if (expected === undefined) invalid++;
      else valid++;
    }
    expect(valid).toBeGreaterThan(2000);
    expect(invalid).toBeGreaterThan(2000);
  });
});

describe('opusSilencePacket', () => {
  for (const channels of [1, 2] as const) {
    it(`decodes to 960 zero samples per channel (${channels === 1 ? 'mono' : 'stereo'})`, () => {
      const packet = opusSilencePacket(channels);
      expect(opusPacketDuration(packet)).toBe(960);
      expect(packet[0]! & 4).toBe(channels === 2 ? 4 : 0); // stereo flag in the TOC
      const decoded = new OpusEncoder(48000, channels).decode(packet);
      expect(decoded.length).toBe(960 * channels * 2);
      expect(decoded.every((b) => b === 0)).toBe(true);
    });
  }

  it('is silence after real audio too, once the decoder has faded out', () => {
    const r = rng(3);
    const enc = new OpusEncoder(48000, 2);
    const dec = new OpusEncoder(48000, 2);
    const loud = dec.decode(enc.encode(pcm(960, 2, r)));
    expect(loud.some((b) => b !== 0)).toBe(true);
    dec.decode(opusSilencePacket(2)); // carries the tail of the tone
    expect(dec.decode(opusSilencePacket(2)).every((b) => b === 0)).toBe(true);
  });

  it('returns a new buffer each time', () => {
    const a = opusSilencePacket(1);
    a[1] = 0;
    expect(opusSilencePacket(1)[1]).toBe(0xff);
  });
});

describe('OpusDepacketizer', () => {
  it('emits one keyframe per packet with its timestamp, duration and a copy of the payload', () => {
    const frames: Frame[] = [];
    const d = new OpusDepacketizer((f) => frames.push(f));
    const enc = new OpusEncoder(48000, 2);
    const r = rng(5);
    const packets = [960, 960, 1920, 480].map((n) => enc.encode(pcm(n, 2, r)));
    let ts = 2 ** 32 - 960; // unwrapped timestamps pass through, even past 2^32
    const expectedTs: number[] = [];
    for (const p of packets) {
      d.push(rtp(p), ts);
      expectedTs.push(ts);
      ts += opusPacketDuration(p)!;
    }
    expect(frames.map((f) => f.timestamp)).toEqual(expectedTs);
    expect(frames.map((f) => f.duration)).toEqual([960, 960, 1920, 480]);
    expect(frames.every((f) => f.keyframe && f.config === undefined)).toBe(true);
    expect(frames.map((f) => f.data)).toEqual(packets);
    packets[0]!.fill(0);
    expect(frames[0]!.data.some((b) => b !== 0)).toBe(true); // a copy, not a view
    expect(d.stats).toEqual({ framesEmitted: 4, framesDroppedIncomplete: 0, packetsMalformed: 0 });
  });

  it('drops empty and malformed payloads (counted), never throws, and continues', () => {
    const frames: Frame[] = [];
    const d = new OpusDepacketizer((f) => frames.push(f));
    expect(() => {
      d.push(rtp(Buffer.alloc(0)), 0);
      d.push(rtp(Buffer.from([(31 << 3) | 1, 1, 2, 3])), 960); // code 1 with an odd payload
      d.reset();
      d.push(rtp(opusSilencePacket(1)), 1920);
    }).not.toThrow();
    expect(d.stats.packetsMalformed).toBe(2);
    expect(frames.map((f) => f.timestamp)).toEqual([1920]);
  });
});
