// `run` loads only what its configuration uses (issue 20, memory at rest): a real receiver following a real journal
// directory (journalctl on journal files written by systemd-journal-remote) and a files glob, exporting to the store
// or over OTLP/HTTP, never loads the OTLP metrics SDK, grpc-js, typebox or ajv's schema compiler (the validator is
// compiled at build time), the tracing SDK or the progress bar. With a gRPC exporter grpc-js is loaded: the probe
// sees what is loaded. Asserts on module loading, not on RSS (bench/rest.ts measures that).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, spawnCli } from '../support/cli.js';
import { HAS_JOURNALCTL, JOURNAL_REMOTE, SHIM_WRITER, TEST_BOOT_ID, writeJournal } from '../support/journal.js';
import { moduleProbe, readLoaded, type Loaded } from '../support/module-probe.js';

const hasJournalctl = HAS_JOURNALCTL;

const root = mkdtempSync(join(tmpdir(), 'kata-otel-lazy-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `run` (follow mode) with `exporters`, waits until it started, asks the probe, stops it. */
async function loadedBy(name: string, exporters: string): Promise<Loaded> {
  const dir = join(root, name);
  mkdirSync(join(dir, 'journal'), { recursive: true });
  mkdirSync(join(dir, 'logs'));
  await writeJournal(join(dir, 'journal', 'system.journal'), [
    {
      ...SHIM_WRITER,
      _BOOT_ID: TEST_BOOT_ID,
      __REALTIME_TIMESTAMP: 1_700_000_000_000_000,
      __MONOTONIC_TIMESTAMP: 1,
      SYSLOG_IDENTIFIER: 'kata',
      PRIORITY: 6,
      MESSAGE: 'time="2023-11-14T22:13:20Z" level=info msg="sandbox started" sandbox=abc source=virtcontainers',
    },
  ]);
  writeFileSync(join(dir, 'logs', 'agent.log'), '');
  const cfg = join(dir, 'config.yaml');
  writeFileSync(
    cfg,
    `data_dir: ${join(dir, 'data')}\ntelemetry: { listen: '127.0.0.1:0' }\nshutdown_timeout_ms: 500\n` +
      `sources:\n  journald: { enabled: true, directory: ${join(dir, 'journal')}, start_at: beginning }\n` +
      `  files: [{ include: ['${join(dir, 'logs')}/*.log'] }]\n${exporters}`,
  );
  const probe = moduleProbe(dir);
  const child = spawnCli(['run', '--config', cfg], { env: { ...probe.env, NODE_OPTIONS: probe.nodeOptions } });
  const done = collect(child);
  let stderr = '';
  child.stderr?.on('data', (d: string) => (stderr += d));
  try {
    for (let i = 0; i < 300 && !stderr.includes('self-telemetry listening'); i++) await sleep(100);
    expect(stderr, stderr).toContain('self-telemetry listening');
    // The journal entry read and handed on: the sources and the pipeline ran, not only start-up.
    for (let i = 0; i < 100 && !/"sources":\["file-0","journald"\]/.test(stderr); i++) await sleep(100);
    await sleep(1000);
    child.kill('SIGUSR2');
    for (let i = 0; i < 100 && !existsSync(probe.file); i++) await sleep(100);
    return readLoaded(probe);
  } finally {
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
  }
}

// Packages (or package paths) `run` must not load unless its configuration asks for them.
const NEVER = [
  '@sinclair/typebox', // the config schema: compiled into receiver/config/generated at build time
  '@opentelemetry/sdk-metrics', // telemetry.otlp_metrics
  '@opentelemetry/exporter-metrics-otlp-grpc',
  '@opentelemetry/exporter-metrics-otlp-http',
  '@opentelemetry/exporter-metrics-otlp-proto',
  '@opentelemetry/sdk-trace', // telemetry.traces
  '@opentelemetry/core',
  'cli-progress', // run --once on a terminal
  '@duckdb/node-api', // query --sql
];
// ajv's compiler (its runtime helpers, a few lines each, are what the generated validator requires).
const AJV_COMPILER = /node_modules\/ajv\/dist\/(ajv|core|compile\/)/;

describe.skipIf(!JOURNAL_REMOTE || !hasJournalctl)('run loads only what its configuration uses', () => {
  it.each([
    ['store', ''],
    ['otlp-http', `exporters:\n  - { type: otlp, protocol: http/protobuf, endpoint: 'http://127.0.0.1:9/v1/logs' }\n`],
  ])(
    'journald + files → %s: no gRPC, schema compiler, metrics/tracing SDK or progress bar',
    async (name, exp) => {
      const loaded = await loadedBy(name, exp);
      // The probe works: what this run does use is there.
      expect(loaded.packages).toEqual(expect.arrayContaining(['yaml', 'picomatch']));
      for (const p of [...NEVER, '@grpc/grpc-js']) expect(loaded.packages, p).not.toContain(p);
      expect(loaded.paths.filter((p) => AJV_COMPILER.test(p))).toEqual([]);
    },
    60_000,
  );

  it('an OTLP/gRPC exporter loads grpc-js (and still none of the others)', async () => {
    const loaded = await loadedBy(
      'grpc',
      `exporters:\n  - { type: otlp, protocol: grpc, endpoint: 'http://127.0.0.1:9' }\n`,
    );
    expect(loaded.packages).toContain('@grpc/grpc-js');
    for (const p of NEVER) expect(loaded.packages, p).not.toContain(p);
  }, 60_000);
});
