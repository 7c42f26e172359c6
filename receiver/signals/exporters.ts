// Exporters for spans (lifecycle traces), one beside each configured exporter and sent to the same place:
// an otlp exporter's endpoint with `/v1/traces` or TraceService/Export (OTEL_EXPORTER_OTLP_TRACES_* honoured),
// the store's directory as `traces-*.jsonl` (Collector file-exporter traces format), stdout. Each sits behind
// its own delivery queue (`<exporter>.traces`, same options and data dir, at-least-once like the logs); the
// queue holds span payloads (./payload.ts) and the exporter encodes the OTLP request when it sends.
import type { Writable } from 'node:stream';
import type { ExporterConfig } from '../config/types.js';
import { resolveSignalSettings } from '../exporters/otlp-config.js';
import { OtlpGrpcExporter, TRACES_EXPORT_METHOD } from '../exporters/otlp-grpc.js';
import { OtlpHttpExporter } from '../exporters/otlp-http.js';
import { StdoutExporter } from '../exporters/stdout.js';
import { StoreExporter } from '../exporters/store.js';
import type { ExportResult, Exporter } from '../exporters/types.js';
import type { KataSpan } from '../lifecycle/types.js';
import { encodeTracesJson, encodeTracesProto } from '../otlp/encode-traces.js';
import type { Logger } from '../telemetry/log.js';
import { decodeSpans } from './payload.js';

type Send = (spans: KataSpan[], signal?: AbortSignal) => Promise<ExportResult>;

/** An Exporter whose queue holds span payloads; `export(records)` is never called on it. */
function spanExporter(name: string, send: Send, shutdown: () => Promise<void>): Exporter {
  return {
    name,
    export: () => Promise.resolve({ code: 'permanent', error: `${name} exports spans only` }),
    shutdown,
    payload: {
      type: 'application/x-protobuf',
      encode: () => {
        throw new Error(`${name}: records are not queued here`);
      },
      export: async (payload, _count, signal) => {
        let spans: KataSpan[];
        try {
          spans = decodeSpans(payload);
        } catch (err) {
          return { code: 'permanent', error: `${name}: a queued span payload is damaged: ${(err as Error).message}` };
        }
        return send(spans, signal);
      },
    },
  };
}

const ms = (ns: bigint) => (Number(ns / 1000n) / 1000).toFixed(1);

/** One readable line per span on stdout (format `text`). */
export function formatSpanText(s: KataSpan): string {
  const status = s.status.code === 2 ? ` ERROR ${s.status.message ?? ''}` : '';
  const sid = String(s.attributes['kata.sandbox.id'] ?? '').slice(0, 12);
  return `SPAN ${s.name} sandbox=${sid} trace=${s.traceId} span=${s.spanId} parent=${s.parentSpanId || '-'} duration_ms=${ms(s.endTimeUnixNano - s.startTimeUnixNano)}${status}`;
}

/**
 * The span exporter for an exporter config, sharing the logs exporter `base` where it can (store file handle
 * rules, stdout stream). Throws OtlpConfigError when an otlp exporter's traces URL cannot be told.
 */
export function createSpanExporter(
  e: ExporterConfig,
  base: Exporter,
  deps: { stdout: Writable; logger: Logger; env?: Record<string, string | undefined> },
): Exporter {
  const name = `${e.name}.traces`;
  switch (e.type) {
    case 'otlp': {
      const settings = resolveSignalSettings(e, deps.env ?? process.env, 'traces', `exporter ${e.name}`, {
        serviceName: e.serviceName,
        serviceNameFromEnv: e.serviceNameFromEnv,
      });
      const opts = { resource: settings.resource };
      if (settings.protocol === 'grpc') {
        const grpc = new OtlpGrpcExporter(settings, { name, method: TRACES_EXPORT_METHOD });
        return spanExporter(
          name,
          (s, sig) => grpc.send(encodeTracesProto(s, opts), s.length, sig),
          () => grpc.shutdown(),
        );
      }
      const http = new OtlpHttpExporter(settings, { name });
      const json = settings.protocol === 'http/json';
      const encode = (s: KataSpan[]) =>
        json ? Buffer.from(encodeTracesJson(s, opts), 'utf8') : encodeTracesProto(s, opts);
      deps.logger.info('OTLP traces exporter configured', { exporter: name, endpoint: settings.endpoint });
      return spanExporter(
        name,
        (s, sig) => http.send(encode(s), s.length, sig),
        () => http.shutdown(),
      );
    }
    case 'store': {
      const store = new StoreExporter({ ...e, name, kind: 'traces' }, { logger: deps.logger });
      return spanExporter(
        name,
        (s, sig) => store.writeLine(encodeTracesJson(s), sig),
        () => store.shutdown(),
      );
    }
    case 'stdout': {
      const out = base instanceof StdoutExporter ? base : new StdoutExporter({ ...e, name }, deps.stdout);
      const text = (s: KataSpan[]) =>
        out.format === 'otlp-json' ? encodeTracesJson(s) + '\n' : s.map(formatSpanText).join('\n') + '\n';
      return spanExporter(
        name,
        (s, sig) => out.writeText(text(s), sig),
        () => Promise.resolve(),
      );
    }
  }
}
