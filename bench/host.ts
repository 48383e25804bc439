/**
 * One bench point in a fresh process: this process runs mediasoup (one worker, one router) the way
 * an application server does, with `streams` live H264 + Opus streams arriving from the sender
 * process over PlainTransports, and the recordings of one or more approaches. For ours over a
 * DirectTransport the recorders live here too, so this process's CPU beyond its idle baseline is
 * ours; for the others it only runs mediasoup's control channel. The bench runner (bench/run.ts)
 * drives it over IPC and measures every process from outside, through /proc.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { mediaCodecsFor } from '../src/replay/replayer.js';
import { startBaseline, type Recording } from './baselines.js';
import { ensureCapture } from './capture.js';
import { startOursDirect, UdpRecorderProcess } from './ours.js';
import { startProfiling } from './profile.js';
import { warmUpPipeline } from './warm-up.js';
import { liveBytes, type Approach, type HostCommand, type HostConfig, type HostEvent, type SenderCommand, type SenderEvent, type SenderStream, type StartedRecording } from './protocol.js';

/** Starting many recorders at once on two cores: this many in flight. */
const START_CONCURRENCY = 16;
const FIRST_BASELINE_PORT = 20_000;

const send = (event: HostEvent): void => void process.send!(event);
const capture = ensureCapture();
const [[message]] = [await once(process, 'message')] as [[{ config: HostConfig }]];
const config = message.config;
mkdirSync(config.dir, { recursive: true });

const worker = await mediasoup.createWorker({ logLevel: 'error', rtcMinPort: 40_000, rtcMaxPort: 49_999 });
const router = await worker.createRouter({ mediaCodecs: mediaCodecsFor([capture.video, capture.audio]) });
const producerPairs: types.Producer[][] = [];
const senderStreams: SenderStream[] = [];
for (let i = 0; i < config.streams; i++) {
  const transport = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
  const ssrcs = { video: 10_000 + 2 * i, audio: 10_001 + 2 * i };
  const pair: types.Producer[] = [];
  for (const stream of [capture.video, capture.audio]) {
    pair.push(
      await transport.produce({
        kind: stream.kind,
        rtpParameters: {
          mid: stream.mid,
          codecs: [{ mimeType: stream.mimeType, payloadType: stream.payloadType, clockRate: stream.clockRate, channels: stream.channels, parameters: stream.parameters, rtcpFeedback: [] }],
          headerExtensions: stream.headerExtensions.map(({ uri, id }) => ({ uri, id }) as types.RtpHeaderExtensionParameters),
          encodings: [{ ssrc: ssrcs[stream.kind] }],
          rtcp: { cname: `bench-${i}` },
        },
      }),
    );
  }
  producerPairs.push(pair);
  // Phases spread the streams' keyframes over the 2 s GOP.
  senderStreams.push({ port: transport.tuple.localPort, videoSsrc: ssrcs.video, audioSsrc: ssrcs.audio, phaseMs: Math.round((i * 2000) / config.streams) });
}

const sender = fork(new URL('./sender.ts', import.meta.url).pathname, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
sender.send({ streams: senderStreams } satisfies SenderCommand);
const [started] = (await once(sender, 'message')) as [{ started: number }];
sender.on('message', (event: SenderEvent) => {
  if ('resumed' in event) send(event);
});
const udpRecorder = config.groups.some((g) => g.approach === 'ours-udp') ? await UdpRecorderProcess.start() : undefined;
if (config.groups.some((g) => g.approach === 'ours-direct')) await warmUpPipeline(capture);

send({
  ready: {
    pids: { host: process.pid, worker: worker.pid, sender: sender.pid!, ...(udpRecorder ? { udpRecorder: udpRecorder.pid } : {}) },
    senderStartMs: started.started,
  },
});

const running: { info: StartedRecording; recording: Recording }[] = [];
/** How late this process's event loop ran during the window: a recorder that cannot keep up shows here first. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

async function startAll(): Promise<void> {
  const jobs = config.groups.flatMap((g) => Array.from({ length: g.count }, () => g));
  const failed: { approach: Approach; error: string }[] = [];
  let next = 0;
  const startOne = async (i: number): Promise<void> => {
    const { approach, profile } = jobs[i]!;
    const stream = i % config.streams;
    const producers = producerPairs[stream]!;
    const output = join(config.dir, `${approach}-${i}.mp4`);
    try {
      const recording =
        approach === 'ours-direct'
          ? await startOursDirect(router, producers, output, profile)
          : approach === 'ours-udp'
            ? await udpRecorder!.record(router, producers, output, profile)
            : await startBaseline(approach, router, producers, output, FIRST_BASELINE_PORT + 4 * i, profile);
      running.push({ info: { approach, output, stream, requestedAtMs: recording.requestedAtMs, ...(recording.pid ? { pid: recording.pid } : {}) }, recording });
    } catch (error) {
      failed.push({ approach, error: (error as Error).message });
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(START_CONCURRENCY, jobs.length) }, async () => {
      while (next < jobs.length) await startOne(next++);
    }),
  );
  send({ recording: { started: running.map((r) => r.info), failed } });
}

let stopped = false;
async function stopAll(): Promise<void> {
  stopped = true;
  const loopDelayMs = { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
  // All at once while media still flows: an ffmpeg that gets no more packets never reads its 'q'.
  const results = await Promise.all(
    running.map(async ({ info, recording }) => {
      const result = await recording.stop().catch((error: Error) => ({ ok: false, detail: error.message }));
      const oracle = recording.oracle();
      return { ...info, ...result, ...(oracle ? { oracle } : {}) };
    }),
  );
  send({ stopped: { recordings: results, loopDelayMs } });
}

/** V8's sampling profiler over the measurement window only (not start-up): started by 'start', written to the path given next. */
let stopProfiling: ((path: string) => Promise<void>) | undefined;
async function profile(to: string): Promise<void> {
  if (to === 'start') {
    stopProfiling = await startProfiling();
    return;
  }
  await stopProfiling!(to);
  send({ profiled: to });
}

/** Before the bench reads memory: garbage collected here and in ours' UDP recorder process, so RSS counts live data. */
async function collectGarbage(): Promise<void> {
  globalThis.gc!();
  const udp = await udpRecorder?.gc();
  send({ gced: { host: liveBytes(), ...(udp === undefined ? {} : { udpRecorder: udp }) } });
}

process.on('message', (command: HostCommand) => {
  if ('gc' in command) void collectGarbage();
  else if ('record' in command) void startAll();
  else if ('window' in command) loopDelay.reset();
  else if ('profile' in command) void profile(command.profile);
  else if ('pause' in command) sender.send({ pause: { ms: command.pause } } satisfies SenderCommand);
  else if ('stop' in command) void stopAll();
});
process.on('disconnect', () => {
  // The runner went away mid-point (interrupted): no recorder process may outlive it.
  if (!stopped) {
    for (const { info } of running) {
      try {
        if (info.pid) process.kill(info.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  udpRecorder?.close();
  sender.disconnect();
  worker.close();
});
