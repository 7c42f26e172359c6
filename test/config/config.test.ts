import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactConfig } from '../../receiver/config/index.js';
import type { OtlpExporterEntry, ReceiverConfig, StoreExporterConfig } from '../../receiver/config/index.js';
import { CONFIG_DOC, renderConfigDoc } from '../../receiver/config/gen-doc.js';
import { CONFIG_VALIDATOR, renderConfigValidator } from '../../receiver/config/gen-validator.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kata-otel-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Write `text` to a fresh config.yaml and load it with the given environment. */
function load(text: string, env: Record<string, string> = {}, overrides?: Parameters<typeof loadConfig>[1]) {
  const sub = join(dir, String(n++));
  const file = join(sub, 'config.yaml');
  mkdirSync(sub, { recursive: true });
  writeFileSync(file, text);
  return loadConfig('config.yaml', overrides, { env, cwd: sub });
}
/** The ConfigError thrown by `fn`, with its message. */
function failure(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig without a file', () => {
  it('defaults data_dir to an absolute directory: /var/lib/kata-otel as root, the XDG state directory otherwise', () => {
    expect(loadConfig(undefined, undefined, { env: {}, cwd: dir, euid: 0 }).dataDir).toBe('/var/lib/kata-otel');
    const xdg = { XDG_STATE_HOME: '/st', HOME: '/home/u' };
    expect(loadConfig(undefined, undefined, { env: xdg, cwd: dir, euid: 1000 }).dataDir).toBe('/st/kata-otel');
    expect(loadConfig(undefined, undefined, { env: { HOME: '/h' }, cwd: dir, euid: 1000 }).dataDir).toBe(
      '/h/.local/state/kata-otel',
    );
    // An explicit data_dir (npm run demo's --data-dir ./kata-otel-data) still resolves against the working directory.
    expect(loadConfig(undefined, { data_dir: './kata-otel-data' }, { env: {}, cwd: dir }).dataDir).toBe(
      join(dir, 'kata-otel-data'),
    );
  });

  it('gives every default and the store exporter under data_dir', () => {
    const c = loadConfig(undefined, undefined, { env: { HOME: '/home/u' }, cwd: dir, euid: 1000 });
    expect(c.source).toBeNull();
    expect(c.dataDir).toBe('/home/u/.local/state/kata-otel');
    expect(c.log).toEqual({ level: 'info', file: null });
    expect(c.sources.files).toEqual([]);
    expect(c.sources.stdin).toBe(false);
    expect(c.sources.journald).toEqual({
      enabled: false,
      directory: null,
      files: [],
      identifiers: ['kata'],
      units: ['containerd.service', 'crio.service'],
      priority: 'debug',
      startAt: 'end',
      journalctl: 'journalctl',
      lingerMs: 500,
      trust: {
        uids: [0],
        commands: ['containerd-shim', 'containerd', 'crio', 'kata-runtime', 'kata-monitor', 'virtiofsd'],
        executables: ['containerd-shim-kata-v2', 'containerd', 'crio', 'kata-runtime', 'kata-monitor', 'virtiofsd'],
        units: ['containerd.service', 'crio.service'],
      },
    });
    expect(c.sources.vsock.port).toBe(1025);
    expect(c.sources.vsock.roots).toEqual(['/run/vc/vm', '/run/vc/firecracker', '/run/kata', '/run/kata/firecracker']);
    expect(c.sources.fifo).toEqual({ enabled: false, roots: ['/run/vc/firecracker'], metrics: 'drop' });
    expect(c.pipeline).toEqual({
      dedupe: { enabled: true, windowMs: 60_000, maxEntries: 100_000 },
      k8s: {
        enabled: true,
        bundleRoots: ['/run/containerd', '/run/k3s/containerd'],
        crioRoots: ['/run/containers/storage', '/var/lib/containers/storage'],
        fromCriLogs: true,
        cacheEntries: 10_000,
        ttlMs: 600_000,
        cri: {
          enabled: true,
          endpoints: [
            '/run/containerd/containerd.sock',
            '/run/k3s/containerd/containerd.sock',
            '/var/run/crio/crio.sock',
          ],
          timeoutMs: 2_000,
          refreshIntervalMs: 10_000,
        },
      },
      lifecycle: {
        enabled: true,
        execs: false,
        idleMs: 86_400_000,
        retainMs: 600_000,
        agentSpans: false,
        agentSpanMaxFrameBytes: 1024 * 1024,
        metricsIntervalMs: 60_000,
      },
      rules: { enabled: true, builtin: true, files: [], webhook: { url: null, timeoutMs: 5000 } },
      keepOriginal: false,
      limits: { maxAttributes: 128, maxAttributeValueLength: 16_384 },
      fairShare: {
        parseBudgetMs: 10,
        recordsPerSecond: 1000,
        bytesPerSecond: 1024 * 1024,
        burstSeconds: 10,
        reportIntervalMs: 10_000,
      },
      redaction: { enabled: true, builtin: true, action: 'mask', hmacKeyFile: null, rules: [] },
    });
    expect(c.integrity).toEqual({
      enabled: true,
      hmacKeyFile: null,
      checkpointIntervalMs: 60_000,
      checkpointEveryRecords: 10_000,
    });
    expect(c.onceTimeoutMs).toBe(300_000);
    expect(c.queue).toEqual({
      kind: 'disk',
      maxBytes: 512 * 1024 * 1024,
      whenFull: 'block',
      fsync: 'always',
      fsyncIntervalMs: 200,
      segmentBytes: 16 * 1024 * 1024,
      maxBatchRecords: 2048,
      maxInFlight: 2,
      retry: { initialMs: 1000, maxMs: 30_000, multiplier: 2 },
    });
    expect(c.telemetry).toEqual({
      listen: '127.0.0.1:8898',
      otlpMetrics: false,
      otlpMetricsIntervalMs: 60_000,
      traces: { enabled: false, endpoint: null, headers: {} },
    });
    expect(c.shutdownTimeoutMs).toBe(10_000);
    expect(c.exporters).toEqual([
      {
        type: 'store',
        name: 'store',
        directory: '/home/u/.local/state/kata-otel/store',
        maxFileBytes: 64 * 1024 * 1024,
        maxFileAgeMs: 3_600_000,
        maxAgeMs: 7 * 24 * 3_600_000,
        maxTotalBytes: 1024 * 1024 * 1024,
      },
    ]);
  });

  it('defaults to one otlp exporter when OTEL_EXPORTER_OTLP_ENDPOINT or _LOGS_ENDPOINT is set', () => {
    for (const v of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT']) {
      const c = loadConfig(undefined, undefined, { env: { [v]: 'http://collector:4318' }, cwd: dir });
      expect(c.exporters).toEqual([{ type: 'otlp', name: 'otlp', preset: null, presetOptions: {} }]);
    }
  });

  it('an empty file is the defaults too', () => {
    const c = load('');
    expect(c.exporters.map((e) => e.type)).toEqual(['store']);
    expect(c.source).toMatch(/config\.yaml$/);
  });
});

describe('loadConfig of a file', () => {
  it('loads the commented example', () => {
    const c = loadConfig('examples/kata-otel.yaml', undefined, { env: {}, cwd: repo });
    expect(c.sources.journald.enabled).toBe(true);
    expect(c.sources.files[0]?.include).toEqual(['examples/logs/*.log']);
    expect(c.exporters[0]?.type).toBe('store');
  });

  it('converts keys to camelCase but keeps map keys (attributes, headers) as written', () => {
    const c = load(
      [
        'sources:',
        '  files:',
        '    - include: [/var/log/kata/*.log]',
        '      max_line_bytes: 4096',
        '      attributes: { k8s.cluster.name: prod, some_key: 1 }',
        'exporters:',
        '  - type: otlp',
        '    endpoint: http://collector:4318',
        '    headers: { X-Custom_Header: v }',
        '    tls: { insecure_skip_verify: true }',
      ].join('\n'),
    );
    const f = c.sources.files[0]!;
    expect(f.maxLineBytes).toBe(4096);
    expect(f.attributes).toEqual({ 'k8s.cluster.name': 'prod', some_key: 1 });
    const o = c.exporters[0] as OtlpExporterEntry;
    expect(o.headers).toEqual({ 'X-Custom_Header': 'v' });
    expect(o.tls).toEqual({ insecureSkipVerify: true });
  });

  it('names exporters by type, made unique, and keeps explicit names', () => {
    const c = load(
      [
        'exporters:',
        '  - type: stdout',
        '  - type: store',
        '  - type: stdout',
        '  - type: store',
        '    name: stdout-2',
      ].join('\n'),
    );
    expect(c.exporters.map((e) => e.name)).toEqual(['stdout', 'store', 'stdout-3', 'stdout-2']);
    const stores = c.exporters.filter((e): e is StoreExporterConfig => e.type === 'store');
    expect(stores.map((s) => s.directory.slice(c.dataDir.length))).toEqual(['/store', '/store-stdout-2']);
  });

  it('substitutes ${env:VAR}, ${env:VAR:-default} and $${ and fills numbers from the environment', () => {
    const c = load(
      [
        'data_dir: ${env:DATA}/x',
        'log: { file: "${env:NOPE:-/tmp/kata-otel.log}" }',
        'sources: { vsock: { port: "${env:PORT}" } }',
        'exporters:',
        '  - type: otlp',
        '    endpoint: http://c:4318',
        '    headers: { a: "$${env:LITERAL}", b: "${env:SECRET}" }',
      ].join('\n'),
      { DATA: '/srv', PORT: '2049', SECRET: 'has ${env:X} inside' },
    );
    expect(c.dataDir).toBe('/srv/x');
    expect(c.log.file).toBe('/tmp/kata-otel.log');
    expect(c.sources.vsock.port).toBe(2049);
    // a value read from the environment is never expanded again
    expect((c.exporters[0] as OtlpExporterEntry).headers).toEqual({ a: '${env:LITERAL}', b: 'has ${env:X} inside' });
  });

  it('an unset ${env:VAR} is an error naming the variable, file, line and key', () => {
    const e = failure(() => load('data_dir: /x\nlog:\n  file: ${env:KATA_LOG_FILE}\n'));
    expect(e.message).toBe(
      'config.yaml:3: log.file: environment variable KATA_LOG_FILE is not set; export KATA_LOG_FILE=… before starting kata-otel',
    );
    expect(e.line).toBe(3);
    expect(e.path).toBe('log.file');
  });

  it('a value outside an enum names file, line, path, value and the allowed values', () => {
    const text = ['data_dir: /x', 'exporters:', '  - type: otlp', '    endpoint: c:4317', '    protocol: grcp'].join(
      '\n',
    );
    const e = failure(() => load(text));
    expect(e.message).toContain(
      'config.yaml:5: exporters[0].protocol: "grcp" is not one of grpc, http/protobuf, http/json; use one of them',
    );
    expect(e.message).toContain('did you mean "grpc"');
  });

  it('unknown keys are errors, with a did-you-mean for close names', () => {
    const e = failure(() => load('log:\n  level: debug\n  levle: info\nsources:\n  journal: {}\n'));
    expect(e.problems.map((p) => `${p.line} ${p.path} ${p.message}`)).toEqual([
      '3 log.levle unknown key "levle"; did you mean "level"?',
      '5 sources.journal unknown key "journal"; did you mean "journald"?',
    ]);
    const far = failure(() => load('zzzz: 1\n'));
    expect(far.message).toContain('unknown key "zzzz"; remove it (allowed here: data_dir, log, sources,');
  });

  it('reports every problem: types, minimums, required keys, patterns, exporter types', () => {
    const e = failure(() =>
      load(
        [
          'shutdown_timeout_ms: soon', // 1
          'sources:', // 2
          '  files:', // 3
          '    - exclude: [a]', // 4
          '  vsock: { enabled: yes please }', // 5
          'queue: { max_in_flight: 0 }', // 6
          'telemetry: { listen: "8888" }', // 7
          'exporters:', // 8
          '  - type: kafka', // 9
        ].join('\n'),
      ),
    );
    const got = e.problems.map((p) => `${p.line} ${p.path}: ${p.message}`);
    expect(got).toContain('1 shutdown_timeout_ms: "soon" is not a whole number; write a whole number');
    expect(got).toContain(
      '4 sources.files[0].include: missing; add it (list at least one glob, e.g. include: [/var/log/kata/*.log])',
    );
    expect(got).toContain('5 sources.vsock.enabled: "yes please" is not a boolean; write a boolean');
    expect(got).toContain('6 queue.max_in_flight: 0 is too small; use at least 1');
    expect(got).toContain(
      '7 telemetry.listen: "8888" is not valid; write host:port, e.g. 127.0.0.1:8898, or null to disable',
    );
    expect(got).toContain('9 exporters[0].type: "kafka" is not one of otlp, store, stdout; use one of them');
  });

  it('checks settings against each other', () => {
    const e = failure(() =>
      load(
        [
          'sources: { vsock: { reconnect_initial_ms: 20000 } }',
          'queue: { segment_bytes: 2048, max_bytes: 1024, retry: { initial_ms: 5, max_ms: 4 } }',
          'exporters:',
          '  - { type: store, max_file_bytes: 4096, max_total_bytes: 2048 }',
          '  - { type: store, name: a, directory: /tmp/s }',
          '  - { type: store, name: a, directory: /tmp/s }',
        ].join('\n'),
      ),
    );
    const paths = e.problems.map((p) => p.path);
    expect(paths).toEqual([
      'sources.vsock.reconnect_initial_ms',
      'queue.retry.initial_ms',
      'queue.segment_bytes',
      'exporters[0].max_file_bytes',
      'exporters[2].name',
      'exporters[2].directory',
    ]);
  });

  it('a YAML syntax error names its line', () => {
    const e = failure(() => load('log:\n  level: [info\n'));
    expect(e.message).toMatch(/^config\.yaml:\d+: YAML syntax error: .*; fix the YAML$/);
  });

  it('a document that is not a map, or a missing file, is an error that says so', () => {
    expect(failure(() => load('- a\n- b\n')).message).toContain('not a map of settings');
    const e = failure(() => loadConfig('/nonexistent/kata-otel.yaml', undefined, { env: {} }));
    expect(e.message).toBe(
      '/nonexistent/kata-otel.yaml: cannot read the file (ENOENT); check the path and permissions',
    );
  });

  it('overrides win over the file and are validated with it', () => {
    const c = load('log: { level: info }\ndata_dir: /a\n', {}, { log: { level: 'debug' }, data_dir: '/b' });
    expect(c.log.level).toBe('debug');
    expect(c.dataDir).toBe('/b');
    const e = failure(() => load('log: { level: info }\n', {}, { log: { level: 'loud' as 'info' } }));
    expect(e.message).toBe(
      'config.yaml: log.level: "loud" is not one of debug, info, warn, error; use one of them (from overrides)',
    );
  });

  it('an otlp endpoint the exporter cannot use is reported at its line', () => {
    const e = failure(() => load('exporters:\n  - type: otlp\n    protocol: http/protobuf\n    endpoint: ftp://x\n'));
    expect(e.line).toBe(4);
    expect(e.path).toBe('exporters[0].endpoint');
    expect(e.message).toContain('must start with http:// or https://');
  });

  it('a preset needing an unset secret names the variable at the preset line', () => {
    const e = failure(() => load('exporters:\n  - type: otlp\n    preset: honeycomb\n'));
    expect(e.message).toBe(
      'config.yaml:3: exporters[0].preset: preset honeycomb: environment variable HONEYCOMB_API_KEY is not set; export HONEYCOMB_API_KEY=… before starting kata-otel',
    );
  });

  it('explicit keys override the preset; headers merge, the file winning', () => {
    const c = load(
      [
        'exporters:',
        '  - type: otlp',
        '    preset: honeycomb',
        '    protocol: http/protobuf',
        '    compression: none',
        '    headers: { X-Honeycomb-Dataset: kata, x-extra: "1" }',
      ].join('\n'),
      { HONEYCOMB_API_KEY: 'hc-key' },
    );
    const o = c.exporters[0] as OtlpExporterEntry;
    expect(o.endpoint).toBe('https://api.honeycomb.io/v1/logs');
    expect(o.protocol).toBe('http/protobuf');
    expect(o.compression).toBe('none');
    expect(o.headers).toEqual({ 'x-honeycomb-team': 'hc-key', 'x-honeycomb-dataset': 'kata', 'x-extra': '1' });
    const shown = redactConfig(c as ReceiverConfig).exporters[0] as OtlpExporterEntry;
    expect(Object.values(shown.headers ?? {})).toEqual(['<redacted>', '<redacted>', '<redacted>']);
  });
});

describe('docs/configuration.md', () => {
  it('is in sync with the schema (run `npm run config:doc`)', async () => {
    expect(readFileSync(CONFIG_DOC, 'utf8')).toBe(await renderConfigDoc());
  });
});

describe('receiver/config/generated/validate-config.js', () => {
  it('is the validator ajv compiles from the schema now (run `npm run config:doc`)', async () => {
    expect(readFileSync(CONFIG_VALIDATOR, 'utf8')).toBe(await renderConfigValidator());
  });
});
