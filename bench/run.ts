// `npm run bench` (`npm run bench -- --quick`): throughput, CPU and memory of kata-otel on generated Kata logs,
// each path in its own process, against the read-only floor and the official OTel JS SDK. See bench/README.md.
//
// Options:
//   --quick              issue 20's targets only, in under 5 minutes: `run` at rest, peak RSS on 100k-record json
//                        and logfmt backlogs (disk queue, 1 run; the target is set for 1M: `--quick --lines
//                        1000000` measures that, in more time), the steady state at 2,000 lines/s for 20 s, and
//                        the ratio against the naive SDK script (bench/versus.ts, if present; the backlogs' peak
//                        RSS is then read from its kata-otel runs instead of two more runs)
//   --steady             only the steady-state scenario (2,000 and 10,000 lines/s, 60 s each)
//   --rates LIST         steady-state rates, lines/s (default 2000,10000; --quick: 2000)
//   --seconds N          steady-state duration (default 60; --quick: 20)
//   --lines N            records per workload (logfmt: N shim lines + N containerd copies; json: N; journald: N/10)
//   --runs N             runs per variant (median reported)
//   --only REGEX         only variants whose id matches (ids: `<workload>/<path>`, e.g. `logfmt/run-disk`;
//                        `rest` and `steady/<rate>` for the at-rest and steady-state measurements)
//   --profile REGEX      run the matching variants once under `node --cpu-prof` and print the top functions
//   --no-build           do not run `npm run build` first
//   --use-build DIR      measure a saved build (a copy of node_modules/.cache/kata-otel-bench from an earlier
//                        run, e.g. the code before a change) instead of building and compiling now
//   --save-build NAME    build and compile, keep a copy as node_modules/.cache/kata-otel-bench-NAME, and exit
//   --against DIR        also measure the saved build in DIR, each run right after (or before) this build's, and
//                        print the two side by side: on a VM whose speed drifts by ±30% within an hour, only runs
//                        interleaved like this compare two builds
//   --fresh              regenerate the workloads even if a cached copy exists
//   --out FILE           results JSON (default bench/results/bench-<time>.json, also copied to latest.json)
//   --versus             path (f) only: kata-otel run --once vs the naive SDK script (bench/versus.ts)
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ts from 'typescript';
import { generateWorkloads, type Workload, type WorkloadName } from './gen.js';
import { checkpointAllowance, measure, type Measured } from './measure.js';
import { formatTop, topFiles, topFunctions } from './profile.js';
import { measureRest, type RestResult } from './rest.js';
import { Sink } from './sink-client.js';
import { runSteady, type SteadyResult } from './steady.js';
import { backlogTarget, formatTargets, restTarget, steadyTargets, versusChecks, type TargetCheck } from './targets.js';
import type { WorkerResult } from './worker.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const RESULTS = join(ROOT, 'bench', 'results');
/** Compiled bench children live under node_modules so they resolve the project's packages (and are ignored). */
const BUILD = join(ROOT, 'node_modules', '.cache', 'kata-otel-bench');
/** Bump when gen.ts changes what it writes, so cached workloads are regenerated. */
const GEN_VERSION = 1;

// ---- options ------------------------------------------------------------------------------------------------

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    steady: { type: 'boolean' },
    rates: { type: 'string' },
    seconds: { type: 'string' },
    lines: { type: 'string' },
    runs: { type: 'string' },
    only: { type: 'string' },
    profile: { type: 'string' },
    'no-build': { type: 'boolean' },
    'use-build': { type: 'string' },
    'save-build': { type: 'string' },
    against: { type: 'string' },
    fresh: { type: 'boolean' },
    out: { type: 'string' },
    versus: { type: 'boolean' },
  },
});
const quick = args.quick === true;
const LINES = Number(args.lines ?? (quick ? 100_000 : 1_000_000));
const RUNS = Number(args.runs ?? (quick ? 1 : 3));
const only = args.only ? new RegExp(args.only) : undefined;
const RATES = (args.rates ?? (quick ? '2000' : '2000,10000')).split(',').map(Number);
const STEADY_S = Number(args.seconds ?? (quick ? 20 : 60));
// --quick with bench/versus.ts: the backlogs' peak RSS is read from path (f)'s kata-otel runs (run --once, every
// default stage, disk queue) rather than from two more backlog runs of the same kind (half the quick mode's time).
const BACKLOGS_FROM_VERSUS = quick && existsSync(join(ROOT, 'bench', 'versus.ts'));
for (const [k, v] of [
  ['--lines', LINES],
  ['--runs', RUNS],
  ['--seconds', STEADY_S],
  ...RATES.map((r) => ['--rates', r] as const),
] as const)
  if (!Number.isInteger(v) || v < 1) throw new Error(`${k}: ${v} is not a positive integer`);

// ---- variants -----------------------------------------------------------------------------------------------

type Kind = 'floor' | 'parse' | 'pipeline' | 'run' | 'sdk';
interface Variant {
  id: string;
  workload: Workload;
  kind: Kind;
  queue?: 'disk' | 'memory';
  gzip: boolean;
  label: string;
}

function variantsFor(w: Workload): Variant[] {
  const v = (kind: Kind, label: string, gzip = false, queue?: 'disk' | 'memory'): Variant => ({
    id: `${w.name}/${kind}${queue ? `-${queue}` : ''}${gzip ? '-gzip' : ''}`,
    workload: w,
    kind,
    queue,
    gzip,
    label,
  });
  return [
    v('floor', '(a) read + split lines'),
    v('parse', '(b) parse'),
    v('pipeline', '(c) parse + dedupe + rules'),
    v('run', '(d) run --once, disk queue', false, 'disk'),
    v('run', '(d) run --once, memory queue', false, 'memory'),
    v('run', '(d) run --once, disk queue, gzip', true, 'disk'),
    v('run', '(d) run --once, memory queue, gzip', true, 'memory'),
    v('sdk', '(e) OTel JS SDK', false),
    v('sdk', '(e) OTel JS SDK, gzip', true),
  ];
}

// ---- build --------------------------------------------------------------------------------------------------

function build(): void {
  if (args['no-build']) {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: drop --no-build');
    return;
  }
  // `npm run build`'s two steps, tsc incremental: a bench rerun after a small change recompiles what changed (a
  // full build is most of a minute on this VM). Its build info is trusted only when nothing rebuilt dist/ since.
  process.stderr.write('building dist/ (tsc -p tsconfig.build.json --incremental, scripts/copy-assets.mjs) …\n');
  const info = join(ROOT, 'node_modules', '.cache', 'kata-otel-bench.tsbuildinfo');
  const main = join(ROOT, 'dist', 'cli', 'main.js');
  if (existsSync(info) && (!existsSync(main) || statSync(main).mtimeMs > statSync(info).mtimeMs)) rmSync(info);
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const argv of [
    [tsc, '-p', 'tsconfig.build.json', '--incremental', '--tsBuildInfoFile', info],
    [join(ROOT, 'scripts', 'copy-assets.mjs')],
  ]) {
    const r = spawnSync(process.execPath, argv, { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`building dist/ failed: node ${argv.join(' ')} (exit ${r.status})`);
  }
}

/**
 * The bench's child programs as plain ESM, so no TypeScript loader runs inside a measured process. dist/ is
 * snapshotted next to them first (another `npm run build` during a long bench cannot change what is measured);
 * kata-otel.mjs is bin/kata-otel.js pointed at the snapshot, and each bench file is transpiled on its own with its
 * imports of ../receiver/* pointed at it.
 */
function compileChildren(): Children {
  rmSync(BUILD, { recursive: true, force: true });
  mkdirSync(BUILD, { recursive: true });
  cpSync(join(ROOT, 'dist'), join(BUILD, 'dist'), { recursive: true });
  // What dist/ finds two levels up: package.json (type, version) and the vendor presets.
  copyFileSync(join(ROOT, 'package.json'), join(BUILD, 'package.json'));
  symlinkSync(join(ROOT, 'exporter-config'), join(BUILD, 'exporter-config'));
  const cli = join(BUILD, 'kata-otel.mjs');
  writeFileSync(
    cli,
    "const { main } = await import('./dist/cli/main.js');\nprocess.exitCode = await main(process.argv.slice(2));\n",
  );
  for (const name of ['worker', 'sink', 'wire', 'latency', 'gen', 'steady-writer']) {
    const src = readFileSync(join(ROOT, 'bench', `${name}.ts`), 'utf8');
    const out = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      fileName: `${name}.ts`,
    }).outputText;
    const js = out
      .replace(/from '\.\.\/receiver\/([^']+)'/g, (_m, p: string) => `from './dist/${p}'`)
      .replace(/from '\.\/([\w-]+)\.js'/g, (_m, p: string) => `from './${p}.mjs'`);
    writeFileSync(join(BUILD, `${name}.mjs`), js);
  }
  return {
    worker: join(BUILD, 'worker.mjs'),
    sink: join(BUILD, 'sink.mjs'),
    writer: join(BUILD, 'steady-writer.mjs'),
    cli,
  };
}

// ---- workloads ----------------------------------------------------------------------------------------------

function workloads(): Workload[] {
  const dir = join(tmpdir(), `kata-otel-bench-data-v${GEN_VERSION}-${LINES}`);
  const manifest = join(dir, 'manifest.json');
  if (!args.fresh && existsSync(manifest)) {
    const w = JSON.parse(readFileSync(manifest, 'utf8')) as Workload[];
    if (w.every((x) => x.files.every((f) => existsSync(f)))) return w;
  }
  process.stderr.write(`generating workloads in ${dir} …\n`);
  rmSync(dir, { recursive: true, force: true });
  const w = generateWorkloads(dir, { lines: LINES });
  writeFileSync(manifest, JSON.stringify(w, null, 2));
  return w;
}

// ---- one run ------------------------------------------------------------------------------------------------

interface RunResult {
  wallS: number;
  cpuS: number;
  rssMB: number;
  /** Input lines per second of wall time (process start to exit). */
  linesPerS: number;
  mbPerS: number;
  /** Records after parsing / suppression / alerts, as the path reports them. */
  records: number;
  duplicates: number;
  alerts: number;
  /** Records the path handed to its exporter (run: exported; sdk: emitted). */
  sent: number;
  sinkRecords: number;
  sinkCpuS: number;
  ok: boolean;
  problems: string[];
  /** How CPU and peak RSS were measured (GNU time's rusage, or the resource-usage hook). */
  method: Measured['method'];
}

const CHILD_ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS'),
);

function runConfig(dir: string, v: Variant, port: number): string {
  const path = join(dir, 'kata-otel.yaml');
  writeFileSync(
    path,
    [
      `data_dir: ${JSON.stringify(join(dir, 'data'))}`,
      'log:',
      '  level: warn',
      'telemetry:',
      '  listen: null',
      'queue:',
      `  kind: ${v.queue}`,
      'exporters:',
      '  - type: otlp',
      '    protocol: grpc',
      `    endpoint: http://127.0.0.1:${port}`,
      `    compression: ${v.gzip ? 'gzip' : 'none'}`,
      '',
    ].join('\n'),
  );
  return path;
}

// `kata-otel: read X entries → Y records (U not understood, kept raw; D duplicates suppressed; A alerts)`
// `  <name> (otlp) → E records to …`
function parseSummary(
  out: string,
): { entries: number; records: number; duplicates: number; alerts: number; exported: number } | undefined {
  const m =
    /read (\d+) entries → (\d+) records \(\d+ not understood, kept raw; (\d+) duplicates suppressed; (\d+) alerts\)/.exec(
      out,
    );
  const e = /\(otlp\) → (\d+) records/.exec(out);
  if (!m || !e) return undefined;
  return { entries: +m[1]!, records: +m[2]!, duplicates: +m[3]!, alerts: +m[4]!, exported: +e[1]! };
}

async function runOnce(
  v: Variant,
  children: { worker: string; cli: string },
  sink: Sink,
  profileDir?: string,
): Promise<RunResult> {
  const w = v.workload;
  const dir = mkdtempSync(join(tmpdir(), 'kata-otel-bench-run-'));
  const node = [process.execPath, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const argv =
    v.kind === 'run'
      ? [...node, children.cli, 'run', '--once', '--config', runConfig(dir, v, sink.port), ...w.files]
      : [
          ...node,
          children.worker,
          '--path',
          v.kind,
          ...w.files.flatMap((f) => ['--files', f]),
          '--endpoint',
          `http://127.0.0.1:${sink.port}`,
          ...(v.gzip ? ['--gzip'] : []),
        ];
  await sink.reset();
  let m: Measured;
  try {
    m = await measure(argv, { cwd: dir, env: CHILD_ENV });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const s = await sink.stats();
  const problems: string[] = [];
  let records = 0;
  let duplicates = 0;
  let alerts = 0;
  let sent = 0;
  if (m.code !== 0) problems.push(`exit ${m.code}: ${m.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  else if (v.kind === 'run') {
    const sum = parseSummary(m.stdout);
    if (!sum) problems.push(`no summary on stdout: ${m.stdout.slice(0, 300)}`);
    else {
      ({ records, duplicates, alerts } = sum);
      sent = sum.exported;
      if (sum.entries !== w.lines) problems.push(`read ${sum.entries} entries, the workload has ${w.lines}`);
    }
  } else {
    const r = JSON.parse(m.stdout.trim().split('\n').pop() ?? '{}') as WorkerResult;
    records = v.kind === 'floor' ? r.entries : r.records;
    duplicates = r.duplicates;
    alerts = r.alerts;
    sent = r.emitted;
    if (r.entries !== w.lines) problems.push(`read ${r.entries} entries, the workload has ${w.lines}`);
  }
  if (m.code === 0 && (v.kind === 'pipeline' || v.kind === 'run' || v.kind === 'sdk')) {
    if (records - duplicates !== w.expectedRecords)
      problems.push(`${records - duplicates} records after duplicate suppression, expected ${w.expectedRecords}`);
  }
  if (m.code === 0 && (v.kind === 'run' || v.kind === 'sdk')) {
    if (sent !== records - duplicates + alerts)
      problems.push(`sent ${sent}, but records − duplicates + alerts = ${records - duplicates + alerts}`);
    const extra = v.kind === 'run' ? checkpointAllowance(sent) : 0;
    if (s.records < sent || s.records > sent + extra)
      problems.push(`the receiver counted ${s.records} records, ${sent} were sent`);
    if (s.errors) problems.push(`the receiver refused ${s.errors} requests: ${s.lastError}`);
  }
  return {
    wallS: m.wallS,
    cpuS: m.userS + m.sysS,
    rssMB: m.rssMB,
    linesPerS: w.lines / m.wallS,
    mbPerS: w.bytes / 1e6 / m.wallS,
    records: records - duplicates + alerts,
    duplicates,
    alerts,
    sent,
    sinkRecords: s.records,
    sinkCpuS: s.cpuUserS + s.cpuSystemS,
    ok: problems.length === 0,
    problems,
    method: m.method,
  };
}

// ---- report -------------------------------------------------------------------------------------------------

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

interface Summary {
  id: string;
  label: string;
  workload: WorkloadName;
  kind: Kind;
  queue?: string;
  gzip: boolean;
  runs: RunResult[];
  linesPerS: number;
  mbPerS: number;
  wallS: number;
  cpuS: number;
  rssMB: number;
  sinkCpuS: number;
  records: number;
  vsFloor?: number;
  vsSdk?: number;
  ok: boolean;
}

function summarise(v: Variant, runs: RunResult[]): Summary {
  const wall = median(runs.map((r) => r.wallS));
  return {
    id: v.id,
    label: v.label,
    workload: v.workload.name,
    kind: v.kind,
    queue: v.queue,
    gzip: v.gzip,
    runs,
    wallS: wall,
    linesPerS: v.workload.lines / wall,
    mbPerS: v.workload.bytes / 1e6 / wall,
    cpuS: median(runs.map((r) => r.cpuS)),
    rssMB: median(runs.map((r) => r.rssMB)),
    sinkCpuS: median(runs.map((r) => r.sinkCpuS)),
    records: runs[0]?.records ?? 0,
    ok: runs.every((r) => r.ok),
  };
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

/** This build next to the --against build: medians, the spread of the runs, and the ratio. */
function abTable(rows: Summary[], base: Summary[]): string {
  const spread = (r: Summary) => {
    const xs = r.runs.map((x) => r.linesPerS * (r.wallS / x.wallS));
    return `${fmtInt(Math.min(...xs))}–${fmtInt(Math.max(...xs))}`;
  };
  const lines = [
    '| variant | this build lines/s (runs) | against lines/s (runs) | ratio | CPU s this / against | RSS MB this / against |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  rows.forEach((r, i) => {
    const b = base[i] as Summary;
    lines.push(
      `| ${r.id} | ${fmtInt(r.linesPerS)} (${spread(r)}) | ${fmtInt(b.linesPerS)} (${spread(b)}) | ` +
        `${(r.linesPerS / b.linesPerS).toFixed(2)}× | ${r.cpuS.toFixed(2)} / ${b.cpuS.toFixed(2)} | ` +
        `${r.rssMB.toFixed(0)} / ${b.rssMB.toFixed(0)} |`,
    );
  });
  return lines.join('\n');
}

function table(rows: Summary[]): string {
  const head = [
    'workload',
    'path',
    'lines/s',
    'MB/s',
    'wall s',
    'CPU s',
    'RSS MB',
    '× (a)',
    '× (e)',
    'records out',
    'sink CPU s',
    'check',
  ];
  const body = rows.map((r) => [
    r.workload,
    r.label,
    fmtInt(r.linesPerS),
    r.mbPerS.toFixed(1),
    r.wallS.toFixed(2),
    r.cpuS.toFixed(2),
    r.rssMB.toFixed(0),
    r.vsFloor !== undefined ? r.vsFloor.toFixed(2) : '',
    r.vsSdk !== undefined ? r.vsSdk.toFixed(2) : '',
    r.kind === 'floor' ? '' : fmtInt(r.records),
    r.kind === 'run' || r.kind === 'sdk' ? r.sinkCpuS.toFixed(2) : '',
    r.ok ? 'ok' : 'FAIL',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) =>
    '| ' + cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  return [
    line(head),
    '|' + widths.map((w, i) => (i < 2 ? '-' : '') + '-'.repeat(w) + (i < 2 ? '-' : ':')).join('|') + '|',
    ...body.map(line),
  ].join('\n');
}

/** Issue 20's targets (they replace issue 7's absolute rates; bench/targets.ts). */
async function checkTargets(
  rows: Summary[],
  wls: Workload[],
  rest: RestResult | Error | undefined,
  steady: SteadyResult[],
  children: Children,
): Promise<TargetCheck[]> {
  const out: TargetCheck[] = [restTarget(rest)];
  for (const wl of BACKLOGS_FROM_VERSUS ? [] : (['json', 'logfmt'] as const)) {
    const r = rows.find((x) => x.id === `${wl}/run-disk`);
    const lines = wls.find((w) => w.name === wl)?.lines ?? LINES;
    const t = backlogTarget(wl, lines, r && r.rssMB > 0 ? r.rssMB : undefined);
    // Peak RSS is measured whether or not the run's record checks passed; those are listed apart.
    if (r && !r.ok && t.pass !== undefined) t.value += ' (the run failed a record check: see FAILED checks)';
    out.push(t);
  }
  for (const s of steady) out.push(...steadyTargets(s));
  if (!steady.length) out.push({ target: 'steady state', value: 'not measured', pass: undefined });
  out.push(
    ...(await versusChecks(
      join(ROOT, 'bench'),
      { build: resolve(children.cli, '..'), lines: LINES, runs: RUNS },
      { backlogRss: BACKLOGS_FROM_VERSUS },
    )),
  );
  return out;
}

/** The steady-state runs, one per rate, each printed as it ends. */
async function steadyRuns(children: Children, sink: Sink): Promise<SteadyResult[]> {
  const out: SteadyResult[] = [];
  for (const rate of RATES) {
    if (only && !only.test(`steady/${rate}`)) continue;
    if (!children.writer || !existsSync(children.writer))
      throw new Error(`steady state: ${children.writer ?? 'steady-writer.mjs'} is missing in this build`);
    process.stderr.write(`steady ${fmtInt(rate)} lines/s for ${STEADY_S} s …\n`);
    const s = await runSteady({
      cli: children.cli,
      writer: children.writer,
      sink,
      rate,
      seconds: STEADY_S,
      env: CHILD_ENV,
      onSample: (x) =>
        process.stderr.write(
          `  t=${x.t.toFixed(0).padStart(3)} s  CPU ${x.cpuPct.toFixed(1).padStart(5)}%  journalctl ${x.childCpuPct.toFixed(1).padStart(4)}%  RSS ${x.rssMB.toFixed(0)} MB\n`,
        ),
    });
    out.push(s);
    process.stderr.write(
      `steady ${fmtInt(rate)} lines/s: ${fmtInt(s.writer.written)} written, ${fmtInt(s.latency.received)} delivered, ` +
        `CPU ${s.cpuPct.toFixed(1)}% (journalctl ${s.childCpuPct.toFixed(1)}%), RSS max ${s.rssMaxMB.toFixed(0)} MB, ` +
        `latency p50 ${s.latency.p50.toFixed(0)} ms p99 ${s.latency.p99.toFixed(0)} ms max ${s.latency.max.toFixed(0)} ms` +
        `${s.problems.length ? '  FAIL: ' + s.problems.join('; ') : ''}\n`,
    );
  }
  return out;
}

function steadyTable(steady: SteadyResult[]): string {
  const lines = [
    '| lines/s | seconds | written | delivered | CPU % (kata-otel) | CPU % (journalctl) | RSS max MB | RSS end MB | p50 ms | p99 ms | max ms | load avg | check |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const s of steady)
    lines.push(
      `| ${fmtInt(s.rate)} | ${s.seconds} | ${fmtInt(s.writer.written)} | ${fmtInt(s.latency.received)} | ` +
        `${s.cpuPct.toFixed(1)} | ${s.childCpuPct.toFixed(1)} | ${s.rssMaxMB.toFixed(0)} | ${s.rssEndMB.toFixed(0)} | ` +
        `${s.latency.p50.toFixed(0)} | ${s.latency.p99.toFixed(0)} | ${s.latency.max.toFixed(0)} | ` +
        `${s.loadavg.map((x) => x.toFixed(1)).join('–')} | ${s.problems.length ? 'FAIL' : 'ok'} |`,
    );
  return lines.join('\n');
}

// ---- main ---------------------------------------------------------------------------------------------------

type Children = { worker: string; sink: string; cli: string; writer?: string };

/** The compiled children of a saved build (--use-build, --against). It must sit under node_modules/.cache, as
 *  --save-build leaves it, for them to find the project's packages. */
function childrenIn(dirArg: string, option: string): Children {
  const dir = resolve(dirArg);
  const c = { worker: join(dir, 'worker.mjs'), sink: join(dir, 'sink.mjs'), cli: join(dir, 'kata-otel.mjs') };
  for (const f of Object.values(c))
    if (!existsSync(f)) throw new Error(`${option}: ${f} is missing (save a build with --save-build NAME)`);
  // Builds saved before the steady-state scenario have no writer.
  const writer = join(dir, 'steady-writer.mjs');
  return existsSync(writer) ? { ...c, writer } : c;
}

async function main(): Promise<void> {
  let children: Children;
  if (args['save-build']) {
    build();
    compileChildren();
    const dest = `${BUILD}-${args['save-build']}`;
    rmSync(dest, { recursive: true, force: true });
    cpSync(BUILD, dest, { recursive: true });
    process.stdout.write(`saved: ${dest} (measure it with --use-build or --against)\n`);
    return;
  }
  // Checked before building, so a wrong path fails at once.
  const against = args.against ? childrenIn(args.against, '--against') : undefined;
  if (args['use-build']) children = childrenIn(args['use-build'], '--use-build');
  else {
    build();
    children = compileChildren();
  }
  if (args.versus) {
    const { versus, versusTable } = await import('./versus.js');
    const v = await versus({
      build: dirname(children.cli),
      against: args.against ? resolve(args.against) : undefined,
      lines: LINES,
      runs: RUNS,
    });
    process.stdout.write(versusTable(v) + '\n');
    if (!v.rows.every((r) => r.runs.every((x) => x.ok))) process.exitCode = 1;
    return;
  }
  // --steady needs no workloads; --quick measures only the backlogs issue 20 sets targets for.
  const wls = args.steady || BACKLOGS_FROM_VERSUS ? [] : workloads().filter((w) => !quick || w.name !== 'journald');
  const variants = wls
    .flatMap(variantsFor)
    .filter((v) => !quick || v.id.endsWith('/run-disk'))
    .filter((v) => !only || only.test(v.id));
  const profile = args.profile ? new RegExp(args.profile) : undefined;
  const sink = await Sink.start(children.sink);
  process.stderr.write(
    `receiver: 127.0.0.1:${sink.port} (HTTP/2 window ${sink.window}); ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}\n`,
  );
  try {
    if (profile) {
      const dir = join(RESULTS, 'profiles');
      mkdirSync(dir, { recursive: true });
      for (const v of variants.filter((x) => profile.test(x.id))) {
        const before = new Set(readdirSync(dir));
        const r = await runOnce(v, children, sink, dir);
        const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && !before.has(f));
        process.stdout.write(
          `\n## ${v.id} — ${v.label}: ${fmtInt(r.linesPerS)} lines/s, ${r.ok ? 'ok' : r.problems.join('; ')}\n`,
        );
        if (file) {
          const f = join(dir, file);
          process.stdout.write(
            `${formatTop(topFunctions(f, BUILD, 25))}\nby file:\n${formatTop(topFiles(f, BUILD))}\n(${f})\n`,
          );
        }
      }
      return;
    }
    const results = new Map<Variant, RunResult[]>(variants.map((v) => [v, []]));
    const againstResults = new Map<Variant, RunResult[]>(variants.map((v) => [v, []]));
    const measure = async (v: Variant, run: number, which: Children, into: Map<Variant, RunResult[]>, tag = '') => {
      const r = await runOnce(v, which, sink);
      into.get(v)!.push(r);
      process.stderr.write(
        `[${run}/${RUNS}] ${(v.id + tag).padEnd(28)} ${fmtInt(r.linesPerS).padStart(10)} lines/s  ${r.wallS.toFixed(2)} s  CPU ${r.cpuS.toFixed(2)} s  RSS ${r.rssMB.toFixed(0)} MB  ${r.ok ? 'ok' : 'FAIL: ' + r.problems.join('; ')}\n`,
      );
    };
    for (let run = 1; run <= RUNS; run++) {
      // Rounds over all variants (rather than all runs of one variant back to back) spread slow drift in the VM.
      for (const v of variants) {
        // With --against, the two builds take turns going first, so neither always gets the warmer machine.
        if (against && run % 2 === 0) await measure(v, run, against, againstResults, ' (against)');
        await measure(v, run, children, results);
        if (against && run % 2 === 1) await measure(v, run, against, againstResults, ' (against)');
      }
    }
    // At rest (this checkout's bin/ and dist/, which the bench just built) and the steady state.
    const rest =
      args.steady || (only && !only.test('rest'))
        ? undefined
        : await measureRest({ root: ROOT }).catch((err: unknown) =>
            err instanceof Error ? err : new Error(String(err)),
          );
    if (rest)
      process.stderr.write(
        rest instanceof Error
          ? `at rest: not measured: ${rest.message}\n`
          : `at rest: RSS ${rest.rssMB.toFixed(0)} MB (peak ${rest.hwmMB.toFixed(0)} MB)\n`,
      );
    const steady = await steadyRuns(children, sink);
    const rows = variants.map((v) => summarise(v, results.get(v)!));
    for (const r of rows) {
      const floor = rows.find((x) => x.workload === r.workload && x.kind === 'floor');
      const sdk =
        rows.find((x) => x.workload === r.workload && x.kind === 'sdk' && x.gzip === r.gzip) ??
        rows.find((x) => x.workload === r.workload && x.kind === 'sdk');
      if (floor) r.vsFloor = r.linesPerS / floor.linesPerS;
      if (sdk) r.vsSdk = r.linesPerS / sdk.linesPerS;
    }
    const targets = await checkTargets(rows, wls, rest, steady, children);
    if (rows.length) {
      process.stdout.write(`\n${table(rows)}\n`);
      process.stdout.write(
        `\nlines/s: input lines (logfmt: shim + containerd copies) per second of wall time, process start to exit; ` +
          `median of ${RUNS} run${RUNS > 1 ? 's' : ''}. × (e): against the SDK path with the same compression.\n`,
      );
    }
    if (steady.length) {
      process.stdout.write(`\nSteady state (100 sandboxes, half journald, half files; ${STEADY_S} s per rate):\n`);
      process.stdout.write(`${steadyTable(steady)}\n`);
    }
    process.stdout.write(
      `\nIssue 20 targets${quick ? ` (quick: 1 run each, steady state ${STEADY_S} s instead of 60 s)` : ''}:\n${formatTargets(targets)}\n`,
    );
    const againstRows = against ? variants.map((v) => summarise(v, againstResults.get(v)!)) : [];
    if (against) process.stdout.write(`\nAgainst ${args.against} (interleaved):\n${abTable(rows, againstRows)}\n`);
    const failed = [
      ...[...rows, ...againstRows].filter((r) => !r.ok),
      ...steady
        .filter((x) => x.problems.length)
        .map((x) => ({ id: `steady/${x.rate}`, runs: [{ problems: x.problems }] })),
      ...(rest instanceof Error ? [{ id: 'rest', runs: [{ problems: [rest.message] }] }] : []),
    ];
    mkdirSync(RESULTS, { recursive: true });
    const out = args.out ?? join(RESULTS, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    const doc = {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model,
        node: process.version,
        measuredWith: rows[0]?.runs[0]?.method,
      },
      options: { quick, lines: LINES, runs: RUNS, only: args.only ?? null, rates: RATES, steadySeconds: STEADY_S },
      receiverWindow: sink.window,
      workloads: wls,
      results: rows,
      rest: rest instanceof Error ? { error: rest.message } : rest,
      steady,
      targets,
      ...(against ? { against: { build: args.against, results: againstRows } } : {}),
    };
    writeFileSync(out, JSON.stringify(doc, null, 2));
    if (!args.out) copyFileSync(out, join(RESULTS, 'latest.json'));
    process.stdout.write(`\nresults: ${out}\n`);
    if (failed.length) {
      process.stdout.write(
        `\nFAILED checks:\n${failed.map((r) => `  ${r.id}: ${[...new Set(r.runs.flatMap((x) => x.problems))].join('; ')}`).join('\n')}\n`,
      );
      process.exitCode = 1;
    }
  } finally {
    sink.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
