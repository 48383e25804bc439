/**
 * The impairment matrix as a table: every shared impairment profile (test/helpers/impairer.ts) on
 * each path, for H264 (mp4) and VP8 (webm), through a real mediasoup worker. Per case: video frames
 * in the file against the frames a perfect receiver could decode from what got through (the
 * decodable-frames oracle) and the fixture's, ffmpeg decode errors, and the recorder's NACKs,
 * recoveries and keyframe requests. Paths:
 * - sender, no retransmission: loss before mediasoup is for good;
 * - sender, retransmission: mediasoup NACKs the sender (the replayer answers from its history);
 * - udp: between mediasoup and a recorder fed over UDP, which NACKs mediasoup.
 *
 *   npm run bench:impairment   (writes bench/results/impairment-<date>.{json,md})
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { IMPAIRMENT_PROFILES } from '../test/helpers/impairer.js';
import { measureImpairment, recordImpairmentCases, type ImpairmentCase, type ImpairmentResult } from '../test/helpers/impairment-run.js';
import { tempDir } from '../test/helpers/oracles.js';

const RESULTS = new URL('./results/', import.meta.url).pathname;
const CONCURRENCY = 3;
const PATHS = [
  { path: 'sender', retransmit: false, label: 'sender, no retransmission' },
  { path: 'sender', retransmit: true, label: 'sender, retransmission' },
  { path: 'udp', retransmit: true, label: 'mediasoup -> UDP recorder' },
] as const;
const CODECS = [
  { codec: 'h264', containers: ['mp4'] },
  { codec: 'vp8', containers: ['webm'] },
] as const;

const cases: ImpairmentCase[] = CODECS.flatMap(({ codec, containers }) =>
  PATHS.flatMap(({ path, retransmit }) => IMPAIRMENT_PROFILES.map((profile) => ({ profile, codec, path, retransmit, containers: [...containers] }))),
);

const started = Date.now();
const recordings = await recordImpairmentCases(cases, tempDir('bench-impairment-'), CONCURRENCY);
const results = recordings.map(measureImpairment);

interface Row {
  codec: string;
  container: string;
  path: string;
  profile: string;
  framesInFile: number;
  decodable: number;
  fixtureFrames: number;
  decodeErrors: number;
  packetsLost: number;
  packetsRecovered: number;
  nackRequests: number;
  keyframeRequests: number;
  gaps: number;
  audioDurationS: number;
}

const rows: Row[] = results.flatMap((r: ImpairmentResult) =>
  r.files.map((f) => {
    const video = f.summary.streams.find((s) => s.kind === 'video')!;
    return {
      codec: r.case.codec,
      container: f.container,
      path: PATHS.find((p) => p.path === r.case.path && p.retransmit === r.case.retransmit)!.label,
      profile: r.case.profile.name,
      framesInFile: f.videoFrames,
      decodable: r.oracle.decodable,
      fixtureFrames: r.fixtureFrames,
      decodeErrors: f.decodeErrors ? f.decodeErrors.split('\n').length : 0,
      packetsLost: video.packetsLost,
      packetsRecovered: video.packetsRecovered,
      nackRequests: video.nackRequests,
      keyframeRequests: video.keyframeRequests,
      gaps: f.gaps.filter((g) => g.stream === video.label).length,
      audioDurationS: f.audioDurationS,
    };
  }),
);

const date = new Date().toISOString().slice(0, 10);
mkdirSync(RESULTS, { recursive: true });
writeFileSync(`${RESULTS}impairment-${date}.json`, `${JSON.stringify({ date, elapsedS: (Date.now() - started) / 1000, rows }, null, 2)}\n`);
const table = [
  '| codec | path | impairment | frames in file | decodable (oracle) | decode errors | lost | recovered | NACKed | PLIs | video gaps | audio s |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.codec} ${r.container} | ${r.path} | ${r.profile} | ${r.framesInFile}/${r.fixtureFrames} | ${r.decodable} | ${r.decodeErrors} | ${r.packetsLost} | ` +
      `${r.packetsRecovered} | ${r.nackRequests} | ${r.keyframeRequests} | ${r.gaps} | ${r.audioDurationS.toFixed(2)} |`,
  ),
].join('\n');
writeFileSync(
  `${RESULTS}impairment-${date}.md`,
  `# Impairment matrix, ${date}\n\nFixtures replayed at 2x through mediasoup 3.8.4; one seeded impairer per case (same packets lost every run). ` +
    `"decodable" is what a perfect receiver could decode without concealment from what got through; a file must never hold more.\n\n${table}\n`,
);
console.log(table);
const over = rows.filter((r) => r.framesInFile > r.decodable || r.decodeErrors > 0);
console.log(`\n${rows.length} files in ${((Date.now() - started) / 1000).toFixed(0)} s; ${over.length} with a frame that could not be decoded cleanly or a decode error`);
process.exit(over.length > 0 ? 1 : 0);
