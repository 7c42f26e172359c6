// The receiver's start-up checks: `kata-otel run --once` with `doctor.enabled: true` sends each finding as a
// kata.config.finding event through the normal queue and exporter to the real OTLP test server; without the key,
// a one-shot import sends none.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTR_KATA_CONFIG_FILE,
  ATTR_KATA_CONFIG_FINDING_ID,
  ATTR_KATA_CONFIG_FINDING_SEVERITY,
  ATTR_KATA_CONFIG_FIX,
  ATTR_KATA_CONFIG_KEY,
  ATTR_KATA_CONFIG_LINE,
  ATTR_KATA_CONFIG_PROFILE,
  EVENT_KATA_CONFIG_FINDING,
} from '../../receiver/semconv/generated.js';
import { collect, runCli, spawnCli } from '../support/cli.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import { GO_DIR, NodeTree } from './helpers.js';

const LOG = new URL('../../examples/logs/runtime-logfmt.log', import.meta.url).pathname;

describe('run: configuration findings as kata.config.finding events', () => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  const config = (root: string, doctor: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-otel-doctor-run-'));
    const path = join(dir, 'kata-otel.yaml');
    writeFileSync(
      path,
      `data_dir: ${join(dir, 'data')}\nexporters:\n  - type: otlp\n    protocol: grpc\n    endpoint: ${server.grpcEndpoint}\n${doctor.replace('ROOT', root)}`,
    );
    return path;
  };

  it('a debug console switched on in a drop-in arrives at the backend with its file, line, key and fix', async () => {
    await server.reset();
    const t = new NodeTree();
    t.installShipped('go-qemu');
    t.dropIn(GO_DIR, '20-debug.toml', '# kata-deploy debug\n[agent.kata]\ndebug_console_enabled = true\n');
    const res = await runCli([
      'run',
      '--once',
      '--config',
      config(t.root, 'doctor:\n  enabled: true\n  profile: secure\n  root: ROOT\n'),
      LOG,
    ]);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/"msg":"configuration checked".*"profile":"secure"/);
    const got = await server.records();
    const findings = got.filter((r) => r.eventName === EVENT_KATA_CONFIG_FINDING);
    const consoleOn = findings.find((r) => r.attributes[ATTR_KATA_CONFIG_FINDING_ID] === 'kata-debug-console');
    expect(consoleOn).toBeDefined();
    expect(consoleOn?.attributes).toMatchObject({
      [ATTR_KATA_CONFIG_FINDING_SEVERITY]: 'error',
      [ATTR_KATA_CONFIG_PROFILE]: 'secure',
      [ATTR_KATA_CONFIG_FILE]: `${GO_DIR}/config.d/20-debug.toml`,
      [ATTR_KATA_CONFIG_LINE]: 3,
      [ATTR_KATA_CONFIG_KEY]: 'agent.kata.debug_console_enabled',
    });
    expect(consoleOn?.attributes[ATTR_KATA_CONFIG_FIX]).toMatch(/debug_console_enabled = false/);
    expect(consoleOn?.severityNumber).toBe(17);
    expect(consoleOn?.body).toMatch(/debug console is on/);
    expect(consoleOn?.resource).toMatchObject({ 'service.name': 'kata-otel', 'service.namespace': 'kata-containers' });
    // The shipped default is reported too, and the log file's records went through as usual.
    expect(findings.map((r) => r.attributes[ATTR_KATA_CONFIG_FINDING_ID])).toContain('kata-guest-seccomp-disabled');
    expect(got.length - findings.length).toBeGreaterThan(0);
  });

  it('a running receiver (follow mode) checks by default, and stops cleanly', async () => {
    await server.reset();
    const t = new NodeTree();
    t.installShipped('rs-qemu');
    const child = spawnCli(['run', '--config', config(t.root, 'doctor:\n  root: ROOT\n')]);
    const done = collect(child);
    let findings: Awaited<ReturnType<OtlpTestServer['records']>> = [];
    // A loaded machine can take a while to start the child; SIGTERM only once the findings are in.
    for (let i = 0; i < 600 && !findings.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      findings = (await server.records()).filter((r) => r.eventName === EVENT_KATA_CONFIG_FINDING);
    }
    child.kill('SIGTERM');
    const res = await done;
    expect([res.code, res.signal, findings.length > 0], res.stderr.slice(-1500)).toEqual([0, null, true]);
    // The shipped runtime-rs QEMU file: no agent.log_vport, so nothing reads the agent's logs.
    expect(findings.map((r) => r.attributes[ATTR_KATA_CONFIG_FINDING_ID])).toContain('kata-agent-logs-unread');
    expect(findings.every((r) => r.attributes[ATTR_KATA_CONFIG_PROFILE] === 'prod')).toBe(true);
  });

  it('a one-shot import without doctor.enabled sends no findings', async () => {
    await server.reset();
    const t = new NodeTree();
    t.installShipped('go-qemu');
    t.dropIn(GO_DIR, '20-debug.toml', '[agent.kata]\ndebug_console_enabled = true\n');
    const res = await runCli(['run', '--once', '--config', config(t.root, 'doctor:\n  root: ROOT\n'), LOG]);
    expect(res.code).toBe(0);
    const got = await server.records();
    expect(got.length).toBeGreaterThan(0);
    expect(got.filter((r) => r.eventName === EVENT_KATA_CONFIG_FINDING)).toEqual([]);
  });
});
