// The OTLP exporters against the real test server (a child process decoding with the official generated code).
import * as http2 from 'node:http2';
import { createServer } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  resolveOtlpSettings,
  type OtlpExporterConfig,
  type OtlpProtocol,
} from '../../receiver/exporters/otlp-config.js';
import { createOtlpExporter } from '../../receiver/exporters/otlp-exporter.js';
import { OtlpGrpcExporter } from '../../receiver/exporters/otlp-grpc.js';
import type { Exporter } from '../../receiver/exporters/types.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { SCOPE_NAME, SCOPE_VERSION } from '../../receiver/otlp/index.js';
import {
  ATTR_CODE_LINE_NUMBER,
  ATTR_HOST_NAME,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_FIELD,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SUBSYSTEM,
  ATTR_SERVICE_NAME,
  EVENT_KATA_ALERT,
  KATA_COMPONENT_VALUE_AGENT,
  KATA_COMPONENT_VALUE_RUNTIME,
} from '../../receiver/semconv/generated.js';
import { officialDecode } from '../support/otlp-proto.js';
import { startOtlpServer, type OtlpTestServer, type RecordedLog } from '../support/otlp-server.js';

const SB = 'c0ffee'.repeat(10) + 'beef';
const records: KataLogRecord[] = [
  {
    timeUnixNano: 1714557600000166229n,
    observedTimeUnixNano: 1714557600999999999n,
    severityNumber: 9,
    severityText: 'info',
    body: 'Device added',
    attributes: {
      [ATTR_SERVICE_NAME]: 'kata-runtime',
      [ATTR_KATA_SANDBOX_ID]: SB,
      [ATTR_KATA_COMPONENT]: KATA_COMPONENT_VALUE_RUNTIME,
      [ATTR_KATA_SUBSYSTEM]: 'device',
      [ATTR_CODE_LINE_NUMBER]: 42,
    },
  },
  {
    timeUnixNano: 18446744073709551615n,
    observedTimeUnixNano: 9007199254740993n,
    severityNumber: 17,
    severityText: 'ERRO',
    body: 'rpc failed: ünïcödé 🎉',
    attributes: {
      [ATTR_SERVICE_NAME]: 'kata-agent',
      [ATTR_KATA_SANDBOX_ID]: SB,
      [ATTR_KATA_COMPONENT]: KATA_COMPONENT_VALUE_AGENT,
      [ATTR_KATA_FIELD('ratio')]: 0.5,
      [ATTR_KATA_FIELD('list')]: ['a', 'b'],
    },
    eventName: EVENT_KATA_ALERT,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
  },
  {
    timeUnixNano: 0n,
    observedTimeUnixNano: 1714557601000000000n,
    severityNumber: 0,
    severityText: '',
    body: '',
    attributes: {
      [ATTR_SERVICE_NAME]: 'kata-runtime',
      [ATTR_KATA_SANDBOX_ID]: SB,
      [ATTR_KATA_COMPONENT]: KATA_COMPONENT_VALUE_RUNTIME,
    },
  },
];

/** What the server must have recorded for `records` (transport aside), in the server's plain form. */
const expected: Omit<RecordedLog, 'transport'>[] = [
  {
    resource: {
      [ATTR_SERVICE_NAME]: 'kata-runtime',
      [ATTR_KATA_SANDBOX_ID]: SB,
      [ATTR_KATA_COMPONENT]: KATA_COMPONENT_VALUE_RUNTIME,
    },
    scope: { name: SCOPE_NAME, version: SCOPE_VERSION },
    timeUnixNano: '1714557600000166229',
    observedTimeUnixNano: '1714557600999999999',
    severityNumber: 9,
    severityText: 'info',
    body: 'Device added',
    attributes: { [ATTR_KATA_SUBSYSTEM]: 'device', [ATTR_CODE_LINE_NUMBER]: 42 },
  },
  {
    resource: {
      [ATTR_SERVICE_NAME]: 'kata-runtime',
      [ATTR_KATA_SANDBOX_ID]: SB,
      [ATTR_KATA_COMPONENT]: KATA_COMPONENT_VALUE_RUNTIME,
    },
    scope: { name: SCOPE_NAME, version: SCOPE_VERSION },
    timeUnixNano: '0',
    observedTimeUnixNano: '1714557601000000000',
    severityNumber: 0,
    severityText: '',
    body: '',
    attributes: {},
  },
  {
    resource: {
      [ATTR_SERVICE_NAME]: 'kata-agent',
      [ATTR_KATA_SANDBOX_ID]: SB,
      [ATTR_KATA_COMPONENT]: KATA_COMPONENT_VALUE_AGENT,
    },
    scope: { name: SCOPE_NAME, version: SCOPE_VERSION },
    timeUnixNano: '18446744073709551615',
    observedTimeUnixNano: '9007199254740993',
    severityNumber: 17,
    severityText: 'ERRO',
    body: 'rpc failed: ünïcödé 🎉',
    attributes: { [ATTR_KATA_FIELD('ratio')]: 0.5, [ATTR_KATA_FIELD('list')]: ['a', 'b'] },
    eventName: EVENT_KATA_ALERT,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
  },
];

let srv: OtlpTestServer;
const open: Exporter[] = [];
const PROTOCOLS: OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];

function exporter(
  protocol: OtlpProtocol,
  config: Partial<OtlpExporterConfig> = {},
  env: Record<string, string> = {},
): Exporter {
  const endpoint = protocol === 'grpc' ? srv.grpcEndpoint : srv.httpEndpoint;
  const { exporter } = createOtlpExporter({ protocol, endpoint, ...config }, { env });
  open.push(exporter);
  return exporter;
}

beforeAll(async () => {
  srv = await startOtlpServer();
});
afterAll(async () => {
  await Promise.all(open.map((e) => e.shutdown()));
  await srv?.stop();
});
beforeEach(async () => {
  await srv.reset();
});

describe.each(PROTOCOLS)('%s', (protocol) => {
  it.each(['none', 'gzip'] as const)(
    'delivers records intact (compression %s), with the configured headers',
    async (compression) => {
      const e = exporter(protocol, { compression, headers: { 'x-scope-orgid': 'tenant-1' } });
      expect(await e.export(records)).toEqual({ code: 'success' });
      const got = await srv.records();
      expect(got).toEqual(expected.map((x) => ({ transport: protocol, ...x })));
      const stats = await srv.stats();
      expect(stats).toMatchObject({ requests: 1, records: 3, rejectedRequests: 0 });
      expect(stats.lastHeaders['x-scope-orgid']).toBe('tenant-1');
      expect(stats.lastHeaders['user-agent']).toContain(`kata-otel/${SCOPE_VERSION}`);
      if (protocol !== 'grpc') expect(stats.gzipRequests).toBe(compression === 'gzip' ? 1 : 0);
    },
  );

  it('UNAVAILABLE / 503 with a retry delay is retryable, with retryAfterMs; without one it has none', async () => {
    const e = exporter(protocol);
    await srv.setFailure({ kind: 'unavailable', requests: 1, retryAfterMs: 1500 });
    const r = await e.export(records);
    expect(r.code).toBe('retryable');
    // gRPC RetryInfo carries ms; HTTP Retry-After whole seconds (the server rounds 1.5 s up to 2).
    expect(r.code === 'retryable' && r.retryAfterMs).toBe(protocol === 'grpc' ? 1500 : 2000);
    expect(r.code === 'retryable' && r.error).toMatch(protocol === 'grpc' ? /UNAVAILABLE/ : /HTTP 503/);
    await srv.setFailure({ kind: 'unavailable', requests: 1 });
    const r2 = await e.export(records);
    expect(r2).toEqual({ code: 'retryable', error: expect.any(String) as string });
    expect(await e.export(records)).toEqual({ code: 'success' });
    expect((await srv.stats()).records).toBe(3);
  });

  it('a bad-request answer is permanent and names the endpoint and the status', async () => {
    const e = exporter(protocol);
    await srv.setFailure({ kind: 'invalid', requests: 1, message: 'attribute value too long' });
    const r = await e.export(records);
    expect(r.code).toBe('permanent');
    const err = r.code === 'permanent' ? r.error : '';
    expect(err).toContain(protocol === 'grpc' ? srv.grpcEndpoint : srv.httpEndpoint);
    expect(err).toMatch(
      protocol === 'grpc'
        ? /INVALID_ARGUMENT: attribute value too long/
        : /HTTP 400 Bad Request: attribute value too long/,
    );
  });

  it('an internal server error is permanent (not in the OTLP retryable lists)', async () => {
    const e = exporter(protocol);
    await srv.setFailure({ kind: 'internal', requests: 1 });
    expect((await e.export(records)).code).toBe('permanent');
  });

  it('partial success reports the rejected count and message', async () => {
    const e = exporter(protocol);
    await srv.setPartial(2, 'two records too old');
    expect(await e.export(records)).toEqual({ code: 'success', rejected: 2, message: 'two records too old' });
    expect((await srv.records()).length).toBe(1);
    expect((await srv.stats()).rejectedRecords).toBe(2);
  });

  it('over the server rate limit: retryable with the server-given delay', async () => {
    const e = exporter(protocol);
    await srv.setRate(1); // a full bucket lets the 3-record batch through and leaves it 3 s in debt
    expect((await e.export(records)).code).toBe('success');
    const r = await e.export(records);
    expect(r.code).toBe('retryable');
    expect(r.code === 'retryable' && r.retryAfterMs).toBeGreaterThan(0);
    expect(r.code === 'retryable' && r.error).toMatch(protocol === 'grpc' ? /RESOURCE_EXHAUSTED/ : /HTTP 429/);
  });

  it('a timeout is retryable and delivers nothing twice', async () => {
    const e = exporter(protocol, { timeoutMs: 200 });
    await srv.setRate(1, 'delay');
    expect((await e.export(records.slice(0, 1))).code).toBe('success');
    const r = await e.export(records.slice(0, 1)); // the server holds this one for ~1 s
    expect(r.code).toBe('retryable');
    expect(r.code === 'retryable' && r.error).toMatch(protocol === 'grpc' ? /DEADLINE_EXCEEDED/ : /timeout/);
  });

  it('an aborted export is retryable', async () => {
    const e = exporter(protocol);
    await srv.setRate(1, 'delay');
    await e.export(records.slice(0, 1));
    const ac = new AbortController();
    const pending = e.export(records.slice(0, 1), ac.signal);
    setTimeout(() => ac.abort(), 50);
    const r = await pending;
    expect(r.code).toBe('retryable');
    const pre = new AbortController();
    pre.abort();
    expect((await e.export(records, pre.signal)).code).toBe('retryable');
  });

  it('adds OTEL_RESOURCE_ATTRIBUTES where records have no value, and replaces service.name only on request', async () => {
    const env = { OTEL_RESOURCE_ATTRIBUTES: `${ATTR_HOST_NAME}=node-7`, OTEL_SERVICE_NAME: 'ignored-by-default' };
    expect((await exporter(protocol, {}, env).export(records.slice(0, 1))).code).toBe('success');
    expect((await exporter(protocol, { serviceNameFromEnv: true }, env).export(records.slice(0, 1))).code).toBe(
      'success',
    );
    const [a, b] = await srv.records();
    expect(a!.resource).toEqual({ ...expected[0]!.resource, [ATTR_HOST_NAME]: 'node-7' });
    expect(b!.resource).toEqual({
      ...expected[0]!.resource,
      [ATTR_SERVICE_NAME]: 'ignored-by-default',
      [ATTR_HOST_NAME]: 'node-7',
    });
  });

  it('after shutdown, export says retryable instead of throwing', async () => {
    const e = exporter(protocol);
    await e.shutdown();
    const r = await e.export(records);
    expect(r).toEqual({ code: 'retryable', error: expect.stringMatching(/shut down/) as string });
    expect((await srv.stats()).requests).toBe(0);
  });
});

describe('transport failures', () => {
  it('a closed port is retryable for every protocol', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    for (const protocol of PROTOCOLS) {
      const endpoint = protocol === 'grpc' ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}/v1/logs`;
      const { exporter: e } = createOtlpExporter({ protocol, endpoint, timeoutMs: 5000 }, { env: {} });
      const r = await e.export(records);
      await e.shutdown();
      expect(r.code, protocol).toBe('retryable');
      expect(r.code === 'retryable' && r.error, protocol).toMatch(protocol === 'grpc' ? /UNAVAILABLE/ : /ECONNREFUSED/);
    }
  });

  it('RESOURCE_EXHAUSTED without RetryInfo is permanent (spec: retryable only when the server says it can recover)', async () => {
    await srv.setFailure({ kind: 'exhausted', requests: 1 });
    const r = await exporter('grpc').export(records);
    expect(r.code).toBe('permanent');
    expect(r.code === 'permanent' && r.error).toMatch(/RESOURCE_EXHAUSTED/);
    await srv.setFailure({ kind: 'exhausted', requests: 1, retryAfterMs: 250 });
    expect(await exporter('grpc').export(records)).toMatchObject({ code: 'retryable', retryAfterMs: 250 });
  });

  it('HTTP: a 404 (wrong path) is permanent and shows the body', async () => {
    const { exporter: e } = createOtlpExporter(
      { protocol: 'http/protobuf', endpoint: srv.httpEndpoint.replace('/v1/logs', '/v1/logz') },
      { env: {} },
    );
    open.push(e);
    const r = await e.export(records);
    expect(r.code).toBe('permanent');
    expect(r.code === 'permanent' && r.error).toMatch(/HTTP 404 Not Found: no route for POST \/v1\/logz/);
  });
});

describe('gRPC gzip on the wire', () => {
  it('sends the message gzip-compressed with grpc-encoding: gzip', async () => {
    // A bare HTTP/2 server speaking just enough gRPC to see the raw frame the exporter sends.
    const seen: { encoding?: string; flag?: number; path?: string; decoded?: unknown } = {};
    const h2 = http2.createServer();
    h2.on('stream', (stream, headers) => {
      seen.encoding = headers['grpc-encoding'] as string;
      seen.path = headers[':path'] as string;
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const frame = Buffer.concat(chunks);
        seen.flag = frame[0];
        const msg = frame.subarray(5, 5 + frame.readUInt32BE(1));
        seen.decoded = officialDecode(seen.flag === 1 ? gunzipSync(msg) : msg);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      });
    });
    const port = await new Promise<number>((resolve) =>
      h2.listen(0, '127.0.0.1', () => resolve((h2.address() as { port: number }).port)),
    );
    const e = new OtlpGrpcExporter(
      resolveOtlpSettings({ protocol: 'grpc', endpoint: `http://127.0.0.1:${port}`, compression: 'gzip' }, {}),
    );
    try {
      expect(await e.export(records)).toEqual({ code: 'success' });
      expect(seen.path).toBe('/opentelemetry.proto.collector.logs.v1.LogsService/Export');
      expect(seen.encoding).toBe('gzip');
      expect(seen.flag).toBe(1);
      expect((seen.decoded as ReturnType<typeof officialDecode>).resourceLogs).toHaveLength(2);
    } finally {
      await e.shutdown();
      await new Promise((r) => h2.close(r));
    }
  });
});
