// An exporter whose export attempts are kata-otel.export spans (./spans.ts), for the daemon's self-tracing.
import type { Exporter } from '../exporters/types.js';
import { traceExport, type SelfTracer } from './spans.js';

export function tracedExporter(inner: Exporter, tracer: SelfTracer): Exporter {
  if (!tracer) return inner;
  const payload = inner.payload;
  return {
    name: inner.name,
    export: (records, signal) => traceExport(tracer, records.length, () => inner.export(records, signal)),
    shutdown: () => inner.shutdown(),
    payload: payload && {
      type: payload.type,
      encode: (records) => payload.encode(records),
      export: (bytes, count, signal) => traceExport(tracer, count, () => payload.export(bytes, count, signal)),
    },
  };
}
