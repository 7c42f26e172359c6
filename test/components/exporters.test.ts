// Conformance of every exporter in the registry: each is built from a configuration entry of its type, exports,
// and shuts down (twice, harmlessly). A network exporter says what an HTTP answer means the way the delivery queue
// needs it: 429 and 503 are worth retrying, 400 never is (the batch is dropped and counted). The HTTP backend is a
// plain loopback HTTP server answering the status under test; the gRPC one is the OTLP test server on the official
// protos (test/support/otlp-server.ts), answering RESOURCE_EXHAUSTED (with RetryInfo), UNAVAILABLE and
// INVALID_ARGUMENT, the gRPC statuses the OTLP specification pairs with 429, 503 and 400. RESOURCE_EXHAUSTED without
// RetryInfo is permanent: the specification retries it only when the server signals it can recover.
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
import { startOtlpServer, type FailKind, type OtlpTestServer } from '../support/otlp-server.js';

type Entry = NonNullable<ConfigInput['exporters']>[number];

/** Per exporter type: the entries under test (HTTP exporters pointed at `url`, the loopback server; gRPC ones at
 *  `grpc`, the OTLP test server). */
const FIXTURES: Record<string, (url: string, dir: string, grpc: string) => Entry[]> = {
  otlp: (url, _dir, grpc) => [
    { type: 'otlp', protocol: 'http/protobuf', endpoint: url },
    { type: 'otlp', protocol: 'http/json', endpoint: url },
    { type: 'otlp', protocol: 'grpc', endpoint: grpc },
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
  let otlp: OtlpTestServer;
  let status = 200;
  let url = '';
  beforeAll(async () => {
    otlp = await startOtlpServer();
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
  afterAll(async () => {
    await otlp?.stop();
    await new Promise<void>((r) => server.close(() => r()));
  });

  /** The answer to the next export: an HTTP status from the plain server, the matching gRPC status from the OTLP
   *  test server (`null`: accept). */
  const GRPC_FOR: Record<number, FailKind> = { 429: 'exhausted', 503: 'unavailable', 400: 'invalid' };
  const answer = async (grpc: boolean, s: number) => {
    status = s;
    if (grpc)
      await otlp.setFailure(s === 200 ? null : { kind: GRPC_FOR[s]!, retryAfterMs: s === 429 ? 50 : undefined });
  };

  it('every registered exporter has a fixture', () => {
    expect(EXPORTERS.map((d) => d.type).sort()).toEqual(Object.keys(FIXTURES).sort());
  });

  it.each(EXPORTERS.map((d) => [d.type, d] as const))(
    '%s exports, classifies answers and shuts down',
    async (_t, d) => {
      const dir = mkdtempSync(join(tmpdir(), `kata-otel-conf-${d.type}-`));
      const config = loadConfig(
        undefined,
        { data_dir: dir, exporters: FIXTURES[d.type]!(url, dir, otlp.grpcEndpoint) },
        { env: {} },
      );
      const create = await d.load();
      for (const entry of config.exporters) {
        expect(entry.type).toBe(d.type);
        const { exporter } = create(entry, { stdout: new PassThrough(), logger: silentLogger });
        const grpc = 'protocol' in entry && entry.protocol === 'grpc';
        await answer(grpc, 200);
        expect((await exporter.export(records())).code, `${entry.name}: accepted`).toBe('success');
        if (d.network) {
          const codeFor = async (s: number) => (await answer(grpc, s), (await exporter.export(records())).code);
          expect(await codeFor(429), '429 Too Many Requests').toBe('retryable');
          expect(await codeFor(503), '503 Service Unavailable').toBe('retryable');
          expect(await codeFor(400), '400 Bad Request').toBe('permanent');
          if (grpc) {
            await otlp.setFailure({ kind: 'exhausted' });
            expect((await exporter.export(records())).code, 'RESOURCE_EXHAUSTED without RetryInfo').toBe('permanent');
          }
          await answer(grpc, 200);
        }
        await exporter.shutdown();
        await exporter.shutdown();
      }
    },
  );
});
