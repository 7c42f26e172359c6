// Conformance of every exporter in the registry: each is built from a configuration entry of its type, exports,
// and shuts down (twice, harmlessly). A network exporter says what an HTTP answer means the way the delivery queue
// needs it: 429 and 503 are worth retrying, 400 never is (the batch is dropped and counted). The backend is a
// plain loopback HTTP server answering the status under test.
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORTERS } from '../../receiver/components/registry.js';
import { loadConfig, type ConfigInput } from '../../receiver/config/index.js';
import { nowUnixNano } from '../../receiver/model/record.js';
import { parseText } from '../../receiver/parse/index.js';
import { silentLogger } from '../../receiver/telemetry/log.js';

type Entry = NonNullable<ConfigInput['exporters']>[number];

/** Per exporter type: the entries under test (network exporters pointed at `url`, the loopback server). */
const FIXTURES: Record<string, (url: string, dir: string) => Entry[]> = {
  otlp: (url) => [
    { type: 'otlp', protocol: 'http/protobuf', endpoint: url },
    { type: 'otlp', protocol: 'http/json', endpoint: url },
  ],
  store: (_url, dir) => [{ type: 'store', directory: join(dir, 'store') }],
  stdout: () => [{ type: 'stdout', format: 'otlp-json' }],
};

const records = () =>
  parseText('time="2026-01-01T00:00:00Z" level=info msg="conformance" name=containerd-shim-v2 source=virtcontainers', {
    observedTimeUnixNano: nowUnixNano(),
  });

describe('exporters (conformance over the registry)', () => {
  let server: Server;
  let status = 200;
  let url = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.statusCode = status;
        if (status === 200) {
          // An empty ExportLogsServiceResponse in the request's encoding.
          const json = req.headers['content-type']?.includes('json');
          res.setHeader('content-type', json ? 'application/json' : 'application/x-protobuf');
          res.end(json ? '{}' : Buffer.alloc(0));
        } else res.end(`status ${status}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/logs`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('every registered exporter has a fixture', () => {
    expect(EXPORTERS.map((d) => d.type).sort()).toEqual(Object.keys(FIXTURES).sort());
  });

  it.each(EXPORTERS.map((d) => [d.type, d] as const))(
    '%s exports, classifies answers and shuts down',
    async (_t, d) => {
      const dir = mkdtempSync(join(tmpdir(), `kata-otel-conf-${d.type}-`));
      const config = loadConfig(undefined, { data_dir: dir, exporters: FIXTURES[d.type]!(url, dir) }, { env: {} });
      const create = await d.load();
      for (const entry of config.exporters) {
        expect(entry.type).toBe(d.type);
        const { exporter } = create(entry, { stdout: new PassThrough(), logger: silentLogger });
        status = 200;
        expect((await exporter.export(records())).code, `${entry.name}: accepted`).toBe('success');
        if (d.network) {
          const codeFor = async (s: number) => ((status = s), (await exporter.export(records())).code);
          expect(await codeFor(429), '429 Too Many Requests').toBe('retryable');
          expect(await codeFor(503), '503 Service Unavailable').toBe('retryable');
          expect(await codeFor(400), '400 Bad Request').toBe('permanent');
        }
        await exporter.shutdown();
        await exporter.shutdown();
      }
    },
  );
});
