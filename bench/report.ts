/**
 * The report: markdown tables and two SVG charts from one run's results, ratios computed from the
 * same run, targets checked (and, where missed, by how much and where the time goes).
 */
import type { CostResult, CostSummary, ScaleResult } from './cost.js';
import type { OfflineResult } from './offline.js';
import type { ProfileSummary } from './profile.js';
import { APPROACHES, type Approach } from './protocol.js';
import type { PauseFile, QualityFile, QualitySummary } from './quality.js';
import { lineChart } from './svg.js';
import type { Spread } from './stats.js';

export interface BenchResults {
  date: string;
  machine: Record<string, unknown>;
  input: { description: string; packetsPerS: number; videoMbps: number; audioKbps: number };
  settings: Record<string, unknown>;
  cost?: CostResult;
  scale?: ScaleResult[];
  quality?: { files: QualityFile[]; summary: QualitySummary[] };
  pause?: PauseFile[];
  offline?: OfflineResult;
  profiles?: { live?: ProfileSummary; liveOf?: string; offline?: ProfileSummary };
}

const NAMES: Record<Approach, string> = { 'ours-direct': 'ours (DirectTransport)', 'ours-udp': 'ours (UDP)', ffmpeg: 'ffmpeg', gstreamer: 'GStreamer' };
const TARGETS = { cpuRatio: 0.1, rssRatio: 1 / 50, scaleRatio: 5, offlineMBps: 300 };
/** From this many recordings on, ours' RSS growth per recording stands clear of the Node process's own noise (tens of MB). */
const MIN_RSS_COUNT = 50;

const f = (v: number | undefined, digits = 2): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const sp = (s: Spread, digits = 2, scale = 1): string => `${f(s.median * scale, digits)} (${f(s.min * scale, digits)}–${f(s.max * scale, digits)})`;
const table = (head: string[], rows: string[][]): string => [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

function costTables(cost: CostResult): string {
  const counts = [...new Set(cost.summary.map((s) => s.n))];
  const get = (a: Approach, n: number): CostSummary | undefined => cost.summary.find((s) => s.approach === a && s.n === n);
  const ratio = (ours: Approach, base: Approach, n: number, key: 'cpu' | 'rss' | 'pss'): string => f(cost.ratios.find((r) => r.ours === ours && r.baseline === base && r.n === n)?.[key], 3);
  const out: string[] = [];
  out.push('### Recorder-side CPU per recording', '', 'CPU seconds per minute of recorded media, per recording: median (min–max) of the repeats.', '');
  const cpu = (a: Approach, n: number): string => {
    const s = get(a, n);
    return s ? `${sp(s.recorderCpuPerMin, 3)}${s.filesOk < s.files ? ' *' : ''}` : '–';
  };
  out.push(table(['recordings', ...APPROACHES.map((a) => NAMES[a]), 'ours (Direct) / ffmpeg', 'ours (Direct) / GStreamer', 'ours (UDP) / ffmpeg'], counts.map((n) => [String(n), ...APPROACHES.map((a) => cpu(a, n)), ratio('ours-direct', 'ffmpeg', n, 'cpu'), ratio('ours-direct', 'gstreamer', n, 'cpu'), ratio('ours-udp', 'ffmpeg', n, 'cpu')])));
  out.push('', '\\* not every file of that count was whole (see Files): those recorders were not keeping up, so their CPU is not what keeping up costs.');
  out.push('', 'The same per RTP packet delivered to the recorders (µs), and the mediasoup worker\'s consumer side (µs per packet, net of its idle rate), reported apart:', '');
  out.push(table(['recordings', ...APPROACHES.map((a) => `${NAMES[a]} recorder`), ...APPROACHES.map((a) => `${NAMES[a]} worker`)], counts.map((n) => [String(n), ...APPROACHES.map((a) => (get(a, n) ? sp(get(a, n)!.recorderUsPerPacket, 1) : '–')), ...APPROACHES.map((a) => (get(a, n) ? sp(get(a, n)!.workerUsPerPacket, 1) : '–'))])));
  out.push(
    '',
    '### Memory per recording',
    '',
    `MB per recording. ffmpeg and GStreamer: the RSS of their process (PSS, which shares library pages among the processes, in brackets). Ours: the growth of the recording process\'s RSS over its idle size, divided by the recordings; in brackets the growth of its live V8 heap and buffers (after a full GC), which at few recordings is the meaningful figure: a Node process\'s RSS moves by tens of MB with V8\'s heap sizing alone (so no RSS ratio below ${MIN_RSS_COUNT} recordings).`,
    '',
  );
  out.push(table(['recordings', ...APPROACHES.map((a) => NAMES[a]), 'ours (Direct) / ffmpeg RSS', 'ours (Direct) / ffmpeg PSS'], counts.map((n) => [String(n), ...APPROACHES.map((a) => {
    const s = get(a, n);
    if (!s) return '–';
    return a.startsWith('ours') ? `${sp(s.rssPerRecording, 2, 1e-6)} [${f(s.livePerRecording.median / 1e6, 2)}]` : `${sp(s.rssPerRecording, 1, 1e-6)} [${f(s.pssPerRecording.median / 1e6, 1)}]`;
  }), ...(n >= MIN_RSS_COUNT ? [ratio('ours-direct', 'ffmpeg', n, 'rss'), ratio('ours-direct', 'ffmpeg', n, 'pss')] : ['–', '–'])])));
  const fixed = (a: Approach): string => f(Math.max(...cost.summary.filter((s) => s.approach === a).map((s) => s.fixedRss)) / 1e6, 0);
  out.push('', `Fixed size before recording: the Node process hosting mediasoup (and, for DirectTransport, the recorders) ${fixed('ours-direct')} MB RSS (it exists anyway in a mediasoup application); ours' UDP recorder process ${fixed('ours-udp')} MB.`);
  out.push('', '### Files', '', table(['recordings', ...APPROACHES.map((a) => NAMES[a])], counts.map((n) => [String(n), ...APPROACHES.map((a) => (get(a, n) ? `${get(a, n)!.filesOk}/${get(a, n)!.files}` : '–'))])));
  const problems = [...new Set(cost.points.flatMap((p) => p.problems))];
  if (problems.length) out.push('', 'Problems seen:', '', ...problems.slice(0, 12).map((p) => `- ${p}`));
  return out.join('\n');
}

function scaleTable(scale: ScaleResult[]): string {
  const ffmpeg = scale.find((s) => s.approach === 'ffmpeg')?.max;
  const rows = table(
    ['approach', 'most concurrent recordings, every file whole', 'vs ffmpeg', 'stopped at'],
    scale.map((s) => [NAMES[s.approach], String(s.max), ffmpeg ? `${f(s.max / ffmpeg, 2)}x` : '–', s.stoppedAt]),
  );
  const oneOff = scale.filter((s) => s.oneOffFailures.length).map((s) => `${NAMES[s.approach]} at ${s.oneOffFailures.join(', ')}`);
  return oneOff.length ? `${rows}

One-off failures below the maximum, in the cost stage (see its files table): ${oneOff.join('; ')}.` : rows;
}

function qualityTables(q: { summary: QualitySummary[] }, pause: PauseFile[] | undefined): string {
  const profiles = [...new Set(q.summary.map((s) => s.profile))];
  const get = (a: Approach, p: string): QualitySummary => q.summary.find((s) => s.approach === a && s.profile === p)!;
  const out: string[] = [];
  out.push(
    'Per cell: frames in the file / decoded intact (identical to the encoder\'s picture) / decoded with concealment (grey or smeared: "corrupt"), against the frames a perfect receiver could decode from what reached that recorder (the oracle, in brackets; NACK recoveries count for those that NACK). Medians of the repeats.',
    '',
  );
  out.push(table(['profile', ...APPROACHES.map((a) => NAMES[a])], profiles.map((p) => [p, ...APPROACHES.map((a) => {
    const s = get(a, p);
    return `${f(s.framesPresent, 0)} / ${f(s.intact, 0)} / ${f(s.corrupt, 0)} (${f(s.decodable, 0)})`;
  })])));
  out.push('', 'ffmpeg decode errors (lines of `ffmpeg -v error`), A/V offset (median of the beeps, ms; positive: audio late; the source has Opus\'s 6.5 ms pre-skip), time from asking for the recording to its first intact frame (s; mostly the wait for the next keyframe, every 2 s):', '');
  out.push(table(['profile', ...APPROACHES.map((a) => `${NAMES[a]} errors / A/V / first`)], profiles.map((p) => [p, ...APPROACHES.map((a) => {
    const s = get(a, p);
    return `${f(s.decodeErrors, 0)} / ${f(s.avOffsetMs, 0)} / ${f(s.firstFrameS, 2)}`;
  })])));
  const unclean = q.summary.filter((s) => s.stopsOk < s.runs);
  if (unclean.length) out.push('', `Did not stop cleanly: ${unclean.map((s) => `${NAMES[s.approach]} (${s.profile}) ${s.runs - s.stopsOk} of ${s.runs}`).join(', ')}.`);
  if (pause?.length) {
    out.push('', '### The sender pauses for 30 s', '', 'The sender stops sending for 30 s in the middle of every approach\'s recording, then resumes at its next keyframe with timestamps that ran on (as a live source). One row per run.', '');
    out.push(table(['approach', 'stopped cleanly', 'intact frames before + after', 'gap in the file (s) / real (s)', 'audio length − video length (s)', 'A/V offset after (ms)', 'decode errors'], pause.map((p) => [
      NAMES[p.approach],
      p.stopOk ? 'yes' : `no: ${p.stopDetail}`,
      `${p.intactBefore} + ${p.intactAfter}`,
      `${f(p.fileGapS)} / ${f(p.realGapS)}`,
      f(p.audioMinusVideoS),
      f(p.avOffsetAfterMs, 0),
      String(p.decodeErrors),
    ])));
  }
  return out.join('\n');
}

function offlineTable(o: OfflineResult): string {
  return [
    `${f(o.mediaBytes / 1e6, 1)} MB of media (RTP packets), ${o.packets} packets, ${o.mediaSeconds} s; CPU s per conversion, median (min–max):`,
    '',
    table(['', 'CPU s', 'MB/s of media per core', 'packets/s'], [
      ['ours: pcap -> fMP4 (read, split, jitter buffer, depacketize, mux, write)', sp(o.oursCpuS, 3), sp(o.oursMBps, 0), sp(o.oursPacketsPerS, 0)],
      ['ffmpeg -c copy: MP4 -> MP4 (the ceiling: no RTP)', sp(o.ffmpegCpuS, 3), sp(o.ffmpegMBps, 0), '–'],
    ]),
    '',
    `Ours' first conversion in a fresh process (JIT cold): ${f(o.oursColdCpuS, 2)} s. Output checked: ${o.outputOk ? 'whole' : o.outputProblems.join('; ')}.`,
  ].join('\n');
}

function profileText(title: string, p: ProfileSummary): string {
  return [
    `${title} (${f(p.busyMs, 0)} ms sampled, idle excluded). By area:`,
    '',
    p.areas.map((a) => `${a.area} ${f(a.share * 100, 1)} %`).join(', '),
    '',
    table(['self time', 'function', 'where'], p.top.map((t) => [`${f(t.share * 100, 1)} %`, `\`${t.fn}\``, t.where])),
    '',
    'Native functions have no file: `writeBuffers` is the file writes, `(program)` V8 and libuv outside JavaScript.',
  ].join('\n');
}

function targets(r: BenchResults): string {
  const rows: string[][] = [];
  for (const ratio of r.cost?.ratios.filter((x) => x.ours === 'ours-direct' && x.baseline === 'ffmpeg') ?? []) {
    rows.push([`recorder CPU per recording, ${ratio.n} recordings`, `<= ${TARGETS.cpuRatio}`, f(ratio.cpu, 3), ratio.cpu <= TARGETS.cpuRatio ? 'met' : `missed: ${f(ratio.cpu / TARGETS.cpuRatio, 1)}x the target`]);
  }
  // At few recordings ours' memory per recording is below what a Node process's size can resolve (see the memory table).
  for (const ratio of r.cost?.ratios.filter((x) => x.ours === 'ours-direct' && x.baseline === 'ffmpeg' && x.n >= MIN_RSS_COUNT) ?? []) {
    rows.push([`RSS per recording, ${ratio.n} recordings`, `<= ${f(TARGETS.rssRatio, 3)}`, f(ratio.rss, 4), ratio.rss <= TARGETS.rssRatio ? 'met' : `missed: ${f(ratio.rss / TARGETS.rssRatio, 1)}x the target`]);
  }
  const ours = r.scale?.find((s) => s.approach === 'ours-direct');
  const ffmpeg = r.scale?.find((s) => s.approach === 'ffmpeg');
  if (ours && ffmpeg && ffmpeg.max > 0) {
    const x = ours.max / ffmpeg.max;
    rows.push(['concurrent whole real-time recordings', `>= ${TARGETS.scaleRatio}x`, `${f(x, 2)}x (${ours.max} vs ${ffmpeg.max})`, x >= TARGETS.scaleRatio ? 'met' : `missed: ${f(TARGETS.scaleRatio / x, 1)}x short`]);
  }
  if (r.offline) {
    const v = r.offline.oursMBps.median;
    rows.push(['pcap conversion, MB/s of media per core', `>= ${TARGETS.offlineMBps}`, f(v, 0), v >= TARGETS.offlineMBps ? 'met' : `missed: ${f(TARGETS.offlineMBps / v, 1)}x short`]);
  }
  return table(['target (ours over DirectTransport / ffmpeg)', 'target', 'measured', ''], rows);
}

export function costChart(cost: CostResult): string {
  const counts = [...new Set(cost.summary.map((s) => s.n))];
  return lineChart({
    title: 'Recorder-side CPU per recording vs concurrent recordings',
    xLabel: 'concurrent recordings',
    yLabel: 'CPU s per minute of media (log)',
    categories: counts.map(String),
    log: true,
    series: APPROACHES.map((a) => ({ name: NAMES[a], values: counts.map((n) => cost.summary.find((s) => s.approach === a && s.n === n)?.recorderCpuPerMin.median ?? null) })),
  });
}

export function qualityChart(q: { summary: QualitySummary[] }): string {
  const profiles = [...new Set(q.summary.map((s) => s.profile))];
  const pct = (a: Approach, p: string, key: 'framesPresent' | 'intact'): number | null => {
    const s = q.summary.find((x) => x.approach === a && x.profile === p);
    return s?.sent ? (100 * s[key]) / s.sent : null;
  };
  return lineChart({
    title: 'Frames in the file (solid) and decoded intact (dashed) vs impairment',
    xLabel: 'impairment of the path from mediasoup to the recorder',
    yLabel: '% of the frames sent',
    categories: profiles,
    series: APPROACHES.flatMap((a, i) => [
      { name: `${NAMES[a]} present`, values: profiles.map((p) => pct(a, p, 'framesPresent')), color: i },
      { name: `${NAMES[a]} intact`, values: profiles.map((p) => pct(a, p, 'intact')), color: i, dashed: true },
    ]),
  });
}

export function report(r: BenchResults, charts: { cost?: string; quality?: string }): string {
  const m = r.machine;
  const out: string[] = [
    `# Recording benchmark: ours vs ffmpeg vs GStreamer, ${r.date.slice(0, 10)}`,
    '',
    `Made by \`npm run bench\` (bench/run.ts) in one run on one machine: ${m.cpus} × ${m.cpu}, ${f(m.memoryGiB as number, 0)} GiB, Node ${m.node}, mediasoup ${m.mediasoup}, ${m.ffmpeg}, GStreamer ${m.gstreamer}. Load average before/after: ${(m.loadBefore as number[]).map((x) => x.toFixed(2)).join(' ')} / ${(m.loadAfter as number[] | undefined)?.map((x) => x.toFixed(2)).join(' ') ?? '–'} (anything above ~0.1 is other work sharing the two cores).`,
    '',
    `Input: ${r.input.description}; ${f(r.input.videoMbps, 2)} Mbps of video RTP + ${f(r.input.audioKbps, 0)} kbps of audio RTP, ${f(r.input.packetsPerS, 0)} packets/s per recording. Settings: ${JSON.stringify(r.settings)}.`,
    '',
    '## Method',
    '',
    '- Every point runs in fresh processes: a Node process hosting mediasoup 3.8.4 (one worker, one router) as an application server does; a sender process playing up to 10 live copies of the capture (distinct SSRCs, phases spread over the 2 s GOP) over UDP into PlainTransport producers (comedia); recording i records copy i mod 10. The sender\'s CPU is never counted.',
    '- ours (DirectTransport): `new Recorder({ router, producers, output })` in the mediasoup process; its recorder-side CPU is that process\'s CPU minus its own idle rate measured just before in the same run (streams flowing, nothing recorded). ours (UDP): `sendToRecorder` + one `RtpUdpEndpoint` in a recorder process of its own. ffmpeg and GStreamer: the community recipe (two PlainTransports with rtcpMux and comedia off, four ports, a process per recording; see bench/baselines.ts).',
    "- Our Node processes are warmed up before they are measured (bench/warm-up.ts: the pipeline converts the capture 3 times, output discarded), as in an application server that has recorded before: a fresh process compiles the hot code on first use, a cost paid once per process, not per recording (the offline section shows its size).",
    `- CPU: the sum of all threads' run time from /proc/<pid>/task/*/schedstat over a window after start-up (${r.settings.settleS} s settle; windows per count in the settings above); memory: RSS (and PSS) at the window's end. The mediasoup worker is measured the same way, net of its idle rate, and reported apart.`,
    '- Every output file is decoded by ffmpeg before it counts: every picture must be identical to one of the encoder\'s, one after the other with none missing, the audio without a hole, and `ffmpeg -v error` silent.',
    '',
    '## Targets',
    '',
    targets(r),
  ];
  if (r.cost) out.push('', '## Cost per recording', '', ...(charts.cost ? [`![cost](${charts.cost})`, ''] : []), costTables(r.cost));
  if (r.scale) out.push('', '## Scale', '', `Concurrent real-time recordings (${r.settings.scaleWindowS} s window after ${r.settings.settleS} s settle), counts tried upward from the largest one the cost stage passed in every repeat, until the first failure, then halved down to 25 recordings; ours over a DirectTransport also fails a step if its event loop runs more than 500 ms late (p99).`, '', scaleTable(r.scale));
  if (r.quality) out.push('', '## Quality under impairment', '', ...(charts.quality ? [`![quality](${charts.quality})`, ''] : []), qualityTables(r.quality, r.pause));
  if (r.offline) out.push('', '## Offline: pcap -> file', '', offlineTable(r.offline));
  if (r.profiles?.live || r.profiles?.offline) {
    out.push('', '## Where the time goes');
    if (r.profiles.live) out.push('', profileText(`ours (DirectTransport), the mediasoup process over the measurement window, ${r.profiles.liveOf}`, r.profiles.live));
    if (r.profiles.offline) out.push('', profileText('Offline conversion, one warm run', r.profiles.offline));
  }
  out.push('');
  return out.join('\n');
}
