/**
 * Video orientation (urn:3gpp:video-orientation, as phones send it): the H264 fixture rewritten
 * the way libwebrtc sends CVO (one byte on the last packet of every keyframe, here 90 degrees) is
 * recorded through a real mediasoup worker and from its capture; the MP4 must carry the display
 * matrix ffmpeg itself writes for `rotate=90`, and the Matroska file a projection roll.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertCapture } from '../src/convert.js';
import { Recorder } from '../src/index.js';
import { parseRtpPacket } from '../src/rtp/packet.js';
import { VIDEO_ORIENTATION_URI } from '../src/rtp/header-extension.js';
import type { Capture, CapturedPacket } from '../src/source/capture.js';
import { ffmpegDecodeErrors, mkvinfo, tempDir } from './helpers/oracles.js';
import { h264OpusFixture, replayRig } from './helpers/replay.js';

const CVO_ID = 7;
const dir = tempDir('orientation-');

/** Appends a one-byte-header extension element (id, one byte of data) to an RTP packet that has a 0xBEDE block. */
function withCvo(raw: Buffer, value: number): Buffer {
  const p = parseRtpPacket(raw);
  const elements = raw.subarray(p.extensionOffset, p.extensionOffset + p.extensionLength);
  let used = elements.length;
  while (used > 0 && elements[used - 1] === 0) used--; // drop the old padding
  const block = Buffer.concat([elements.subarray(0, used), Buffer.from([(CVO_ID << 4) | 0, value])]);
  const padded = Buffer.concat([block, Buffer.alloc((4 - (block.length % 4)) % 4)]);
  const header = Buffer.from(raw.subarray(0, p.extensionOffset));
  header.writeUInt16BE(padded.length / 4, p.extensionOffset - 2);
  return Buffer.concat([header, padded, raw.subarray(p.extensionOffset + p.extensionLength)]);
}

/** The fixture with CVO "rotate 90 degrees" on the last packet of each keyframe, declared like an SDP extmap. */
function rotatedCapture(): Capture {
  const { capture } = h264OpusFixture();
  const streams = capture.streams.map((s) => {
    if (s.kind !== 'video') return s;
    let inKeyframe = false;
    const packets: CapturedPacket[] = s.packets.map((packet) => {
      const p = parseRtpPacket(packet.data);
      const type = p.payload[0]! & 0x1f;
      if (type === 24 || type === 5 || (type === 28 && (p.payload[1]! & 0x1f) === 5)) inKeyframe = true;
      if (!(inKeyframe && p.marker)) return packet;
      inKeyframe = false;
      return { timeMs: packet.timeMs, data: withCvo(packet.data, 1) }; // R1R0 = 01: 90 degrees
    });
    return { ...s, packets, headerExtensions: [...s.headerExtensions, { id: CVO_ID, uri: VIDEO_ORIENTATION_URI }] };
  });
  return { ...capture, streams };
}

/** The rotation ffprobe reads from a file's display matrix (undefined without one). */
function probedRotation(file: string): number | undefined {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream_side_data=rotation', '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim();
  return out === '' ? undefined : Number(out);
}

/** What ffmpeg itself writes for "rotate the picture 90 degrees clockwise": the oracle. */
function ffmpegRotation90(source: string): number | undefined {
  const reference = join(dir, 'ffmpeg-rotate90.mp4');
  spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', source, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', reference]);
  return probedRotation(reference);
}

describe('video orientation', () => {
  const capture = rotatedCapture();

  it('through mediasoup: the MP4 carries the same display matrix ffmpeg writes for rotate=90', async () => {
    const rig = await replayRig(capture);
    try {
      const output = join(dir, 'mediasoup.mp4');
      const recorder = new Recorder({ router: rig.router, producers: rig.replayer.producers, output });
      await recorder.start();
      await rig.replayer.play({ speed: 4 });
      await new Promise((r) => setTimeout(r, 300));
      await recorder.stop();
      expect(ffmpegDecodeErrors(output)).toBe('');
      const unrotated = join(dir, 'plain.mp4');
      await convertCapture(h264OpusFixture().capture, unrotated);
      expect(probedRotation(unrotated)).toBeUndefined();
      const expected = ffmpegRotation90(unrotated);
      expect(expected).toBeDefined();
      expect(probedRotation(output)).toBe(expected);
    } finally {
      rig.close();
    }
  });

  it('from the capture: MP4 display matrix and Matroska projection roll', async () => {
    const mp4 = join(dir, 'converted.mp4');
    const mkv = join(dir, 'converted.mkv');
    await convertCapture(capture, mp4);
    await convertCapture(capture, mkv);
    expect(ffmpegDecodeErrors(mp4)).toBe('');
    expect(ffmpegDecodeErrors(mkv)).toBe('');
    expect(probedRotation(mp4)).toBe(ffmpegRotation90(join(dir, 'mediasoup.mp4')));
    const info = mkvinfo(mkv);
    expect(info).toContain('Projection type: 0');
    expect(info).toMatch(/Projection's roll rotation: -90/);
  });
});
