// Issue 20's targets, checked from one bench run: memory at rest and under a backlog, the steady-state CPU and
// latency, and the ratio against the naive SDK script (bench/versus.ts, when present).
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { RestResult } from './rest.js';
import type { SteadyResult } from './steady.js';

export interface TargetCheck {
  target: string;
  value: string;
  /** undefined: not measured in this run. */
  pass: boolean | undefined;
}

export const REST_RSS_MB = 70;
export const BACKLOG_RSS_MB = 120;
export const STEADY_CPU_PCT = 5;
export const STEADY_CPU_RATE = 2000;
export const P99_MS = 2000;

export function restTarget(r: RestResult | undefined): TargetCheck {
  const target = `at rest (journald + files configured, nothing to read): RSS ≤ ${REST_RSS_MB} MB`;
  if (!r || r.problems.length) return { target, value: r ? r.problems.join('; ') : 'not measured', pass: undefined };
  return { target, value: `${r.rssMB.toFixed(0)} MB`, pass: r.rssMB <= REST_RSS_MB };
}

export function backlogTarget(label: string, lines: number, peakMB: number | undefined): TargetCheck {
  const target =
    `${label}, ${lines.toLocaleString('en-US')}-line backlog, disk queue: peak RSS ≤ ${BACKLOG_RSS_MB} MB` +
    (lines < 1_000_000 ? ' (indicative: the target is set for a 1M-line backlog)' : '');
  if (peakMB === undefined) return { target, value: 'not measured', pass: undefined };
  return { target, value: `${peakMB.toFixed(0)} MB`, pass: peakMB <= BACKLOG_RSS_MB };
}

export function steadyTargets(s: SteadyResult): TargetCheck[] {
  const at = `steady ${s.rate.toLocaleString('en-US')} lines/s for ${s.seconds} s`;
  const out: TargetCheck[] = [];
  if (s.rate <= STEADY_CPU_RATE)
    out.push({
      target: `${at}: CPU ≤ ${STEADY_CPU_PCT}% of one core`,
      value: `${s.cpuPct.toFixed(1)}% (journalctl ${s.childCpuPct.toFixed(1)}% apart)`,
      pass: s.cpuPct <= STEADY_CPU_PCT,
    });
  out.push({
    target: `${at}: p99 latency write → receiver ≤ ${P99_MS / 1000} s`,
    value: `p50 ${fmtMs(s.latency.p50)}, p99 ${fmtMs(s.latency.p99)}, ${s.latency.received.toLocaleString('en-US')}/${s.writer.written.toLocaleString('en-US')} delivered`,
    pass: s.latency.received === s.writer.written && s.latency.p99 <= P99_MS,
  });
  return out;
}

const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

/**
 * Hook for the comparison with the naive SDK script (issue 20 item 2, path (f)): `bench/versus.ts` exports
 * `versusTargets(context)`, which runs its interleaved comparison and returns one check per workload. Without that
 * file the check is printed as not measured.
 */
export interface VersusContext {
  /** The compiled bench build (node_modules/.cache/kata-otel-bench): kata-otel.mjs, sink.mjs, … */
  build: string;
  sinkPort: number;
  lines: number;
  quick: boolean;
  env: NodeJS.ProcessEnv;
}
export async function versusChecks(benchDir: string, ctx: VersusContext): Promise<TargetCheck[]> {
  const file = `${benchDir}/versus.ts`;
  const notMeasured: TargetCheck[] = [
    {
      target: 'whole default pipeline ≥ 1× the naive SDK script (logfmt, json)',
      value: 'not measured',
      pass: undefined,
    },
  ];
  if (!existsSync(file)) return notMeasured;
  const mod = (await import(pathToFileURL(file).href)) as {
    versusTargets?: (c: VersusContext) => Promise<TargetCheck[]>;
  };
  return mod.versusTargets ? mod.versusTargets(ctx) : notMeasured;
}

export function formatTargets(checks: TargetCheck[]): string {
  return checks
    .map((t) => `  ${t.pass === undefined ? '----' : t.pass ? 'PASS' : 'FAIL'}  ${t.target}: ${t.value}`)
    .join('\n');
}
