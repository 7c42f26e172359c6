// What an OpenTelemetry Collector's file exporter writes for the records a real OTLP server received: one
// ExportLogsServiceRequest per line in OTLP/JSON (pdata order and types: int64 as decimal strings, hex ids), a
// resourceLogs entry per run of records with the same resource, `batch` records per line (the batch processor).
// The records come from test/support/otlp-server.ts, decoded there with the official generated protobuf code.
import type { RecordedLog } from './otlp-server.js';

function anyValue(v: unknown): unknown {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  return { stringValue: String(v) };
}
const kvs = (o: Record<string, unknown>) => Object.entries(o).map(([key, v]) => ({ key, value: anyValue(v) }));

export function collectorFileLines(records: RecordedLog[], batch = 7): string[] {
  const lines: string[] = [];
  for (let i = 0; i < records.length; i += batch) {
    const resourceLogs: { resource: unknown; scopeLogs: unknown[] }[] = [];
    let lastRes = '';
    for (const r of records.slice(i, i + batch)) {
      const res = JSON.stringify(r.resource);
      if (res !== lastRes) {
        resourceLogs.push({
          resource: { attributes: kvs(r.resource) },
          scopeLogs: [{ scope: r.scope, logRecords: [] }],
        });
        lastRes = res;
      }
      const lr: Record<string, unknown> = {
        timeUnixNano: r.timeUnixNano,
        observedTimeUnixNano: r.observedTimeUnixNano,
        severityNumber: r.severityNumber,
        severityText: r.severityText,
        body: anyValue(r.body),
        attributes: kvs(r.attributes),
        flags: r.flags ?? 0,
        traceId: r.traceId ?? '',
        spanId: r.spanId ?? '',
      };
      if (r.eventName) lr.eventName = r.eventName;
      (resourceLogs[resourceLogs.length - 1]!.scopeLogs[0] as { logRecords: unknown[] }).logRecords.push(lr);
    }
    lines.push(JSON.stringify({ resourceLogs }));
  }
  return lines;
}
