/**
 * Every (codec, container) pair the library supports (CONTAINER_CODECS), table-driven: each
 * fixture is replayed through a real mediasoup 3.8.4 worker into one Recorder per container at
 * once, and each file is checked by an independent reader (mp4box or mkvinfo), decoded by ffmpeg
 * with no output, frame counts and duration compared with the fixture's ground truth, and (video)
 * seeked to the middle. mediasoup 3.8.4 cannot route AV1 (it came to mediasoup later), so the AV1
 * fixture goes through the same pipeline from its capture (the offline converter) instead.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertCapture } from '../src/convert.js';
import { Recorder } from '../src/index.js';
import { CONTAINER_CODECS, type Container } from '../src/mux/container.js';
import type { Capture } from '../src/source/capture.js';
import { ffmpegDecodeErrors, ffprobeStreams, mkvinfo, parseMp4, tempDir } from './helpers/oracles.js';
import { replayRig, videoOpusFixture, type FixtureTruth } from './helpers/replay.js';

type VideoCodec = 'h264' | 'vp8' | 'vp9' | 'av1';
const EXTENSION: Record<Container, string> = { mp4: 'mp4', webm: 'webm', mkv: 'mkv', mka: 'mka', ogg: 'ogg' };
const MKV_CODEC_ID: Record<string, string> = { h264: 'V_MPEG4/ISO/AVC', vp8: 'V_VP8', vp9: 'V_VP9', av1: 'V_AV1', opus: 'A_OPUS' };
const dir = tempDir('matrix-');

const containersFor = (codecs: string[]): Container[] =>
  (Object.keys(CONTAINER_CODECS) as Container[]).filter((c) => codecs.every((codec) => (CONTAINER_CODECS[c] as readonly string[]).includes(codec)));

/** Records `capture` into one file per container: through mediasoup, or from the capture (AV1). */
async function recordAll(codec: VideoCodec, capture: Capture, containers: Container[], audioOnly = false): Promise<Map<Container, string>> {
  const files = new Map(containers.map((c) => [c, join(dir, `${codec}${audioOnly ? '-audio' : ''}.${EXTENSION[c]}`)]));
  const streams = audioOnly ? capture.streams.filter((s) => s.kind === 'audio') : capture.streams;
  if (codec === 'av1') {
    for (const [, file] of files) await convertCapture({ ...capture, streams }, file);
    return files;
  }
  const rig = await replayRig({ ...capture, streams });
  try {
    const recorders = [...files.values()].map((output) => new Recorder({ router: rig.router, producers: rig.replayer.producers, output }));
    for (const r of recorders) r.on('error', (e) => expect.fail(`${e.stream}: ${e.message}`));
    await Promise.all(recorders.map((r) => r.start()));
    await rig.replayer.play({ speed: 4 });
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all(recorders.map((r) => r.stop()));
  } finally {
    rig.close();
  }
  return files;
}

function checkFile(container: Container, file: string, codecs: string[], truth: FixtureTruth, video: boolean): void {
  expect(ffmpegDecodeErrors(file)).toBe('');
  const probe = ffprobeStreams(file);
  const v = probe.streams.find((s) => s.codec_type === 'video');
  const a = probe.streams.find((s) => s.codec_type === 'audio')!;
  expect(Number(a.nb_read_frames)).toBe(truth.audio.encoded.packets);
  // The fixture's audio is 1001 packets of 20 ms: the file lasts as long, within a frame or two.
  expect(Math.abs(Number(probe.format.duration) - truth.audio.pcap.rtpPackets * 0.02)).toBeLessThan(0.07);
  if (video) {
    expect(Number(v!.nb_read_frames)).toBe(truth.video.encoded.frames);
    expect([v!.width, v!.height]).toEqual([truth.video.width, truth.video.height]);
    // Seeking to the middle lands on a keyframe and decodes cleanly.
    const seek = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-ss', '10', '-i', file, '-frames:v', '30', '-f', 'null', '-'], { encoding: 'utf8' });
    expect(seek.stdout + seek.stderr).toBe('');
  } else {
    expect(v).toBeUndefined();
  }
  if (container === 'mp4') {
    const mp4 = parseMp4(readFileSync(file));
    expect(mp4.info.tracks).toHaveLength(codecs.length);
    const audio = mp4.info.tracks.find((t) => t.audio)!;
    expect(mp4.samples(audio.id)).toHaveLength(truth.audio.encoded.packets);
    if (video) {
      const track = mp4.info.tracks.find((t) => t.video)!;
      expect(mp4.samples(track.id)).toHaveLength(truth.video.encoded.frames);
      expect(mp4.samples(track.id)[0]!.is_sync).toBe(true);
    }
  } else if (container !== 'ogg') {
    const info = mkvinfo(file);
    for (const codec of codecs) expect(info).toContain(`Codec ID: ${MKV_CODEC_ID[codec]}`);
    expect(info).toMatch(/Duration: 00:00:(19|20)\./);
    // A cue point per cluster (video: one per keyframe), so players seek without scanning.
    const cuePoints = info.match(/Cue point/g)?.length ?? 0;
    expect(cuePoints).toBeGreaterThanOrEqual(video ? truth.video.encoded.keyframes : 19);
    expect(info).toMatch(new RegExp(`Document type: ${container === 'webm' ? 'webm' : 'matroska'}`));
  }
}

describe.each(['h264', 'vp8', 'vp9', 'av1'] as VideoCodec[])('%s + Opus', (codec) => {
  const { capture, truth } = videoOpusFixture(codec);
  const containers = containersFor([codec, 'opus']);
  let files: Map<Container, string>;
  beforeAll(async () => {
    files = await recordAll(codec, capture, containers);
  });

  it.each(containers)(`in %s: readable, decodes without error, every frame, seekable`, (container) => {
    checkFile(container, files.get(container)!, [codec, 'opus'], truth, true);
  });
});

describe('Opus alone', () => {
  const { capture, truth } = videoOpusFixture('vp8');
  const containers = containersFor(['opus']);
  let files: Map<Container, string>;
  beforeAll(async () => {
    files = await recordAll('vp8', capture, containers, true);
  });

  it.each(containers)('in %s: readable, decodes without error, every packet', (container) => {
    checkFile(container, files.get(container)!, ['opus'], truth, false);
  });
});
