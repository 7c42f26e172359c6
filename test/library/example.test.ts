// examples/bridge/bridge.mjs runs as written (from source: tsconfig `paths` maps 'kata-otel' for tsx): to stdout
// through the SDK, and through the durable exporter to the OTLP test server, where a second run with the same data
// directory emits only its one literal line (the files are checkpointed).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_KATA_ALERT, parseFile } from '../../receiver/api/index.js';
import { tempDir } from '../e2e/delivery-helpers.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const LOGS = join(REPO, 'examples/logs');

function runExample(env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/bridge/bridge.mjs'], {
    cwd: REPO,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr.slice(-2000)).toBe(0);
  return r;
}

async function exampleRecordCount(): Promise<number> {
  let n = 1; // the emitLine call
  for (const f of readdirSync(LOGS).filter((x) => x.endsWith('.log')))
    for await (const _ of parseFile(join(LOGS, f))) n++;
  return n;
}

describe('examples/bridge', () => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('prints every record of the example logs and the alerts through the SDK', async () => {
    const r = runExample();
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { body: string; eventName?: string });
    const alerts = lines.filter((l) => l.eventName === EVENT_KATA_ALERT);
    expect(lines[0]?.body).toBe('VM started');
    expect(alerts.length).toBeGreaterThan(0);
    expect(lines.length - alerts.length).toBe(await exampleRecordCount());
  }, 90_000);

  it('ships them durably over OTLP, and resumes from its checkpoints', async () => {
    const dataDir = tempDir('kata-otel-bridge-example-');
    const env = { KATA_OTEL_ENDPOINT: server.grpcEndpoint, KATA_OTEL_DATA_DIR: dataDir };
    runExample(env);
    const first = (await server.records()).filter((r) => r.eventName !== EVENT_KATA_ALERT);
    expect(first.length).toBe(await exampleRecordCount());
    expect(first[0]?.resource['service.name']).toBe('kata-node-agent');
    runExample(env);
    const second = (await server.records()).filter((r) => r.eventName !== EVENT_KATA_ALERT);
    expect(second.length - first.length).toBe(1);
  }, 90_000);
});
