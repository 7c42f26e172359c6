// `kata-otel run` at rest: a daemon with journald and a files glob configured and nothing to read. Starts the CLI
// as its own process, waits (10 s by default) and reads its resident set from /proc/<pid>/status, then stops it
// with SIGTERM. The target (issue 20) is ≤ 70 MB RSS. Usable as a module (`measureRest`, e.g. from bench/run.ts)
// or on its own:
//
//   npx tsx bench/rest.ts                          # the build in dist/ (run `npm run build` first), 3 runs
//   npx tsx bench/rest.ts --against /tmp/old       # interleaved with another checkout's build (A/B)
//   npx tsx bench/rest.ts --exporter otlp-grpc --runs 1 --idle-ms 5000 --modules
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { moduleProbe, readLoaded } from '../test/support/module-probe.js';

/** The issue 20 target for `run` at rest, MB (MiB of RSS). */
export const REST_TARGET_MB = 70;

export type RestExporter = 'store' | 'otlp-http' | 'otlp-grpc';

export interface RestOptions {
  /** The checkout whose `bin/kata-otel.js` (and built dist/) is measured; default this repository. */
  root?: string;
  /** How long the receiver idles before its RSS is read; default 10 s. */
  idleMs?: number;
  /** The exporter configured: the default store, or OTLP over HTTP/protobuf or gRPC to a closed loopback port. */
  exporter?: RestExporter;
  /** Also return the node_modules packages the process loaded (test/support/module-probe.ts; it adds RSS). */
  modules?: boolean;
}

export interface RestResult {
  /** VmRSS after idling, MiB. */
  rssMB: number;
  /** VmHWM (peak RSS since start), MiB. */
  hwmMB: number;
  /** RssAnon (heap, malloc) and RssFile (the node binary and mapped files), MiB. */
  anonMB: number;
  fileMB: number;
  pass: boolean;
  packages?: string[];
}

const REPO = fileURLToPath(new URL('../', import.meta.url));

const kb = (status: string, key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;

function configText(dir: string, exporter: RestExporter): string {
  const exp =
    exporter === 'store'
      ? ''
      : exporter === 'otlp-http'
        ? `exporters:\n  - { type: otlp, protocol: http/protobuf, endpoint: 'http://127.0.0.1:9/v1/logs' }\n`
        : `exporters:\n  - { type: otlp, protocol: grpc, endpoint: 'http://127.0.0.1:9' }\n`;
  return (
    `data_dir: ${join(dir, 'data')}\n` +
    `telemetry: { listen: '127.0.0.1:0' }\n` +
    `sources:\n  journald: { enabled: true, directory: ${join(dir, 'journal')} }\n` +
    `  files: [{ include: ['${join(dir, 'logs')}/*.log'] }]\n` +
    exp
  );
}

/** One measurement: start `run`, idle, read /proc/<pid>/status, stop it. */
export async function measureRest(opts: RestOptions = {}): Promise<RestResult> {
  const root = resolve(opts.root ?? REPO);
  const bin = join(root, 'bin', 'kata-otel.js');
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error(`${root}/dist is missing: npm run build`);
  const dir = mkdtempSync(join(tmpdir(), 'kata-otel-rest-'));
  try {
    mkdirSync(join(dir, 'journal'));
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs', 'empty.log'), '');
    const cfg = join(dir, 'config.yaml');
    writeFileSync(cfg, configText(dir, opts.exporter ?? 'store'));
    const probe = opts.modules ? moduleProbe(dir) : undefined;
    const child = spawn(process.execPath, [bin, 'run', '--config', cfg], {
      cwd: dir,
      env: { ...process.env, ...probe?.env, NODE_OPTIONS: probe?.nodeOptions ?? '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    let early: number | null | undefined;
    void exited.then((c) => (early = c));
    await sleep(opts.idleMs ?? 10_000);
    if (early !== undefined) throw new Error(`kata-otel run exited early (${early}): ${stderr}`);
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    let packages: string[] | undefined;
    if (probe) {
      child.kill('SIGUSR2');
      for (let i = 0; i < 50 && !existsSync(probe.file); i++) await sleep(100);
      packages = readLoaded(probe).packages;
    }
    child.kill('SIGTERM');
    await exited;
    const rssMB = kb(status, 'VmRSS');
    return {
      rssMB,
      hwmMB: kb(status, 'VmHWM'),
      anonMB: kb(status, 'RssAnon'),
      fileMB: kb(status, 'RssFile'),
      pass: rssMB <= REST_TARGET_MB,
      ...(packages ? { packages } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function cli(argv: string[]): Promise<number> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const runs = Number(arg('--runs') ?? 3);
  const idleMs = Number(arg('--idle-ms') ?? 10_000);
  const exporter = (arg('--exporter') ?? 'store') as RestExporter;
  const against = arg('--against');
  const modules = argv.includes('--modules');
  const builds = [{ name: 'this', root: REPO }, ...(against ? [{ name: 'against', root: against }] : [])];
  const results = new Map<string, RestResult[]>(builds.map((b) => [b.name, []]));
  for (let r = 0; r < runs; r++) {
    // Interleaved: each build goes first every other round.
    const order = r % 2 ? [...builds].reverse() : builds;
    for (const b of order) {
      const res = await measureRest({ root: b.root, idleMs, exporter, modules });
      results.get(b.name)!.push(res);
      const pk = res.packages ? `  packages: ${res.packages.join(' ')}` : '';
      process.stdout.write(
        `${b.name.padEnd(8)} run ${r + 1}: RSS ${res.rssMB.toFixed(1)} MB (anon ${res.anonMB.toFixed(1)}, file ${res.fileMB.toFixed(1)}, peak ${res.hwmMB.toFixed(1)})${pk}\n`,
      );
    }
  }
  let failed = 0;
  for (const b of builds) {
    const rss = median(results.get(b.name)!.map((x) => x.rssMB));
    const ok = rss <= REST_TARGET_MB;
    if (!ok && b.name === 'this') failed = 1;
    process.stdout.write(
      `${b.name.padEnd(8)} ${exporter}: median RSS at rest ${rss.toFixed(1)} MB — target ≤ ${REST_TARGET_MB} MB: ${ok ? 'PASS' : 'FAIL'}\n`,
    );
  }
  return failed;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`bench/rest: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
