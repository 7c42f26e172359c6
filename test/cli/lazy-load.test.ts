// The CLI loads a command's dependencies only when that command runs: `parse`, `rules` and `--version` stay free
// of the config validator (ajv), grpc-js and prom-client, which `run` needs (start-up RSS). The packages a real
// CLI process loaded are read from its require.cache at exit by a preloaded hook.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kata-otel-lazy-'));
const hook = join(dir, 'packages.cjs');
writeFileSync(
  hook,
  `process.on('exit', () => {
  const names = Object.keys(require.cache).map((p) => (/node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(p) || [])[1]);
  require('node:fs').writeSync(2, '\\nLOADED ' + JSON.stringify([...new Set(names.filter(Boolean))]) + '\\n');
});`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function loaded(args: string[]): Promise<{ code: number | null; packages: string[]; stderr: string }> {
  const r = await runCli(args, { env: { NODE_OPTIONS: `--require ${hook}` } });
  const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED '));
  expect(line, r.stderr).toBeDefined();
  return { code: r.code, packages: JSON.parse(line!.slice('LOADED '.length)) as string[], stderr: r.stderr };
}

const HEAVY = ['ajv', '@grpc/grpc-js', 'prom-client'];

describe('lazy command loading', () => {
  it('run loads prom-client (the probe sees it), and grpc-js only for a gRPC exporter (test/run/lazy-modules)', async () => {
    const r = await loaded(['run', '--once', '--data-dir', join(dir, 'data'), 'examples/logs/agent-json.log']);
    expect(r.code).toBe(0);
    expect(r.packages).toContain('prom-client');
    expect(r.packages).not.toContain('@grpc/grpc-js');
  });

  it.each([[['parse', 'examples/logs/agent-json.log']], [['rules', 'list']], [['--version']]])(
    '%j loads none of them',
    async (args) => {
      const r = await loaded(args);
      expect(r.code).toBe(0);
      for (const p of HEAVY) expect(r.packages).not.toContain(p);
    },
  );

  it('DuckDB loads only for query --sql: not for run or a plain query', async () => {
    const data = join(dir, 'duck-data');
    const duck = async (args: string[]) => (await loaded(args)).packages.some((p) => p.startsWith('@duckdb/'));
    expect(await duck(['run', '--once', '--data-dir', data, 'examples/logs/agent-json.log'])).toBe(false);
    expect(await duck(['query', '--data-dir', data, '--severity', '>=info'])).toBe(false);
    expect(await duck(['query', '--data-dir', data, '--sql', 'SELECT count(*) FROM records'])).toBe(true);
  }, 60_000);

  // Self-tracing (telemetry.traces) off, the default: not one module of the tracing SDK or its exporter is loaded;
  // on, they are (the probe sees them).
  const TRACING = ['@opentelemetry/sdk-trace', '@opentelemetry/exporter-trace-otlp-proto'];
  it.each([false, true])('run with telemetry.traces.enabled=%s loads the tracing SDK only when on', async (on) => {
    const cfg = join(dir, `traces-${on}.yaml`);
    // An unreachable endpoint: the spans are dropped at the (short) shutdown timeout, the run still succeeds.
    const endpoint = 'http://127.0.0.1:9/v1/traces';
    writeFileSync(
      cfg,
      `data_dir: ${join(dir, `data-${on}`)}\nshutdown_timeout_ms: 500\ntelemetry:\n  traces: { enabled: ${on}, endpoint: '${endpoint}' }\n`,
    );
    const r = await loaded(['run', '--once', '--config', cfg, 'examples/logs/agent-json.log']);
    expect(r.code, r.stderr).toBe(0);
    for (const p of TRACING) expect(r.packages.includes(p)).toBe(on);
  });

  // The CRI API fallback's proto loader (protobufjs) loads only once a CRI socket exists.
  it('run on a node without a CRI socket does not load the CRI proto loader', async () => {
    const cfg = join(dir, 'no-cri.yaml');
    writeFileSync(
      cfg,
      `data_dir: ${join(dir, 'data-no-cri')}\npipeline: { k8s: { cri: { endpoints: [${join(dir, 'none.sock')}] } } }\n`,
    );
    const r = await loaded(['run', '--once', '--config', cfg, 'examples/logs/agent-json.log']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.packages).not.toContain('@grpc/proto-loader');
    expect(r.stderr).toContain('CRI API fallback unavailable');
  });

  it('a rules command still reports a rule that cannot be loaded with exit code 2', async () => {
    const r = await loaded(['rules', 'list', '--rules', join(dir, 'missing.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^kata-otel rules: /m);
  });
});
