// OTLP exporter settings: explicit config, then the OpenTelemetry environment variables, then defaults,
// following specification/protocol/exporter.md (OpenTelemetry specification):
//   config key  >  OTEL_EXPORTER_OTLP_LOGS_<X>  >  OTEL_EXPORTER_OTLP_<X>  >  default.
// An empty environment variable counts as unset. With `signal` 'metrics' (kata-otel's own metrics,
// receiver/telemetry/otlp-metrics.ts) read LOGS as METRICS and `v1/logs` as `v1/metrics` below.
//
// Endpoint:
//   - OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is used as is (a URL with no path posts to `/`), per the spec.
//   - OTEL_EXPORTER_OTLP_ENDPOINT is a base URL: for HTTP `v1/logs` is appended to its path
//     (`http://c:4318` → `http://c:4318/v1/logs`, `http://c:4318/x/` → `http://c:4318/x/v1/logs`).
//   - config `endpoint` is used as is, except that a URL without a path gets `/v1/logs` (HTTP), so
//     `endpoint: http://collector:4318` works the way it does in the Collector's otlphttp exporter
//     (write `http://collector:4318/` to post to the root path).
//   - gRPC uses only scheme, host and port: `https://` = TLS, `http://` = plaintext; a bare `host:port`
//     (or a `dns:`/`unix:` target) uses TLS unless `tls.insecure` / OTEL_EXPORTER_OTLP_[LOGS_]INSECURE.
//   - Defaults: `http://localhost:4317` (grpc), `http://localhost:4318/v1/logs` (http/*).
// Headers: LOGS_HEADERS replaces HEADERS as a whole (spec: the signal-specific option overrides); config
// `headers` are then merged over them key by key, so a token can come from the environment and static
// headers from the file. `k=v,k2=v2`, keys and values percent-decoded, names lower-cased.
// Timeout: integer ms, 0 = no limit; an invalid environment value is ignored with a warning (spec:
// configuration/common.md "Timeout").
//
// Resource: OTEL_RESOURCE_ATTRIBUTES and config `resourceAttributes` are added to a record's Resource only
// where the record has no value of its own (the spec's merge: user-provided data wins over the environment).
// service.name is the exception: kata-otel names each Kata component's service itself (kata-runtime,
// kata-agent, …), and an OTEL_SERVICE_NAME meant for some other SDK in the same environment would fold all
// components into one service. So service.name from the environment (OTEL_SERVICE_NAME, which wins over
// service.name in OTEL_RESOURCE_ATTRIBUTES, as the spec says) is applied only with `serviceNameFromEnv: true`,
// and then, like config `serviceName` (or `resourceAttributes['service.name']`), it replaces every record's
// service.name. Otherwise it is ignored with a warning.
import { readFileSync } from 'node:fs';
import type { Attributes } from '../model/record.js';
import type { ResourceOverlay } from '../otlp/resource.js';
import { ATTR_SERVICE_NAME } from '../semconv/generated.js';

export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];
export type OtlpCompression = 'gzip' | 'none';
export const OTLP_COMPRESSIONS: readonly OtlpCompression[] = ['gzip', 'none'];

export interface OtlpTlsConfig {
  /** PEM file of the CA(s) that sign the server certificate (OTEL_EXPORTER_OTLP_CERTIFICATE). */
  caFile?: string;
  /** PEM client certificate (chain) for mTLS (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE). */
  certFile?: string;
  /** PEM client private key for mTLS (OTEL_EXPORTER_OTLP_CLIENT_KEY). */
  keyFile?: string;
  /** gRPC with a scheme-less endpoint: plaintext instead of TLS (OTEL_EXPORTER_OTLP_INSECURE). */
  insecure?: boolean;
  /** Do not verify the server certificate (testing only). */
  insecureSkipVerify?: boolean;
}

export interface OtlpExporterConfig {
  endpoint?: string;
  protocol?: OtlpProtocol;
  headers?: Record<string, string>;
  compression?: OtlpCompression;
  timeoutMs?: number;
  tls?: OtlpTlsConfig;
  /** Resource attributes added where a record has no value of its own (merged over OTEL_RESOURCE_ATTRIBUTES). */
  resourceAttributes?: Record<string, string>;
  /** Replace every record's service.name with this value. */
  serviceName?: string;
  /** Apply OTEL_SERVICE_NAME (or service.name from OTEL_RESOURCE_ATTRIBUTES) as `serviceName`. Default false. */
  serviceNameFromEnv?: boolean;
}

export const OTLP_DEFAULTS = {
  protocol: 'http/protobuf' as OtlpProtocol,
  grpcEndpoint: 'http://localhost:4317',
  httpEndpoint: 'http://localhost:4318/v1/logs',
  compression: 'none' as OtlpCompression,
  timeoutMs: 10_000,
};

export interface OtlpTlsSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  insecureSkipVerify: boolean;
}

export interface OtlpSettings {
  protocol: OtlpProtocol;
  /** HTTP: the full request URL. gRPC: `http(s)://host:port`, or the target as given (`dns:`, `unix:`). */
  endpoint: string;
  /** gRPC channel target (`host:port`, `dns:…`, `unix:…`); '' for HTTP. */
  grpcTarget: string;
  /** TLS on the connection. */
  secure: boolean;
  /** Lower-case header names. */
  headers: Record<string, string>;
  compression: OtlpCompression;
  /** 0 = no limit. */
  timeoutMs: number;
  tls: OtlpTlsSettings;
  resource: ResourceOverlay;
  /** Where each resolved value came from (`config endpoint`, `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`, `default`). */
  origin: Record<'protocol' | 'endpoint' | 'headers' | 'compression' | 'timeoutMs' | 'tls', string>;
  /** Ignored or doubtful values, for the caller to log. */
  warnings: string[];
}

/** A configuration value that cannot be used; the message names the key or variable, the value and the fix. */
export class OtlpConfigError extends Error {
  override name = 'OtlpConfigError';
}

type Env = Record<string, string | undefined>;
const GENERIC = 'OTEL_EXPORTER_OTLP_';
/** The signal the settings are for: its OTEL_EXPORTER_OTLP_<SIGNAL>_* variables and HTTP path `v1/<signal>`. */
export type OtlpSignal = 'logs' | 'metrics';
const signalPrefix = (signal: OtlpSignal) => `${GENERIC}${signal.toUpperCase()}_`;

/** The value of the signal-specific variable, else the generic one; empty counts as unset. */
function fromEnv(env: Env, name: string, signal: OtlpSignal): { value: string; source: string } | undefined {
  for (const prefix of [signalPrefix(signal), GENERIC]) {
    const v = env[prefix + name];
    if (v !== undefined && v.trim() !== '') return { value: v.trim(), source: prefix + name };
  }
  return undefined;
}

const q = (v: unknown): string => JSON.stringify(v);

export function resolveOtlpSettings(
  config: Partial<OtlpExporterConfig> = {},
  env: Env = process.env,
  signal: OtlpSignal = 'logs',
): OtlpSettings {
  const warnings: string[] = [];
  const specific = signalPrefix(signal);

  // protocol
  const { value: protocol, origin: protocolOrigin } = pickEnum(
    config.protocol,
    'protocol',
    fromEnv(env, 'PROTOCOL', signal),
    OTLP_PROTOCOLS,
    OTLP_DEFAULTS.protocol,
  );
  const isGrpc = protocol === 'grpc';

  // insecure (gRPC, scheme-less endpoints only)
  let insecure = false;
  if (config.tls?.insecure !== undefined) insecure = config.tls.insecure === true;
  else {
    const e = fromEnv(env, 'INSECURE', signal);
    if (e) insecure = parseBool(e.value, e.source, warnings);
  }

  // endpoint
  let endpointOrigin: string;
  let raw: string;
  let kind: 'as-is' | 'base' | 'config';
  if (config.endpoint !== undefined && config.endpoint.trim() !== '') {
    raw = config.endpoint.trim();
    kind = 'config';
    endpointOrigin = 'config endpoint';
  } else if (env[specific + 'ENDPOINT']?.trim()) {
    raw = env[specific + 'ENDPOINT']!.trim();
    kind = 'as-is';
    endpointOrigin = specific + 'ENDPOINT';
  } else if (env[GENERIC + 'ENDPOINT']?.trim()) {
    raw = env[GENERIC + 'ENDPOINT']!.trim();
    kind = 'base';
    endpointOrigin = GENERIC + 'ENDPOINT';
  } else {
    raw = isGrpc ? OTLP_DEFAULTS.grpcEndpoint : OTLP_DEFAULTS.httpEndpoint.replace(/logs$/, signal);
    kind = 'as-is';
    endpointOrigin = 'default';
  }
  const where = endpointOrigin === 'config endpoint' ? 'exporter config `endpoint`' : endpointOrigin;
  const userinfo = splitUserinfo(raw);
  raw = userinfo.raw;
  let endpoint: string;
  let grpcTarget = '';
  let secure: boolean;
  if (isGrpc) {
    ({ endpoint, grpcTarget, secure } = grpcEndpoint(raw, where, insecure));
  } else {
    const url = parseHttpUrl(raw, where);
    if (kind === 'base')
      url.pathname = (url.pathname.endsWith('/') ? url.pathname : url.pathname + '/') + `v1/${signal}`;
    else if (kind === 'config' && (url.pathname === '' || url.pathname === '/') && !/^[a-z]+:\/\/[^/]+\/$/i.test(raw))
      url.pathname = `/v1/${signal}`;
    endpoint = url.toString();
    secure = url.protocol === 'https:';
  }
  const port = portOf(endpoint);
  if (isGrpc && port === '4318')
    warnings.push(`${where}=${q(raw)} uses port 4318, the OTLP/HTTP port, with protocol grpc; the gRPC port is 4317`);
  if (!isGrpc && port === '4317')
    warnings.push(
      `${where}=${q(raw)} uses port 4317, the OTLP/gRPC port, with protocol ${protocol}; the HTTP port is 4318`,
    );

  // headers
  let headers: Record<string, string> = {};
  let headersOrigin = 'default';
  const eh = fromEnv(env, 'HEADERS', signal);
  if (eh) {
    headers = parseKeyValues(eh.value, eh.source, 'headers');
    headersOrigin = eh.source;
  }
  if (config.headers !== undefined) {
    if (typeof config.headers !== 'object' || config.headers === null || Array.isArray(config.headers))
      throw new OtlpConfigError(
        `exporter config \`headers\`=${q(config.headers)} is not a map of header name to value`,
      );
    for (const [k, v] of Object.entries(config.headers)) headers[k.toLowerCase()] = String(v);
    headersOrigin = headersOrigin === 'default' ? 'config headers' : `config headers over ${headersOrigin}`;
  }
  if (userinfo.authorization && headers.authorization === undefined) {
    headers.authorization = userinfo.authorization;
    headersOrigin = headersOrigin === 'default' ? `${where} userinfo` : `${headersOrigin}, ${where} userinfo`;
  }
  for (const [k, v] of Object.entries(headers)) checkHeader(k, v, headersOrigin);

  // compression
  const { value: compression, origin: compressionOrigin } = pickEnum(
    config.compression,
    'compression',
    fromEnv(env, 'COMPRESSION', signal),
    OTLP_COMPRESSIONS,
    OTLP_DEFAULTS.compression,
  );

  // timeout
  let timeoutMs = OTLP_DEFAULTS.timeoutMs;
  let timeoutOrigin = 'default';
  if (config.timeoutMs !== undefined) {
    if (typeof config.timeoutMs !== 'number' || !Number.isFinite(config.timeoutMs) || config.timeoutMs < 0)
      throw new OtlpConfigError(
        `exporter config \`timeoutMs\`=${q(config.timeoutMs)} is not a non-negative number of milliseconds (0 = no limit)`,
      );
    timeoutMs = Math.round(config.timeoutMs);
    timeoutOrigin = 'config timeoutMs';
  } else {
    const e = fromEnv(env, 'TIMEOUT', signal);
    if (e) {
      if (/^\d+$/.test(e.value) && Number(e.value) <= 2 ** 31 - 1) {
        timeoutMs = Number(e.value);
        timeoutOrigin = e.source;
      } else
        warnings.push(
          `${e.source}=${q(e.value)} is not a non-negative integer number of milliseconds; using the default ${OTLP_DEFAULTS.timeoutMs}`,
        );
    }
  }

  // TLS material
  const tls: OtlpTlsSettings = { insecureSkipVerify: config.tls?.insecureSkipVerify === true };
  const tlsOrigins: string[] = [];
  const files: [keyof OtlpTlsConfig & ('caFile' | 'certFile' | 'keyFile'), 'ca' | 'cert' | 'key', string][] = [
    ['caFile', 'ca', 'CERTIFICATE'],
    ['certFile', 'cert', 'CLIENT_CERTIFICATE'],
    ['keyFile', 'key', 'CLIENT_KEY'],
  ];
  for (const [cfgKey, field, envName] of files) {
    const fromCfg = config.tls?.[cfgKey];
    const e = fromCfg ? undefined : fromEnv(env, envName, signal);
    const path = fromCfg || e?.value;
    if (!path) continue;
    const src = fromCfg ? `exporter config \`tls.${cfgKey}\`` : e!.source;
    tls[cfgKey] = path;
    tls[field] = readPem(path, src);
    tlsOrigins.push(src);
  }
  if (!!tls.cert !== !!tls.key)
    throw new OtlpConfigError(
      `mTLS needs both a client certificate and its key: got only the ${tls.cert ? 'certificate' : 'key'}; set ${
        tls.cert
          ? '`tls.keyFile` or OTEL_EXPORTER_OTLP_CLIENT_KEY'
          : '`tls.certFile` or OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE'
      } too`,
    );
  if (!secure && (tls.ca || tls.cert))
    warnings.push(
      `TLS files (${tlsOrigins.join(', ')}) are ignored: ${where}=${q(raw)} is a plaintext endpoint; use https://`,
    );

  return {
    protocol,
    endpoint,
    grpcTarget,
    secure,
    headers,
    compression,
    timeoutMs,
    tls,
    resource: resolveResource(config, env, warnings),
    origin: {
      protocol: protocolOrigin,
      endpoint: endpointOrigin,
      headers: headersOrigin,
      compression: compressionOrigin,
      timeoutMs: timeoutOrigin,
      tls: tlsOrigins.join(', ') || 'default',
    },
    warnings,
  };
}

function resolveResource(config: Partial<OtlpExporterConfig>, env: Env, warnings: string[]): ResourceOverlay {
  let envAttrs: Record<string, string> = {};
  const ra = env.OTEL_RESOURCE_ATTRIBUTES;
  if (ra !== undefined && ra.trim() !== '') {
    try {
      envAttrs = parseKeyValues(ra, 'OTEL_RESOURCE_ATTRIBUTES', 'resource attributes');
    } catch (err) {
      // Spec (resource/sdk.md): on a decoding error the whole variable is discarded and reported.
      warnings.push(`${(err as Error).message}; the whole variable is ignored`);
    }
  }
  const fill: Attributes = {};
  const override: Attributes = {};
  for (const [k, v] of Object.entries(envAttrs)) if (k !== ATTR_SERVICE_NAME) fill[k] = v;
  for (const [k, v] of Object.entries(config.resourceAttributes ?? {})) {
    if (k === ATTR_SERVICE_NAME) override[k] = String(v);
    else fill[k] = String(v);
  }
  const envService = env.OTEL_SERVICE_NAME?.trim() || envAttrs[ATTR_SERVICE_NAME];
  const envServiceSource = env.OTEL_SERVICE_NAME?.trim()
    ? 'OTEL_SERVICE_NAME'
    : 'service.name in OTEL_RESOURCE_ATTRIBUTES';
  if (config.serviceName !== undefined && config.serviceName !== '') override[ATTR_SERVICE_NAME] = config.serviceName;
  else if (config.serviceNameFromEnv === true && envService) override[ATTR_SERVICE_NAME] = envService;
  else if (envService && override[ATTR_SERVICE_NAME] === undefined)
    warnings.push(
      `${envServiceSource}=${q(envService)} is not applied: kata-otel sets service.name per Kata component; set serviceNameFromEnv: true to replace it`,
    );
  const out: ResourceOverlay = {};
  if (Object.keys(fill).length) out.fill = fill;
  if (Object.keys(override).length) out.override = override;
  return out;
}

/** An enum setting: the exporter config wins over the environment, which wins over the default; with its origin. */
function pickEnum<T extends string>(
  configValue: unknown,
  configKey: string,
  fromEnvValue: { value: string; source: string } | undefined,
  allowed: readonly T[],
  fallback: T,
): { value: T; origin: string } {
  if (configValue !== undefined)
    return {
      value: checkEnum(configValue, allowed, `exporter config \`${configKey}\``),
      origin: `config ${configKey}`,
    };
  if (fromEnvValue)
    return { value: checkEnum(fromEnvValue.value, allowed, fromEnvValue.source), origin: fromEnvValue.source };
  return { value: fallback, origin: 'default' };
}

function checkEnum<T extends string>(value: unknown, allowed: readonly T[], where: string): T {
  const v = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw new OtlpConfigError(`${where}=${q(value)} is not one of ${allowed.join(', ')}`);
}

/** Spec Boolean: only case-insensitive "true" is true; anything but "false" warns. */
function parseBool(value: string, where: string, warnings: string[]): boolean {
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v !== 'false') warnings.push(`${where}=${q(value)} is not true or false; treated as false`);
  return false;
}

function parseHttpUrl(raw: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OtlpConfigError(`${where}=${q(raw)} is not a URL; use http://host:4318 or https://host:4318`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new OtlpConfigError(`${where}=${q(raw)} must start with http:// or https://`);
  return url;
}

function grpcEndpoint(
  raw: string,
  where: string,
  insecure: boolean,
): { endpoint: string; grpcTarget: string; secure: boolean } {
  if (/^https?:\/\//i.test(raw)) {
    const url = parseHttpUrl(raw, where);
    const secure = url.protocol === 'https:';
    const port = url.port || (secure ? '443' : '80');
    const target = `${url.hostname}:${port}`;
    return { endpoint: `${url.protocol}//${target}`, grpcTarget: target, secure };
  }
  if (/^(dns|unix|unix-abstract|ipv4|ipv6):/i.test(raw)) return { endpoint: raw, grpcTarget: raw, secure: !insecure };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw))
    throw new OtlpConfigError(
      `${where}=${q(raw)} has an unsupported scheme for gRPC; use http://host:4317 or https://host:4317`,
    );
  if (!/^(\[[0-9a-f:.]+\]|[^\s/:[\]]+)(:\d+)?$/i.test(raw))
    throw new OtlpConfigError(
      `${where}=${q(raw)} is not a gRPC endpoint; use http://host:4317, https://host:4317 or host:4317`,
    );
  const target = /:\d+$/.test(raw) && !/^\[[^\]]*\]$/.test(raw) ? raw : `${raw}:${insecure ? 80 : 443}`;
  return { endpoint: `${insecure ? 'http' : 'https'}://${target}`, grpcTarget: target, secure: !insecure };
}

/**
 * Userinfo in an endpoint (`https://user:secret@host:4318`) becomes an `Authorization: Basic` header (what Node's
 * HTTP client would send for it) and leaves the URL, so the endpoint can be logged and shown in errors.
 */
function splitUserinfo(raw: string): { raw: string; authorization?: string } {
  const m = /^((?:[a-z][a-z0-9+.-]*:\/\/)?)([^\s/?#@]+)@/i.exec(raw);
  if (!m) return { raw };
  const info = m[2] as string;
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const colon = info.indexOf(':');
  const user = decode(colon === -1 ? info : info.slice(0, colon));
  const pass = colon === -1 ? '' : decode(info.slice(colon + 1));
  return {
    raw: (m[1] as string) + raw.slice(m[0].length),
    authorization: `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`,
  };
}

function portOf(endpoint: string): string {
  try {
    return new URL(endpoint).port;
  } catch {
    return '';
  }
}

/** `k=v,k2=v2` (W3C-baggage-like, no `;` properties), keys and values percent-decoded. */
export function parseKeyValues(text: string, where: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  const parts = text.split(',');
  for (const [n, part] of parts.entries()) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    // Header values are credentials (API keys, tokens): an error names the header, never shows its value.
    const shown =
      what !== 'headers'
        ? q(part.trim())
        : eq > 0
          ? `the header ${q(part.slice(0, eq).trim())}`
          : `entry ${n + 1} of ${parts.length} (value not shown)`;
    if (eq <= 0)
      throw new OtlpConfigError(`${where}: ${shown} is not key=value; write ${what} as key1=value1,key2=value2`);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(part.slice(0, eq).trim());
      value = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      throw new OtlpConfigError(
        `${where}: ${shown} has a malformed %-escape; percent-encode ',', '=' and '%' as %2C, %3D and %25`,
      );
    }
    if (key === '') throw new OtlpConfigError(`${where}: ${shown} has an empty key`);
    out[what === 'headers' ? key.toLowerCase() : key] = value;
  }
  return out;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
function checkHeader(name: string, value: string, where: string): void {
  if (!TOKEN.test(name)) throw new OtlpConfigError(`${where}: header name ${q(name)} is not a valid HTTP header name`);
  if (/[\r\n\0]/.test(value))
    throw new OtlpConfigError(`${where}: header ${q(name)} has a line break or NUL in its value`);
}

function readPem(path: string, where: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new OtlpConfigError(`${where}=${q(path)}: cannot read the file (${code}); point it to a readable PEM file`);
  }
}
