// Exporters for the signals other than logs, one of each beside each configured exporter and sent to the same
// place: spans (lifecycle traces) and derived metrics. otlp: the exporter's endpoint with `/v1/traces` /
// `/v1/metrics` or TraceService / MetricsService (OTEL_EXPORTER_OTLP_TRACES_* / _METRICS_* honoured); store:
// `traces-*.jsonl` / `metrics-*.jsonl` beside the logs (Collector file-exporter format); stdout. Each sits behind
// its own delivery queue (`<exporter>.traces`, `<exporter>.metrics`: same options and data dir, at-least-once
// like the logs); the queue holds signal payloads (./payload.ts) and the exporter encodes the OTLP request
// when it sends.
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
import { decodeMetrics, decodeSpans } from './payload.js';

/** How one signal is decoded from the queue and written in each form. */
interface Signal<T> {
  name: 'traces' | 'metrics';
  method: string;
  decode(bytes: Uint8Array): T[];
  proto(items: T[], opts: EncodeOptions): Uint8Array;
  json(items: T[], opts: EncodeOptions): string;
  text(item: T): string;
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

/** An Exporter whose queue holds signal payloads; `export(records)` is never called on it. */
function payloadExporter<T>(
  name: string,
  decode: (b: Uint8Array) => T[],
  send: (items: T[], signal?: AbortSignal) => Promise<ExportResult>,
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
      export: async (payload, _count, signal) => {
        let items: T[];
        try {
          items = decode(payload);
        } catch (err) {
          return { code: 'permanent', error: `${name}: a queued payload is damaged: ${(err as Error).message}` };
        }
        return send(items, signal);
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
  const make = (send: (items: T[], sig?: AbortSignal) => Promise<ExportResult>, shutdown: () => Promise<void>) =>
    payloadExporter(name, signal.decode, send, shutdown);
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
      const json = settings.protocol === 'http/json';
      const encode = (s: T[]) => (json ? Buffer.from(signal.json(s, opts), 'utf8') : signal.proto(s, opts));
      return make(
        (s, sig) => http.send(encode(s), s.length, sig),
        () => http.shutdown(),
      );
    }
    case 'store': {
      const store = new StoreExporter({ ...e, name, kind: signal.name }, { logger: deps.logger });
      return make(
        (s, sig) => store.writeLine(signal.json(s, {}), sig),
        () => store.shutdown(),
      );
    }
    case 'stdout': {
      const out = base instanceof StdoutExporter ? base : new StdoutExporter({ ...e, name }, deps.stdout);
      const text = (s: T[]) =>
        out.format === 'otlp-json' ? signal.json(s, {}) + '\n' : s.map(signal.text).join('\n') + '\n';
      return make(
        (s, sig) => out.writeText(text(s), sig),
        () => Promise.resolve(),
      );
    }
  }
}
