/**
 * The impairment matrix: every impairment profile x H264 (MP4, MKV) and VP8 (WebM, MKV), through
 * a real mediasoup worker, with ffmpeg as the oracle. Zero decode errors is not enough (decoders
 * conceal a missing reference without a word, and the picture smears), so each file's frame count
 * is held against the frames that could be decoded without concealment from what the impaired path
 * let through (decodableFrames): never more, and not fewer.
 *
 * - Loss on the sender's path with a sender that does not retransmit: the loss is for good;
 *   damaged frames are dropped and the file resumes at the next keyframe, which was requested.
 * - Reordering, duplication, jitter and loss between mediasoup and a recorder fed over UDP: the
 *   recorder NACKs mediasoup, which retransmits from its buffer, so (nearly) every frame is kept.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { IMPAIRMENT_PROFILES, impairmentProfile } from './helpers/impairer.js';
import { measureImpairment, recordImpairmentCases, type ImpairmentCase, type ImpairmentRecording, type ImpairmentResult } from './helpers/impairment-run.js';
import { tempDir } from './helpers/oracles.js';

const SENDER_LOSS = ['none', 'loss 1%', 'loss 5%', 'loss 20%', 'bursts of 10', 'gilbert-elliott'];
const UDP_PATH = ['none', 'reorder 5%', 'duplicate 5%', 'jitter 40 ms', 'loss 5%', 'loss 5% + reorder 5% + jitter 40 ms'];
/** Audio is kept whole through any loss (silence): the fixture's length, 1001 packets of 20 ms. */
const AUDIO_S = 20.02;
const dir = tempDir('impairment-');

const CODECS = [
  { codec: 'h264', containers: ['mp4', 'mkv'] },
  { codec: 'vp8', containers: ['webm', 'mkv'] },
] as const;

const cases: ImpairmentCase[] = CODECS.flatMap(({ codec, containers }) => [
  ...SENDER_LOSS.map((name) => ({ profile: impairmentProfile(name), codec, path: 'sender' as const, retransmit: false, containers: [...containers] })),
  ...UDP_PATH.map((name) => ({ profile: impairmentProfile(name), codec, path: 'udp' as const, retransmit: true, containers: [...containers] })),
]);

function describeResult(r: ImpairmentResult): string {
  return r.files
    .map((f) => {
      const v = f.summary.streams.find((s) => s.kind === 'video')!;
      return (
        `${r.case.codec} ${f.container} ${r.case.path} '${r.case.profile.name}': ${f.videoFrames}/${r.fixtureFrames} frames (decodable ${r.oracle.decodable}), ` +
        `errors ${f.decodeErrors ? 'YES' : 0}, lost ${v.packetsLost}, recovered ${v.packetsRecovered}, late ${v.packetsLate}, duplicate ${v.packetsDuplicate}, ` +
        `NACKed ${v.nackRequests}, PLIs ${v.keyframeRequests}, gaps ${f.gaps.length}, audio ${f.audioDurationS.toFixed(3)} s`
      );
    })
    .join('\n');
}

/** Cases recorded at once: 3 replays and 6 recorders in one process and worker. */
const CONCURRENCY = 3;

describe('impairment matrix through mediasoup 3.8.4', () => {
  let recordings: ImpairmentRecording[];
  beforeAll(async () => {
    recordings = await recordImpairmentCases(cases, dir, CONCURRENCY);
  }, 600_000);

  it('covers every shared impairment profile', () => {
    const used = new Set([...SENDER_LOSS, ...UDP_PATH]);
    expect(IMPAIRMENT_PROFILES.map((p) => p.name).filter((name) => !used.has(name))).toEqual([]);
  });

  it.for(cases.map((c, i) => ({ ...c, i })))('$codec over the $path path, $profile.name', ({ i }) => {
    const r = measureImpairment(recordings[i]!);
    const c = r.case;
    console.log(describeResult(r));
    const lossy = r.oracle.decodable < r.fixtureFrames;
    for (const f of r.files) {
      const video = f.summary.streams.find((s) => s.kind === 'video')!;
      const what = `${c.codec} ${f.container} '${c.profile.name}'`;
      expect(f.decodeErrors, what).toBe('');
      // Never a frame that could not be decoded cleanly, and not fewer than could be.
      expect(f.videoFrames, what).toBeLessThanOrEqual(r.oracle.decodable);
      expect(f.videoFrames, what).toBeGreaterThanOrEqual(r.oracle.decodable - 5);
      expect(f.videoFrames, `${what}: ffprobe vs written`).toBe(video.framesWritten);
      expect(Math.abs(f.audioDurationS - AUDIO_S), `${what}: audio ${f.audioDurationS} s`).toBeLessThan(0.07);
      if (lossy) {
        // The damaged stretches were reported, and a keyframe asked for, throttled: one wait per
        // keyframe that ended it (and one left open at most), retried at most once a second.
        expect(video.keyframeRequests, what).toBeGreaterThan(0);
        expect(video.keyframeRequests, what).toBeLessThanOrEqual(video.keyframesWritten + 1 + Math.ceil(r.elapsedMs / 1000));
        expect(f.gaps.length, what).toBeGreaterThan(0);
        expect(f.gaps.filter((g) => g.stream === video.label).every((g) => g.cause === 'loss'), what).toBe(true);
      }
      if (c.path === 'udp') {
        // mediasoup retransmits what the recorder NACKs: 99 % of the frames or more.
        expect(f.videoFrames, what).toBeGreaterThanOrEqual(0.99 * r.fixtureFrames);
        if (c.profile.loss) expect(video.packetsRecovered, what).toBeGreaterThan(0);
        if (c.profile.duplicate) expect(video.packetsDuplicate, what).toBeGreaterThan(0);
      }
    }
    if (c.profile.name === 'none') expect(r.oracle.decodable).toBe(r.fixtureFrames);
    if (c.path === 'sender' && c.profile.name !== 'none') expect(lossy, 'a loss profile that lost nothing tests nothing').toBe(true);
  });
});
