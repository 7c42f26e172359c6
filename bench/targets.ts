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

/** `r`: the measurement, or the error that stopped it. */
export function restTarget(r: RestResult | Error | undefined): TargetCheck {
  const target = `at rest (journald + files configured, nothing to read): RSS ≤ ${REST_RSS_MB} MB`;
  if (!r || r instanceof Error)
    return { target, value: r ? `not measured: ${r.message}` : 'not measured', pass: undefined };
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
      value:
        `${s.cpuPct.toFixed(1)}% (journalctl ${s.childCpuPct.toFixed(1)}% apart)` +
        (s.cpuUsPerLine ? `; ${s.cpuUsPerLine.toFixed(0)} µs of CPU per line to the last record` : ''),
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
 * Hook for the comparison with the naive SDK script (issue 20 item 2, path (f)): the `perf` helper's
 * `bench/versus.ts` exports `versus(options)`, which runs kata-otel and the script in turns and returns the ratios
 * script time / kata-otel time. Without that file (or that export) the check is printed as not measured.
 */
export interface VersusContext {
  /** The compiled bench build (node_modules/.cache/kata-otel-bench): kata-otel.mjs, sink.mjs, … */
  build: string;
  lines: number;
  runs: number;
}
interface VersusModule {
  versus?: (o: VersusContext & { log?: (line: string) => void }) => Promise<{
    ratios: { format: string; who: string; best: number; median: number; pass: boolean }[];
    rows?: { format: string; who: string; rssMB: number }[];
  }>;
}
/**
 * `backlogRss`: also check the backlog peak RSS on path (f)'s kata-otel runs (`run --once`, the default pipeline
 * with the disk queue, on the script's workloads): `--quick` takes them from there instead of running the backlogs a
 * second time.
 */
export async function versusChecks(
  benchDir: string,
  ctx: VersusContext,
  opts: { backlogRss?: boolean } = {},
): Promise<TargetCheck[]> {
  const target = (f: string) => `${f}: whole default pipeline (run --once) at least as fast as the naive SDK script`;
  const file = `${benchDir}/versus.ts`;
  const mod = existsSync(file) ? ((await import(pathToFileURL(file).href)) as VersusModule) : {};
  if (!mod.versus)
    return ['logfmt', 'json'].map((f) => ({
      target: target(f),
      value: 'not measured (no bench/versus.ts)',
      pass: undefined,
    }));
  const v = await mod.versus({ ...ctx, log: (l) => process.stderr.write(l + '\n') });
  const rss = opts.backlogRss
    ? (v.rows ?? [])
        .filter((r) => r.who === 'kata-otel')
        .map((r) => backlogTarget(`${r.format} (path (f)'s run --once)`, ctx.lines, r.rssMB))
    : [];
  const ratios: TargetCheck[] = v.ratios
    .filter((r) => r.who === 'kata-otel')
    .map((r) => ({
      target: `${target(r.format)} (${ctx.lines.toLocaleString('en-US')} lines, ${ctx.runs} run${ctx.runs > 1 ? 's' : ''})`,
      value: `${r.best.toFixed(2)}× (best of each), ${r.median.toFixed(2)}× (medians)`,
      pass: r.pass,
    }));
  return [...ratios, ...rss];
}

export function formatTargets(checks: TargetCheck[]): string {
  return checks
    .map((t) => `  ${t.pass === undefined ? '----' : t.pass ? 'PASS' : 'FAIL'}  ${t.target}: ${t.value}`)
    .join('\n');
}
