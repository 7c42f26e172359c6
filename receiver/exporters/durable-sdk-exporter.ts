// DurableLogRecordExporter: a `LogRecordExporter` for @opentelemetry/sdk-logs that puts every batch into
// kata-otel's disk queue (receiver/queue) and ships it with kata-otel's OTLP exporters (gRPC or HTTP/protobuf),
// so any Node service gets the daemon's at-least-once delivery: `export()` reports success once the batch is
// durable on disk (fsync), the queue retries with backoff through backend outages, and records not yet
// acknowledged when the process dies (even SIGKILL) are sent by the next process that opens the same directory.
//
// The records are serialized once, when queued, by the OTel project's own OTLP protobuf serializer
// (@opentelemetry/otlp-transformer), so the app's Resource, scope, AnyValue bodies and attributes reach the backend
// exactly as the SDK's own OTLP exporter would send them; the queue stores and sends those bytes.
import { ROOT_CONTEXT, type TracerProvider } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { AttrValue, Attributes, KataLogRecord } from '../model/record.js';
import { createQueue, type DeliveryQueue, type QueueOptionsInput } from '../queue/index.js';
import { ATTR_KATA_OTEL_BATCH_RECORDS } from '../semconv/generated.js';
import { silentLogger, type Logger } from '../telemetry/log.js';
import { Metrics } from '../telemetry/metrics.js';
import { SPAN_QUEUE_APPEND, inSpan, selfTracer, traceExport, type SelfTracer } from '../telemetry/spans.js';
import type { OtlpExporterConfig } from './otlp-config.js';
import type { Exporter, PayloadCodec } from './types.js';

export interface DurableLogRecordExporterOptions {
  /** The directory that holds the queue (`<directory>/queue/<name>/`). One process at a time may use it; a
   *  restarted process sends what the previous one left. */
  directory: string;
  /** Where and how to send: the daemon's OTLP exporter settings (gRPC or HTTP/protobuf). Unset fields come from the
   *  OTEL_EXPORTER_OTLP_* environment variables, then the defaults (docs/configuration.md). */
  otlp?: Omit<OtlpExporterConfig, 'resourceAttributes' | 'serviceName' | 'serviceNameFromEnv'>;
  /** Queue name (directory name, metrics label). Default `otlp`. */
  name?: string;
  /** Disk queue options (receiver/queue/types.ts): maxBytes, whenFull, fsync, maxBatchRecords, maxInFlight, retry. */
  queue?: Omit<QueueOptionsInput, 'kind'>;
  /** How long `shutdown()` waits for the queue to empty before it closes it (what is left is sent by the next
   *  start). Default 5000 ms. */
  shutdownTimeoutMs?: number;
  /** Environment for the OTEL_EXPORTER_OTLP_* variables. Default process.env. */
  env?: Record<string, string | undefined>;
  /** kata-otel's own logs (default: none) and counters (default: a private registry, see `metrics`). */
  logger?: Logger;
  metrics?: Metrics;
  /** Self-tracing, off by default: a `kata-otel.queue.append` span per export() call and a `kata-otel.export`
   *  span per attempt to send to the backend (each a root span: the SDK calls export() with tracing suppressed). */
  tracerProvider?: TracerProvider;
}

type Serialize = (logs: ReadableLogRecord[]) => Uint8Array | undefined;

export class DurableLogRecordExporter implements LogRecordExporter {
  /** kata-otel's delivery counters for this exporter (records queued, exported, retried, dropped). */
  readonly metrics: Metrics;
  private readonly opts: DurableLogRecordExporterOptions;
  private readonly ready: Promise<{ queue: DeliveryQueue; exporter: Exporter }>;
  private readonly pending = new Set<Promise<void>>();
  /** The SDK record each queued KataLogRecord stands for, while it is being queued (see `codec`). */
  private readonly sdkRecord = new WeakMap<KataLogRecord, ReadableLogRecord>();
  private shut: Promise<void> | undefined;
  private readonly tracer: SelfTracer;

  constructor(opts: DurableLogRecordExporterOptions) {
    if (!opts || typeof opts.directory !== 'string' || !opts.directory)
      throw new TypeError('DurableLogRecordExporter: options.directory (where the disk queue lives) is required');
    this.opts = opts;
    this.metrics = opts.metrics ?? new Metrics();
    this.tracer = selfTracer(opts.tracerProvider);
    this.ready = this.open();
    // Surfaced by export() and opened(); not an unhandled rejection when nobody asked yet.
    this.ready.catch(() => {});
  }

  /** Resolves once the queue is open (and sending what an earlier process left); rejects with why it cannot be
   *  (directory not writable, held by another process, bad OTLP settings). */
  async opened(): Promise<void> {
    await this.ready;
  }

  export(logs: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    if (this.shut) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('DurableLogRecordExporter is shut down') });
      return;
    }
    const p = this.append(logs).then(
      () => resultCallback({ code: ExportResultCode.SUCCESS }),
      (err: unknown) =>
        resultCallback({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) }),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Resolves when every batch handed to export() so far is durable in the queue (not: delivered; see drain). */
  async forceFlush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Resolves true once everything queued was accepted by the backend, false when `timeoutMs` passes first. */
  async drain(timeoutMs: number): Promise<boolean> {
    const { queue } = await this.ready;
    return (await queue.drain(timeoutMs)) && queue.depth().records === 0;
  }

  /** Records (and bytes) queued and not yet acknowledged by the backend. */
  async depth(): Promise<{ records: number; bytes: number }> {
    return (await this.ready).queue.depth();
  }

  /** Waits for pending exports to be durable, for the queue to drain (up to shutdownTimeoutMs), then closes it. */
  shutdown(): Promise<void> {
    return (this.shut ??= (async () => {
      await this.forceFlush();
      const opened = await this.ready.catch(() => undefined);
      if (!opened) return;
      await opened.queue.drain(this.opts.shutdownTimeoutMs ?? 5000);
      await opened.queue.close();
      await opened.exporter.shutdown();
    })());
  }

  private async append(logs: ReadableLogRecord[]): Promise<void> {
    const { queue } = await this.ready;
    const attrs = { [ATTR_KATA_OTEL_BATCH_RECORDS]: logs.length };
    await inSpan(
      this.tracer,
      SPAN_QUEUE_APPEND,
      attrs,
      () => {
        const records = logs.map((l) => {
          const r = fromReadableLogRecord(l);
          this.sdkRecord.set(r, l);
          return r;
        });
        return queue.append(records);
      },
      ROOT_CONTEXT,
    );
  }

  private async open(): Promise<{ queue: DeliveryQueue; exporter: Exporter }> {
    const logger = this.opts.logger ?? silentLogger;
    // Loaded here, not at import: `import 'kata-otel'` for parsing should not load grpc-js and the OTLP serializer.
    const [{ createOtlpExporter }, { ProtobufLogsSerializer }] = await Promise.all([
      import('./otlp-exporter.js'),
      import('@opentelemetry/otlp-transformer'),
    ]);
    const name = this.opts.name ?? 'otlp';
    const { exporter: inner } = createOtlpExporter(this.opts.otlp ?? {}, { name, env: this.opts.env, logger });
    const innerCodec = inner.payload;
    if (!innerCodec) {
      await inner.shutdown();
      throw new Error(
        'DurableLogRecordExporter: otlp.protocol http/json is not supported (its requests do not concatenate); use grpc or http/protobuf',
      );
    }
    const serialize: Serialize = (logs) => ProtobufLogsSerializer.serializeRequest(logs);
    const exporter: Exporter = {
      name,
      export: (records, signal) => inner.export(records, signal),
      shutdown: () => inner.shutdown(),
      payload: this.codec(serialize, innerCodec),
    };
    const queue = await createQueue({ ...this.opts.queue, kind: 'disk' }, exporter, {
      dataDir: this.opts.directory,
      logger,
      metrics: this.metrics,
    });
    queue.start();
    return { queue, exporter };
  }

  /** The SDK's own serialization of the records while their SDK objects are known (always, at queueing); kata-otel's
   *  encoder for records read back from a JSON frame (only when serialization failed when they were queued). */
  private codec(serialize: Serialize, inner: PayloadCodec): PayloadCodec {
    return {
      type: inner.type,
      encode: (records) => {
        const logs = records.map((r) => this.sdkRecord.get(r));
        if (logs.every((l): l is ReadableLogRecord => l !== undefined)) {
          const bytes = serialize(logs);
          if (bytes && bytes.length) return bytes;
        }
        return inner.encode(records);
      },
      export: (payload, count, signal) => traceExport(this.tracer, count, () => inner.export(payload, count, signal)),
    };
  }
}

const NS_PER_S = 1_000_000_000n;
const hrToNs = (t: readonly [number, number] | undefined): bigint =>
  t ? BigInt(Math.trunc(t[0])) * NS_PER_S + BigInt(Math.trunc(t[1])) : 0n;

function attrValue(v: unknown): AttrValue | undefined {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** An SDK log record as a KataLogRecord (resource and record attributes together, as kata-otel keeps them). */
export function fromReadableLogRecord(l: ReadableLogRecord): KataLogRecord {
  const attributes: Attributes = {};
  for (const [k, v] of Object.entries(l.resource?.attributes ?? {})) {
    const a = attrValue(v);
    if (a !== undefined) attributes[k] = a;
  }
  for (const [k, v] of Object.entries(l.attributes ?? {})) {
    const a = attrValue(v);
    if (a !== undefined) attributes[k] = a;
  }
  const rec: KataLogRecord = {
    timeUnixNano: hrToNs(l.hrTime),
    observedTimeUnixNano: hrToNs(l.hrTimeObserved),
    severityNumber: l.severityNumber ?? 0,
    severityText: l.severityText ?? '',
    body: typeof l.body === 'string' ? l.body : l.body === undefined ? '' : String(attrValue(l.body) ?? ''),
    attributes,
  };
  if (l.eventName) rec.eventName = l.eventName;
  if (l.spanContext) {
    rec.traceId = l.spanContext.traceId;
    rec.spanId = l.spanContext.spanId;
  }
  return rec;
}
