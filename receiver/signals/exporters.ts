// Exporters for the signals other than logs, one of each beside each configured exporter and sent to the same
// place: spans (lifecycle traces) and derived metrics. otlp: the exporter's endpoint with `/v1/traces` /
// `/v1/metrics` or TraceService / MetricsService (OTEL_EXPORTER_OTLP_TRACES_* / _METRICS_* honoured); store:
// `traces-*.jsonl` / `metrics-*.jsonl` beside the logs (Collector file-exporter format); stdout. Each sits behind
// its own delivery queue (`<exporter>.traces`, `<exporter>.metrics`: same options and data dir, at-least-once
// like the logs); the queue holds signal payloads (./payload.ts): spans for an OTLP/JSON exporter (the store,
// stdout otlp-json, http/json) already in that form, sent as they are; the others are encoded when sent.
import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import type { ExporterConfig } from '../config/types.js';
import { resolveSignalSettings } from '../exporters/otlp-config.js';
import { METRICS_EXPORT_METHOD, OtlpGrpcExporter, TRACES_EXPORT_METHOD } from '../exporters/otlp-grpc.js';
import { OtlpHttpExporter } from '../exporters/otlp-http.js';
import { StdoutExporter } from '../exporters/stdout.js';
import { StoreExporter } from '../exporters/store.js';
import type { ExportResult, Exporter } from '../exporters/types.js';
import type { MetricData } from '../lifecycle/metrics.js';
import type { KataSpan } from '../lifecycle/types.js';
import type { Attributes } from '../model/record.js';
import { encodeMetricsJson, encodeMetricsProto } from '../otlp/encode-metrics.js';
import type { EncodeOptions } from '../otlp/encode-proto.js';
import { encodeTracesJson, encodeTracesProto } from '../otlp/encode-traces.js';
import { SERVICE_NAMESPACE } from '../parse/build.js';
import { ATTR_HOST_NAME, ATTR_SERVICE_NAME, ATTR_SERVICE_NAMESPACE } from '../semconv/generated.js';
import type { Logger } from '../telemetry/log.js';
import { decodeMetrics, decodeSpans, encodeSignalPayload, splitSignalPayloads, textSignalPayload } from './payload.js';
import { decodeTracesJson } from './traces-json.js';

/** How one signal is decoded from the queue and written in each form. */
interface Signal<T> {
  name: 'traces' | 'metrics';
  method: string;
  decode(bytes: Uint8Array): T[];
  proto(items: T[], opts: EncodeOptions): Uint8Array;
  json(items: T[], opts: EncodeOptions): string;
  text(item: T): string;
  /** Spans: queued for an OTLP/JSON exporter as the OTLP/JSON it sends ('j' payloads), read back from it here. */
  otlpJson?: (text: string) => T[];
}

const ms = (ns: bigint) => (Number(ns / 1000n) / 1000).toFixed(1);

/** One readable line per span on stdout (format `text`). */
export function formatSpanText(s: KataSpan): string {
  const status = s.status.code === 2 ? ` ERROR ${s.status.message ?? ''}` : '';
  const sid = String(s.attributes['kata.sandbox.id'] ?? '').slice(0, 12);
  return `SPAN ${s.name} sandbox=${sid} trace=${s.traceId} span=${s.spanId} parent=${s.parentSpanId || '-'} duration_ms=${ms(s.endTimeUnixNano - s.startTimeUnixNano)}${status}`;
}

/** The Resource of the derived metrics: the node's Kata runtime. */
function metricsResource(opts: EncodeOptions): Attributes {
  return {
    [ATTR_SERVICE_NAME]: 'kata-runtime',
    [ATTR_SERVICE_NAMESPACE]: SERVICE_NAMESPACE,
    [ATTR_HOST_NAME]: hostname(),
    ...(opts.resource?.fill ?? {}),
    ...(opts.resource?.override ?? {}),
  };
}

export const TRACES: Signal<KataSpan> = {
  name: 'traces',
  method: TRACES_EXPORT_METHOD,
  decode: decodeSpans,
  proto: encodeTracesProto,
  json: encodeTracesJson,
  text: formatSpanText,
  otlpJson: decodeTracesJson,
};

export const METRICS: Signal<MetricData> = {
  name: 'metrics',
  method: METRICS_EXPORT_METHOD,
  decode: decodeMetrics,
  proto: (m, o) => encodeMetricsProto(m, metricsResource(o)),
  json: (m, o) => encodeMetricsJson(m, metricsResource(o)),
  text: (m) =>
    m.points
      .map((p) => `METRIC ${m.name} ${JSON.stringify(p.attributes)} ${p.value ?? `count=${p.count} sum=${p.sum}`}`)
      .join('\n'),
};

/** How the queue of each signal exporter encodes the items it is given (QueueSpanSink). */
const queuedForm = new WeakMap<Exporter, (items: never[]) => Uint8Array>();

/** The payload a queue in front of `exp` takes for `items` (kata-otel's JSON when `exp` is no signal exporter). */
export function queuePayloadOf<T>(exp: Exporter, kind: 't' | 'm'): (items: T[]) => Uint8Array {
  return (
    (queuedForm.get(exp) as ((items: T[]) => Uint8Array) | undefined) ?? ((items) => encodeSignalPayload(kind, items))
  );
}

/** The items of queued payloads of either form (a protocol change between runs leaves the other one queued). */
function itemsOf<T>(signal: Signal<T>, bytes: Uint8Array): T[] {
  if (!signal.otlpJson) return signal.decode(bytes);
  const toItems = signal.otlpJson;
  return splitSignalPayloads(bytes).flatMap((p) =>
    p.kind === 'j' ? toItems(p.text) : signal.decode(textSignalPayload(p.kind, p.text)),
  );
}

/** Queued payloads as OTLP/JSON requests: 'j' ones as they are, the others encoded now. */
function jsonTexts<T>(signal: Signal<T>, bytes: Uint8Array, opts: EncodeOptions): string[] {
  if (!signal.otlpJson) return [signal.json(signal.decode(bytes), opts)];
  return splitSignalPayloads(bytes).map((p) =>
    p.kind === 'j' ? p.text : signal.json(signal.decode(textSignalPayload(p.kind, p.text)), opts),
  );
}

/** Several OTLP/JSON trace requests as one (their `resourceSpans` lists joined). */
function mergeJson(texts: string[]): string {
  if (texts.length === 1) return texts[0] as string;
  const head = '{"resourceSpans":[';
  const parts = texts.filter((t) => t.startsWith(head)).map((t) => t.slice(head.length, -2));
  return parts.length ? head + parts.join(',') + ']}' : '{}';
}

/** An Exporter whose queue holds signal payloads; `export(records)` is never called on it. */
function payloadExporter(
  name: string,
  send: (payload: Uint8Array, count: number, signal?: AbortSignal) => Promise<ExportResult>,
  shutdown: () => Promise<void>,
): Exporter {
  return {
    name,
    export: () => Promise.resolve({ code: 'permanent', error: `${name} exports no log records` }),
    shutdown,
    payload: {
      type: 'application/x-protobuf',
      encode: () => {
        throw new Error(`${name}: records are not queued here`);
      },
      export: async (payload, count, signal) => {
        let sending: Promise<ExportResult>;
        try {
          sending = send(payload, count, signal);
        } catch (err) {
          return { code: 'permanent', error: `${name}: a queued payload is damaged: ${(err as Error).message}` };
        }
        return sending;
      },
    },
  };
}

/**
 * The exporter of `signal` for an exporter config, sharing the logs exporter `base` where it can (the stdout
 * stream). Throws OtlpConfigError when an otlp exporter's URL for the signal cannot be told.
 */
export function createSignalExporter<T>(
  signal: Signal<T>,
  e: ExporterConfig,
  base: Exporter,
  deps: { stdout: Writable; logger: Logger; env?: Record<string, string | undefined> },
): Exporter {
  const name = `${e.name}.${signal.name}`;
  /** An exporter of items (decoded from the queued payloads when sent). */
  const make = (send: (items: T[], sig?: AbortSignal) => Promise<ExportResult>, shutdown: () => Promise<void>) =>
    payloadExporter(name, (p, _n, sig) => send(itemsOf(signal, p), sig), shutdown);
  /** An OTLP/JSON exporter: spans are queued in the form it sends (encoded once); metrics are encoded here. */
  const makeJson = (
    opts: EncodeOptions,
    send: (texts: string[], count: number, sig?: AbortSignal) => Promise<ExportResult>,
    shutdown: () => Promise<void>,
  ): Exporter => {
    const exp = payloadExporter(name, (p, n, sig) => send(jsonTexts(signal, p, opts), n, sig), shutdown);
    if (signal.otlpJson) queuedForm.set(exp, (items: never[]) => textSignalPayload('j', signal.json(items, opts)));
    return exp;
  };
  switch (e.type) {
    case 'otlp': {
      const settings = resolveSignalSettings(e, deps.env ?? process.env, signal.name, `exporter ${e.name}`, {
        serviceName: e.serviceName,
        serviceNameFromEnv: e.serviceNameFromEnv,
      });
      const opts = { resource: settings.resource };
      deps.logger.info(`OTLP ${signal.name} exporter configured`, { exporter: name, endpoint: settings.endpoint });
      if (settings.protocol === 'grpc') {
        const grpc = new OtlpGrpcExporter(settings, { name, method: signal.method });
        return make(
          (s, sig) => grpc.send(signal.proto(s, opts), s.length, sig),
          () => grpc.shutdown(),
        );
      }
      const http = new OtlpHttpExporter(settings, { name });
      if (settings.protocol === 'http/json')
        return makeJson(
          opts,
          (texts, n, sig) => http.send(Buffer.from(mergeJson(texts), 'utf8'), n, sig),
          () => http.shutdown(),
        );
      return make(
        (s, sig) => http.send(signal.proto(s, opts), s.length, sig),
        () => http.shutdown(),
      );
    }
    case 'store': {
      const store = new StoreExporter({ ...e, name, kind: signal.name }, { logger: deps.logger });
      return makeJson(
        {},
        (texts, _n, sig) => store.writeLine(texts.join('\n'), sig),
        () => store.shutdown(),
      );
    }
    case 'stdout': {
      const out = base instanceof StdoutExporter ? base : new StdoutExporter({ ...e, name }, deps.stdout);
      if (out.format === 'otlp-json')
        return makeJson(
          {},
          (texts, _n, sig) => out.writeText(texts.join('\n') + '\n', sig),
          () => Promise.resolve(),
        );
      return make(
        (s, sig) => out.writeText(s.map(signal.text).join('\n') + '\n', sig),
        () => Promise.resolve(),
      );
    }
  }
}
