// MetricData[] (receiver/lifecycle/metrics.ts: cumulative sums and explicit-bucket histograms) →
// ExportMetricsServiceRequest, protobuf (metrics.proto field numbers) and OTLP/JSON (Collector file-exporter
// form). One Resource: the node's Kata runtime (service kata-runtime, host).
import type { MetricData, MetricPoint } from '../lifecycle/metrics.js';
import type { Attributes } from '../model/record.js';
import { keyValue as jsonKeyValue, SCOPE_JSON, str } from './encode-json.js';
import { double, fixed64, keyValue, len, tag, text, varint, type Part } from './proto-writer.js';
import { SCOPE_NAME, SCOPE_VERSION } from './resource.js';

const CUMULATIVE = 2;

function kvs(field: number, a: Attributes): Part[] {
  return Object.entries(a).map(([k, v]) => len(field, keyValue(k, v)));
}

function point(m: MetricData, p: MetricPoint): Buffer {
  if (m.kind === 'sum')
    return Buffer.concat([
      fixed64(2, p.startTimeUnixNano),
      fixed64(3, p.timeUnixNano),
      double(4, p.value ?? 0),
      ...kvs(7, p.attributes),
    ]);
  const buckets = Buffer.alloc(8 * (p.bucketCounts ?? []).length);
  (p.bucketCounts ?? []).forEach((c, i) => buckets.writeBigUInt64LE(BigInt(c), i * 8));
  const bounds = Buffer.alloc(8 * (p.explicitBounds ?? []).length);
  (p.explicitBounds ?? []).forEach((b, i) => bounds.writeDoubleLE(b, i * 8));
  return Buffer.concat([
    fixed64(2, p.startTimeUnixNano),
    fixed64(3, p.timeUnixNano),
    fixed64(4, BigInt(p.count ?? 0)),
    double(5, p.sum ?? 0),
    len(6, buckets),
    len(7, bounds),
    ...kvs(9, p.attributes),
  ]);
}

function metric(m: MetricData): Buffer {
  const points = m.points.map((p) => len(1, point(m, p)));
  const body =
    m.kind === 'sum'
      ? len(7, Buffer.concat([...points, tag(2, 0), varint(CUMULATIVE), tag(3, 0), varint(1)]))
      : len(9, Buffer.concat([...points, tag(2, 0), varint(CUMULATIVE)]));
  return Buffer.concat([text(1, m.name), text(2, m.description), text(3, m.unit), body]);
}

export function encodeMetricsProto(metrics: readonly MetricData[], resource: Attributes): Uint8Array {
  if (metrics.length === 0) return Buffer.alloc(0);
  const scope = Buffer.concat([text(1, SCOPE_NAME), text(2, SCOPE_VERSION)]);
  const scopeMetrics = Buffer.concat([len(1, scope), ...metrics.map((m) => len(2, metric(m)))]);
  const res = Buffer.concat(kvs(1, resource));
  return len(1, Buffer.concat([len(1, res), len(2, scopeMetrics)]));
}

function jsonPoint(m: MetricData, p: MetricPoint): string {
  // Every attribute, kata.component included (on a data point it is not a Resource attribute).
  const a = Object.entries(p.attributes)
    .map(([k, v]) => jsonKeyValue(k, v))
    .join(',');
  let s =
    (a ? '"attributes":[' + a + '],' : '') +
    `"startTimeUnixNano":"${p.startTimeUnixNano}","timeUnixNano":"${p.timeUnixNano}"`;
  if (m.kind === 'sum') return '{' + s + ',"asDouble":' + JSON.stringify(p.value ?? 0) + '}';
  s += `,"count":"${p.count ?? 0}","sum":${JSON.stringify(p.sum ?? 0)}`;
  s += ',"bucketCounts":[' + (p.bucketCounts ?? []).map((c) => `"${c}"`).join(',') + ']';
  s += ',"explicitBounds":' + JSON.stringify(p.explicitBounds ?? []);
  return '{' + s + '}';
}

export function encodeMetricsJson(metrics: readonly MetricData[], resource: Attributes): string {
  const res = Object.entries(resource)
    .map(([k, v]) => jsonKeyValue(k, v))
    .join(',');
  const ms = metrics.map((m) => {
    const points = '"dataPoints":[' + m.points.map((p) => jsonPoint(m, p)).join(',') + ']';
    const body =
      m.kind === 'sum'
        ? `"sum":{${points},"aggregationTemporality":${CUMULATIVE},"isMonotonic":true}`
        : `"histogram":{${points},"aggregationTemporality":${CUMULATIVE}}`;
    return `{"name":${str(m.name)},"description":${str(m.description)},"unit":${str(m.unit)},${body}}`;
  });
  return `{"resourceMetrics":[{"resource":{"attributes":[${res}]},"scopeMetrics":[{"scope":${SCOPE_JSON},"metrics":[${ms.join(',')}]}]}]}`;
}
