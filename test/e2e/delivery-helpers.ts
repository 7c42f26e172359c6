// Shared by the delivery e2e tests (test/e2e/delivery*.test.ts): numbered Kata Go-shim log lines, a receiver
// (`kata-otel run`, a real child process) with its config, self-telemetry and memory readings, and counting
// which sequence numbers the OTLP test server received (from its records file: 200k records as one /records
// JSON answer would be a few hundred MB).
import type { ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { collect, spawnCli, type CliResult } from '../support/cli.js';

export const SANDBOX = '38f55c4a058a0f7227e64edd75f2aed134bee7db4b211f071be84fb44d17b0bb';
/** 2024-05-01T10:00:00Z in ms: record i is stamped BASE + i ms, so every record has its own time. */
const BASE_MS = Date.UTC(2024, 4, 1, 10, 0, 0);

export const seqText = (seq: number): string => `seq ${String(seq).padStart(7, '0')}`;

/** One Go-shim logfmt line (as containerd-shim-kata-v2 writes it) whose msg — the record body — carries `seq`. */
export function kataLine(seq: number): string {
  const t = new Date(BASE_MS + seq).toISOString().replace('Z', '123456Z');
  return `time="${t}" level=info msg="${seqText(seq)}" name=containerd-shim-v2 pid=4242 sandbox=${SANDBOX} source=virtcontainers subsystem=sandbox`;
}

/** Lines for seq in [from, to), each with its newline. */
export function kataLines(from: number, to: number): string {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(kataLine(i) + '\n');
  return out.join('');
}

export function appendLines(path: string, from: number, to: number): void {
  appendFileSync(path, kataLines(from, to));
}

export function tempDir(prefix = 'kata-otel-delivery-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every `intervalMs` until it returns a value other than undefined/false; throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    await sleep(intervalMs);
  }
}

// ---- what the server received ------------------------------------------------------------------------------

export interface SeqTally {
  /** Records carrying a sequence number. */
  total: number;
  /** Distinct sequence numbers. */
  unique: number;
  /** total - unique */
  duplicates: number;
  /** The first missing numbers in [0, n) (at most 20) and how many are missing. */
  missing: number[];
  missingCount: number;
  /** Sequence numbers received more than once (at most 20). */
  duplicated: number[];
  /** Records without a sequence number (alerts, anything else), and the first few of them. */
  other: number;
  otherSamples: string[];
  /** Integrity checkpoint events (`kata.integrity.checkpoint`, docs/audit.md): kata-otel's own, not the workload's. */
  checkpoints: number;
}

const BODY_RE = /"body":"seq (\d{7})"/;

/** Counts the sequence numbers in the server's records file (JSON lines), expecting 0..n-1. */
export function tallyRecords(recordsFile: string, n: number): SeqTally {
  const counts = new Uint16Array(n);
  let total = 0;
  let other = 0;
  let checkpoints = 0;
  const otherSamples: string[] = [];
  let outOfRange = 0;
  if (existsSync(recordsFile)) {
    const fd = openSync(recordsFile, 'r');
    const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
    let rest = '';
    try {
      for (;;) {
        const got = readSync(fd, buf, 0, buf.length, null);
        if (got === 0) break;
        const text = rest + buf.toString('utf8', 0, got);
        const lines = text.split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          if (!line) continue;
          const m = BODY_RE.exec(line);
          if (!m) {
            if (line.includes('"eventName":"kata.integrity.checkpoint"')) checkpoints++;
            else if (other++ < 3) otherSamples.push(line.slice(0, 600));
            continue;
          }
          const s = Number(m[1]);
          total++;
          if (s < n) counts[s] = Math.min(65535, (counts[s] ?? 0) + 1);
          else outOfRange++;
        }
      }
    } finally {
      closeSync(fd);
    }
  }
  let unique = 0;
  let missingCount = 0;
  const missing: number[] = [];
  const duplicated: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = counts[i] as number;
    if (c > 0) unique++;
    else {
      missingCount++;
      if (missing.length < 20) missing.push(i);
    }
    if (c > 1 && duplicated.length < 20) duplicated.push(i);
  }
  return {
    total,
    unique: unique + outOfRange,
    duplicates: total - unique - outOfRange,
    missing,
    missingCount,
    duplicated,
    other,
    otherSamples,
    checkpoints,
  };
}

/** The tally without `total`, for toEqual: a failure shows what is missing, duplicated or not numbered. */
export function brief(t: SeqTally): Omit<SeqTally, 'total' | 'checkpoints'> {
  const { total: _total, checkpoints: _checkpoints, ...rest } = t;
  return rest;
}

/** What `brief(tally)` is when each of 0..n-1 arrived exactly once and nothing else did. */
export function exactlyOnce(n: number): Omit<SeqTally, 'total' | 'checkpoints'> {
  return { unique: n, duplicates: 0, missing: [], missingCount: 0, duplicated: [], other: 0, otherSamples: [] };
}

// ---- config --------------------------------------------------------------------------------------------------

export interface ReceiverConfigOptions {
  dataDir: string;
  /** gRPC endpoint of the OTLP server (http://127.0.0.1:port), or its HTTP one with `protocol`. */
  endpoint: string;
  protocol?: 'grpc' | 'http/protobuf';
  /** Glob(s) of the log files to follow, read from the beginning. */
  include?: string[];
  /** A journal directory to follow from its beginning (identifier `kata`). */
  journalDir?: string;
  /** Keys of the `queue` section (snake_case). */
  queue?: Record<string, unknown>;
  shutdownTimeoutMs?: number;
  /** Serve /metrics on an ephemeral loopback port (default true). */
  telemetry?: boolean;
  /** Hash-chain the export stream (default false here; on by default in kata-otel). */
  integrity?: boolean;
}

/** Writes `<dir>/kata-otel.yaml` and returns its path. Rules are off so that only the numbered records arrive. */
export function writeReceiverConfig(dir: string, o: ReceiverConfigOptions): string {
  const doc: Record<string, unknown> = {
    data_dir: o.dataDir,
    log: { level: 'info' },
    sources: {
      files: o.include ? [{ include: o.include, start_at: 'beginning', poll_interval_ms: 50 }] : [],
      journald: o.journalDir
        ? { enabled: true, directory: o.journalDir, start_at: 'beginning', identifiers: ['kata'], units: [] }
        : { enabled: false },
    },
    pipeline: { rules: { enabled: false } },
    // These tests measure delivery against time and RSS budgets set without the integrity chain, whose export-time
    // cost (docs/audit.md, bench/README.md) they would mostly measure; test/integrity/crash.test.ts covers SIGKILL
    // with the chain on.
    integrity: { enabled: o.integrity ?? false },
    exporters: [{ type: 'otlp', name: 'backend', protocol: o.protocol ?? 'grpc', endpoint: o.endpoint }],
    queue: { retry: { initial_ms: 100, max_ms: 1000 }, ...o.queue },
    // Port 0: the kernel picks a free port; the receiver logs the address it got ("self-telemetry listening").
    telemetry: { listen: o.telemetry === false ? null : '127.0.0.1:0' },
    shutdown_timeout_ms: o.shutdownTimeoutMs ?? 10_000,
    doctor: { enabled: false }, // start-up findings about this machine would add records to the counts
  };
  const path = join(dir, 'kata-otel.yaml');
  writeFileSync(path, stringify(doc));
  return path;
}

// ---- the receiver child process ------------------------------------------------------------------------------

export interface Receiver {
  child: ChildProcess;
  pid: number;
  /** stderr so far (kata-otel's own JSON log lines). */
  stderr(): string;
  /** Resolves when the process has exited and its pipes closed. */
  result: Promise<CliResult>;
  /** `host:port` of /metrics, /healthz, /readyz, once the receiver logged it. */
  telemetry(timeoutMs?: number): Promise<string>;
  /** Largest VmRSS (bytes) seen by the sampler (every 500 ms), and the samples taken. */
  maxRss(): number;
  rssSamples(): number;
  /** Send `signal` (if still running) and wait for the exit; SIGKILL after `killAfterMs` (a hung shutdown fails
   *  the test's exit-code assertion instead of its timeout). */
  stop(signal: NodeJS.Signals, killAfterMs?: number): Promise<CliResult>;
}

/** VmRSS of a running process in bytes, or undefined once it is gone. */
export function readRss(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Starts `kata-otel run --config <config>` in follow mode (plus `args`) as a child process. */
export function startReceiver(config: string, args: string[] = []): Receiver {
  const child = spawnCli(['run', '--config', config, ...args]);
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const result = collect(child);
  const pid = child.pid as number;
  let max = 0;
  let samples = 0;
  const sample = () => {
    const rss = readRss(pid);
    if (rss === undefined) return;
    samples++;
    if (rss > max) max = rss;
  };
  const timer = setInterval(sample, 500);
  void result.then(() => clearInterval(timer));
  return {
    child,
    pid,
    stderr: () => err,
    result,
    telemetry: (timeoutMs = 30_000) => {
      const found = waitFor(
        'the receiver to log its telemetry address',
        () => /"msg":"self-telemetry listening"[^\n]*"address":"([^"]+)"/.exec(err)?.[1],
        timeoutMs,
        50,
      );
      // An early exit (a config error) fails at once, with what the receiver said.
      const exited = result.then((r) => {
        throw new Error(`receiver exited (${r.code ?? r.signal}) before serving telemetry: ${r.stderr.slice(-2000)}`);
      });
      exited.catch(() => {});
      return Promise.race([found, exited]);
    },
    maxRss: () => {
      sample();
      return max;
    },
    rssSamples: () => samples,
    stop: async (signal, killAfterMs = 30_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      try {
        return await result;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

// ---- self-telemetry --------------------------------------------------------------------------------------------

/** Prometheus text → `name{labels}` → value (labels as printed, e.g. `kata_otel_queue_records{exporter="backend"}`). */
export async function scrape(address: string): Promise<Map<string, number>> {
  const res = await fetch(`http://${address}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** The value of `name` whose labels include every `label="value"` given (sum over matches; 0 when none). */
export function metric(m: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [k, v] of m) {
    const brace = k.indexOf('{');
    const n = brace < 0 ? k : k.slice(0, brace);
    if (n !== name) continue;
    if (Object.entries(labels).every(([l, val]) => k.includes(`${l}="${val}"`))) sum += v;
  }
  return sum;
}

export const MiB = 1024 * 1024;
