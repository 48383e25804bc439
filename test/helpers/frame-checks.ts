/**
 * Structural checks of depacketized frames, written from the bitstream specs and independent of
 * the depacketizers: what a decoder needs before it can even start on a frame. Returns a
 * description of the first problem, or undefined. (Opus is checked by decoding: see the fuzz test.)
 */
import type { Frame } from '../../src/codec/frame.js';
import type { FuzzCodec } from './payload-mutator.js';

export function frameProblem(codec: FuzzCodec, frame: Frame): string | undefined {
  const d = frame.data;
  if (d.length === 0) return 'empty frame';
  switch (codec) {
    case 'h264':
      return h264Problem(d, frame.keyframe);
    case 'vp8':
      return vp8Problem(d, frame.keyframe);
    case 'vp9':
      return vp9Problem(d);
    case 'av1':
      return av1Problem(d);
    case 'opus':
      return undefined;
  }
}

/** AVCC access unit: 4-byte lengths tiling the frame, NAL headers valid, a slice; a keyframe has SPS, PPS, IDR. */
function h264Problem(d: Buffer, keyframe: boolean): string | undefined {
  const types = new Set<number>();
  for (let o = 0; o < d.length; ) {
    if (o + 4 > d.length) return `NAL length field cut at ${o}`;
    const n = d.readUInt32BE(o);
    if (n === 0 || o + 4 + n > d.length) return `NAL of ${n} bytes at ${o} overruns the ${d.length}-byte frame`;
    const header = d[o + 4]!;
    if (header & 0x80) return `forbidden_zero_bit set at ${o}`;
    const type = header & 0x1f;
    if (type === 0 || type >= 24) return `NAL type ${type} in a sample`;
    types.add(type);
    o += 4 + n;
  }
  if (!types.has(1) && !types.has(5)) return 'no slice';
  if (keyframe && !(types.has(5) && types.has(7) && types.has(8))) return `keyframe without IDR, SPS and PPS: types ${[...types]}`;
  return undefined;
}

/** RFC 6386 section 9.1: 3-byte frame tag, key frames with start code and size; first partition inside the frame. */
function vp8Problem(d: Buffer, keyframe: boolean): string | undefined {
  if (d.length < 3) return 'frame tag cut short';
  const tag = d[0]! | (d[1]! << 8) | (d[2]! << 16);
  const key = (tag & 1) === 0;
  if (key !== keyframe) return `frame tag says ${key ? 'key' : 'inter'} frame, frame says ${keyframe ? 'key' : 'inter'}`;
  if (((tag >> 1) & 7) > 3) return `version ${(tag >> 1) & 7}`;
  const header = key ? 10 : 3;
  if (key && (d.length < 10 || d[3] !== 0x9d || d[4] !== 0x01 || d[5] !== 0x2a)) return 'key frame without start code';
  const firstPartition = (tag >> 5) & 0x7ffff;
  if (header + firstPartition > d.length) return `first partition of ${firstPartition} bytes overruns the ${d.length}-byte frame`;
  return undefined;
}

/**
 * VP9 Annex B: a superframe index (a marker byte at both its ends, as libvpx recognises it)
 * whose frames fit before it; every frame starts with frame_marker 2.
 */
function vp9Problem(d: Buffer): string | undefined {
  const last = d[d.length - 1]!;
  const frames: [number, number][] = [];
  const count = (last & 7) + 1;
  const bytes = ((last >> 3) & 3) + 1;
  const indexSize = 2 + bytes * count;
  if ((last & 0xe0) === 0xc0 && indexSize <= d.length && d[d.length - indexSize] === last) {
    let o = 0;
    for (let i = 0; i < count; i++) {
      let size = 0;
      for (let b = 0; b < bytes; b++) size |= d[d.length - indexSize + 1 + i * bytes + b]! << (8 * b);
      if (size === 0) return `superframe frame ${i} of 0 bytes`;
      frames.push([o, size]);
      o += size;
    }
    // Bytes between the last frame and the index are ignored by libvpx and ffmpeg; frames past it are not.
    if (o + indexSize > d.length) return `superframe sizes add to ${o} + index ${indexSize}, frame is ${d.length}`;
  } else {
    frames.push([0, d.length]);
  }
  for (const [o] of frames) if (d[o]! >> 6 !== 2) return `frame_marker ${d[o]! >> 6} at ${o}`;
  return undefined;
}

/** AV1 low-overhead format: OBUs with size fields tiling the temporal unit, valid headers, no temporal delimiter. */
function av1Problem(d: Buffer): string | undefined {
  for (let o = 0; o < d.length; ) {
    const header = d[o]!;
    if (header & 0x80) return `OBU forbidden bit at ${o}`;
    const type = (header >> 3) & 0xf;
    if (type === 0 || type === 2 || (type >= 9 && type <= 14)) return `OBU type ${type} at ${o}`;
    if (!(header & 0x02)) return `OBU without size field at ${o}`;
    let p = o + 1 + ((header >> 2) & 1);
    let size = 0;
    for (let i = 0; ; i++) {
      if (p >= d.length || i === 8) return `OBU size cut at ${o}`;
      const b = d[p++]!;
      size += (b & 0x7f) * 2 ** (7 * i);
      if (!(b & 0x80)) break;
    }
    if (p + size > d.length) return `OBU of ${size} bytes at ${o} overruns the ${d.length}-byte temporal unit`;
    o = p + size;
  }
  return undefined;
}
