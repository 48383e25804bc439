/**
 * Test fixtures for the MP4 muxer tests: H264 access units read from the committed elementary
 * streams (made once by make.sh) and real Opus packets from @discordjs/opus.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { H264Config } from '../../../src/codec/frame.js';

const here = new URL('.', import.meta.url).pathname;

export interface AccessUnit {
  /** AVCC form: 4-byte big-endian length before each NAL unit. */
  data: Buffer;
  keyframe: boolean;
  /** Set on IDR access units (they carry SPS and PPS in-band). */
  config?: H264Config;
}

/** Splits an Annex B stream into NAL units (start codes removed). */
function splitAnnexB(stream: Buffer): Buffer[] {
  const starts: { at: number; len: number }[] = [];
  for (let i = 0; i + 2 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0) {
      if (stream[i + 2] === 1) {
        starts.push({ at: i, len: 3 });
        i += 2;
      } else if (stream[i + 2] === 0 && stream[i + 3] === 1) {
        starts.push({ at: i, len: 4 });
        i += 3;
      }
    }
  }
  const nals: Buffer[] = [];
  for (let k = 0; k < starts.length; k++) {
    const begin = starts[k]!.at + starts[k]!.len;
    const end = k + 1 < starts.length ? starts[k + 1]!.at : stream.length;
    nals.push(stream.subarray(begin, end));
  }
  return nals;
}

/**
 * Access units of a committed .h264 file (split on access unit delimiters, which are dropped).
 * `width`/`height` are the coded size (known from make.sh).
 */
export function loadAccessUnits(file: string, width: number, height: number): AccessUnit[] {
  const nals = splitAnnexB(readFileSync(join(here, file)));
  const units: AccessUnit[] = [];
  let current: Buffer[] = [];
  const flush = (): void => {
    if (current.length === 0) return;
    const types = current.map((n) => n[0]! & 0x1f);
    const keyframe = types.includes(5);
    const sps = current.filter((n) => (n[0]! & 0x1f) === 7);
    const pps = current.filter((n) => (n[0]! & 0x1f) === 8);
    const parts: Buffer[] = [];
    for (const n of current) {
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32BE(n.length, 0);
      parts.push(len, n);
    }
    const unit: AccessUnit = { data: Buffer.concat(parts), keyframe };
    if (keyframe && sps.length > 0) {
      const s = sps[0]!;
      unit.config = {
        codec: 'h264',
        sps: sps.map((b) => Buffer.from(b)),
        pps: pps.map((b) => Buffer.from(b)),
        width,
        height,
        profileIndication: s[1]!,
        profileCompatibility: s[2]!,
        levelIndication: s[3]!,
      };
    }
    units.push(unit);
    current = [];
  };
  for (const nal of nals) {
    if ((nal[0]! & 0x1f) === 9) {
      flush();
      continue;
    }
    current.push(nal);
  }
  flush();
  return units;
}

/** 320x240, 10 fps, 40 frames: one IDR, then 39 P frames (a 4 s GOP). */
export const gop40 = (): AccessUnit[] => loadAccessUnits('gop40-320x240.h264', 320, 240);
/** 640x360, 10 fps, 20 frames, an IDR every 10 frames. */
export const gop10Wide = (): AccessUnit[] => loadAccessUnits('gop10-640x360.h264', 640, 360);

/** `count` Opus packets of 20 ms (960 samples at 48 kHz), stereo, encoding a 440 Hz tone. */
export function opusPackets(count: number, channels = 2): Buffer[] {
  const require = createRequire(import.meta.url);
  const { OpusEncoder } = require('@discordjs/opus') as { OpusEncoder: new (rate: number, channels: number) => { encode(pcm: Buffer): Buffer } };
  const encoder = new OpusEncoder(48000, channels);
  const out: Buffer[] = [];
  let n = 0;
  for (let p = 0; p < count; p++) {
    const pcm = Buffer.allocUnsafe(960 * channels * 2);
    for (let i = 0; i < 960; i++, n++) {
      const v = Math.round(8000 * Math.sin((2 * Math.PI * 440 * n) / 48000));
      for (let c = 0; c < channels; c++) pcm.writeInt16LE(v, (i * channels + c) * 2);
    }
    out.push(Buffer.from(encoder.encode(pcm)));
  }
  return out;
}

