// `kata-otel tap` / `run --stdout`: records printed on stdout beside the configured exporter (OTLP/JSON when
// stdout is not a terminal), while the backend still gets every record.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import { kataLines, tempDir } from './delivery-helpers.js';

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
      const cfg = join(dir, 'k.yaml');
      writeFileSync(
        cfg,
        stringify({
          data_dir: join(dir, 'data'),
          pipeline: { rules: { enabled: false } },
          exporters: [{ type: 'otlp', name: 'backend', protocol: 'grpc', endpoint: srv.grpcEndpoint }],
          telemetry: { listen: null },
        }),
      );
      const r = await runCli([...args, '--once', '--config', cfg, log]);
      expect(r.code, r.stderr).toBe(0);
      const printed = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { resourceLogs: { scopeLogs: { logRecords: unknown[] }[] }[] })
        .flatMap((req) => req.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords)));
      expect(printed).toHaveLength(30);
      expect((await srv.stats()).records).toBe(30);
      expect(r.stderr).toContain('tap (stdout) → 30 records to stdout'); // the summary moved to stderr
    }, 60_000);
  }
});
