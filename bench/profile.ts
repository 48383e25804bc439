/**
 * Where the time goes: a V8 CPU profile (`node --cpu-prof`) summed by self time, per function and
 * per area (our src/ by directory, mediasoup's Node side, Node internals, GC, idle).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

/** Starts V8's sampling profiler in this process; the function it resolves to stops it and writes the profile to `path`. */
export async function startProfiling(): Promise<(path: string) => Promise<void>> {
  const session = new Session();
  session.connect();
  const post = (method: string): Promise<unknown> => new Promise((resolve, reject) => session.post(method, (error, result) => (error ? reject(error) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return async (path) => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    writeFileSync(path, JSON.stringify(profile));
    session.disconnect();
  };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

export interface ProfileSummary {
  /** Sampled ms, idle excluded. */
  busyMs: number;
  /** Share of busy time per area, descending. */
  areas: { area: string; share: number }[];
  /** The functions with the most self time. */
  top: { fn: string; where: string; share: number }[];
}

function areaOf(url: string, fn: string): string {
  if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') return fn;
  const src = /\/src\/([^/]+)\//.exec(url) ?? /\/src\/([^/]+\.ts)/.exec(url);
  if (src && !url.includes('node_modules')) return `src/${src[1]}`;
  if (url.includes('node_modules/mediasoup/')) return 'mediasoup (Node side)';
  if (url.includes('/bench/') || url.includes('/test/')) return 'bench harness';
  if (url.startsWith('node:') || url === '') return 'Node internals';
  return 'other';
}

export function summarizeProfile(path: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // The profiler's own stop call (the inspector session's post) is sampled too: left out.
  const profilerOwn = new Set<number>();
  const markOwn = (id: number): void => {
    profilerOwn.add(id);
    for (const child of byId.get(id)!.children ?? []) markOwn(child);
  };
  for (const n of profile.nodes) if (n.callFrame.url === 'node:inspector') markOwn(n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFn = new Map<string, { fn: string; where: string; us: number; area: string }>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    if (profilerOwn.has(id)) continue;
    const { functionName, url } = byId.get(id)!.callFrame;
    const fn = functionName || '(anonymous)';
    const area = areaOf(url, fn);
    if (area === '(idle)') continue;
    busyUs += us;
    // Files only: tsx's transpiled code puts everything on its first lines, and V8's profile knows no source maps.
    const where = url.replace(/^.*\/(src|node_modules|bench|test)\//, '$1/');
    const key = `${fn}@${where}`;
    const entry = byFn.get(key) ?? { fn, where, us: 0, area };
    entry.us += us;
    byFn.set(key, entry);
  }
  const areas = new Map<string, number>();
  for (const e of byFn.values()) areas.set(e.area, (areas.get(e.area) ?? 0) + e.us);
  return {
    busyMs: busyUs / 1000,
    areas: [...areas].map(([area, us]) => ({ area, share: us / busyUs })).sort((a, b) => b.share - a.share),
    top: [...byFn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ fn: e.fn, where: e.where, share: e.us / busyUs })),
  };
}
