// TLS and mTLS against the real test server, with a throwaway CA made by openssl at test time.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OtlpExporterConfig, OtlpProtocol } from '../../receiver/exporters/otlp-config.js';
import { createOtlpExporter } from '../../receiver/exporters/otlp-exporter.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { ATTR_KATA_SANDBOX_ID, ATTR_SERVICE_NAME } from '../../receiver/semconv/generated.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';

const dir = mkdtempSync(join(tmpdir(), 'kata-otel-tls-'));
const f = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** CA, a server certificate for 127.0.0.1/localhost and a client certificate, all P-256, valid one day. */
function makeCerts(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=kata-otel test CA');
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '1',
    '-extfile',
    'server.ext',
  );
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=kata-otel client');
  openssl(
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'client.pem',
    '-days',
    '1',
    '-extfile',
    'client.ext',
  );
}

const batch: KataLogRecord[] = [
  {
    timeUnixNano: 1714557600000000001n,
    observedTimeUnixNano: 1714557600000000002n,
    severityNumber: 9,
    severityText: 'info',
    body: 'over TLS',
    attributes: { [ATTR_SERVICE_NAME]: 'kata-runtime', [ATTR_KATA_SANDBOX_ID]: 'sb' },
  },
];
const PROTOCOLS: OtlpProtocol[] = ['grpc', 'http/protobuf'];

async function send(srv: OtlpTestServer, protocol: OtlpProtocol, config: Partial<OtlpExporterConfig>) {
  const endpoint = protocol === 'grpc' ? srv.grpcEndpoint : srv.httpEndpoint;
  const { exporter } = createOtlpExporter({ protocol, endpoint, timeoutMs: 5000, ...config }, { env: {} });
  try {
    return await exporter.export(batch);
  } finally {
    await exporter.shutdown();
  }
}

beforeAll(() => makeCerts());

describe('TLS with a private CA', () => {
  let srv: OtlpTestServer;
  beforeAll(async () => {
    srv = await startOtlpServer({ tls: { certFile: f('server.pem'), keyFile: f('server.key') } });
  });
  afterAll(() => srv?.stop());

  it.each(PROTOCOLS)('%s: verifies the server with tls.caFile and delivers', async (protocol) => {
    await srv.reset();
    expect(srv.grpcEndpoint).toMatch(/^https:/);
    expect(await send(srv, protocol, { tls: { caFile: f('ca.pem') } })).toEqual({ code: 'success' });
    const [got] = await srv.records();
    expect(got).toMatchObject({ body: 'over TLS', timeUnixNano: '1714557600000000001', transport: protocol });
  });

  it.each(PROTOCOLS)('%s: OTEL_EXPORTER_OTLP_CERTIFICATE works the same', async (protocol) => {
    await srv.reset();
    const endpoint = protocol === 'grpc' ? srv.grpcEndpoint : srv.httpEndpoint;
    const { exporter } = createOtlpExporter(
      { protocol },
      { env: { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_CERTIFICATE: f('ca.pem') } },
    );
    expect(await exporter.export(batch)).toEqual({ code: 'success' });
    await exporter.shutdown();
  });

  it.each(PROTOCOLS)('%s: an unknown CA fails (retryable: nothing is lost) and nothing arrives', async (protocol) => {
    await srv.reset();
    const r = await send(srv, protocol, {});
    expect(r.code).toBe('retryable');
    expect(r.code === 'retryable' && r.error).toMatch(/unable to verify the first certificate.*check the TLS settings/);
    expect((await srv.stats()).records).toBe(0);
  });

  it.each(PROTOCOLS)('%s: insecureSkipVerify connects without the CA', async (protocol) => {
    await srv.reset();
    expect(await send(srv, protocol, { tls: { insecureSkipVerify: true } })).toEqual({ code: 'success' });
  });
});

describe('mTLS', () => {
  let srv: OtlpTestServer;
  beforeAll(async () => {
    srv = await startOtlpServer({
      tls: { certFile: f('server.pem'), keyFile: f('server.key'), caFile: f('ca.pem'), requireClientCert: true },
    });
  });
  afterAll(() => srv?.stop());

  it.each(PROTOCOLS)('%s: the client certificate gets in', async (protocol) => {
    await srv.reset();
    const tls = { caFile: f('ca.pem'), certFile: f('client.pem'), keyFile: f('client.key') };
    expect(await send(srv, protocol, { tls })).toEqual({ code: 'success' });
    expect((await srv.stats()).records).toBe(1);
  });

  it.each(PROTOCOLS)('%s: without a client certificate nothing arrives', async (protocol) => {
    await srv.reset();
    const r = await send(srv, protocol, { tls: { caFile: f('ca.pem') } });
    expect(r.code).not.toBe('success');
    expect((await srv.stats()).records).toBe(0);
  });
});
