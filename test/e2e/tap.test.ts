// `kata-otel tap` / `run --stdout`: records printed on stdout beside the configured exporter (OTLP/JSON when
// stdout is not a terminal), while the backend still gets every record.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import { kataLines, tempDir, writeReceiverConfig } from './delivery-helpers.js';

let srv: OtlpTestServer;
beforeAll(async () => {
  srv = await startOtlpServer();
});
afterAll(async () => srv?.stop());

describe('tap', () => {
  for (const args of [['tap'], ['run', '--stdout']]) {
    it(`${args.join(' ')} prints OTLP/JSON on a pipe and still exports`, async () => {
      await srv.reset();
      const dir = tempDir();
      const log = join(dir, 'shim.log');
      writeFileSync(log, kataLines(0, 30));
      const cfg = writeReceiverConfig(dir, {
        dataDir: join(dir, 'data'),
        endpoint: srv.grpcEndpoint,
        telemetry: false,
      });
      const r = await runCli([...args, '--once', '--config', cfg, log]);
      expect(r.code, r.stderr).toBe(0);
      const printed = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { resourceLogs?: { scopeLogs: { logRecords: unknown[] }[] }[] })
        // Lifecycle spans and metrics are printed too (resourceSpans / resourceMetrics lines): count the logs.
        .flatMap((req) => (req.resourceLogs ?? []).flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords)));
      expect(printed).toHaveLength(30);
      expect((await srv.stats()).records).toBe(30);
      expect(r.stderr).toContain('tap (stdout) → 30 records to stdout'); // the summary moved to stderr
    }, 60_000);
  }
});
