import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  loadPresets,
  PRESET_NAMES,
  PresetError,
  presetVariables,
  resolvePreset,
  type ResolvedPreset,
} from '../../receiver/config/index.js';
import { resolveOtlpSettings } from '../../receiver/exporters/otlp-config.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Full environments under which every preset resolves. */
const ENV: Record<string, Record<string, string>> = {
  honeycomb: { HONEYCOMB_API_KEY: 'hc-key' },
  datadog: { DD_API_KEY: 'dd-key' },
  'datadog-agent': {},
  'grafana-cloud': {
    GRAFANA_CLOUD_OTLP_ENDPOINT: 'https://otlp-gateway-prod-eu-west-2.grafana.net/otlp',
    GRAFANA_CLOUD_INSTANCE_ID: '123456',
    GRAFANA_CLOUD_API_KEY: 'glc_token',
  },
  loki: {},
  elastic: { ELASTIC_OTLP_ENDPOINT: 'https://kata.ingest.us-east-1.aws.elastic.cloud:443', ELASTIC_API_KEY: 'es-key' },
  'splunk-collector': {},
};

interface Case {
  preset: string;
  env?: Record<string, string>;
  protocol?: 'grpc' | 'http/protobuf' | 'http/json';
  options?: Record<string, string>;
  want: ResolvedPreset;
}

// The endpoints and headers documented in exporter-config/README.md (checked against the vendor docs).
const CASES: Case[] = [
  {
    preset: 'honeycomb',
    want: {
      protocol: 'grpc',
      endpoint: 'https://api.honeycomb.io:443',
      headers: { 'x-honeycomb-team': 'hc-key' },
      compression: 'gzip',
    },
  },
  {
    preset: 'honeycomb',
    protocol: 'http/protobuf',
    options: { region: 'eu', dataset: 'kata' },
    want: {
      protocol: 'http/protobuf',
      endpoint: 'https://api.eu1.honeycomb.io/v1/logs',
      headers: { 'x-honeycomb-team': 'hc-key', 'x-honeycomb-dataset': 'kata' },
      compression: 'gzip',
    },
  },
  {
    preset: 'honeycomb',
    env: { HONEYCOMB_API_KEY: 'hc-key', HONEYCOMB_DATASET: 'kata-logs' },
    protocol: 'http/json',
    want: {
      protocol: 'http/json',
      endpoint: 'https://api.honeycomb.io/v1/logs',
      headers: { 'x-honeycomb-team': 'hc-key', 'x-honeycomb-dataset': 'kata-logs' },
      compression: 'gzip',
    },
  },
  {
    preset: 'datadog',
    want: {
      protocol: 'http/protobuf',
      endpoint: 'https://otlp.datadoghq.com/v1/logs',
      headers: { 'dd-api-key': 'dd-key' },
      compression: 'gzip',
    },
  },
  {
    preset: 'datadog',
    env: { DD_API_KEY: 'dd-key', DD_SITE: 'datadoghq.eu' },
    want: {
      protocol: 'http/protobuf',
      endpoint: 'https://otlp.datadoghq.eu/v1/logs',
      headers: { 'dd-api-key': 'dd-key' },
      compression: 'gzip',
    },
  },
  {
    preset: 'datadog',
    env: { DD_API_KEY: 'dd-key', DD_SITE: 'datadoghq.eu' },
    options: { site: 'us5.datadoghq.com' },
    want: {
      protocol: 'http/protobuf',
      endpoint: 'https://otlp.us5.datadoghq.com/v1/logs',
      headers: { 'dd-api-key': 'dd-key' },
      compression: 'gzip',
    },
  },
  {
    preset: 'datadog-agent',
    want: { protocol: 'grpc', endpoint: 'http://localhost:4317', headers: {}, compression: 'none' },
  },
  {
    preset: 'datadog-agent',
    env: { DD_AGENT_HOST: '10.0.0.7' },
    protocol: 'http/protobuf',
    want: { protocol: 'http/protobuf', endpoint: 'http://10.0.0.7:4318/v1/logs', headers: {}, compression: 'none' },
  },
  {
    preset: 'grafana-cloud',
    want: {
      protocol: 'http/protobuf',
      endpoint: 'https://otlp-gateway-prod-eu-west-2.grafana.net/otlp/v1/logs',
      headers: { Authorization: `Basic ${b64('123456:glc_token')}` },
      compression: 'gzip',
    },
  },
  {
    preset: 'loki',
    want: {
      protocol: 'http/protobuf',
      endpoint: 'http://localhost:3100/otlp/v1/logs',
      headers: {},
      compression: 'gzip',
    },
  },
  {
    preset: 'loki',
    env: {
      LOKI_URL: 'https://loki.example:3100/',
      LOKI_USERNAME: 'kata',
      LOKI_PASSWORD: 's3cret',
      LOKI_TENANT_ID: 'tenant-1',
    },
    want: {
      protocol: 'http/protobuf',
      endpoint: 'https://loki.example:3100/otlp/v1/logs',
      headers: { Authorization: `Basic ${b64('kata:s3cret')}`, 'X-Scope-OrgID': 'tenant-1' },
      compression: 'gzip',
    },
  },
  {
    preset: 'loki',
    // basic auth needs both; a user name alone leaves the header out
    env: { LOKI_USERNAME: 'kata' },
    want: {
      protocol: 'http/protobuf',
      endpoint: 'http://localhost:3100/otlp/v1/logs',
      headers: {},
      compression: 'gzip',
    },
  },
  {
    preset: 'elastic',
    want: {
      protocol: 'http/protobuf',
      endpoint: 'https://kata.ingest.us-east-1.aws.elastic.cloud:443/v1/logs',
      headers: { Authorization: 'ApiKey es-key' },
      compression: 'gzip',
    },
  },
  {
    preset: 'elastic',
    protocol: 'grpc',
    want: {
      protocol: 'grpc',
      endpoint: 'https://kata.ingest.us-east-1.aws.elastic.cloud:443',
      headers: { Authorization: 'ApiKey es-key' },
      compression: 'gzip',
    },
  },
  {
    preset: 'elastic',
    env: { ELASTIC_OTLP_ENDPOINT: 'https://es.internal:9200/', ELASTIC_API_KEY: 'es-key' },
    options: { target: 'elasticsearch' },
    want: {
      protocol: 'http/protobuf',
      endpoint: 'https://es.internal:9200/_otlp/v1/logs',
      headers: { Authorization: 'ApiKey es-key' },
      compression: 'gzip',
    },
  },
  {
    preset: 'splunk-collector',
    want: { protocol: 'grpc', endpoint: 'http://localhost:4317', headers: {}, compression: 'none' },
  },
];

function presetFailure(fn: () => unknown): PresetError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PresetError);
    return err as PresetError;
  }
  throw new Error('expected a PresetError');
}

describe('vendor presets', () => {
  it('one file per preset name, each valid', () => {
    const dir = fileURLToPath(new URL('../../exporter-config/presets/', import.meta.url));
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.map((f) => f.replace(/\.yaml$/, '')).sort()).toEqual([...PRESET_NAMES].sort());
    expect([...loadPresets().keys()]).toEqual([...PRESET_NAMES]);
  });

  for (const c of CASES) {
    const label = `${c.preset}${c.protocol ? ` ${c.protocol}` : ''}${c.options ? ` ${JSON.stringify(c.options)}` : ''}${c.env ? ` with ${Object.keys(c.env).join(',')}` : ''}`;
    it(`${label} resolves to the documented endpoint and headers`, () => {
      const got = resolvePreset(c.preset, {
        protocol: c.protocol,
        options: c.options,
        env: c.env ?? ENV[c.preset] ?? {},
      });
      expect(got).toEqual(c.want);
      // and the OTLP exporter accepts the result as it is
      const s = resolveOtlpSettings({ endpoint: got.endpoint, protocol: got.protocol, headers: got.headers }, {});
      expect(s.endpoint).toBe(got.protocol === 'grpc' ? got.endpoint : new URL(got.endpoint!).href);
    });
  }

  it('exporter-config/README.md documents every resolved endpoint', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../exporter-config/README.md', import.meta.url)), 'utf8');
    for (const c of CASES.filter((x) => !x.env)) {
      const shown = c.want.endpoint!.replace(/^https:\/\/kata\.ingest[^/]*/, '$ELASTIC_OTLP_ENDPOINT');
      expect(readme, `${c.preset}: ${shown}`).toContain(shown);
    }
  });

  for (const name of PRESET_NAMES) {
    const { required } = presetVariables(loadPresets().get(name)!);
    for (const v of required) {
      it(`${name} without ${v} fails naming ${v}`, () => {
        const env = { ...ENV[name] };
        delete env[v];
        const e = presetFailure(() => resolvePreset(name, { env }));
        expect(e.variable).toBe(v);
        expect(e.message).toContain(`environment variable ${v} is not set`);
      });
    }
  }

  it('the secrets each preset needs are the documented ones', () => {
    const req = Object.fromEntries(PRESET_NAMES.map((n) => [n, presetVariables(loadPresets().get(n)!).required]));
    expect(req).toEqual({
      'datadog-agent': [],
      datadog: ['DD_API_KEY'],
      honeycomb: ['HONEYCOMB_API_KEY'],
      'grafana-cloud': ['GRAFANA_CLOUD_API_KEY', 'GRAFANA_CLOUD_INSTANCE_ID', 'GRAFANA_CLOUD_OTLP_ENDPOINT'],
      loki: [],
      elastic: ['ELASTIC_API_KEY', 'ELASTIC_OTLP_ENDPOINT'],
      'splunk-collector': [],
    });
  });

  it('does not need the variables of what the exporter sets itself', () => {
    const got = resolvePreset('grafana-cloud', { env: {}, given: { endpoint: true, headers: ['authorization'] } });
    expect(got).toEqual({ protocol: 'http/protobuf', headers: {}, compression: 'gzip' });
  });

  it('rejects a protocol the vendor does not take, an unknown option or value, and an unknown preset', () => {
    expect(presetFailure(() => resolvePreset('datadog', { protocol: 'grpc', env: ENV.datadog! })).message).toBe(
      'preset datadog supports only http/protobuf, not grpc; set protocol to one of them or remove it',
    );
    expect(
      presetFailure(() =>
        resolvePreset('elastic', { protocol: 'grpc', options: { target: 'elasticsearch' }, env: ENV.elastic! }),
      ).key,
    ).toBe('protocol');
    const opt = presetFailure(() => resolvePreset('honeycomb', { options: { regoin: 'eu' }, env: ENV.honeycomb! }));
    expect(opt.message).toBe('preset honeycomb has no option "regoin"; did you mean "region"?');
    expect(opt.option).toBe('regoin');
    expect(
      presetFailure(() => resolvePreset('honeycomb', { options: { region: 'moon' }, env: ENV.honeycomb! })).message,
    ).toBe('preset honeycomb: option region "moon" is not one of us, eu; use one of them');
    expect(
      presetFailure(() => resolvePreset('datadog', { env: { DD_API_KEY: 'k', DD_SITE: 'datadoghq.eu2' } })).message,
    ).toContain('did you mean "datadoghq.eu"?');
    expect(presetFailure(() => resolvePreset('honeycom', { env: {} })).message).toBe(
      'no preset "honeycom"; did you mean "honeycomb"?',
    );
  });
});
