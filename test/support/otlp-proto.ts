// The official OTLP protobuf messages (protobufjs code generated from opentelemetry-proto, shipped by
// @opentelemetry/otlp-transformer, installed as otlp-proto-official). Tests and the test server decode with
// these, never with the receiver's own reader, so an encoder bug cannot hide behind a matching decoder bug.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The slice of a protobufjs generated message class the tests use. */
export interface ProtoType<T = Record<string, unknown>> {
  decode(bytes: Uint8Array): T;
  encode(message: T): { finish(): Uint8Array };
  fromObject(obj: Record<string, unknown>): T;
  toObject(message: T, opts?: Record<string, unknown>): Record<string, unknown>;
  verify(obj: Record<string, unknown>): string | null;
}

interface Root {
  opentelemetry: {
    proto: {
      collector: {
        logs: {
          v1: Record<'ExportLogsServiceRequest' | 'ExportLogsServiceResponse' | 'ExportLogsPartialSuccess', ProtoType>;
        };
        metrics: {
          v1: Record<'ExportMetricsServiceRequest' | 'ExportMetricsServiceResponse', ProtoType>;
        };
        trace: {
          v1: Record<'ExportTraceServiceRequest' | 'ExportTraceServiceResponse', ProtoType>;
        };
      };
    };
  };
}

const root = require('otlp-proto-official/build/src/generated/root.js') as Root;
const logs = root.opentelemetry.proto.collector.logs.v1;

export const ExportLogsServiceRequest = logs.ExportLogsServiceRequest;
export const ExportLogsServiceResponse = logs.ExportLogsServiceResponse;
const metrics = root.opentelemetry.proto.collector.metrics.v1;
export const ExportMetricsServiceRequest = metrics.ExportMetricsServiceRequest;
export const ExportMetricsServiceResponse = metrics.ExportMetricsServiceResponse;

/** toObject options giving exact, JSON-friendly values: 64-bit ints as decimal strings, bytes as base64. */
export const TO_OBJECT = { longs: String, bytes: String, defaults: false, oneofs: false } as const;

/** Decode an ExportLogsServiceRequest with the official code into a plain object (longs as strings). */
export function officialDecode(bytes: Uint8Array): OfficialRequest {
  return ExportLogsServiceRequest.toObject(
    ExportLogsServiceRequest.decode(bytes),
    TO_OBJECT,
  ) as unknown as OfficialRequest;
}

export interface OfficialAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: OfficialAnyValue[] };
  kvlistValue?: { values?: OfficialKeyValue[] };
  bytesValue?: string;
}
export interface OfficialKeyValue {
  key: string;
  value?: OfficialAnyValue;
}
export interface OfficialLogRecord {
  timeUnixNano?: string;
  observedTimeUnixNano?: string;
  severityNumber?: number;
  severityText?: string;
  body?: OfficialAnyValue;
  attributes?: OfficialKeyValue[];
  droppedAttributesCount?: number;
  flags?: number;
  traceId?: string; // base64 (protobufjs bytes)
  spanId?: string;
  eventName?: string;
}
export interface OfficialRequest {
  resourceLogs?: {
    resource?: { attributes?: OfficialKeyValue[] };
    scopeLogs?: { scope?: { name?: string; version?: string }; logRecords?: OfficialLogRecord[]; schemaUrl?: string }[];
    schemaUrl?: string;
  }[];
}

/** OTLP/JSON text or object → the official message as a plain object (same form as officialDecode). Hex
 * trace/span ids become bytes, then fromObject (it accepts int64 decimal strings), then a protobuf round trip:
 * protobufjs's fromObject marks fixed64 times as signed, decode reads them back unsigned. */
export function officialFromJson(json: string | Record<string, unknown>): OfficialRequest {
  const d = (typeof json === 'string' ? JSON.parse(json) : structuredClone(json)) as {
    resourceLogs?: { scopeLogs?: { logRecords?: Record<string, unknown>[] }[] }[];
  };
  for (const rl of d.resourceLogs ?? [])
    for (const sl of rl.scopeLogs ?? [])
      for (const lr of sl.logRecords ?? [])
        for (const f of ['traceId', 'spanId'])
          if (typeof lr[f] === 'string') {
            if (!/^([0-9a-fA-F]{2})*$/.test(lr[f] as string))
              throw new Error(`${f} ${JSON.stringify(lr[f])} is not hex`);
            lr[f] = Buffer.from(lr[f] as string, 'hex');
          }
  const msg = ExportLogsServiceRequest.fromObject(d as Record<string, unknown>);
  return officialDecode(ExportLogsServiceRequest.encode(msg).finish());
}

export interface OfficialNumberDataPoint {
  attributes?: OfficialKeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  asDouble?: number;
  asInt?: string;
}
export interface OfficialHistogramDataPoint {
  attributes?: OfficialKeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  count?: string;
  sum?: number;
  bucketCounts?: string[];
  explicitBounds?: number[];
}
export interface OfficialMetric {
  name?: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints?: OfficialNumberDataPoint[] };
  sum?: { dataPoints?: OfficialNumberDataPoint[]; aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: { dataPoints?: OfficialHistogramDataPoint[]; aggregationTemporality?: number };
  exponentialHistogram?: Record<string, unknown>;
  summary?: Record<string, unknown>;
}
export interface OfficialMetricsRequest {
  resourceMetrics?: {
    resource?: { attributes?: OfficialKeyValue[] };
    scopeMetrics?: { scope?: { name?: string; version?: string }; metrics?: OfficialMetric[] }[];
  }[];
}

/** Decode an ExportMetricsServiceRequest with the official code into a plain object (longs as strings). */
export function officialDecodeMetrics(bytes: Uint8Array): OfficialMetricsRequest {
  return ExportMetricsServiceRequest.toObject(
    ExportMetricsServiceRequest.decode(bytes),
    TO_OBJECT,
  ) as unknown as OfficialMetricsRequest;
}

/** OTLP/JSON metrics → the same form as officialDecodeMetrics (a protobuf round trip, as officialFromJson). */
export function officialMetricsFromJson(json: string): OfficialMetricsRequest {
  const msg = ExportMetricsServiceRequest.fromObject(JSON.parse(json) as Record<string, unknown>);
  return officialDecodeMetrics(ExportMetricsServiceRequest.encode(msg).finish());
}

// ---- traces (kata-otel's self-tracing) -------------------------------------------------------------------
const traces = root.opentelemetry.proto.collector.trace.v1;
export const ExportTraceServiceRequest = traces.ExportTraceServiceRequest;
export const ExportTraceServiceResponse = traces.ExportTraceServiceResponse;

export interface OfficialSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: OfficialKeyValue[];
  status?: { code?: number; message?: string };
}

export interface OfficialTraceRequest {
  resourceSpans?: {
    resource?: { attributes?: OfficialKeyValue[] };
    scopeSpans?: { scope?: { name?: string; version?: string }; spans?: OfficialSpan[] }[];
  }[];
}

/** Decode an ExportTraceServiceRequest with the official code (ids base64, longs as strings). */
export function officialDecodeTraces(bytes: Uint8Array): OfficialTraceRequest {
  return ExportTraceServiceRequest.toObject(
    ExportTraceServiceRequest.decode(bytes),
    TO_OBJECT,
  ) as unknown as OfficialTraceRequest;
}
