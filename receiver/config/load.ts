// loadConfig: one YAML file (or none) → a validated, fully defaulted ReceiverConfig, or a ConfigError that names
// the file, line, key path, bad value and the fix. Order: parse (keeping positions) → merge overrides →
// ${env:VAR} substitution → schema validation with defaults → cross-field checks → computed settings
// (exporter names, vendor presets, OTEL_EXPORTER_OTLP_* variables, endpoints, store directories) → camelCase.
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Document, type Node } from 'yaml';
import { describeErrors } from './ajv.js';
import { ConfigError, pathString, showValue, type ConfigProblem } from './errors.js';
import { PresetError, resolvePreset } from './presets.js';
import { OtlpConfigError, resolveOtlpSettings } from '../exporters/otlp-config.js';
import type { RawConfig } from './schema.js';
import { CONFIG_SCHEMA_JSON, validateConfig } from './generated/validate-config.js';
import { expand, TemplateError } from './template.js';
import { defaultDataDir } from '../safefs/index.js';
import type {
  ConfigInput,
  ExporterConfig,
  OtlpExporterEntry,
  ReceiverConfig,
  StdoutExporterConfig,
  StoreExporterConfig,
} from './types.js';

export interface LoadOptions {
  /** Environment for `${env:VAR}`, presets and OTEL_EXPORTER_OTLP_*; default process.env. */
  env?: Record<string, string | undefined>;
  /** Base of relative paths; default process.cwd(). */
  cwd?: string;
  /** Effective uid choosing the default data_dir (root: /var/lib/kata-otel); default process.geteuid(). */
  euid?: number;
}

type Segs = (string | number)[];
type Located = ConfigProblem & { segments?: Segs };

// Compiled at build time from config/schema.ts (gen-validator.ts): no schema compiler at run time.
const validate = (): ValidateFunction<RawConfig> => validateConfig as ValidateFunction<RawConfig>;

type JsonSchema = Record<string, unknown>;
let schemaJson: JsonSchema | undefined;
/** The configuration schema as plain JSON (what camelize walks), parsed on first use. */
const configSchema = (): JsonSchema => (schemaJson ??= JSON.parse(CONFIG_SCHEMA_JSON) as JsonSchema);
/** The branch of `exporters[]` for one exporter type. */
function exporterSchema(type: string): JsonSchema | undefined {
  const exporters = (configSchema().properties as Record<string, { items: { oneOf: JsonSchema[] } }>).exporters;
  return exporters?.items.oneOf.find((b) => (b.properties as Record<string, { const?: unknown }>).type?.const === type);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function hasPath(obj: unknown, segs: Segs): boolean {
  let cur = obj;
  for (const s of segs) {
    if (!isPlainObject(cur) && !Array.isArray(cur)) return false;
    if (!(String(s) in (cur as object))) return false;
    cur = (cur as Record<string, unknown>)[s as string];
  }
  return true;
}

/** Line (1-based) of the deepest node of `segs` that exists in the document. */
function lineOf(doc: Document | undefined, lc: LineCounter, segs: Segs): number | undefined {
  if (!doc) return undefined;
  let node: unknown = doc.contents;
  let line: number | undefined = (node as Node | null)?.range ? lc.linePos((node as Node).range![0]).line : undefined;
  for (const s of segs) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(s));
      if (!pair) break;
      const at = (pair.key as Node).range;
      if (at) line = lc.linePos(at[0]).line;
      node = pair.value;
    } else if (isSeq(node) && typeof s === 'number') {
      const item = node.items[s] as Node | undefined;
      if (!item) break;
      if (item.range) line = lc.linePos(item.range[0]).line;
      node = item;
    } else break;
  }
  return line;
}

/** Replace `${env:VAR}` in every string value (never in keys). */
function substitute(value: unknown, segs: Segs, env: LoadOptions['env'] & object, problems: Located[]): unknown {
  if (typeof value === 'string') {
    try {
      return expand(value, { env }).value;
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push({ path: pathString(segs), segments: segs, message: err.message });
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, [...segs, i], env, problems));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, [...segs, k], env, problems)]));
  }
  return value;
}

const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** snake_case → camelCase along the schema: keys of `properties` objects change, map keys (headers) do not. */
function camelize(value: unknown, schema: Record<string, unknown> | undefined): unknown {
  if (!schema) return value;
  if (Array.isArray(value)) return value.map((v) => camelize(v, schema.items as Record<string, unknown>));
  if (!isPlainObject(value)) return value;
  if (Array.isArray(schema.oneOf)) {
    const branch = (schema.oneOf as Record<string, unknown>[]).find(
      (b) => (b.properties as Record<string, { const?: unknown }>).type?.const === value.type,
    );
    return camelize(value, branch);
  }
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
  if (!props) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), camelize(v, props[k])]));
}

type RawOtlp = Extract<NonNullable<RawConfig['exporters']>[number], { type: 'otlp' }>;

/** Which exporter key an OtlpConfigError message is about (for its line in the file). */
function keyOfMessage(message: string): string {
  const m = message.toLowerCase();
  if (/endpoint|port/.test(m)) return 'endpoint';
  if (/protocol/.test(m)) return 'protocol';
  if (/header/.test(m)) return 'headers';
  if (/compression/.test(m)) return 'compression';
  if (/timeout/.test(m)) return 'timeout_ms';
  if (/tls|certificate|client_key|pem/.test(m)) return 'tls';
  return 'type';
}

/**
 * The otlp exporter as written, camelCased, with the vendor preset filling endpoint, protocol, headers and
 * compression where the file has none (header names compared without case, the file's headers winning).
 * The result is then checked with the exporter's own resolver, which adds OTEL_EXPORTER_OTLP_* and defaults.
 */
function resolveOtlp(
  raw: RawOtlp,
  name: string,
  i: number,
  env: Record<string, string | undefined>,
  problems: Located[],
): OtlpExporterEntry {
  const at = (key: string | Segs, message: string): void => {
    const segments: Segs = ['exporters', i, ...(typeof key === 'string' ? [key] : key)];
    problems.push({ path: pathString(segments), segments, message });
  };
  const { type: _t, name: _n, preset, preset_options, ...rest } = raw;
  const entry = {
    ...(camelize(rest, exporterSchema('otlp')) as Omit<
      OtlpExporterEntry,
      'type' | 'name' | 'preset' | 'presetOptions'
    >),
    type: 'otlp' as const,
    name,
    preset: preset ?? null,
    presetOptions: preset_options,
  };
  if (preset) {
    try {
      const p = resolvePreset(preset, {
        protocol: entry.protocol,
        options: preset_options,
        env,
        given: { endpoint: entry.endpoint !== undefined, headers: Object.keys(entry.headers ?? {}) },
      });
      entry.protocol ??= p.protocol;
      entry.endpoint ??= p.endpoint;
      entry.compression ??= p.compression;
      const headers: Record<string, string> = {};
      for (const [k, v] of [...Object.entries(p.headers), ...Object.entries(entry.headers ?? {})])
        headers[k.toLowerCase()] = v;
      entry.headers = headers;
    } catch (err) {
      if (!(err instanceof PresetError)) throw err;
      at(err.key === 'preset_options' && err.option ? ['preset_options', err.option] : err.key, err.message);
      return entry;
    }
  }
  try {
    resolveOtlpSettings(entry, env);
  } catch (err) {
    if (!(err instanceof OtlpConfigError)) throw err;
    const key = keyOfMessage(err.message);
    at(key in raw || key === 'type' ? key : preset ? 'preset' : key, err.message);
  }
  return entry;
}

/** Exporter names: explicit ones as written, the others their type, made unique (`otlp`, `otlp-2`). */
function exporterNames(list: { type: string; name?: string }[], problems: Located[]): string[] {
  const taken = new Set<string>();
  list.forEach((e, i) => {
    if (e.name === undefined) return;
    if (taken.has(e.name)) {
      const segments: Segs = ['exporters', i, 'name'];
      problems.push({
        path: pathString(segments),
        segments,
        message: `"${e.name}" is used twice; give each exporter its own name`,
      });
    }
    taken.add(e.name);
  });
  return list.map((e) => {
    if (e.name !== undefined) return e.name;
    let name = e.type;
    for (let n = 2; taken.has(name); n++) name = `${e.type}-${n}`;
    taken.add(name);
    return name;
  });
}

function crossChecks(c: RawConfig, problems: Located[]): void {
  const check = (ok: boolean, segments: Segs, message: string) => {
    if (!ok) problems.push({ path: pathString(segments), segments, message });
  };
  const v = c.sources.vsock;
  check(
    v.reconnect_initial_ms <= v.reconnect_max_ms,
    ['sources', 'vsock', 'reconnect_initial_ms'],
    `${v.reconnect_initial_ms} is larger than reconnect_max_ms ${v.reconnect_max_ms}; make it smaller`,
  );
  const r = c.queue.retry;
  check(
    r.initial_ms <= r.max_ms,
    ['queue', 'retry', 'initial_ms'],
    `${r.initial_ms} is larger than max_ms ${r.max_ms}; make it smaller`,
  );
  check(
    c.queue.segment_bytes <= c.queue.max_bytes,
    ['queue', 'segment_bytes'],
    `${c.queue.segment_bytes} is larger than max_bytes ${c.queue.max_bytes}; make it at most max_bytes`,
  );
  (c.exporters ?? []).forEach((e, i) => {
    if (e.type === 'store') {
      check(
        e.max_file_bytes <= e.max_total_bytes,
        ['exporters', i, 'max_file_bytes'],
        `${e.max_file_bytes} is larger than max_total_bytes ${e.max_total_bytes}; make it smaller`,
      );
    }
  });
}

/**
 * Load the configuration. `path` undefined: defaults only (kata-otel runs with no file). `overrides` (snake_case,
 * any part of the document, e.g. from command-line flags) win over the file and are validated with it.
 * Throws ConfigError listing every problem found.
 */
export function loadConfig(path?: string, overrides?: ConfigInput, options: LoadOptions = {}): ReceiverConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = path ?? '<defaults>';
  const lc = new LineCounter();
  let doc: Document | undefined;
  let data: unknown = {};

  if (path !== undefined) {
    let text: string;
    try {
      text = readFileSync(isAbsolute(path) ? path : resolve(cwd, path), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new ConfigError(file, [
        { path: '', message: `cannot read the file (${code}); check the path and permissions` },
      ]);
    }
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length) {
      throw new ConfigError(
        file,
        doc.errors.map((e) => ({
          path: '',
          line: lc.linePos(e.pos[0]).line,
          message: `YAML syntax error: ${e.message.split('\n')[0]}; fix the YAML`,
        })),
      );
    }
    data = doc.toJS() ?? {};
    if (!isPlainObject(data)) {
      throw new ConfigError(file, [
        {
          path: '',
          line: 1,
          message: `the document is ${showValue(data)}, not a map of settings; start with e.g. "data_dir: ..."`,
        },
      ]);
    }
  }
  if (overrides) data = deepMerge(data as Record<string, unknown>, overrides as Record<string, unknown>);

  const locate = (problems: Located[]): ConfigProblem[] =>
    problems.map((p) => {
      const segs = p.segments ?? [];
      const fromOverride = overrides !== undefined && hasPath(overrides, segs);
      return {
        path: p.path,
        line: fromOverride ? undefined : lineOf(doc, lc, segs),
        message: fromOverride ? `${p.message} (from overrides)` : p.message,
      };
    });

  const problems: Located[] = [];
  data = substitute(data, [], env, problems);
  if (problems.length) throw new ConfigError(file, locate(problems));
  // No exporters: the store, or otlp when the standard OTLP endpoint variables say where to send.
  const top = data as Record<string, unknown>;
  if (top.exporters === undefined || (Array.isArray(top.exporters) && top.exporters.length === 0)) {
    top.exporters = [
      { type: env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT ? 'otlp' : 'store' },
    ];
  }

  const v = validate();
  if (!v(data)) throw new ConfigError(file, locate(describeErrors(v.errors ?? [])));
  const raw = data as RawConfig;
  crossChecks(raw, problems);

  const rawExporters = raw.exporters ?? [];
  const names = exporterNames(rawExporters, problems);
  const dataDir = raw.data_dir ? resolve(cwd, raw.data_dir) : defaultDataDir(env, options.euid);
  let firstStore = true;
  const exporters: ExporterConfig[] = rawExporters.map((e, i) => {
    const name = names[i] as string;
    if (e.type === 'otlp') {
      return resolveOtlp(e, name, i, env, problems);
    }
    if (e.type === 'store') {
      const directory = e.directory ? resolve(cwd, e.directory) : join(dataDir, firstStore ? 'store' : `store-${name}`);
      firstStore = false;
      return { ...(camelize(e, exporterSchema('store')) as object), name, directory } as StoreExporterConfig;
    }
    return { ...(camelize(e, exporterSchema('stdout')) as object), name } as StdoutExporterConfig;
  });
  const dirs = new Map<string, number>();
  exporters.forEach((e, i) => {
    if (e.type !== 'store') return;
    const prev = dirs.get(e.directory);
    if (prev !== undefined) {
      const segments: Segs = ['exporters', i, 'directory'];
      problems.push({
        path: pathString(segments),
        segments,
        message: `${showValue(e.directory)} is also the directory of exporters[${prev}]; give each store its own directory`,
      });
    }
    dirs.set(e.directory, i);
  });
  if (problems.length) throw new ConfigError(file, locate(problems));

  const { exporters: _e, data_dir: _d, ...rest } = raw;
  const camel = camelize(rest, configSchema()) as Omit<ReceiverConfig, 'exporters' | 'dataDir' | 'source'>;
  return { ...camel, dataDir, exporters, source: path === undefined ? null : resolve(cwd, path) };
}

/** A copy safe to print: header values (API keys) replaced. */
export function redactConfig(config: ReceiverConfig): ReceiverConfig {
  return {
    ...config,
    exporters: config.exporters.map((e) =>
      e.type === 'otlp'
        ? { ...e, headers: Object.fromEntries(Object.keys(e.headers ?? {}).map((k) => [k, '<redacted>'])) }
        : e,
    ),
  };
}
