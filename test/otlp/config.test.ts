// resolveOtlpSettings: explicit config > OTEL_EXPORTER_OTLP_LOGS_* > OTEL_EXPORTER_OTLP_* > defaults.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OtlpConfigError, resolveOtlpSettings, type OtlpExporterConfig } from '../../receiver/exporters/otlp-config.js';
import { ATTR_HOST_NAME, ATTR_K8S_NAMESPACE_NAME, ATTR_SERVICE_NAME } from '../../receiver/semconv/generated.js';

const G = 'OTEL_EXPORTER_OTLP_';
const L = 'OTEL_EXPORTER_OTLP_LOGS_';

describe('endpoint and protocol precedence', () => {
  const table: [
    string,
    Partial<OtlpExporterConfig>,
    Record<string, string>,
    { protocol: string; endpoint: string; origin: string },
  ][] = [
    [
      'defaults: http/protobuf to localhost:4318/v1/logs',
      {},
      {},
      { protocol: 'http/protobuf', endpoint: 'http://localhost:4318/v1/logs', origin: 'default' },
    ],
    [
      'grpc default endpoint',
      { protocol: 'grpc' },
      {},
      { protocol: 'grpc', endpoint: 'http://localhost:4317', origin: 'default' },
    ],
    [
      'generic ENDPOINT gets /v1/logs appended',
      {},
      { [G + 'ENDPOINT']: 'http://collector:4318' },
      { protocol: 'http/protobuf', endpoint: 'http://collector:4318/v1/logs', origin: G + 'ENDPOINT' },
    ],
    [
      'generic ENDPOINT with a base path',
      {},
      { [G + 'ENDPOINT']: 'https://c.example/otlp/' },
      { protocol: 'http/protobuf', endpoint: 'https://c.example/otlp/v1/logs', origin: G + 'ENDPOINT' },
    ],
    [
      'generic ENDPOINT with a base path, no trailing slash',
      {},
      { [G + 'ENDPOINT']: 'https://c.example/otlp' },
      { protocol: 'http/protobuf', endpoint: 'https://c.example/otlp/v1/logs', origin: G + 'ENDPOINT' },
    ],
    [
      'LOGS_ENDPOINT is used as is',
      {},
      { [G + 'ENDPOINT']: 'http://a:4318', [L + 'ENDPOINT']: 'http://b:4318/custom' },
      { protocol: 'http/protobuf', endpoint: 'http://b:4318/custom', origin: L + 'ENDPOINT' },
    ],
    [
      'LOGS_ENDPOINT without a path posts to /',
      {},
      { [L + 'ENDPOINT']: 'http://b:4318' },
      { protocol: 'http/protobuf', endpoint: 'http://b:4318/', origin: L + 'ENDPOINT' },
    ],
    [
      'config endpoint wins over both',
      { endpoint: 'http://cfg:4318/v1/logs' },
      { [G + 'ENDPOINT']: 'http://a:4318', [L + 'ENDPOINT']: 'http://b:4318' },
      { protocol: 'http/protobuf', endpoint: 'http://cfg:4318/v1/logs', origin: 'config endpoint' },
    ],
    [
      'config endpoint without a path gets /v1/logs',
      { endpoint: 'http://cfg:4318' },
      {},
      { protocol: 'http/protobuf', endpoint: 'http://cfg:4318/v1/logs', origin: 'config endpoint' },
    ],
    [
      'config endpoint with a trailing slash posts to /',
      { endpoint: 'http://cfg:4318/' },
      {},
      { protocol: 'http/protobuf', endpoint: 'http://cfg:4318/', origin: 'config endpoint' },
    ],
    [
      'LOGS_PROTOCOL over PROTOCOL',
      {},
      { [G + 'PROTOCOL']: 'http/json', [L + 'PROTOCOL']: 'grpc' },
      { protocol: 'grpc', endpoint: 'http://localhost:4317', origin: 'default' },
    ],
    [
      'config protocol over env',
      { protocol: 'http/json' },
      { [L + 'PROTOCOL']: 'grpc' },
      { protocol: 'http/json', endpoint: 'http://localhost:4318/v1/logs', origin: 'default' },
    ],
    [
      'grpc ignores the path of the generic ENDPOINT',
      {},
      { [G + 'PROTOCOL']: 'grpc', [G + 'ENDPOINT']: 'https://c:4317/ignored' },
      { protocol: 'grpc', endpoint: 'https://c:4317', origin: G + 'ENDPOINT' },
    ],
    [
      'empty variables count as unset',
      {},
      { [L + 'ENDPOINT']: '', [L + 'PROTOCOL']: ' ', [G + 'ENDPOINT']: 'http://g:4318' },
      { protocol: 'http/protobuf', endpoint: 'http://g:4318/v1/logs', origin: G + 'ENDPOINT' },
    ],
  ];
  it.each(table)('%s', (_name, config, env, want) => {
    const s = resolveOtlpSettings(config, env);
    expect({ protocol: s.protocol, endpoint: s.endpoint, origin: s.origin.endpoint }).toEqual(want);
  });

  it('gRPC: scheme decides TLS; a bare host:port uses TLS unless insecure', () => {
    const grpc = (endpoint: string, env: Record<string, string> = {}, insecure?: boolean) => {
      const s = resolveOtlpSettings(
        { protocol: 'grpc', endpoint, ...(insecure === undefined ? {} : { tls: { insecure } }) },
        env,
      );
      return [s.grpcTarget, s.secure];
    };
    expect(grpc('http://c:4317')).toEqual(['c:4317', false]);
    expect(grpc('https://c')).toEqual(['c:443', true]);
    expect(grpc('http://c', {}, false)).toEqual(['c:80', false]);
    expect(grpc('c:4317')).toEqual(['c:4317', true]);
    expect(grpc('c:4317', { [L + 'INSECURE']: 'TRUE' })).toEqual(['c:4317', false]);
    expect(grpc('c:4317', { [G + 'INSECURE']: 'true', [L + 'INSECURE']: 'false' })).toEqual(['c:4317', true]);
    expect(grpc('c:4317', { [G + 'INSECURE']: 'true' }, false)).toEqual(['c:4317', true]);
    expect(grpc('https://c:4317', {}, true)).toEqual(['c:4317', true]); // the scheme wins over insecure
    expect(grpc('unix:///run/otel.sock', {}, true)).toEqual(['unix:///run/otel.sock', false]);
  });

  it('warns about a protocol/port mismatch and a non-boolean INSECURE', () => {
    const s = resolveOtlpSettings({ protocol: 'grpc', endpoint: 'http://c:4318' }, { [G + 'INSECURE']: 'yes' });
    expect(s.warnings.join('\n')).toMatch(/port 4318.*grpc/);
    expect(s.warnings.join('\n')).toMatch(/OTEL_EXPORTER_OTLP_INSECURE="yes" is not true or false/);
  });
});

describe('headers, compression, timeout', () => {
  it('LOGS_HEADERS replaces HEADERS; config headers merge over them; values are percent-decoded', () => {
    const env = {
      [G + 'HEADERS']: 'x-generic=1',
      [L + 'HEADERS']: ' Authorization = Bearer%20abc%3D%3D , x-tenant=t%2C1 ,',
    };
    expect(resolveOtlpSettings({}, env).headers).toEqual({ authorization: 'Bearer abc==', 'x-tenant': 't,1' });
    expect(resolveOtlpSettings({}, { [G + 'HEADERS']: 'x-generic=1' }).headers).toEqual({ 'x-generic': '1' });
    const s = resolveOtlpSettings({ headers: { 'X-Tenant': 'cfg', 'x-static': 's' } }, env);
    expect(s.headers).toEqual({ authorization: 'Bearer abc==', 'x-tenant': 'cfg', 'x-static': 's' });
    expect(s.origin.headers).toBe(`config headers over ${L}HEADERS`);
  });

  it('rejects malformed headers naming the variable', () => {
    expect(() => resolveOtlpSettings({}, { [G + 'HEADERS']: 'novalue' })).toThrow(
      /OTEL_EXPORTER_OTLP_HEADERS: entry 1 of 1 \(value not shown\) is not key=value/,
    );
    expect(() => resolveOtlpSettings({}, { [L + 'HEADERS']: 'a=%zz' })).toThrow(
      /OTEL_EXPORTER_OTLP_LOGS_HEADERS: the header "a" has a malformed %-escape/,
    );
    expect(() => resolveOtlpSettings({ headers: { 'bad name': 'x' } }, {})).toThrow(/header name "bad name"/);
  });

  it('compression: config > LOGS > generic > none; bad values name the source', () => {
    expect(resolveOtlpSettings({}, {}).compression).toBe('none');
    expect(resolveOtlpSettings({}, { [G + 'COMPRESSION']: 'gzip' }).compression).toBe('gzip');
    expect(resolveOtlpSettings({}, { [G + 'COMPRESSION']: 'gzip', [L + 'COMPRESSION']: 'none' }).compression).toBe(
      'none',
    );
    expect(resolveOtlpSettings({ compression: 'gzip' }, { [L + 'COMPRESSION']: 'none' }).compression).toBe('gzip');
    expect(() => resolveOtlpSettings({}, { [L + 'COMPRESSION']: 'zstd' })).toThrow(
      'OTEL_EXPORTER_OTLP_LOGS_COMPRESSION="zstd" is not one of gzip, none',
    );
  });

  it('protocol errors name the variable, the value and the allowed values', () => {
    expect(() => resolveOtlpSettings({}, { [G + 'PROTOCOL']: 'grcp' })).toThrow(
      new OtlpConfigError('OTEL_EXPORTER_OTLP_PROTOCOL="grcp" is not one of grpc, http/protobuf, http/json'),
    );
    expect(() => resolveOtlpSettings({ protocol: 'http' as never }, {})).toThrow(/exporter config `protocol`="http"/);
    expect(() => resolveOtlpSettings({}, { [L + 'ENDPOINT']: 'collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_LOGS_ENDPOINT="collector:4318" must start with http:\/\/ or https:\/\//,
    );
  });

  it('timeout: ms, LOGS over generic, config over env; an invalid env value is ignored with a warning', () => {
    expect(resolveOtlpSettings({}, {}).timeoutMs).toBe(10_000);
    expect(resolveOtlpSettings({}, { [G + 'TIMEOUT']: '2500' }).timeoutMs).toBe(2500);
    expect(resolveOtlpSettings({}, { [G + 'TIMEOUT']: '2500', [L + 'TIMEOUT']: '0' }).timeoutMs).toBe(0);
    expect(resolveOtlpSettings({ timeoutMs: 700 }, { [L + 'TIMEOUT']: '1' }).timeoutMs).toBe(700);
    const s = resolveOtlpSettings({}, { [L + 'TIMEOUT']: '-5' });
    expect(s.timeoutMs).toBe(10_000);
    expect(s.warnings[0]).toMatch(/OTEL_EXPORTER_OTLP_LOGS_TIMEOUT="-5" is not a non-negative integer/);
    expect(() => resolveOtlpSettings({ timeoutMs: -1 }, {})).toThrow(/`timeoutMs`=-1/);
  });
});

describe('TLS files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kata-otel-cfg-'));
  const ca = join(dir, 'ca.pem');
  const cert = join(dir, 'client.pem');
  const key = join(dir, 'client.key');
  writeFileSync(ca, 'CA');
  writeFileSync(cert, 'CERT');
  writeFileSync(key, 'KEY');

  it('reads CERTIFICATE / CLIENT_CERTIFICATE / CLIENT_KEY, LOGS over generic, config over env', () => {
    const s = resolveOtlpSettings(
      { endpoint: 'https://c:4318' },
      {
        [G + 'CERTIFICATE']: '/nonexistent',
        [L + 'CERTIFICATE']: ca,
        [G + 'CLIENT_CERTIFICATE']: cert,
        [G + 'CLIENT_KEY']: key,
      },
    );
    expect([s.tls.ca?.toString(), s.tls.cert?.toString(), s.tls.key?.toString()]).toEqual(['CA', 'CERT', 'KEY']);
    expect(s.origin.tls).toBe(`${L}CERTIFICATE, ${G}CLIENT_CERTIFICATE, ${G}CLIENT_KEY`);
    const c = resolveOtlpSettings({ endpoint: 'https://c:4318', tls: { caFile: cert } }, { [L + 'CERTIFICATE']: ca });
    expect(c.tls.ca?.toString()).toBe('CERT');
  });

  it('names the variable and path of an unreadable file, and demands key and certificate together', () => {
    expect(() => resolveOtlpSettings({}, { [L + 'CERTIFICATE']: join(dir, 'missing.pem') })).toThrow(
      /OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE=".*missing\.pem": cannot read the file \(ENOENT\)/,
    );
    expect(() => resolveOtlpSettings({ tls: { certFile: cert } }, {})).toThrow(/only the certificate.*tls\.keyFile/);
  });

  it('warns that TLS files do nothing on a plaintext endpoint', () => {
    const s = resolveOtlpSettings({ endpoint: 'http://c:4318', tls: { caFile: ca } }, {});
    expect(s.warnings.join()).toMatch(/TLS files .* are ignored/);
  });
});

describe('resource attributes from the environment', () => {
  it('OTEL_RESOURCE_ATTRIBUTES fills where records have none; config resourceAttributes win per key', () => {
    const env = { OTEL_RESOURCE_ATTRIBUTES: `${ATTR_HOST_NAME}=node%2C1,${ATTR_K8S_NAMESPACE_NAME}=env-ns` };
    expect(resolveOtlpSettings({}, env).resource).toEqual({
      fill: { [ATTR_HOST_NAME]: 'node,1', [ATTR_K8S_NAMESPACE_NAME]: 'env-ns' },
    });
    expect(resolveOtlpSettings({ resourceAttributes: { [ATTR_K8S_NAMESPACE_NAME]: 'cfg' } }, env).resource).toEqual({
      fill: { [ATTR_HOST_NAME]: 'node,1', [ATTR_K8S_NAMESPACE_NAME]: 'cfg' },
    });
  });

  it('service.name from the environment applies only with serviceNameFromEnv, OTEL_SERVICE_NAME first', () => {
    const env = { OTEL_RESOURCE_ATTRIBUTES: `${ATTR_SERVICE_NAME}=from-attrs`, OTEL_SERVICE_NAME: 'from-var' };
    const off = resolveOtlpSettings({}, env);
    expect(off.resource).toEqual({});
    expect(off.warnings.join()).toMatch(/OTEL_SERVICE_NAME="from-var" is not applied.*serviceNameFromEnv/);
    expect(resolveOtlpSettings({ serviceNameFromEnv: true }, env).resource).toEqual({
      override: { [ATTR_SERVICE_NAME]: 'from-var' },
    });
    expect(
      resolveOtlpSettings({ serviceNameFromEnv: true }, { OTEL_RESOURCE_ATTRIBUTES: `${ATTR_SERVICE_NAME}=from-attrs` })
        .resource,
    ).toEqual({
      override: { [ATTR_SERVICE_NAME]: 'from-attrs' },
    });
    expect(resolveOtlpSettings({ serviceName: 'explicit', serviceNameFromEnv: true }, env).resource).toEqual({
      override: { [ATTR_SERVICE_NAME]: 'explicit' },
    });
  });

  it('a malformed OTEL_RESOURCE_ATTRIBUTES is discarded as a whole, with a warning', () => {
    const s = resolveOtlpSettings({}, { OTEL_RESOURCE_ATTRIBUTES: `${ATTR_HOST_NAME}=ok,broken` });
    expect(s.resource).toEqual({});
    expect(s.warnings.join()).toMatch(/OTEL_RESOURCE_ATTRIBUTES: "broken" is not key=value.*ignored/);
  });
});
