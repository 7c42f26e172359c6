// Secrets stay out of logs and errors (issue 11): a password in the endpoint URL becomes an Authorization header
// (still sent: checked on the real OTLP test server) and is never logged; a malformed header names the header,
// never its value; an unsafe transport (no certificate check, credentials in plaintext off the node) is warned
// about at start and periodically.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveOtlpSettings } from '../../receiver/exporters/otlp-config.js';
import { createOtlpExporter } from '../../receiver/exporters/otlp-exporter.js';
import { isLoopback, startTransportWarnings, transportRisks } from '../../receiver/exporters/transport-warnings.js';
import { createLogger } from '../../receiver/telemetry/log.js';
import { makeRecords } from '../queue/helpers.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';

let srv: OtlpTestServer;
beforeAll(async () => {
  srv = await startOtlpServer();
});
afterAll(async () => {
  await srv?.stop();
});

function capture() {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }), lines };
}

describe('secrets in endpoints and headers', () => {
  it('a password in the endpoint URL is sent as basic auth but never logged nor in export errors', async () => {
    const { logger, lines } = capture();
    const url = new URL(srv.httpEndpoint);
    const endpoint = `http://alice:s3cr%3At@${url.host}${url.pathname}`;
    const { exporter, settings } = createOtlpExporter({ endpoint, protocol: 'http/protobuf' }, { logger, env: {} });
    expect(settings.endpoint).toBe(srv.httpEndpoint);
    expect(settings.headers.authorization).toBe(`Basic ${Buffer.from('alice:s3cr:t').toString('base64')}`);
    expect((await exporter.export(makeRecords(2))).code).toBe('success');
    expect((await srv.stats()).lastHeaders.authorization).toBe(settings.headers.authorization);
    await srv.setFailure({ kind: 'unavailable' });
    const failed = await exporter.export(makeRecords(1));
    await srv.setFailure(null);
    await exporter.shutdown();
    expect(JSON.stringify(failed) + lines.join('')).not.toMatch(/s3cr|alice/);
  });

  it('the logger strips userinfo from any URL it writes', () => {
    const { logger, lines } = capture();
    logger.error('cannot reach https://bob:hunter2@collector.example:4318/v1/logs', {
      url: 'http://u:pw@10.0.0.1/',
      err: new Error('connect to https://bob:hunter2@x/ failed'),
    });
    expect(lines.join('')).not.toMatch(/hunter2|bob|u:pw/);
    expect(lines.join('')).toContain('https://collector.example:4318/v1/logs');
  });

  it('a malformed header names the header, never shows its value', () => {
    const bad = (h: string) => {
      try {
        resolveOtlpSettings({}, { OTEL_EXPORTER_OTLP_HEADERS: h });
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    const noEq = bad('Bearer-tok3n-secret');
    expect(noEq).not.toContain('tok3n');
    expect(noEq).toMatch(/entry 1 of 1 \(value not shown\) is not key=value/);
    const escape = bad('x-api-key=ab%ZZtok3n');
    expect(escape).not.toContain('tok3n');
    expect(escape).toContain('the header "x-api-key" has a malformed %-escape');
    const crlf = (() => {
      try {
        resolveOtlpSettings({ headers: { authorization: 'Bearer tok3n\r\nx: y' } }, {});
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(crlf).toMatch(/authorization/);
    expect(crlf).not.toContain('tok3n');
  });
});

describe('unsafe transport warnings', () => {
  const settings = (endpoint: string, over: Parameters<typeof resolveOtlpSettings>[0] = {}) =>
    resolveOtlpSettings({ endpoint, protocol: 'http/protobuf', ...over }, {});

  it('warns when TLS verification is off, and when credentials go in plaintext to a host off the node', () => {
    expect(transportRisks(settings('https://10.1.2.3:4318', { tls: { insecureSkipVerify: true } }))).toEqual([
      expect.stringMatching(/TLS certificate verification is off/),
    ]);
    const plain = transportRisks(settings('http://collector.example:4318', { headers: { 'x-api-key': 'k' } }));
    expect(plain).toEqual([expect.stringMatching(/credentials \(header x-api-key\) are sent in plaintext/)]);
    expect(transportRisks(settings('http://user:pw@10.1.2.3:4318'))[0]).toMatch(/header authorization/);
    // gRPC, scheme-less, insecure
    const grpc = resolveOtlpSettings(
      { endpoint: 'collector:4317', protocol: 'grpc', tls: { insecure: true }, headers: { authorization: 'x' } },
      {},
    );
    expect(transportRisks(grpc)).toHaveLength(1);
    // Nothing to say: loopback, TLS, or no credentials.
    expect(transportRisks(settings('http://127.0.0.1:4318', { headers: { authorization: 'x' } }))).toEqual([]);
    expect(transportRisks(settings('http://[::1]:4318', { headers: { authorization: 'x' } }))).toEqual([]);
    expect(transportRisks(settings('https://collector.example:4318', { headers: { authorization: 'x' } }))).toEqual([]);
    expect(transportRisks(settings('http://collector.example:4318'))).toEqual([]);
    expect(isLoopback('localhost') && isLoopback('127.9.9.9') && !isLoopback('10.0.0.1')).toBe(true);
  });

  it('repeats the warnings periodically until stopped', async () => {
    const { logger, lines } = capture();
    const stop = startTransportWarnings(
      [{ name: 'c', settings: settings('https://10.1.2.3:4318', { tls: { insecureSkipVerify: true } }) }],
      logger,
      20,
    );
    expect(lines).toHaveLength(1); // at start
    await new Promise((r) => setTimeout(r, 90));
    stop();
    const n = lines.length;
    expect(n).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 60));
    expect(lines.length).toBe(n);
  });
});
