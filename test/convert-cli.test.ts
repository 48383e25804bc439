/**
 * The offline converter as users run it (`npm run convert -- ...`): good input, bad input and
 * unwritable output, each checked through the process's exit code, messages and ffmpeg.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConvertSummary } from '../src/convert.js';
import { readPcap, writePcap, type PcapWriteRecord } from '../src/source/pcap.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { FIXTURES } from './helpers/replay.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const PCAP = `${FIXTURES}h264-opus.pcap`;
const SDP = `${FIXTURES}h264-opus.sdp`;
const truth = JSON.parse(readFileSync(`${FIXTURES}h264-opus.json`, 'utf8'));

function convert(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'convert', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function frameCounts(file: string): { video: number; audio: number } {
  const streams = ffprobeStreams(file).streams;
  return {
    video: Number(streams.find((s) => s.codec_type === 'video')?.nb_read_frames ?? 0),
    audio: Number(streams.find((s) => s.codec_type === 'audio')?.nb_read_frames ?? 0),
  };
}

describe('mediasoup-recorder convert', () => {
  const dir = tempDir('convert-');

  /** Writes `records` as a capture named `name`, converts it with --json, and returns the output path and summary (exit code checked). */
  function convertRecords(records: PcapWriteRecord[], name: string): { out: string; summary: ConvertSummary } {
    const capture = join(dir, `${name}.pcap`);
    writeFileSync(capture, writePcap(records));
    const out = join(dir, `${name}.mp4`);
    const r = convert(capture, '--sdp', SDP, '-o', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    return { out, summary: JSON.parse(r.stdout) as ConvertSummary };
  }

  it('converts the fixture: every frame, no decode error, a JSON summary', () => {
    const out = join(dir, 'fixture.mp4');
    const r = convert(PCAP, '--sdp', SDP, '-o', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.path).toBe(out);
    expect(summary.streams.map((s: { framesWritten: number }) => s.framesWritten)).toEqual([truth.video.encoded.frames, truth.audio.encoded.packets]);
    expect(ffmpegDecodeErrors(out)).toBe('');
    expect(frameCounts(out)).toEqual({ video: truth.video.encoded.frames, audio: truth.audio.encoded.packets });
  });

  it('converts what comes before the cut of a truncated capture and says so', () => {
    const whole = readFileSync(PCAP);
    const cut = join(dir, 'truncated.pcap');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6) + 7));
    const out = join(dir, 'truncated.mp4');
    const r = convert(cut, '--sdp', SDP, '-o', out);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*truncated|warning: .*cut short|warning: .*ends/i);
    expect(ffmpegDecodeErrors(out)).toBe('');
    const frames = frameCounts(out);
    expect(frames.video).toBeGreaterThan(truth.video.encoded.frames * 0.4);
    expect(frames.video).toBeLessThan(truth.video.encoded.frames * 0.7);
  });

  it('counts a 3-byte RTP packet and an unknown payload type as drops and records the rest', () => {
    const { records } = readPcap(readFileSync(PCAP));
    const video = records.filter((r) => r.dstPort === truth.video.dstPort);
    const bad = [...records];
    const at = records.indexOf(video[300]!);
    const tiny = { ...video[300]!, payload: Buffer.from([0x80, 0x60, 0x00]) };
    const unknownPt = Buffer.from(video[300]!.payload);
    unknownPt[1] = (unknownPt[1]! & 0x80) | 100;
    bad.splice(at, 0, tiny, { ...video[300]!, payload: unknownPt });
    const { out, summary } = convertRecords(bad, 'bad-packets');
    const videoStats = summary.streams.find((s) => s.kind === 'video')!;
    expect(summary.unmatchedDatagrams).toBe(1); // the 3-byte datagram is not RTP
    expect(videoStats.packetsWrongPayloadType).toBe(1);
    expect(videoStats.framesWritten).toBe(truth.video.encoded.frames);
    expect(ffmpegDecodeErrors(out)).toBe('');
  });

  it('stops at a corrupt record part-way with a clear error, leaving a playable file of what came before', () => {
    const whole = Buffer.from(readFileSync(PCAP));
    // Walk the records to the one at 60 % and give it a captured length no snap length allows.
    let offset = 24;
    while (offset < whole.length * 0.6) offset += 16 + whole.readUInt32LE(offset + 8);
    whole.writeUInt32LE(0x7fffffff, offset + 8);
    const corrupt = join(dir, 'corrupt.pcap');
    writeFileSync(corrupt, whole);
    const out = join(dir, 'corrupt.mp4');
    const r = convert(corrupt, '--sdp', SDP, '-o', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${corrupt}: pcap record claims 2147483647 captured bytes.*corrupt file \\(at byte offset ${offset}\\)`));
    expect(ffmpegDecodeErrors(out)).toBe('');
    const frames = frameCounts(out);
    expect(frames.video).toBeGreaterThan(truth.video.encoded.frames * 0.5);
    expect(frames.video).toBeLessThan(truth.video.encoded.frames * 0.7);
  });

  it('sorts records written out of capture-time order (as multi-interface pcapng writers do), within 2 s', () => {
    const { records } = readPcap(readFileSync(PCAP));
    // Each block of 40 records written in reverse: up to ~0.5 s out of order.
    const shuffled = [];
    for (let i = 0; i < records.length; i += 40) shuffled.push(...records.slice(i, i + 40).reverse());
    const { out, summary } = convertRecords(shuffled, 'out-of-order');
    expect(summary.packetsOutOfOrder).toBe(0);
    expect(summary.streams.map((s) => s.packetsLate)).toEqual([0, 0]);
    expect(summary.streams.map((s) => s.framesWritten)).toEqual([truth.video.encoded.frames, truth.audio.encoded.packets]);
    expect(ffmpegDecodeErrors(out)).toBe('');
  });

  it('fails with a clear message for input that is not a capture', () => {
    const garbage = join(dir, 'garbage.pcap');
    writeFileSync(garbage, Buffer.from('this is not a capture at all'));
    const r = convert(garbage, '--sdp', SDP, '-o', join(dir, 'garbage.mp4'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*Not a pcap or pcapng capture/);
  });

  it('fails with a clear message for an unwritable output path', () => {
    const r = convert(PCAP, '--sdp', SDP, '-o', '/nonexistent-dir/out.mp4');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: cannot open output file \/nonexistent-dir\/out.mp4 for writing: ENOENT/);
  });

  it('prints usage and exits 2 without the required arguments', () => {
    const r = convert(PCAP);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage: mediasoup-recorder convert/);
  });
});
