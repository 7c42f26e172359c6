// OTLP/gRPC logs exporter: one unary call to LogsService/Export per batch, through a generic grpc-js client
// with a passthrough serializer, so the bytes come straight from the hand-written encoder (no protobufjs).
// Never retries: the delivery queue owns retry; this only classifies the outcome per the OTLP spec
// (opentelemetry-proto docs/specification.md, "OTLP/gRPC Response" → Failures):
//   retryable: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and
//   RESOURCE_EXHAUSTED only when the status carries RetryInfo; everything else is permanent.
import { createRequire } from 'node:module';
import type * as Grpc from '@grpc/grpc-js';
import type { KataLogRecord } from '../model/record.js';
import { encodeLogsProto } from '../otlp/encode-proto.js';
import { SCOPE_VERSION } from '../otlp/resource.js';
import type { OtlpSettings } from './otlp-config.js';
import {
  decodePartialSuccessProto,
  decodeRpcStatus,
  describeTransportError,
  successResult,
  type RpcStatus,
} from './otlp-response.js';
import type { ExportResult, Exporter, PayloadCodec } from './types.js';

export const LOGS_EXPORT_METHOD = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
export const TRACES_EXPORT_METHOD = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
export const METRICS_EXPORT_METHOD = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

// grpc-js (CommonJS, ~10 MB resident with its dependencies) is required when the first gRPC exporter is made, not
// when this module is imported: a receiver exporting over HTTP never loads it (issue 20, start-up RSS).
const require = createRequire(import.meta.url);
let grpcModule: typeof Grpc | undefined;
const loadGrpc = (): typeof Grpc => (grpcModule ??= require('@grpc/grpc-js') as typeof Grpc);
// grpc.status values (fixed by the gRPC spec), so classifying a failure needs no loaded module.
const S = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
} as const satisfies Partial<Record<keyof typeof Grpc.status, number>>;
const RETRYABLE = new Set<number>([
  S.CANCELLED,
  S.DEADLINE_EXCEEDED,
  S.ABORTED,
  S.OUT_OF_RANGE,
  S.UNAVAILABLE,
  S.DATA_LOSS,
]);
/** Spec: the client MUST limit the response size; 4 MiB recommended. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

const passthrough = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const identity = (b: Buffer): Buffer => b;

export class OtlpGrpcExporter implements Exporter {
  readonly name: string;
  private readonly client: Grpc.Client;
  private readonly grpc = loadGrpc();
  private closed = false;
  /** The service method: LogsService/Export unless the exporter carries another signal (receiver/signals). */
  private readonly method: string;

  constructor(
    readonly settings: OtlpSettings,
    opts: { name?: string; method?: string } = {},
  ) {
    this.name = opts.name ?? 'otlp-grpc';
    this.method = opts.method ?? LOGS_EXPORT_METHOD;
    const grpc = this.grpc;
    const { tls } = settings;
    const credentials = settings.secure
      ? grpc.credentials.createSsl(
          tls.ca ?? null,
          tls.key ?? null,
          tls.cert ?? null,
          tls.insecureSkipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {},
        )
      : grpc.credentials.createInsecure();
    this.client = new grpc.Client(settings.grpcTarget, credentials, {
      'grpc.primary_user_agent': `kata-otel/${SCOPE_VERSION}`,
      'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
      'grpc.default_compression_algorithm':
        settings.compression === 'gzip' ? grpc.compressionAlgorithms.gzip : grpc.compressionAlgorithms.identity,
      // grpc-js backs off reconnects up to 120 s by default; the delivery queue already paces retries, so a
      // collector that comes back should be reached on the queue's next attempt, not minutes later.
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 5000,
    });
  }

  private metadata(): Grpc.Metadata {
    const md = new this.grpc.Metadata();
    for (const [k, v] of Object.entries(this.settings.headers)) {
      if (k.endsWith('-bin')) md.add(k, Buffer.from(v, 'base64'));
      else md.add(k, v);
    }
    return md;
  }

  /** The request body, encoded once by the delivery queue when the records are queued (exporters/types.ts). */
  readonly payload: PayloadCodec = {
    type: 'application/x-protobuf',
    encode: (records, extra) => encodeLogsProto(records, { resource: this.settings.resource, extra }),
    extraAttributes: true,
    export: (bytes, records, signal) => this.send(bytes, records, signal),
  };

  async export(records: KataLogRecord[], signal?: AbortSignal): Promise<ExportResult> {
    const target = this.settings.endpoint;
    if (this.closed) return { code: 'retryable', error: `OTLP/gRPC exporter for ${target} is shut down` };
    if (records.length === 0) return { code: 'success' };
    let bytes: Uint8Array;
    try {
      bytes = this.payload.encode(records);
    } catch (err) {
      return {
        code: 'permanent',
        error: `OTLP/gRPC export to ${target}: cannot encode the batch: ${(err as Error).message}`,
      };
    }
    return this.send(bytes, records.length, signal);
  }

  /** An empty ExportLogsServiceRequest: connects and authenticates without sending data. `records` is 1 only to
   *  get past send()'s nothing-to-send shortcut. */
  probe(signal?: AbortSignal): Promise<ExportResult> {
    return this.send(new Uint8Array(0), 1, signal);
  }

  /** Sends an encoded request (`records` items) as it is. */
  send(bytes: Uint8Array, records: number, signal?: AbortSignal): Promise<ExportResult> {
    const target = this.settings.endpoint;
    if (this.closed)
      return Promise.resolve({ code: 'retryable', error: `OTLP/gRPC exporter for ${target} is shut down` });
    if (records === 0) return Promise.resolve({ code: 'success' });
    if (signal?.aborted)
      return Promise.resolve({ code: 'retryable', error: `OTLP/gRPC export to ${target} aborted before sending` });
    const options: Grpc.CallOptions = {};
    if (this.settings.timeoutMs > 0) options.deadline = Date.now() + this.settings.timeoutMs;
    return new Promise<ExportResult>((resolve) => {
      let call: Grpc.ClientUnaryCall;
      const onAbort = () => call?.cancel();
      try {
        call = this.client.makeUnaryRequest<Uint8Array, Buffer>(
          this.method,
          passthrough,
          identity,
          bytes,
          this.metadata(),
          options,
          (err, response) => {
            signal?.removeEventListener('abort', onAbort);
            if (!err) resolve(successResult(response ? decodePartialSuccessProto(response) : undefined));
            else resolve(this.failure(err, signal?.aborted === true));
          },
        );
      } catch (err) {
        resolve({
          code: 'retryable',
          error: `OTLP/gRPC export to ${target} failed to start: ${(err as Error).message}`,
        });
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private failure(err: Grpc.ServiceError, aborted: boolean): ExportResult {
    const code = typeof err.code === 'number' ? err.code : S.UNKNOWN;
    const name = this.grpc.status[code] ?? `code ${code}`;
    let details: RpcStatus | undefined;
    const bin = err.metadata?.get('grpc-status-details-bin')[0];
    if (Buffer.isBuffer(bin)) details = decodeRpcStatus(bin);
    const text = describeTransportError(
      `OTLP/gRPC export to ${this.settings.endpoint} failed: ${name}: ${err.details || details?.message || err.message}`,
    );
    if (aborted) return { code: 'retryable', error: `${text} (aborted by the caller)` };
    const retryAfterMs = details?.retryDelayMs;
    if (RETRYABLE.has(code) || (code === S.RESOURCE_EXHAUSTED && retryAfterMs !== undefined)) {
      const out: ExportResult = { code: 'retryable', error: text };
      if (retryAfterMs !== undefined) out.retryAfterMs = retryAfterMs;
      return out;
    }
    return { code: 'permanent', error: text };
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}
