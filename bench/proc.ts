/**
 * Per-process CPU and memory from /proc, read from outside the measured processes: CPU as the sum
 * of every thread's scheduler run time (/proc/<pid>/task/<tid>/schedstat, nanoseconds; /proc/<pid>/stat
 * counts only 10 ms ticks), memory as VmRSS and, from smaps_rollup, PSS (which shares the pages of
 * libraries among the processes that map them: a fairer figure for 200 ffmpeg processes).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds used so far by all threads of `pid` alive now; NaN when the process is gone. */
export function cpuSeconds(pid: number): number {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    return NaN;
  }
  return ns / 1e9;
}

/** CPU seconds of the children `pid` has waited for (cutime + cstime of /proc/<pid>/stat). */
export function reapedChildrenCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of stat (cutime, cstime), counted from the state field (3rd) on.
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

export interface Memory {
  /** Resident set, bytes. */
  rss: number;
  /** Proportional set size, bytes. */
  pss: number;
}

/** RSS and PSS of `pid`; zeros when the process is gone. */
export function memory(pid: number): Memory {
  const kb = (text: string, key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return { rss: kb(rollup, 'Rss'), pss: kb(rollup, 'Pss') };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/** UDP ports bound on 127.0.0.1 / 0.0.0.0 right now (from /proc/net/udp). */
export function boundUdpPorts(): Set<number> {
  const ports = new Set<number>();
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const local = line.trim().split(/\s+/)[1];
    if (local) ports.add(parseInt(local.split(':')[1]!, 16));
  }
  return ports;
}
