// Test-side handle on the OTLP test server (./otlp-server-main.ts), which runs as a child process:
//
//   const srv = await startOtlpServer();
//   … export to srv.grpcEndpoint / srv.httpEndpoint …
//   expect((await srv.stats()).records).toBe(3);
//   const recs = await srv.records();         // RecordedLog[]
//   const points = await srv.metrics();       // RecordedMetricPoint[] (gRPC MetricsService, HTTP /v1/metrics)
//   await srv.setFailure({ kind: 'unavailable', requests: 1, retryAfterMs: 2000 });
//   await srv.stop();
//
// The child exits when our end of its stdin closes, so it never outlives the test process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./otlp-server-main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

export type FailKind = 'unavailable' | 'exhausted' | 'invalid' | 'internal';
/** unavailable = gRPC UNAVAILABLE / HTTP 503; exhausted = RESOURCE_EXHAUSTED / 429; invalid = INVALID_ARGUMENT /
 * 400; internal = INTERNAL / 500. Lasts `requests` requests or `ms` ms (default: until changed). */
export interface FailureSpec {
  kind: FailKind;
  requests?: number;
  ms?: number;
  /** RetryInfo (gRPC) / Retry-After in whole seconds, rounded up (HTTP). */
  retryAfterMs?: number;
  message?: string;
}

export interface OtlpServerOptions {
  /** Append accepted records as JSON lines here (default: a fresh temp file). */
  recordsFile?: string;
  tls?: { certFile: string; keyFile: string; caFile?: string; requireClientCert?: boolean };
  failure?: FailureSpec;
  partialReject?: number;
  rate?: { recordsPerSecond: number; mode?: 'reject' | 'delay' };
  /** Listen on these ports (default: ephemeral), e.g. to restart a stopped server at the same address. */
  grpcPort?: number;
  httpPort?: number;
}

/** One accepted log record, as the server decoded it with the official generated code. */
export interface RecordedLog {
  transport: 'grpc' | 'http/protobuf' | 'http/json';
  /** Resource attributes (intValue → number when safe, else decimal string; arrays; kvlists as objects). */
  resource: Record<string, unknown>;
  scope: { name: string; version: string };
  /** Decimal strings, '0' when absent. */
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: unknown;
  attributes: Record<string, unknown>;
  eventName?: string;
  /** Lower-case hex. */
  traceId?: string;
  spanId?: string;
  flags?: number;
  droppedAttributesCount?: number;
}

/** One received metric data point (kata-otel's self-metrics), decoded with the official generated code. */
export interface RecordedMetricPoint {
  transport: 'grpc' | 'http/protobuf' | 'http/json';
  resource: Record<string, unknown>;
  scope: { name: string; version: string };
  name: string;
  description: string;
  unit: string;
  type: 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';
  /** sum and histogram. */
  temporality?: 'delta' | 'cumulative';
  /** sum. */
  isMonotonic?: boolean;
  attributes: Record<string, unknown>;
  /** Decimal strings. */
  startTimeUnixNano: string;
  timeUnixNano: string;
  /** gauge and sum: asDouble, or asInt (a number when safe, else a decimal string). */
  value?: number | string;
  /** histogram. */
  count?: number | string;
  sum?: number;
  bucketCounts?: (number | string)[];
  explicitBounds?: number[];
}

/** One received span (kata-otel's self-tracing, HTTP /v1/traces), decoded with the official generated code. */
export interface RecordedSpan {
  resource: Record<string, unknown>;
  scope: { name: string; version: string };
  name: string;
  kind: number;
  /** Lower-case hex; parentSpanId is '' for a root span. */
  traceId: string;
  spanId: string;
  parentSpanId: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  status: { code: number; message: string };
}

export interface OtlpServerStats {
  requests: number;
  /** Records accepted. */
  records: number;
  /** Requests answered with a failure (injected or rate limit). */
  rejectedRequests: number;
  /** Records refused through partial success. */
  rejectedRecords: number;
  gzipRequests: number;
  byTransport: Record<'grpc' | 'http/protobuf' | 'http/json', number>;
  /** Headers / gRPC metadata of the last request. */
  lastHeaders: Record<string, string>;
  /** Metrics export requests (always accepted) and the data points they carried; not in the figures above. */
  metricRequests: number;
  metricPoints: number;
}

export interface OtlpTestServer {
  grpcPort: number;
  httpPort: number;
  controlPort: number;
  pid: number;
  /** `http(s)://127.0.0.1:<grpcPort>` */
  grpcEndpoint: string;
  /** `http(s)://127.0.0.1:<httpPort>/v1/logs` */
  httpEndpoint: string;
  recordsFile: string;
  process: ChildProcess;
  stats(): Promise<OtlpServerStats>;
  records(): Promise<RecordedLog[]>;
  /** Every metric data point received, in arrival order. */
  metrics(): Promise<RecordedMetricPoint[]>;
  /** Every span received (HTTP /v1/traces), in arrival order. */
  spans(): Promise<RecordedSpan[]>;
  setFailure(spec: FailureSpec | null): Promise<void>;
  setPartial(reject: number | null, message?: string): Promise<void>;
  setRate(recordsPerSecond: number | null, mode?: 'reject' | 'delay'): Promise<void>;
  /** Clear failures, partial success, rate limit, stats, records and metric points. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOtlpServer(opts: OtlpServerOptions = {}): Promise<OtlpTestServer> {
  const recordsFile = opts.recordsFile ?? join(mkdtempSync(join(tmpdir(), 'kata-otel-otlp-')), 'records.jsonl');
  const argv = ['--import', 'tsx', MAIN, '--records-file', recordsFile];
  if (opts.tls) {
    argv.push('--tls-cert', opts.tls.certFile, '--tls-key', opts.tls.keyFile);
    if (opts.tls.caFile) argv.push('--tls-ca', opts.tls.caFile);
    if (opts.tls.requireClientCert) argv.push('--require-client-cert');
  }
  if (opts.failure) {
    argv.push('--fail', opts.failure.kind);
    if (opts.failure.requests !== undefined) argv.push('--fail-requests', String(opts.failure.requests));
    if (opts.failure.ms !== undefined) argv.push('--fail-ms', String(opts.failure.ms));
    if (opts.failure.retryAfterMs !== undefined) argv.push('--retry-after-ms', String(opts.failure.retryAfterMs));
  }
  if (opts.partialReject) argv.push('--partial-reject', String(opts.partialReject));
  if (opts.rate)
    argv.push('--max-records-per-sec', String(opts.rate.recordsPerSecond), '--rate-mode', opts.rate.mode ?? 'reject');

  if (opts.grpcPort) argv.push('--grpc-port', String(opts.grpcPort));
  if (opts.httpPort) argv.push('--http-port', String(opts.httpPort));

  const child = spawn(process.execPath, argv, { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = await new Promise<{ grpcPort: number; httpPort: number; controlPort: number; pid: number }>(
    (resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('OTLP test server did not report its ports within 30 s'));
      }, 30_000);
      const lines = createInterface({ input: child.stdout! });
      lines.once('line', (line) => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line) as { grpcPort: number; httpPort: number; controlPort: number; pid: number });
        } catch {
          reject(new Error(`OTLP test server printed ${JSON.stringify(line)} instead of its ports`));
        }
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`OTLP test server exited before it was ready (code ${code}, signal ${sig})`));
      });
    },
  );
  child.stdout!.resume(); // keep draining in case it ever prints more

  const scheme = opts.tls ? 'https' : 'http';
  const base = `http://127.0.0.1:${ready.controlPort}`;
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const res = await fetch(base + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`OTLP test server control ${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  let stopped: Promise<void> | undefined;
  return {
    ...ready,
    grpcEndpoint: `${scheme}://127.0.0.1:${ready.grpcPort}`,
    httpEndpoint: `${scheme}://127.0.0.1:${ready.httpPort}/v1/logs`,
    recordsFile,
    process: child,
    stats: () => call<OtlpServerStats>('GET', '/stats'),
    records: () => call<RecordedLog[]>('GET', '/records'),
    metrics: () => call<RecordedMetricPoint[]>('GET', '/metrics'),
    spans: () => call<RecordedSpan[]>('GET', '/spans'),
    setFailure: async (spec) => void (await call('POST', '/failure', spec ?? {})),
    setPartial: async (reject, message) => void (await call('POST', '/partial', { reject: reject ?? 0, message })),
    setRate: async (recordsPerSecond, mode) =>
      void (await call('POST', '/rate', { recordsPerSecond: recordsPerSecond ?? 0, mode })),
    reset: async () => void (await call('POST', '/reset')),
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.stdin!.end();
      })),
  };
}
