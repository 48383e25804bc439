/**
 * Runs one bench point: a fresh host process (bench/host.ts) with its mediasoup worker, sender and
 * recorders, measured from outside through /proc. Timeline: the host gets ready; an idle window
 * (streams flowing into mediasoup, nothing recorded) gives the host's and the worker's baseline
 * rates; the recordings start; after `settleMs` (start-up, first keyframe) the measurement window
 * of `windowMs` samples every process's CPU at both ends and memory at its end; the recordings stop.
 * Memory is read after a full garbage collection in our Node processes, idle and at the end alike.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostCommand, HostConfig, HostEvent, StartedRecording, StoppedRecording } from './protocol.js';
import { cpuSeconds, memory } from './proc.js';

export interface PointPlan {
  config: HostConfig;
  settleMs: number;
  windowMs: number;
  /** Pause the sender for `ms`, `afterMs` into the window. */
  pause?: { afterMs: number; ms: number };
  /** Write a V8 CPU profile of the host process over the window to this file. */
  cpuProfile?: string;
}

/** A process's CPU over the window (s) and memory at its end (bytes). */
export interface Usage {
  cpuS: number;
  rss: number;
  pss: number;
}

export interface PointResult {
  windowS: number;
  /** CPU s per s of the host and the worker with the streams flowing and nothing recorded, and the host's RSS then. */
  idle: { hostCpuRate: number; workerCpuRate: number; hostRss: number; workerRss: number; udpRecorderRss: number; hostLive: number; udpRecorderLive: number };
  /** Wall time to start every recording, s. */
  startS: number;
  host: Usage;
  worker: Usage;
  sender: Usage;
  udpRecorder?: Usage;
  /** Per-recording processes (ffmpeg, gst-launch), in start order. */
  recorders: Usage[];
  /** Live bytes (V8 heap + external + array buffers after a full GC) of our Node processes at the window's end. */
  live: { host: number; udpRecorder: number };
  senderStartMs: number;
  /** Epoch ms when the sender was told to pause, and when each stream resumed. */
  pausedAtMs?: number;
  resumed: { stream: number; epochMs: number }[];
  failed: { approach: string; error: string }[];
  recordings: StoppedRecording[];
  /** The host's event-loop delay over the window (ours over a DirectTransport records on that loop). */
  loopDelayMs: { p99: number; max: number };
}

const IDLE_SETTLE_MS = 500;
const IDLE_MS = 1500;

export async function runPoint(plan: PointPlan): Promise<PointResult> {
  const host = fork(new URL('./host.ts', import.meta.url).pathname, { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const events: HostEvent[] = [];
  const waiters: ((e: HostEvent) => boolean)[] = [];
  host.on('message', (e: HostEvent) => {
    events.push(e);
    for (const w of [...waiters]) if (w(e)) waiters.splice(waiters.indexOf(w), 1);
  });
  const next = <K extends string>(key: K): Promise<Extract<HostEvent, Record<K, unknown>>> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`bench host exited (code ${code}) waiting for '${key}'`));
      host.once('exit', onExit);
      waiters.push((e) => {
        if (!(key in e)) return false;
        host.off('exit', onExit);
        resolve(e as Extract<HostEvent, Record<K, unknown>>);
        return true;
      });
    });
  const command = (c: HostCommand): void => void host.send(c);
  try {
    command({ config: plan.config });
    const { ready } = await next('ready');
    const { pids } = ready;
    await sleep(IDLE_SETTLE_MS);
    command({ gc: true });
    const { gced: idleLive } = await next('gced');
    const idleMemory = {
      hostRss: memory(pids.host).rss,
      workerRss: memory(pids.worker).rss,
      udpRecorderRss: pids.udpRecorder ? memory(pids.udpRecorder).rss : 0,
      hostLive: idleLive.host,
      udpRecorderLive: idleLive.udpRecorder ?? 0,
    };
    const idle0 = { host: cpuSeconds(pids.host), worker: cpuSeconds(pids.worker), at: performance.now() };
    await sleep(IDLE_MS);
    const idleS = (performance.now() - idle0.at) / 1000;
    const idle = {
      hostCpuRate: (cpuSeconds(pids.host) - idle0.host) / idleS,
      workerCpuRate: (cpuSeconds(pids.worker) - idle0.worker) / idleS,
      ...idleMemory,
    };

    const startAt = performance.now();
    command({ record: true });
    const { recording } = await next('recording');
    const startS = (performance.now() - startAt) / 1000;
    await sleep(plan.settleMs);
    const recorderPids = recording.started.flatMap((r: StartedRecording) => (r.pid ? [r.pid] : []));
    const fixed = { host: pids.host, worker: pids.worker, sender: pids.sender, ...(pids.udpRecorder ? { udpRecorder: pids.udpRecorder } : {}) };
    const cpu0 = { fixed: Object.fromEntries(Object.entries(fixed).map(([k, pid]) => [k, cpuSeconds(pid)])), recorders: recorderPids.map(cpuSeconds), at: performance.now() };
    command({ window: true });
    if (plan.cpuProfile) command({ profile: 'start' });
    let pausedAtMs: number | undefined;
    if (plan.pause) {
      await sleep(plan.pause.afterMs);
      pausedAtMs = performance.timeOrigin + performance.now();
      command({ pause: plan.pause.ms });
      await sleep(plan.windowMs - plan.pause.afterMs);
    } else {
      await sleep(plan.windowMs);
    }
    if (plan.cpuProfile) {
      command({ profile: plan.cpuProfile });
      await next('profiled');
    }
    const windowS = (performance.now() - cpu0.at) / 1000;
    const cpu1 = { fixed: Object.fromEntries(Object.entries(fixed).map(([k, pid]) => [k, cpuSeconds(pid)])), recorders: recorderPids.map(cpuSeconds) };
    command({ gc: true });
    const { gced: live } = await next('gced');
    const fixedUsage = Object.fromEntries(Object.entries(fixed).map(([k, pid]) => [k, { cpuS: cpu1.fixed[k]! - cpu0.fixed[k]!, ...memory(pid) }])) as Record<keyof typeof fixed, Usage>;
    const recorders = recorderPids.map((pid, i) => ({ cpuS: cpu1.recorders[i]! - cpu0.recorders[i]!, ...memory(pid) }));

    command({ stop: true });
    const { stopped } = await next('stopped');
    return {
      windowS,
      idle,
      startS,
      ...fixedUsage,
      recorders,
      live: { host: live.host, udpRecorder: live.udpRecorder ?? 0 },
      senderStartMs: ready.senderStartMs,
      ...(pausedAtMs ? { pausedAtMs } : {}),
      resumed: events.flatMap((e) => ('resumed' in e ? [e.resumed] : [])),
      failed: recording.failed,
      recordings: stopped.recordings,
      loopDelayMs: stopped.loopDelayMs,
    };
  } finally {
    if (host.connected) host.disconnect();
    const exit = once(host, 'exit');
    const killer = setTimeout(() => host.kill('SIGKILL'), 15_000);
    if (host.exitCode === null && host.signalCode === null) await exit;
    clearTimeout(killer);
  }
}
