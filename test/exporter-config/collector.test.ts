// Structural checks of the OpenTelemetry Collector configurations we ship. There is no otelcol binary here, so
// the test holds, per component type we use, the configuration keys that component accepts, copied from the
// component's README (read through the search tool; repository and path given per entry). A key not in the
// table fails the test: either a typo or an option the README does not document.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/** Accepted keys; `true` accepts any value below (free-form or not worth modelling). */
type Keys = { [key: string]: Keys | true };

// exporterhelper (opentelemetry-collector exporter/exporterhelper/README.md): queue and retry of every exporter.
const exporterHelper: Keys = {
  timeout: true,
  retry_on_failure: {
    enabled: true,
    initial_interval: true,
    max_interval: true,
    max_elapsed_time: true,
    multiplier: true,
  },
  sending_queue: {
    enabled: true,
    num_consumers: true,
    queue_size: true,
    storage: true,
    sizer: true,
    block_on_overflow: true,
    wait_for_result: true,
    batch: true,
  },
};
// configtls client settings (opentelemetry-collector config/configtls/README.md, as listed in the exporter READMEs).
const tlsClient: Keys = {
  insecure: true,
  insecure_skip_verify: true,
  ca_file: true,
  cert_file: true,
  key_file: true,
  server_name_override: true,
  min_version: true,
};
const authRef: Keys = { authenticator: true };

const COMPONENTS: Record<'receivers' | 'processors' | 'exporters' | 'extensions', Record<string, Keys>> = {
  receivers: {
    // opentelemetry-collector receiver/otlpreceiver/README.md
    otlp: {
      protocols: {
        grpc: { endpoint: true, tls: true, auth: authRef, max_recv_msg_size_mib: true },
        http: { endpoint: true, tls: true, auth: authRef, cors: true },
      },
    },
  },
  processors: {
    // opentelemetry-collector processor/memorylimiterprocessor/README.md
    memory_limiter: {
      check_interval: true,
      limit_mib: true,
      spike_limit_mib: true,
      limit_percentage: true,
      spike_limit_percentage: true,
    },
    // opentelemetry-collector processor/batchprocessor/README.md
    batch: { send_batch_size: true, timeout: true, send_batch_max_size: true, metadata_keys: true },
    // opentelemetry-collector-contrib processor/transformprocessor/README.md (0.120+ config)
    transform: { error_mode: true, log_statements: true, trace_statements: true, metric_statements: true },
  },
  exporters: {
    // opentelemetry-collector exporter/debugexporter/README.md
    debug: { verbosity: true, sampling_initial: true, sampling_thereafter: true, use_internal_logger: true },
    // opentelemetry-collector exporter/otlpexporter (renamed otlp_grpc in v0.144.0, PR #14403)
    otlp_grpc: {
      endpoint: true,
      headers: true,
      compression: true,
      tls: tlsClient,
      auth: authRef,
      balancer_name: true,
      ...exporterHelper,
    },
    // opentelemetry-collector exporter/otlphttpexporter/README.md (renamed otlp_http in v0.144.0, PR #14397)
    otlp_http: {
      endpoint: true,
      logs_endpoint: true,
      headers: true,
      compression: true,
      encoding: true,
      tls: tlsClient,
      auth: authRef,
      read_buffer_size: true,
      write_buffer_size: true,
      ...exporterHelper,
    },
    // opentelemetry-collector-contrib exporter/elasticsearchexporter/README.md
    elasticsearch: {
      endpoint: true,
      endpoints: true,
      cloudid: true,
      user: true,
      password: true,
      api_key: true,
      auth: authRef,
      tls: tlsClient,
      headers: true,
      logs_index: true,
      pipeline: true,
      mapping: { mode: true },
      flush: { bytes: true, interval: true },
      retry: true,
      discover: true,
      num_workers: true,
      batcher: true,
      ...exporterHelper,
    },
    // opentelemetry-collector-contrib exporter/splunkhecexporter/README.md
    splunk_hec: {
      token: true,
      endpoint: true,
      source: true,
      sourcetype: true,
      index: true,
      max_connections: true,
      disable_compression: true,
      tls: tlsClient,
      max_content_length_logs: true,
      splunk_app_name: true,
      splunk_app_version: true,
      log_data_enabled: true,
      hec_metadata_to_otel_attrs: true,
      otel_to_hec_fields: true,
      ...exporterHelper,
    },
    // opentelemetry-collector-contrib exporter/datadogexporter/examples/collector.yaml (the documented reference)
    datadog: {
      api: { key: true, site: true, fail_on_invalid_key: true },
      hostname: true,
      only_metadata: true,
      host_metadata: true,
      logs: { endpoint: true, use_compression: true, compression_level: true, batch_wait: true },
      tls: { insecure_skip_verify: true },
      ...exporterHelper,
    },
  },
  extensions: {
    // opentelemetry-collector-contrib extension/basicauthextension/README.md
    basicauth: {
      htpasswd: { file: true, inline: true },
      client_auth: { username: true, username_file: true, password: true, password_file: true },
    },
    // opentelemetry-collector-contrib extension/storage/filestorage/README.md
    file_storage: {
      directory: true,
      timeout: true,
      fsync: true,
      create_directory: true,
      directory_permissions: true,
      compaction: true,
    },
  },
};

// OTTL functions the transform statements may call (opentelemetry-collector-contrib pkg/ottl/ottlfuncs/README.md).
const OTTL_FUNCTIONS = new Set(['set', 'delete_key', 'replace_pattern', 'Concat']);

const COMPONENT_ID = /^([a-z][a-z0-9_]*)(?:\/([A-Za-z0-9_.-]+))?$/;
type Section = keyof typeof COMPONENTS;
type Doc = Record<Section, Record<string, unknown>> & {
  service: {
    extensions?: string[];
    pipelines: Record<string, Record<'receivers' | 'processors' | 'exporters', string[]>>;
  };
};

function checkKeys(value: unknown, keys: Keys, path: string, errors: string[]): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [k, v] of Object.entries(value)) {
    const allowed = keys[k];
    if (allowed === undefined)
      errors.push(`${path}.${k}: not a documented key (allowed: ${Object.keys(keys).join(', ')})`);
    else if (allowed !== true) checkKeys(v, allowed, `${path}.${k}`, errors);
  }
}

function typeOf(id: string): string {
  const m = COMPONENT_ID.exec(id);
  if (!m) throw new Error(`component id "${id}" is not type[/name]`);
  return m[1] as string;
}

/** Every problem found in a Collector configuration. */
function problems(doc: Doc): string[] {
  const errors: string[] = [];
  for (const section of Object.keys(COMPONENTS) as Section[]) {
    for (const [id, conf] of Object.entries(doc[section] ?? {})) {
      if (!COMPONENT_ID.test(id)) {
        errors.push(`${section}.${id}: the name is not type[/name]`);
        continue;
      }
      const keys = COMPONENTS[section][typeOf(id)];
      if (!keys) errors.push(`${section}.${id}: component type "${typeOf(id)}" is not one this test knows`);
      else checkKeys(conf, keys, `${section}.${id}`, errors);
    }
  }
  const used = new Set<string>();
  for (const ext of doc.service.extensions ?? []) {
    if (!(ext in (doc.extensions ?? {}))) errors.push(`service.extensions: ${ext} is not defined under extensions`);
    used.add(`extensions.${ext}`);
  }
  for (const [pid, p] of Object.entries(doc.service.pipelines)) {
    if (!/^(logs|traces|metrics)(\/[A-Za-z0-9_.-]+)?$/.test(pid))
      errors.push(`service.pipelines.${pid}: not a logs|traces|metrics[/name] pipeline`);
    if (!p.receivers?.length || !p.exporters?.length)
      errors.push(`service.pipelines.${pid}: needs receivers and exporters`);
    for (const section of ['receivers', 'processors', 'exporters'] as const) {
      for (const id of p[section] ?? []) {
        if (!(id in (doc[section] ?? {})))
          errors.push(`service.pipelines.${pid}.${section}: ${id} is not defined under ${section}`);
        used.add(`${section}.${id}`);
      }
    }
    const procs = p.processors ?? [];
    if (procs.length && typeOf(procs[0] as string) !== 'memory_limiter')
      errors.push(`service.pipelines.${pid}: memory_limiter must be the first processor`);
    const batchAt = procs.findIndex((id) => typeOf(id) === 'batch');
    if (batchAt !== -1 && batchAt !== procs.length - 1)
      errors.push(`service.pipelines.${pid}: batch must be the last processor`);
  }
  for (const section of Object.keys(COMPONENTS) as Section[]) {
    for (const id of Object.keys(doc[section] ?? {})) {
      if (!used.has(`${section}.${id}`)) errors.push(`${section}.${id}: defined but used by no pipeline`);
    }
  }
  // References to extensions (auth, persistent queue storage) must name enabled extensions.
  for (const [id, conf] of Object.entries(doc.exporters ?? {})) {
    const c = conf as { auth?: { authenticator?: string }; sending_queue?: { storage?: string } };
    for (const ref of [c.auth?.authenticator, c.sending_queue?.storage]) {
      if (ref !== undefined && !(doc.service.extensions ?? []).includes(ref))
        errors.push(`exporters.${id}: refers to extension ${ref}, which service.extensions does not enable`);
    }
  }
  // OTTL statements: only log/resource paths (log_statements) and known functions.
  for (const [id, conf] of Object.entries(doc.processors ?? {})) {
    if (typeOf(id) !== 'transform') continue;
    const groups = (conf as { log_statements?: unknown[] }).log_statements ?? [];
    const statements = groups.flatMap((g) =>
      typeof g === 'string' ? [g] : ((g as { statements: string[] }).statements ?? []),
    );
    for (const s of statements) {
      for (const m of s.matchAll(/\b([A-Za-z_]+)\(/g)) {
        if (!OTTL_FUNCTIONS.has(m[1] as string))
          errors.push(`processors.${id}: OTTL function ${m[1]} is not in the checked list`);
      }
      for (const m of s.matchAll(/\b([a-z_]+)\.attributes\b/g)) {
        if (m[1] !== 'log' && m[1] !== 'resource')
          errors.push(`processors.${id}: path ${m[0]} is not valid in log_statements`);
      }
    }
  }
  return errors;
}

const read = (rel: string) =>
  parse(readFileSync(fileURLToPath(new URL(`../../${rel}`, import.meta.url)), 'utf8')) as Doc;

/** The Collector's merge of several --config files (confmap): maps merge key by key, anything else is replaced. */
function merge(a: unknown, b: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isMap(a) || !isMap(b)) return b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in a ? merge(a[k], v) : v;
  return out;
}
const GATEWAY = 'exporter-config/collector/gateway.yaml';
const VENDOR_FILES = [
  'exporter-config/collector/gateway-splunk.yaml',
  'exporter-config/collector/gateway-datadog.yaml',
];
const mergedGateway = (files: string[]) =>
  files.reduce((doc, f) => merge(doc, read(f)), read(GATEWAY) as unknown) as Doc;

// Exporter settings the component's config validation requires non-empty, so an unset ${env:X} stops the whole
// Collector at start: splunkhecexporter config.go Validate ("requires a non-empty token"), datadogexporter
// config Validate ("api.key is not set").
const REQUIRED_AT_START: Record<string, string[][]> = { splunk_hec: [['token']], datadog: [['api', 'key']] };

describe('Collector configurations', () => {
  it('each vendor file merged over the gateway (alone and together) uses only defined components', () => {
    for (const files of [[VENDOR_FILES[0] as string], [VENDOR_FILES[1] as string], VENDOR_FILES])
      expect(problems(mergedGateway(files))).toEqual([]);
  });

  it('an unset secret cannot stop the gateway: start-validated secrets live only in their vendor file', () => {
    const at = (conf: unknown, path: string[]) =>
      path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], conf);
    for (const [id, conf] of Object.entries(read(GATEWAY).exporters)) {
      for (const path of REQUIRED_AT_START[typeOf(id)] ?? [])
        expect(String(at(conf, path)), `${id}.${path.join('.')}`).not.toMatch(/^\$\{env:[A-Z_]+\}$/);
    }
    // Every vendor file brings exactly one exporter in pipelines of its own, so leaving it out disables only it.
    for (const file of VENDOR_FILES) {
      const doc = read(file);
      expect(Object.keys(doc.exporters)).toHaveLength(1);
      for (const p of Object.values(doc.service.pipelines)) expect(p.exporters).toEqual(Object.keys(doc.exporters));
      expect(doc.service.extensions, "a merged list would replace the gateway's").toBeUndefined();
    }
  });

  for (const file of [GATEWAY, 'exporter-config/collector/agent.yaml', 'examples/collector.yaml']) {
    it(`${file} uses only defined components and documented keys`, () => {
      expect(problems(read(file))).toEqual([]);
    });
  }

  it('the gateway exports to Loki, Elasticsearch, Splunk HEC, Datadog and Honeycomb, each in its own pipeline', () => {
    const doc = mergedGateway(VENDOR_FILES);
    const exportersOf = (signal: string) =>
      Object.entries(doc.service.pipelines)
        .filter(([pid]) => pid.split('/')[0] === signal)
        .flatMap(([, p]) => p.exporters);
    expect(exportersOf('logs').map(typeOf).sort()).toEqual([
      'datadog',
      'elasticsearch',
      'otlp_grpc',
      'otlp_http',
      'splunk_hec',
    ]);
    // Lifecycle traces to Tempo/Jaeger, Datadog and Honeycomb; metrics to Datadog and Honeycomb (its dataset header).
    expect(exportersOf('traces').sort()).toEqual(['datadog', 'otlp_grpc/honeycomb', 'otlp_grpc/tempo']);
    expect(exportersOf('metrics').sort()).toEqual(['datadog', 'otlp_grpc/honeycomb-metrics']);
    const hc = doc.exporters['otlp_grpc/honeycomb-metrics'] as { headers: Record<string, string> };
    expect(Object.keys(hc.headers).sort()).toEqual(['x-honeycomb-dataset', 'x-honeycomb-team']);
    expect(doc.receivers.otlp).toEqual({
      protocols: { grpc: { endpoint: '0.0.0.0:4317' }, http: { endpoint: '0.0.0.0:4318' } },
    });
    // Secrets only from the environment.
    const text = [GATEWAY, ...VENDOR_FILES]
      .map((f) => readFileSync(fileURLToPath(new URL(`../../${f}`, import.meta.url)), 'utf8'))
      .join('\n');
    for (const key of ['api_key', 'token', 'key', 'x-honeycomb-team', 'password']) {
      for (const m of text.matchAll(new RegExp(`^\\s*${key}:\\s*(.+)$`, 'gm')))
        expect(m[1]).toMatch(/^\$\{env:[A-Z_]+(:-[^}]*)?\}$/);
    }
  });

  it('the agent forwards to the gateway with a persistent queue', () => {
    const doc = read('exporter-config/collector/agent.yaml');
    const exp = doc.exporters['otlp_grpc/gateway'] as { sending_queue: { storage: string } };
    expect(exp.sending_queue.storage).toBe('file_storage/queue');
    expect(doc.service.pipelines.logs?.exporters).toEqual(['otlp_grpc/gateway']);
    expect(doc.service.pipelines.traces?.exporters).toEqual(['otlp_grpc/gateway']);
    expect(doc.service.pipelines.metrics?.exporters).toEqual(['otlp_grpc/gateway']);
  });

  it('the checker itself rejects an undefined component, an unknown key and a wrong name', () => {
    const bad = parse(
      [
        'receivers: { otlp: { protocols: { grpc: { endpoint: x } } } }',
        'processors: { batch: { timout: 1s } }',
        'exporters: { "Debug": {}, splunk_hec: { tokn: x } }',
        'service: { pipelines: { logs: { receivers: [otlp], processors: [batch], exporters: [splunk_hec, debug/x] } } }',
      ].join('\n'),
    ) as Doc;
    const got = problems(bad);
    expect(got).toContain(
      'processors.batch.timout: not a documented key (allowed: send_batch_size, timeout, send_batch_max_size, metadata_keys)',
    );
    expect(got).toContain('exporters.Debug: the name is not type[/name]');
    expect(got.some((e) => e.startsWith('exporters.splunk_hec.tokn:'))).toBe(true);
    expect(got).toContain('service.pipelines.logs.exporters: debug/x is not defined under exporters');
  });
});
