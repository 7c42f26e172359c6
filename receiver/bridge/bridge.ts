// The Kata log bridge (OTel Logs Bridge API): parses Kata log text and journal entries into KataLogRecords and emits
// them through `Logger.emit` of any `@opentelemetry/api-logs` LoggerProvider, so a Node service's own SDK
// processors and exporters carry Kata's logs. Only `@opentelemetry/api` is loaded at run time (for the trace
// context); the provider is the caller's. How Kata's per-sandbox Resource is kept: docs/library.md.
import type { LogAttributes, LogRecord, Logger, LoggerProvider } from '@opentelemetry/api-logs';
import {
  ROOT_CONTEXT,
  TraceFlags,
  isSpanContextValid,
  trace,
  type Context,
  type HrTime,
  type TracerProvider,
} from '@opentelemetry/api';
import type { Attributes, KataLogRecord } from '../model/record.js';
import { nowUnixNano } from '../model/record.js';
import { SCOPE_NAME, SCOPE_VERSION } from '../otlp/resource.js';
import { Pipeline } from '../pipeline/pipeline.js';
import type { RecordSink, Stage } from '../pipeline/types.js';
import { RESOURCE_ATTRIBUTE_KEYS } from '../semconv/generated.js';
import type { RawEntry, SourceBatch } from '../sources/types.js';
import { silentLogger, type Logger as KataLogger } from '../telemetry/log.js';
import { Metrics } from '../telemetry/metrics.js';
import { SPAN_EMIT, selfTracer, traceBatch, type SelfTracer } from '../telemetry/spans.js';

/**
 * Something that watches every record the bridge emits: the extension point for derived telemetry (the lifecycle
 * span builder plugs in here: it turns sandbox lifecycle records into spans). Called after the stages, in order.
 */
export interface KataRecordObserver {
  observe(records: readonly KataLogRecord[]): void;
  /** Called by `KataLogBridge.forceFlush()`. */
  forceFlush?(): Promise<void>;
  /** Called by `KataLogBridge.shutdown()`. */
  shutdown?(): Promise<void>;
}

export interface KataLogBridgeOptions {
  /** Where records go: any Logs Bridge API LoggerProvider (an sdk-logs `LoggerProvider`, or the global one). */
  loggerProvider: LoggerProvider;
  /** Instrumentation scope name. Default `kata-otel` (the daemon's scope). */
  scopeName?: string;
  /**
   * `false` (default): one Logger; the Kata resource attributes (`kata.sandbox.id`, `kata.component`,
   * `service.name`, …) ride on every record as attributes, since an SDK LoggerProvider has one Resource.
   * `true`: in addition, one Logger per sandbox/component whose scope attributes are that resource, so OTLP
   * exporters group the records per sandbox/component (ScopeLogs). The SDK keeps every Logger it hands out, so
   * this grows with sandbox churn; see docs/library.md.
   */
  scopePerResource?: boolean;
  /** Attributes added to every record parsed by this bridge (`log.file.path`, a host's `host.name`, …). */
  attributes?: Attributes;
  /** Keep the raw text in `log.record.original`. */
  keepOriginal?: boolean;
  /** Stages run on every batch before it is emitted: `DedupeStage`, `RuleEngine` (alerts are emitted too). */
  stages?: Stage[];
  /** Watchers of every emitted record (the lifecycle span builder's extension point). */
  observers?: KataRecordObserver[];
  /** kata-otel's own logs (default: none) and counters (default: a private registry). */
  logger?: KataLogger;
  metrics?: Metrics;
  /** Self-tracing, off by default: spans `kata-otel.batch` > `kata-otel.parse`, `kata-otel.emit` per batch. */
  tracerProvider?: TracerProvider;
}

export interface EmitOptions {
  /** Attributes for these records (over the bridge's). */
  attributes?: Attributes;
  /** Read time (ns since the epoch); default now. */
  observedTimeUnixNano?: bigint;
}

const HEX_TRACE = /^[0-9a-f]{32}$/;
const HEX_SPAN = /^[0-9a-f]{16}$/;
const NS_PER_S = 1_000_000_000n;

/** ns since the epoch → HrTime, exact (a JS number of ns would lose the last digits). */
export function toHrTime(ns: bigint): HrTime {
  return [Number(ns / NS_PER_S), Number(ns % NS_PER_S)];
}

/**
 * The trace context of a record: its traceId/spanId as a remote span context when both are valid, else the root
 * context, so a Kata record never inherits the span that happens to be active where the bridge is called.
 */
export function recordContext(rec: KataLogRecord): Context {
  const traceId = rec.traceId?.toLowerCase();
  const spanId = rec.spanId?.toLowerCase();
  if (!traceId || !spanId || !HEX_TRACE.test(traceId) || !HEX_SPAN.test(spanId)) return ROOT_CONTEXT;
  const sc = { traceId, spanId, traceFlags: TraceFlags.NONE, isRemote: true };
  return isSpanContextValid(sc) ? trace.setSpanContext(ROOT_CONTEXT, sc) : ROOT_CONTEXT;
}

/** One KataLogRecord as a Logs Bridge API LogRecord: every field kept, times at full ns precision. */
export function toLogRecord(rec: KataLogRecord): LogRecord {
  const out: LogRecord = {
    // A record without its own time: the observed time, as the daemon's encoders do.
    timestamp: toHrTime(rec.timeUnixNano > 0n ? rec.timeUnixNano : rec.observedTimeUnixNano),
    observedTimestamp: toHrTime(rec.observedTimeUnixNano),
    severityNumber: rec.severityNumber,
    body: rec.body,
    attributes: rec.attributes as LogAttributes,
    context: recordContext(rec),
  };
  if (rec.severityText) out.severityText = rec.severityText;
  if (rec.eventName) out.eventName = rec.eventName;
  return out;
}

/** The Kata resource of a record (RESOURCE_ATTRIBUTE_KEYS present on it), in registry order. */
export function resourceAttributes(rec: KataLogRecord): Attributes {
  const res: Attributes = {};
  for (const k of RESOURCE_ATTRIBUTE_KEYS) {
    const v = rec.attributes[k];
    if (v !== undefined && v !== null) res[k] = v;
  }
  return res;
}

/**
 * Kata log text in, OTel log records out through the caller's LoggerProvider. Minimal use:
 * `const bridge = new KataLogBridge({ loggerProvider }); await bridge.emitLine(text);`
 * Parsing and the stages are the daemon's Pipeline; only the delivery differs (Logger.emit instead of a queue).
 */
export class KataLogBridge {
  private readonly opts: KataLogBridgeOptions;
  private readonly scopeName: string;
  private readonly pipeline: Pipeline;
  private readonly metrics: Metrics;
  private readonly tracer: SelfTracer;
  private logger: Logger | undefined;
  private readonly loggers = new Map<string, Logger>();

  constructor(opts: KataLogBridgeOptions) {
    if (!opts || typeof opts.loggerProvider?.getLogger !== 'function')
      throw new TypeError(
        'KataLogBridge: options.loggerProvider must be a LoggerProvider from @opentelemetry/api-logs (it has getLogger())',
      );
    this.opts = opts;
    this.scopeName = opts.scopeName ?? SCOPE_NAME;
    const sink: RecordSink = {
      name: 'bridge',
      append: async (records, after) => {
        await after;
        this.write(records);
      },
    };
    this.metrics = opts.metrics ?? new Metrics();
    this.tracer = selfTracer(opts.tracerProvider);
    this.pipeline = new Pipeline({
      stages: opts.stages ?? [],
      sinks: [sink],
      keepOriginal: opts.keepOriginal,
      metrics: this.metrics,
      logger: opts.logger ?? silentLogger,
    });
  }

  /** Parse one logical entry (a line, or a multi-line group) of any Kata log shape and emit its records. */
  emitLine(text: string, o: EmitOptions = {}): Promise<KataLogRecord[]> {
    return this.process(this.batch([{ kind: 'text', text: String(text) }], o));
  }

  /** Parse one `journalctl -o json` entry and emit its records. */
  emitJournalEntry(fields: Record<string, unknown>, o: EmitOptions = {}): Promise<KataLogRecord[]> {
    return this.process(this.batch([{ kind: 'journal', fields }], o));
  }

  /** A source batch (what the daemon's sources produce): parse, run the stages, emit and, with `flush`, flush the
   *  provider. Resolves with what was emitted, after `batch.after`. */
  process(batch: SourceBatch, o: { flush?: boolean } = {}): Promise<KataLogRecord[]> {
    this.metrics.read.labels(batch.source).inc(batch.entries.length);
    return traceBatch(this.tracer, batch, () => this.pipeline.transform(this.pipeline.parse(batch)), {
      name: SPAN_EMIT,
      run: async (recs) => {
        this.write(recs);
        if (o.flush) await this.forceFlush();
      },
    });
  }

  /** Emit records that are already parsed (they go through the stages too). Returns what was emitted. */
  emitRecords(records: KataLogRecord[]): KataLogRecord[] {
    const recs = this.pipeline.transform(records);
    this.write(recs);
    return recs;
  }

  /** Emit what the stages produce on their own (absence alerts; with `final`, what they still hold). Call it on a
   *  timer when stateful rules are used; `shutdown()` calls it with `final`. */
  flushStages(now: bigint = nowUnixNano(), final = false): Promise<void> {
    return this.pipeline.flush(now, final);
  }

  /** Flushes the provider (when it can: an sdk-logs LoggerProvider) and the observers. */
  async forceFlush(): Promise<void> {
    const p = this.opts.loggerProvider as LoggerProvider & { forceFlush?: () => Promise<void> };
    await Promise.all([
      typeof p.forceFlush === 'function' ? p.forceFlush() : undefined,
      ...(this.opts.observers ?? []).map((o) => o.forceFlush?.()),
    ]);
  }

  /** Emits what the stages still hold and shuts the observers down. The provider stays the caller's to shut down. */
  async shutdown(): Promise<void> {
    await this.flushStages(nowUnixNano(), true);
    await Promise.all((this.opts.observers ?? []).map((o) => o.shutdown?.()));
  }

  private batch(entries: RawEntry[], o: EmitOptions): SourceBatch {
    const attributes = o.attributes ? { ...this.opts.attributes, ...o.attributes } : this.opts.attributes;
    return { source: 'bridge', entries, observedTimeUnixNano: o.observedTimeUnixNano ?? nowUnixNano(), attributes };
  }

  private write(recs: KataLogRecord[]): void {
    for (const r of recs) this.loggerFor(r).emit(toLogRecord(r));
    if (recs.length) for (const o of this.opts.observers ?? []) o.observe(recs);
  }

  private loggerFor(rec: KataLogRecord): Logger {
    if (!this.opts.scopePerResource)
      return (this.logger ??= this.opts.loggerProvider.getLogger(this.scopeName, SCOPE_VERSION));
    const res = resourceAttributes(rec);
    const key = JSON.stringify(res);
    let l = this.loggers.get(key);
    if (!l) {
      l = this.opts.loggerProvider.getLogger(this.scopeName, SCOPE_VERSION, { attributes: res as LogAttributes });
      this.loggers.set(key, l);
    }
    return l;
  }
}
