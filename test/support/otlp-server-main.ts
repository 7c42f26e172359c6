// A real OTLP logs server for tests, run as a child process (`node --import tsx test/support/otlp-server-main.ts`;
// use startOtlpServer() from ./otlp-server.ts). It serves:
//   gRPC  LogsService/Export, decoding with the official generated ExportLogsServiceRequest (otlp-proto-official);
//   HTTP  POST /v1/logs, application/x-protobuf or application/json (OTLP/JSON: hex ids, int64 strings), gzip bodies;
//   metrics: gRPC MetricsService/Export and HTTP POST /v1/metrics (kata-otel's self-metrics), decoded with the
//            official ExportMetricsServiceRequest, always accepted (failure injection is for logs only);
//   traces:  HTTP POST /v1/traces (protobuf; kata-otel's self-tracing), decoded with the official
//            ExportTraceServiceRequest, always accepted; GET /spans on the control port;
//   control (plain HTTP): GET /stats, GET /records, GET /metrics, POST /failure, /partial, /rate, /reset.
// All on 127.0.0.1 ephemeral ports, printed as one JSON line on stdout when ready:
//   {"grpcPort":…,"httpPort":…,"controlPort":…,"pid":…}
// It exits when its stdin closes, so a test runner killed with -9 leaves no orphan.
//
// Flags (all optional):
//   --records-file PATH        append every accepted record as a JSON line (see RecordedLog in ./otlp-server.ts)
//   --tls-cert PATH --tls-key PATH [--tls-ca PATH --require-client-cert]   TLS (and mTLS) on gRPC and HTTP
//   --fail KIND                unavailable | exhausted | invalid | internal (UNAVAILABLE/503, RESOURCE_EXHAUSTED/429,
//                              INVALID_ARGUMENT/400, INTERNAL/500)
//   --fail-requests N | --fail-ms N   how long the failure lasts (default: until changed)
//   --retry-after-ms N         RetryInfo / Retry-After on failures
//   --partial-reject K         accept all but the last K records of each request (partial success)
//   --max-records-per-sec R    rate limit (token bucket of R records, refilled at R/s)
//   --rate-mode reject|delay   above the rate: RESOURCE_EXHAUSTED+RetryInfo / 429+Retry-After (default), or delay
//   --grpc-port N --http-port N   listen on these ports instead of ephemeral ones (a restarted server keeps its address)
import * as grpc from '@grpc/grpc-js';
import { appendFileSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import {
  ExportLogsServiceRequest,
  ExportLogsServiceResponse,
  ExportMetricsServiceRequest,
  ExportMetricsServiceResponse,
  officialDecode,
  officialDecodeMetrics,
  officialDecodeTraces,
  ExportTraceServiceResponse,
  type OfficialTraceRequest,
  officialFromJson,
  officialMetricsFromJson,
  TO_OBJECT,
  type OfficialAnyValue,
  type OfficialMetricsRequest,
  type ProtoType,
  type OfficialRequest,
} from './otlp-proto.js';

type FailKind = 'unavailable' | 'exhausted' | 'invalid' | 'internal';
interface FailureSpec {
  kind: FailKind;
  requests?: number;
  ms?: number;
  retryAfterMs?: number;
  message?: string;
}
interface Failure extends FailureSpec {
  until?: number;
}
type Transport = 'grpc' | 'http/protobuf' | 'http/json';

const { values: args } = parseArgs({
  options: {
    'records-file': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-ca': { type: 'string' },
    'require-client-cert': { type: 'boolean' },
    fail: { type: 'string' },
    'fail-requests': { type: 'string' },
    'fail-ms': { type: 'string' },
    'retry-after-ms': { type: 'string' },
    'partial-reject': { type: 'string' },
    'max-records-per-sec': { type: 'string' },
    'rate-mode': { type: 'string' },
    'grpc-port': { type: 'string' },
    'http-port': { type: 'string' },
  },
});
const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

// ---- state ---------------------------------------------------------------------------------------------

let failure: Failure | undefined;
let partial: { reject: number; message: string } | undefined;
let rate: { perSec: number; mode: 'reject' | 'delay'; tokens: number; last: number } | undefined;
let stats = newStats();
let recorded: Record<string, unknown>[] = [];
let metricPoints: Record<string, unknown>[] = [];
let spans: Record<string, unknown>[] = [];
/** Bumped by /reset: a request still held (rate-limit delay) from before a reset is dropped, not recorded. */
let epoch = 0;

function newStats() {
  return {
    requests: 0,
    records: 0,
    rejectedRequests: 0,
    rejectedRecords: 0,
    gzipRequests: 0,
    byTransport: { grpc: 0, 'http/protobuf': 0, 'http/json': 0 } as Record<Transport, number>,
    lastHeaders: {} as Record<string, string>,
    metricRequests: 0,
    metricPoints: 0,
  };
}

function setFailure(spec: FailureSpec | null | undefined): void {
  if (!spec) {
    failure = undefined;
    return;
  }
  failure = { ...spec };
  if (spec.ms !== undefined) failure.until = Date.now() + spec.ms;
}
function setPartial(reject: number | null | undefined, message?: string): void {
  partial = reject ? { reject, message: message ?? `rejected ${reject} records (test server)` } : undefined;
}
function setRate(perSec: number | null | undefined, mode: 'reject' | 'delay' = 'reject'): void {
  rate = perSec ? { perSec, mode, tokens: perSec, last: Date.now() } : undefined;
}

setFailure(
  args.fail
    ? {
        kind: args.fail as FailKind,
        requests: num(args['fail-requests']),
        ms: num(args['fail-ms']),
        retryAfterMs: num(args['retry-after-ms']),
      }
    : undefined,
);
setPartial(num(args['partial-reject']));
setRate(num(args['max-records-per-sec']), args['rate-mode'] === 'delay' ? 'delay' : 'reject');

// ---- the common request path ---------------------------------------------------------------------------

type Outcome =
  | { ok: true; rejected: number; message: string }
  | { ok: false; kind: FailKind; retryAfterMs?: number; message: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function handle(req: OfficialRequest, transport: Transport, headers: Record<string, string>): Promise<Outcome> {
  stats.requests++;
  stats.byTransport[transport]++;
  stats.lastHeaders = headers;
  if (failure) {
    const f = failure;
    const active = (f.until === undefined || Date.now() < f.until) && (f.requests === undefined || f.requests > 0);
    if (active) {
      if (f.requests !== undefined) f.requests--;
      stats.rejectedRequests++;
      return { ok: false, kind: f.kind, retryAfterMs: f.retryAfterMs, message: f.message ?? `test server: ${f.kind}` };
    }
    failure = undefined;
  }
  const logs = flatten(req, transport);
  const myEpoch = epoch;
  if (rate) {
    for (;;) {
      if (!rate || epoch !== myEpoch)
        return { ok: false, kind: 'unavailable', message: 'test server: reset while held' };
      const now = Date.now();
      rate.tokens = Math.min(rate.perSec, rate.tokens + ((now - rate.last) * rate.perSec) / 1000);
      rate.last = now;
      const need = Math.min(logs.length, rate.perSec); // a batch bigger than the bucket passes when it is full
      if (rate.tokens >= need) {
        rate.tokens -= logs.length;
        break;
      }
      const waitMs = Math.max(1, Math.ceil(((need - rate.tokens) * 1000) / rate.perSec));
      if (rate.mode === 'delay') {
        await sleep(waitMs);
        continue;
      }
      stats.rejectedRequests++;
      return {
        ok: false,
        kind: 'exhausted',
        retryAfterMs: waitMs,
        message: `test server: over ${rate.perSec} records/s`,
      };
    }
  }
  const reject = partial ? Math.min(partial.reject, logs.length) : 0;
  const accepted = logs.slice(0, logs.length - reject);
  stats.records += accepted.length;
  stats.rejectedRecords += reject;
  if (accepted.length) {
    recorded.push(...accepted);
    if (args['records-file'])
      appendFileSync(args['records-file'], accepted.map((r) => JSON.stringify(r) + '\n').join(''));
  }
  return { ok: true, rejected: reject, message: reject ? partial!.message : '' };
}

/** One plain object per log record: resource and record attributes as plain values, times as decimal strings. */
function flatten(req: OfficialRequest, transport: Transport): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const rl of req.resourceLogs ?? []) {
    const resource = kvs(rl.resource?.attributes);
    for (const sl of rl.scopeLogs ?? []) {
      for (const lr of sl.logRecords ?? []) {
        const rec: Record<string, unknown> = {
          transport,
          resource,
          scope: { name: sl.scope?.name ?? '', version: sl.scope?.version ?? '' },
          timeUnixNano: lr.timeUnixNano ?? '0',
          observedTimeUnixNano: lr.observedTimeUnixNano ?? '0',
          severityNumber: lr.severityNumber ?? 0,
          severityText: lr.severityText ?? '',
          body: lr.body ? plain(lr.body) : null,
          attributes: kvs(lr.attributes),
        };
        if (lr.eventName) rec.eventName = lr.eventName;
        if (lr.traceId) rec.traceId = Buffer.from(lr.traceId, 'base64').toString('hex');
        if (lr.spanId) rec.spanId = Buffer.from(lr.spanId, 'base64').toString('hex');
        if (lr.flags) rec.flags = lr.flags;
        if (lr.droppedAttributesCount) rec.droppedAttributesCount = lr.droppedAttributesCount;
        out.push(rec);
      }
    }
  }
  return out;
}

function kvs(list: { key: string; value?: OfficialAnyValue }[] | undefined): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const kv of list ?? []) o[kv.key] = kv.value ? plain(kv.value) : null;
  return o;
}

function plain(v: OfficialAnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) {
    const n = Number(v.intValue);
    return Number.isSafeInteger(n) ? n : v.intValue;
  }
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(plain);
  if (v.kvlistValue !== undefined) return kvs(v.kvlistValue.values);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

// ---- traces (HTTP /v1/traces, protobuf; always accepted) -------------------------------------------------

const hex = (b64: string | undefined) => (b64 ? Buffer.from(b64, 'base64').toString('hex') : '');

/** One plain object per span (see RecordedSpan in ./otlp-server.ts). */
function flattenSpans(req: OfficialTraceRequest): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const rs of req.resourceSpans ?? []) {
    const resource = kvs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? [])
      for (const sp of ss.spans ?? [])
        out.push({
          resource,
          scope: { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' },
          name: sp.name ?? '',
          kind: sp.kind ?? 0,
          traceId: hex(sp.traceId),
          spanId: hex(sp.spanId),
          parentSpanId: hex(sp.parentSpanId),
          startTimeUnixNano: sp.startTimeUnixNano ?? '0',
          endTimeUnixNano: sp.endTimeUnixNano ?? '0',
          attributes: kvs(sp.attributes),
          status: { code: sp.status?.code ?? 0, message: sp.status?.message ?? '' },
        });
  }
  return out;
}

// ---- metrics -------------------------------------------------------------------------------------------

const TEMPORALITY: Record<number, string> = { 1: 'delta', 2: 'cumulative' };
const int = (v: string | undefined): number | string => {
  const n = Number(v ?? 0);
  return Number.isSafeInteger(n) ? n : (v ?? '0');
};

/** One plain object per data point (see RecordedMetricPoint in ./otlp-server.ts). */
function flattenMetrics(req: OfficialMetricsRequest, transport: Transport): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const rm of req.resourceMetrics ?? []) {
    const resource = kvs(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? []) {
      const scope = { name: sm.scope?.name ?? '', version: sm.scope?.version ?? '' };
      for (const m of sm.metrics ?? []) {
        const base = {
          transport,
          resource,
          scope,
          name: m.name ?? '',
          description: m.description ?? '',
          unit: m.unit ?? '',
        };
        const numbers = m.gauge ?? m.sum;
        for (const p of numbers?.dataPoints ?? []) {
          out.push({
            ...base,
            type: m.gauge ? 'gauge' : 'sum',
            ...(m.sum
              ? { isMonotonic: m.sum.isMonotonic === true, temporality: TEMPORALITY[m.sum.aggregationTemporality ?? 0] }
              : {}),
            attributes: kvs(p.attributes),
            startTimeUnixNano: p.startTimeUnixNano ?? '0',
            timeUnixNano: p.timeUnixNano ?? '0',
            value: p.asDouble ?? int(p.asInt),
          });
        }
        for (const p of m.histogram?.dataPoints ?? []) {
          out.push({
            ...base,
            type: 'histogram',
            temporality: TEMPORALITY[m.histogram?.aggregationTemporality ?? 0],
            attributes: kvs(p.attributes),
            startTimeUnixNano: p.startTimeUnixNano ?? '0',
            timeUnixNano: p.timeUnixNano ?? '0',
            count: int(p.count),
            sum: p.sum ?? 0,
            bucketCounts: (p.bucketCounts ?? []).map(int),
            explicitBounds: p.explicitBounds ?? [],
          });
        }
        if (m.exponentialHistogram || m.summary)
          out.push({ ...base, type: m.summary ? 'summary' : 'exponentialHistogram', attributes: {} });
      }
    }
  }
  return out;
}

function recordMetrics(req: OfficialMetricsRequest, transport: Transport): void {
  const points = flattenMetrics(req, transport);
  stats.metricRequests++;
  stats.metricPoints += points.length;
  metricPoints.push(...points);
}

// ---- google.rpc.Status (hand-encoded: code = 1, message = 2, details = 3 Any{type_url = 1, value = 2}) -----

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}
const lenField = (tag: number, bytes: Uint8Array | number[]): number[] => [tag, ...varint(bytes.length), ...bytes];

function rpcStatus(code: number, message: string, retryAfterMs?: number): Buffer {
  const parts: number[] = [0x08, ...varint(code), ...lenField(0x12, Buffer.from(message))];
  if (retryAfterMs !== undefined) {
    const seconds = Math.floor(retryAfterMs / 1000);
    const nanos = (retryAfterMs % 1000) * 1e6;
    const duration = [...(seconds ? [0x08, ...varint(seconds)] : []), ...(nanos ? [0x10, ...varint(nanos)] : [])];
    const retryInfo = lenField(0x0a, duration);
    const any = [
      ...lenField(0x0a, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')),
      ...lenField(0x12, retryInfo),
    ];
    parts.push(...lenField(0x1a, any));
  }
  return Buffer.from(parts);
}

const GRPC_CODE: Record<FailKind, grpc.status> = {
  unavailable: grpc.status.UNAVAILABLE,
  exhausted: grpc.status.RESOURCE_EXHAUSTED,
  invalid: grpc.status.INVALID_ARGUMENT,
  internal: grpc.status.INTERNAL,
};
const HTTP_CODE: Record<FailKind, number> = { unavailable: 503, exhausted: 429, invalid: 400, internal: 500 };

// ---- gRPC ----------------------------------------------------------------------------------------------

const tlsFiles = args['tls-cert'] && args['tls-key'];
const readOpt = (p: string | undefined) => (p ? readFileSync(p) : undefined);
const cert = readOpt(args['tls-cert']);
const key = readOpt(args['tls-key']);
const ca = readOpt(args['tls-ca']);
const requireClientCert = args['require-client-cert'] === true;

/** The service definition of an OTLP `Export` method, (de)serialised with the official generated types. */
function exportDefinition(path: string, req: ProtoType, res: ProtoType): grpc.ServiceDefinition {
  return {
    export: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (m: unknown) => Buffer.from(req.encode(m as Record<string, unknown>).finish()),
      requestDeserialize: (b: Buffer) => req.decode(b),
      responseSerialize: (m: Record<string, unknown>) => Buffer.from(res.encode(m).finish()),
      responseDeserialize: (b: Buffer) => res.decode(b),
    },
  };
}

const grpcServer = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
grpcServer.addService(
  exportDefinition(
    '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
  ),
  {
    export: (
      call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
      callback: grpc.sendUnaryData<Record<string, unknown>>,
    ) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap()))
        headers[k] = Buffer.isBuffer(v) ? v.toString('base64') : String(v);
      const req = ExportLogsServiceRequest.toObject(call.request, TO_OBJECT) as unknown as OfficialRequest;
      handle(req, 'grpc', headers).then(
        (o) => {
          if (o.ok) {
            const resp =
              o.rejected || o.message
                ? { partialSuccess: { rejectedLogRecords: o.rejected, errorMessage: o.message } }
                : {};
            callback(null, ExportLogsServiceResponse.fromObject(resp));
            return;
          }
          const md = new grpc.Metadata();
          const code = GRPC_CODE[o.kind];
          if (o.retryAfterMs !== undefined)
            md.set('grpc-status-details-bin', rpcStatus(code, o.message, o.retryAfterMs));
          callback({ code, details: o.message, metadata: md });
        },
        (err: Error) => callback({ code: grpc.status.INTERNAL, details: err.message }),
      );
    },
  },
);

grpcServer.addService(
  exportDefinition(
    '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
  ),
  {
    export: (
      call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
      callback: grpc.sendUnaryData<Record<string, unknown>>,
    ) => {
      recordMetrics(
        ExportMetricsServiceRequest.toObject(call.request, TO_OBJECT) as unknown as OfficialMetricsRequest,
        'grpc',
      );
      callback(null, ExportMetricsServiceResponse.fromObject({}));
    },
  },
);

const grpcCreds = tlsFiles
  ? grpc.ServerCredentials.createSsl(ca ?? null, [{ private_key: key!, cert_chain: cert! }], requireClientCert)
  : grpc.ServerCredentials.createInsecure();

// ---- HTTP ----------------------------------------------------------------------------------------------

const MAX_BODY = 64 * 1024 * 1024;

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(Object.assign(new Error('request body too large'), { status: 413 }));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function onHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const ctype = String(req.headers['content-type'] ?? '');
  const json = ctype.includes('json');
  const send = (status: number, body: Buffer | string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': json ? 'application/json' : 'application/x-protobuf', ...extra });
    res.end(body);
  };
  if (req.method === 'POST' && req.url?.split('?')[0] === '/v1/traces' && !json) {
    try {
      let body = await readBody(req);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body, { maxOutputLength: MAX_BODY });
      spans.push(...flattenSpans(officialDecodeTraces(body)));
    } catch (err) {
      send(400, rpcStatus(3, `cannot decode the traces request: ${(err as Error).message}`));
      return;
    }
    send(200, Buffer.from(ExportTraceServiceResponse.encode(ExportTraceServiceResponse.fromObject({})).finish()));
    return;
  }
  if (req.method === 'POST' && req.url?.split('?')[0] === '/v1/metrics') {
    let decoded: OfficialMetricsRequest;
    try {
      let body = await readBody(req);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body, { maxOutputLength: MAX_BODY });
      decoded = json ? officialMetricsFromJson(body.toString('utf8')) : officialDecodeMetrics(body);
    } catch (err) {
      const message = `cannot decode the metrics request: ${(err as Error).message}`;
      send(400, json ? JSON.stringify({ code: 3, message }) : rpcStatus(3, message));
      return;
    }
    recordMetrics(decoded, json ? 'http/json' : 'http/protobuf');
    send(
      200,
      json
        ? '{}'
        : Buffer.from(ExportMetricsServiceResponse.encode(ExportMetricsServiceResponse.fromObject({})).finish()),
    );
    return;
  }
  if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/logs') {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`no route for ${req.method} ${req.url}`);
    return;
  }
  let body: Buffer;
  try {
    body = await readBody(req);
    if (req.headers['content-encoding'] === 'gzip') {
      body = gunzipSync(body, { maxOutputLength: MAX_BODY });
      stats.gzipRequests++;
    }
  } catch (err) {
    const status = (err as { status?: number }).status ?? 400;
    send(
      status,
      json ? JSON.stringify({ code: 3, message: (err as Error).message }) : rpcStatus(3, (err as Error).message),
    );
    return;
  }
  let decoded: OfficialRequest;
  try {
    if (json) decoded = officialFromJson(body.toString('utf8'));
    else if (ctype.includes('protobuf')) decoded = officialDecode(body);
    else throw new Error(`unsupported content-type ${JSON.stringify(ctype)}`);
  } catch (err) {
    const message = `cannot decode the request: ${(err as Error).message}`;
    send(400, json ? JSON.stringify({ code: 3, message }) : rpcStatus(3, message));
    return;
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : String(v);
  const o = await handle(decoded, json ? 'http/json' : 'http/protobuf', headers);
  if (o.ok) {
    const ps = o.rejected || o.message ? { rejectedLogRecords: o.rejected, errorMessage: o.message } : undefined;
    if (json)
      send(
        200,
        JSON.stringify(ps ? { partialSuccess: { ...ps, rejectedLogRecords: String(ps.rejectedLogRecords) } } : {}),
      );
    else
      send(
        200,
        Buffer.from(
          ExportLogsServiceResponse.encode(
            ExportLogsServiceResponse.fromObject(ps ? { partialSuccess: ps } : {}),
          ).finish(),
        ),
      );
    return;
  }
  const extra: Record<string, string> = {};
  if (o.retryAfterMs !== undefined) extra['retry-after'] = String(Math.ceil(o.retryAfterMs / 1000));
  const code = GRPC_CODE[o.kind];
  send(HTTP_CODE[o.kind], json ? JSON.stringify({ code, message: o.message }) : rpcStatus(code, o.message), extra);
}

const httpHandler = (req: http.IncomingMessage, res: http.ServerResponse) => {
  onHttp(req, res).catch((err: Error) => {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(err.message);
  });
};
const httpServer = tlsFiles
  ? https.createServer(
      { cert, key, ca, requestCert: requireClientCert, rejectUnauthorized: requireClientCert },
      httpHandler,
    )
  : http.createServer(httpHandler);

// ---- control -------------------------------------------------------------------------------------------

const control = http.createServer((req, res) => {
  const reply = (v: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(v));
  };
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: Record<string, unknown> = {};
    try {
      body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      res.writeHead(400).end('body is not JSON');
      return;
    }
    const route = `${req.method} ${req.url}`;
    if (route === 'GET /stats') return reply(stats);
    if (route === 'GET /records') return reply(recorded);
    if (route === 'GET /metrics') return reply(metricPoints);
    if (route === 'GET /spans') return reply(spans);
    if (route === 'POST /failure')
      return (setFailure(body.kind ? (body as unknown as FailureSpec) : null), reply({ ok: true }));
    if (route === 'POST /partial')
      return (setPartial(body.reject as number, body.message as string | undefined), reply({ ok: true }));
    if (route === 'POST /rate')
      return (
        setRate(body.recordsPerSecond as number, body.mode === 'delay' ? 'delay' : 'reject'),
        reply({ ok: true })
      );
    if (route === 'POST /reset') {
      setFailure(null);
      setPartial(null);
      setRate(null);
      stats = newStats();
      recorded = [];
      metricPoints = [];
      spans = [];
      epoch++;
      return reply({ ok: true });
    }
    res.writeHead(404).end(`no route ${route}`);
  });
});

// ---- start ---------------------------------------------------------------------------------------------

const listen = (s: http.Server, port = 0) =>
  new Promise<number>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve((s.address() as { port: number }).port));
  });

const grpcPort = await new Promise<number>((resolve, reject) =>
  grpcServer.bindAsync(`127.0.0.1:${num(args['grpc-port']) ?? 0}`, grpcCreds, (err, port) =>
    err ? reject(err) : resolve(port),
  ),
);
const httpPort = await listen(httpServer, num(args['http-port']));
const controlPort = await listen(control);

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  grpcServer.forceShutdown();
  httpServer.closeAllConnections?.();
  httpServer.close();
  control.closeAllConnections?.();
  control.close();
  setTimeout(() => process.exit(0), 50).unref();
}
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

process.stdout.write(JSON.stringify({ grpcPort, httpPort, controlPort, pid: process.pid }) + '\n');
