// Path (f): kata-otel against the naive OTel-SDK script a Node developer would write instead (issue 20 item 2;
// the script is bench/baseline/, copied as it is). Both run on the script's own workloads (its gen.mjs:
// kata-runtime.logfmt and kata-agent.json), each as its own process, in turns, against the same counting OTLP/gRPC
// receiver (bench/sink.ts, its own process); kata-otel as `run --once` with defaults (disk queue, integrity,
// redaction, lifecycle spans on). Reported: wall time and CPU seconds of each process (kata-otel, the script, the
// receiver during each) and the ratio script time / kata-otel time (≥ 1: kata-otel is at least as fast).
//
//   npm run bench -- --versus [--lines N] [--runs N] [--against DIR]   # builds, then runs this
//   tsx bench/versus.ts [--build DIR] [--lines N] [--runs N] [--against DIR] [--only logfmt|json]
//
// `--build` (default node_modules/.cache/kata-otel-bench, left by any `npm run bench`) and `--against` are saved
// builds (bench/run.ts --save-build); with --against each round runs this build, the saved one and the script.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkpointAllowance, measure } from './measure.js';
import { Sink } from './sink-client.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const BASELINE = join(ROOT, 'bench', 'baseline');
export type VersusFormat = 'logfmt' | 'json';
const FILE: Record<VersusFormat, string> = { logfmt: 'kata-runtime.logfmt', json: 'kata-agent.json' };

export interface VersusOptions {
  /** A compiled bench build: kata-otel.mjs and sink.mjs (bench/run.ts compileChildren). */
  build: string;
  /** A second saved build, measured in the same rounds. */
  against?: string;
  lines: number;
  runs: number;
  formats?: VersusFormat[];
  log?: (line: string) => void;
}

export interface VersusRun {
  wallS: number;
  /** CPU seconds (user + system) of the measured process. */
  cpuS: number;
  rssMB: number;
  /** CPU seconds of the receiver while this process ran. */
  sinkCpuS: number;
  records: number;
  ok: boolean;
  problem?: string;
}

export interface VersusRow {
  format: VersusFormat;
  who: 'kata-otel' | 'against' | 'script';
  runs: VersusRun[];
  bestWallS: number;
  medianWallS: number;
  medianCpuS: number;
  medianSinkCpuS: number;
  rssMB: number;
}

export interface VersusResult {
  lines: number;
  rows: VersusRow[];
  /** Script wall time / kata-otel wall time, best of the runs each (the baseline README's rule) and median. */
  ratios: { format: VersusFormat; who: 'kata-otel' | 'against'; best: number; median: number; pass: boolean }[];
}

/** The script's workloads, generated once per size into $TMPDIR (deterministic: its own xorshift seed). */
export function versusWorkloads(lines: number): Record<VersusFormat, string> {
  const dir = join(tmpdir(), `kata-otel-bench-versus-${lines}`);
  const files = { logfmt: join(dir, FILE.logfmt), json: join(dir, FILE.json) };
  if (!existsSync(files.logfmt) || !existsSync(files.json)) {
    mkdirSync(dir, { recursive: true });
    const r = spawnSync(process.execPath, [join(BASELINE, 'gen.mjs'), String(lines), dir], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`bench/baseline/gen.mjs failed (exit ${r.status})`);
  }
  return files;
}

const ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS'),
);

/** Defaults except what a bench needs: its own data dir, no telemetry port, quiet log, the receiver's address. */
function defaultsConfig(dir: string, port: number): string {
  const path = join(dir, 'kata-otel.yaml');
  writeFileSync(
    path,
    `data_dir: ${JSON.stringify(join(dir, 'data'))}\nlog:\n  level: warn\ntelemetry:\n  listen: null\n` +
      `exporters:\n  - type: otlp\n    protocol: grpc\n    endpoint: http://127.0.0.1:${port}\n`,
  );
  return path;
}

async function runOne(
  who: VersusRow['who'],
  cli: string | undefined,
  file: string,
  format: VersusFormat,
  lines: number,
  sink: Sink,
): Promise<VersusRun> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-otel-versus-'));
  const argv =
    who === 'script'
      ? [
          process.execPath,
          join(BASELINE, 'sdk_export.mjs'),
          `--format=${format}`,
          `--file=${file}`,
          '--flushEvery=50000',
          `--url=http://127.0.0.1:${sink.port}`,
        ]
      : [process.execPath, cli!, 'run', '--once', '--config', defaultsConfig(dir, sink.port), file];
  await sink.reset();
  try {
    const m = await measure(argv, { cwd: dir, env: ENV });
    const s = await sink.stats();
    let problem: string | undefined;
    let sent = -1;
    if (m.code !== 0) problem = `exit ${m.code}: ${m.stderr.trim().split('\n').slice(-2).join(' | ')}`;
    else if (who === 'script') {
      const r = JSON.parse(m.stdout.trim().split('\n').pop() ?? '{}') as { exportOk?: number; lines?: number };
      sent = r.exportOk ?? -1;
      if (r.lines !== lines) problem = `the script read ${r.lines} lines of ${lines}`;
    } else {
      const e = /\(otlp\) → (\d+) records/.exec(m.stdout);
      const read = /read (\d+) entries/.exec(m.stdout);
      sent = e ? Number(e[1]) : -1;
      if (!read || Number(read[1]) !== lines) problem = `kata-otel read ${read?.[1]} entries of ${lines}`;
    }
    const extra = who === 'script' ? 0 : checkpointAllowance(sent);
    if (!problem && (s.records < sent || s.records > sent + extra))
      problem = `the receiver counted ${s.records} records, ${sent} were sent`;
    if (!problem && s.errors) problem = `the receiver refused ${s.errors} requests: ${s.lastError}`;
    return {
      wallS: m.wallS,
      cpuS: m.userS + m.sysS,
      rssMB: m.rssMB,
      sinkCpuS: s.cpuUserS + s.cpuSystemS,
      records: s.records,
      ok: !problem,
      ...(problem ? { problem } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export async function versus(o: VersusOptions): Promise<VersusResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const builds: [VersusRow['who'], string | undefined][] = [
    ['kata-otel', join(o.build, 'kata-otel.mjs')],
    ...(o.against ? [['against', join(o.against, 'kata-otel.mjs')] as [VersusRow['who'], string]] : []),
    ['script', undefined],
  ];
  for (const [, cli] of builds) if (cli && !existsSync(cli)) throw new Error(`${cli} is missing (a bench build)`);
  const files = versusWorkloads(o.lines);
  const formats = o.formats ?? ['logfmt', 'json'];
  const sink = await Sink.start(join(o.build, 'sink.mjs'));
  const runs = new Map<string, VersusRun[]>();
  try {
    for (let round = 0; round < o.runs; round++)
      for (const format of formats) {
        // Each takes its turn first: neither always gets the warmer (or the busier) machine.
        const order = builds.map((_, i) => builds[(i + round) % builds.length]!);
        for (const [who, cli] of order) {
          const r = await runOne(who, cli, files[format], format, o.lines, sink);
          const key = `${format}/${who}`;
          runs.set(key, [...(runs.get(key) ?? []), r]);
          log(
            `[${round + 1}/${o.runs}] ${key.padEnd(18)} wall ${r.wallS.toFixed(2)} s  CPU ${r.cpuS.toFixed(2)} s  ` +
              `sink CPU ${r.sinkCpuS.toFixed(2)} s  RSS ${r.rssMB.toFixed(0)} MB  ${r.records} records  ${r.ok ? 'ok' : 'FAIL: ' + r.problem}`,
          );
        }
      }
  } finally {
    sink.stop();
  }
  const rows: VersusRow[] = [];
  for (const format of formats)
    for (const [who] of builds) {
      const rs = runs.get(`${format}/${who}`) ?? [];
      rows.push({
        format,
        who,
        runs: rs,
        bestWallS: Math.min(...rs.map((r) => r.wallS)),
        medianWallS: median(rs.map((r) => r.wallS)),
        medianCpuS: median(rs.map((r) => r.cpuS)),
        medianSinkCpuS: median(rs.map((r) => r.sinkCpuS)),
        rssMB: median(rs.map((r) => r.rssMB)),
      });
    }
  const ratios: VersusResult['ratios'] = [];
  for (const format of formats) {
    const script = rows.find((r) => r.format === format && r.who === 'script')!;
    for (const r of rows.filter((x) => x.format === format && x.who !== 'script')) {
      const best = script.bestWallS / r.bestWallS;
      ratios.push({
        format,
        who: r.who as 'kata-otel' | 'against',
        best,
        median: script.medianWallS / r.medianWallS,
        pass: best >= 1 && r.runs.every((x) => x.ok),
      });
    }
  }
  return { lines: o.lines, rows, ratios };
}

export function versusTable(v: VersusResult): string {
  const out = [
    `Path (f): ${v.lines.toLocaleString('en-US')} lines per file, kata-otel run --once with defaults vs the naive SDK script`,
    '',
    '| workload | process | wall s best / median | CPU s (median) | receiver CPU s | RSS MB | records | check |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of v.rows)
    out.push(
      `| ${r.format} | ${r.who === 'script' ? '(f) naive SDK script' : r.who === 'against' ? 'kata-otel (against build)' : 'kata-otel run --once'} | ` +
        `${r.bestWallS.toFixed(2)} / ${r.medianWallS.toFixed(2)} | ${r.medianCpuS.toFixed(2)} | ${r.medianSinkCpuS.toFixed(2)} | ` +
        `${r.rssMB.toFixed(0)} | ${r.runs[0]?.records ?? 0} | ${r.runs.every((x) => x.ok) ? 'ok' : 'FAIL'} |`,
    );
  out.push('');
  for (const x of v.ratios)
    out.push(
      `  ${x.pass ? 'PASS' : 'FAIL'}  ${x.format}: script time / ${x.who} time ≥ 1.0×: ${x.best.toFixed(2)}× (best of each), ${x.median.toFixed(2)}× (medians)`,
    );
  return out.join('\n');
}

async function cli(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      build: { type: 'string' },
      against: { type: 'string' },
      lines: { type: 'string' },
      runs: { type: 'string' },
      only: { type: 'string' },
    },
  });
  const build = resolve(a.build ?? join(ROOT, 'node_modules', '.cache', 'kata-otel-bench'));
  const only = a.only as VersusFormat | undefined;
  if (only && !(only in FILE)) throw new Error(`--only: ${only} is not logfmt or json`);
  const v = await versus({
    build,
    against: a.against ? resolve(a.against) : undefined,
    lines: Number(a.lines ?? 1_000_000),
    runs: Number(a.runs ?? 3),
    formats: only ? [only] : undefined,
  });
  process.stdout.write(versusTable(v) + '\n');
  // A failed check (a record not delivered, a crash) fails the run; the target's PASS/FAIL is reported above.
  if (!v.rows.every((r) => r.runs.every((x) => x.ok))) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  cli().catch((err: unknown) => {
    process.stderr.write(`versus: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
