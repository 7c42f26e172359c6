// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, the top N, as `bench/run.ts --profile`
// prints them.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  fn: string;
  where: string;
  selfMs: number;
  pct: number;
}

export function topFunctions(file: string, root: string, n = 15): { totalMs: number; top: ProfileEntry[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<ProfileNode, number>();
  // Self time from the samples and their time deltas (exact), not hitCount × average interval.
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i] as number);
    if (!node) continue;
    const dt = (deltas[i + 1] ?? 0) / 1000;
    self.set(node, (self.get(node) ?? 0) + dt);
  }
  const agg = new Map<string, ProfileEntry>();
  let total = 0;
  for (const [node, ms] of self) {
    total += ms;
    const { functionName, url, lineNumber } = node.callFrame;
    const fn = functionName || (url ? '(anonymous)' : '(native)');
    const path = url.startsWith('file://') ? relative(root, new URL(url).pathname) : url;
    const where = path ? `${path}:${lineNumber + 1}` : '';
    const key = `${fn} ${where}`;
    const e = agg.get(key) ?? { fn, where, selfMs: 0, pct: 0 };
    e.selfMs += ms;
    agg.set(key, e);
  }
  const top = [...agg.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, n);
  for (const e of top) e.pct = total > 0 ? (100 * e.selfMs) / total : 0;
  return { totalMs: total, top };
}

export function formatTop(t: { totalMs: number; top: ProfileEntry[] }): string {
  const lines = [`sampled ${(t.totalMs / 1000).toFixed(2)} s (self time)`];
  for (const e of t.top)
    lines.push(`${e.pct.toFixed(1).padStart(5)}%  ${(e.selfMs / 1000).toFixed(2).padStart(6)} s  ${e.fn}  ${e.where}`);
  return lines.join('\n');
}

/** Self time per source file (module), the top N: which part of the receiver the time goes to. */
export function topFiles(file: string, root: string, n = 12): { totalMs: number; top: ProfileEntry[] } {
  const all = topFunctions(file, root, Number.MAX_SAFE_INTEGER);
  const agg = new Map<string, ProfileEntry>();
  for (const e of all.top) {
    const f = e.where ? e.where.replace(/:\d+$/, '') : e.fn;
    const x = agg.get(f) ?? { fn: f, where: '', selfMs: 0, pct: 0 };
    x.selfMs += e.selfMs;
    agg.set(f, x);
  }
  const top = [...agg.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, n);
  for (const e of top) e.pct = all.totalMs > 0 ? (100 * e.selfMs) / all.totalMs : 0;
  return { totalMs: all.totalMs, top };
}
