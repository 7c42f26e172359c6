// The steady-state scenario (issue 20): 100 sandboxes write a debug-level mix at a fixed rate for a fixed time,
// half into a real journal file and half into per-sandbox log files (bench/steady-writer.ts), while a long-running
// `kata-otel run` (the default configuration: disk queue and every default stage; its own telemetry listener off)
// follows both and exports to the counting receiver. Sampled once a second from /proc: CPU % of one core and RSS
// of the kata-otel process (and, apart, of the journalctl it runs). At the end: records delivered against lines
// written and write → receiver latency (the sink reads each line's tag).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LatencyStats } from './latency.js';
import { childPids, cpuSeconds, memory } from './procstat.js';
import type { WriterResult } from './steady-writer.js';

/** Where Debian/Ubuntu and Fedora install systemd-journal-remote. */
export const JOURNAL_REMOTE = ['/lib/systemd/systemd-journal-remote', '/usr/lib/systemd/systemd-journal-remote'].find(
  (p) => existsSync(p),
);

export interface SteadySink {
  port: number;
  reset(): Promise<void>;
  latency(written: number): Promise<LatencyStats>;
}

export interface SteadySample {
  /** Seconds since the writer started (negative: before). */
  t: number;
  /** kata-otel process, % of one core over the last interval. */
  cpuPct: number;
  rssMB: number;
  /** Its child processes (journalctl), % of one core. */
  childCpuPct: number;
}

export interface SteadyResult {
  rate: number;
  seconds: number;
  writer: WriterResult;
  latency: LatencyStats;
  /** Mean CPU % of one core of the kata-otel process while the writer ran. */
  cpuPct: number;
  /**
   * CPU seconds (user + system) of the kata-otel process from the writer's start until the last record arrived (or
   * the drain gave up), and the same per line written in µs: unlike cpuPct this counts the work left over when
   * the machine's other load kept kata-otel from keeping up.
   */
  cpuSeconds: number;
  cpuUsPerLine: number;
  /** The same for its journalctl child. */
  childCpuPct: number;
  rssMaxMB: number;
  rssEndMB: number;
  samples: SteadySample[];
  exitCode: number | null;
  problems: string[];
  /** 1-minute load average of the machine when the writer started and when it stopped (other jobs included). */
  loadavg: [number, number];
}

/** A kata-otel configuration with the bench's journald and file sources, exporting to the receiver on `port`. */
export function nodeConfig(dir: string, port: number): { config: string; files: string; journal: string } {
  const files = join(dir, 'files');
  const journalDir = join(dir, 'journal');
  mkdirSync(files, { recursive: true });
  mkdirSync(journalDir, { recursive: true });
  const journal = join(journalDir, 'bench.journal');
  primeJournal(journal);
  const config = join(dir, 'kata-otel.yaml');
  writeFileSync(
    config,
    [
      `data_dir: ${JSON.stringify(join(dir, 'data'))}`,
      'log:',
      '  level: warn',
      // Off so parallel runs cannot collide on its port; not a stage.
      'telemetry:',
      '  listen: null',
      'sources:',
      '  files:',
      `    - include: [${JSON.stringify(join(files, '*.log'))}]`,
      '      start_at: beginning',
      '  journald:',
      '    enabled: true',
      `    directory: ${JSON.stringify(journalDir)}`,
      '    start_at: beginning',
      'exporters:',
      '  - type: otlp',
      '    protocol: grpc',
      `    endpoint: http://127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  return { config, files, journal };
}

/** The journal file exists before kata-otel starts, holding one entry its journald source does not select. */
function primeJournal(path: string): void {
  if (!JOURNAL_REMOTE)
    throw new Error('systemd-journal-remote is not installed: apt-get install systemd-journal-remote');
  const r = spawnSync(JOURNAL_REMOTE, [`--output=${path}`, '--compress=no', '-'], {
    input: `__REALTIME_TIMESTAMP=${Date.now() * 1000}\n__MONOTONIC_TIMESTAMP=1\n_BOOT_ID=590edceeef5545a784ec8c6181a10400\nSYSLOG_IDENTIFIER=bench-prime\nMESSAGE=bench\n\n`,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`systemd-journal-remote -o ${path} failed (${r.status}): ${r.stderr}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start `kata-otel run` (not --once) with `config`; the caller stops it with stopRun. */
export function startRun(
  cli: string,
  config: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
): ChildProcess {
  return spawnWithTail([...nodeArgs, cli, 'run', '--config', config], cwd, env);
}

/** A Node child whose stderr's tail stays readable (stderrTail) and whose stdout is drained. */
function spawnWithTail(argv: string[], cwd: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  child.stdout!.resume();
  (child as ChildProcess & { stderrTail: () => string }).stderrTail = () => err;
  return child;
}

/** Start the follower script (SteadyOptions.follower) on the bench's journal directory and files. */
function startFollower(
  script: string,
  p: { files: string; journalDir: string; port: number },
  cwd: string,
  env: NodeJS.ProcessEnv,
  nodeArgs: string[],
  extra: string[],
): ChildProcess {
  const args = [`--journal=${p.journalDir}`, `--files=${p.files}`, `--url=http://127.0.0.1:${p.port}`, ...extra];
  return spawnWithTail([...nodeArgs, script, ...args], cwd, env);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed by a signal). */
export async function stopRun(child: ChildProcess, graceMs = 20_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const done = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await done;
  clearTimeout(t);
  return code;
}

export const stderrTail = (child: ChildProcess): string =>
  (child as ChildProcess & { stderrTail?: () => string }).stderrTail?.() ?? '';

export interface SteadyOptions {
  cli: string;
  writer: string;
  sink: SteadySink;
  rate: number;
  seconds: number;
  env: NodeJS.ProcessEnv;
  /** Seconds kata-otel runs before the writer starts (start-up, doctor findings). Default 5. */
  warmupS?: number;
  /** Most seconds to wait after the writer for the last records. Default 20. */
  drainS?: number;
  onSample?: (s: SteadySample) => void;
  /** Fraction of lines written to the journal (the rest go to the files). Default 0.5. */
  journalShare?: number;
  /** Node options for kata-otel and the writer (tests run the sources with `--import tsx`). */
  nodeArgs?: string[];
  /** More Node options for kata-otel only (bench/steady-profile.ts: `--cpu-prof`). */
  runNodeArgs?: string[];
  /** Run this script instead of kata-otel, with `--journal=DIR --files=DIR --url=…` (bench/baseline/follow.mjs:
   *  the naive SDK shipper following the same inputs, the floor beside kata-otel's figures). */
  follower?: string;
  /** More arguments for the follower. */
  followerArgs?: string[];
}

export async function runSteady(o: SteadyOptions): Promise<SteadyResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-otel-bench-steady-'));
  const problems: string[] = [];
  try {
    const { config, files, journal } = nodeConfig(dir, o.sink.port);
    const nodeArgs = [...(o.nodeArgs ?? []), ...(o.runNodeArgs ?? [])];
    const run = o.follower
      ? startFollower(
          o.follower,
          { files, journalDir: dirname(journal), port: o.sink.port },
          dir,
          o.env,
          [...nodeArgs],
          o.followerArgs ?? [],
        )
      : startRun(o.cli, config, dir, o.env, nodeArgs);
    const pid = run.pid!;
    const samples: SteadySample[] = [];
    let tStart = performance.now();
    let last = { at: performance.now(), cpu: cpuSeconds(pid) ?? 0, child: 0 };
    const childCpu = () => childPids(pid).reduce((s, p) => s + (cpuSeconds(p) ?? 0), 0);
    last.child = childCpu();
    const sample = () => {
      const cpu = cpuSeconds(pid);
      const mem = memory(pid);
      if (cpu === undefined || !mem) return;
      const at = performance.now();
      const child = childCpu();
      const dt = (at - last.at) / 1000;
      const s: SteadySample = {
        t: (at - tStart) / 1000,
        cpuPct: (100 * (cpu - last.cpu)) / dt,
        rssMB: mem.rssMB,
        childCpuPct: (100 * Math.max(0, child - last.child)) / dt,
      };
      samples.push(s);
      o.onSample?.(s);
      last = { at, cpu, child };
    };
    const timer = setInterval(sample, 1000);
    try {
      await sleep((o.warmupS ?? 5) * 1000);
      if (run.exitCode !== null) throw new Error(`kata-otel run exited (${run.exitCode}): ${stderrTail(run)}`);
      await o.sink.reset();
      const loadStart = loadavg()[0]!;
      const spawnedAt = tStart;
      tStart = performance.now();
      const cpuAtStart = cpuSeconds(pid) ?? 0;
      // Warm-up samples keep negative times (seconds before the writer started).
      for (const s of samples) s.t -= (tStart - spawnedAt) / 1000;
      const writer = spawn(
        process.execPath,
        [
          ...(o.nodeArgs ?? []),
          o.writer,
          ...['--files', files, '--journal', journal, '--journal-remote', JOURNAL_REMOTE!],
          ...['--rate', String(o.rate), '--seconds', String(o.seconds)],
          ...['--journal-share', String(o.journalShare ?? 0.5)],
        ],
        { cwd: dir, env: o.env, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      writer.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const wcode = await new Promise<number | null>((res) => writer.on('close', res));
      const writeEnd = (performance.now() - tStart) / 1000;
      const loadEnd = loadavg()[0]!;
      if (wcode !== 0) throw new Error(`steady writer exited with ${wcode}`);
      const w = JSON.parse(out.trim().split('\n').pop()!) as WriterResult;
      // Wait for the last records (or give up after drainS).
      let lat = await o.sink.latency(w.written);
      const drainEnd = performance.now() + (o.drainS ?? 20) * 1000;
      while (lat.received < w.written && performance.now() < drainEnd) {
        await sleep(250);
        lat = await o.sink.latency(w.written);
      }
      sample();
      const cpuUsed = (cpuSeconds(pid) ?? cpuAtStart) - cpuAtStart;
      clearInterval(timer);
      const code = await stopRun(run);
      if (code !== 0)
        problems.push(`kata-otel run exited with ${code}: ${stderrTail(run).trim().split('\n').slice(-3).join(' | ')}`);
      if (lat.received !== w.written)
        problems.push(`${w.written} lines written, ${lat.received} arrived at the receiver`);
      if (lat.repeats) problems.push(`${lat.repeats} records arrived twice`);
      const during = samples.filter((s) => s.t > 0 && s.t <= writeEnd + 0.5);
      const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
      return {
        rate: o.rate,
        seconds: o.seconds,
        writer: w,
        latency: lat,
        cpuPct: mean(during.map((s) => s.cpuPct)),
        cpuSeconds: cpuUsed,
        cpuUsPerLine: w.written ? (1e6 * cpuUsed) / w.written : 0,
        childCpuPct: mean(during.map((s) => s.childCpuPct)),
        rssMaxMB: Math.max(0, ...samples.map((s) => s.rssMB)),
        rssEndMB: samples.at(-1)?.rssMB ?? 0,
        samples,
        exitCode: code,
        problems,
        loadavg: [loadStart, loadEnd],
      };
    } finally {
      clearInterval(timer);
      await stopRun(run, 2000);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
