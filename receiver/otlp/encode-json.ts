// KataLogRecord[] → OTLP/JSON ExportLogsServiceRequest, written the way the OpenTelemetry Collector's pdata
// JSON marshaler (file exporter) writes it, so its `otlpjsonfile` receiver reads our files back:
// lowerCamelCase keys in the Collector's field order; 64-bit integers (times, intValue) as decimal strings;
// severityNumber as an integer (OTLP/JSON forbids enum names); traceId/spanId as hex, omitted when empty;
// zero/empty scalars omitted except `body`; doubles as JSON numbers, NaN/±Infinity as "NaN"/"Infinity"/
// "-Infinity" strings. (Checked against opentelemetry-collector pdata/internal/generated_proto_*.go
// MarshalJSON and opentelemetry-proto docs/specification.md "JSON Protobuf Encoding".)
// One request per call, no trailing newline: a JSON-lines writer adds the `\n`.
import type { Attributes, KataLogRecord } from '../model/record.js';
import type { EncodeOptions } from './encode-proto.js';
import { groupByResource, isResourceKey, SCOPE_NAME, SCOPE_VERSION } from './resource.js';
import { bodyOf, normalizeId, otherToString, toU64, wellFormed } from './values.js';

export const str = (s: string): string => JSON.stringify(wellFormed(s));

function anyValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return '{"stringValue":' + str(v) + '}';
    case 'boolean':
      return v ? '{"boolValue":true}' : '{"boolValue":false}';
    case 'number':
      if (Number.isSafeInteger(v)) return '{"intValue":"' + String(v) + '"}';
      if (Number.isNaN(v)) return '{"doubleValue":"NaN"}';
      if (!Number.isFinite(v)) return v > 0 ? '{"doubleValue":"Infinity"}' : '{"doubleValue":"-Infinity"}';
      return '{"doubleValue":' + JSON.stringify(v) + '}';
    case 'bigint':
      return '{"intValue":"' + BigInt.asIntN(64, v).toString() + '"}';
    default:
      if (Array.isArray(v)) {
        if (v.length === 0) return '{"arrayValue":{}}';
        let s = '{"arrayValue":{"values":[';
        for (let i = 0; i < v.length; i++) {
          const e: unknown = v[i];
          s += (i ? ',' : '') + anyValue(e === undefined || e === null ? '' : e);
        }
        return s + ']}}';
      }
      return '{"stringValue":' + str(otherToString(v)) + '}';
  }
}

export const keyValue = (k: string, v: unknown): string => '{"key":' + str(k) + ',"value":' + anyValue(v) + '}';

/** Record (non-resource) attributes as OTLP/JSON KeyValues, comma-separated. */
export function attributes(attrs: Attributes): string {
  let s = '';
  for (const k in attrs) {
    if (isResourceKey(k)) continue;
    const v = attrs[k];
    if (v === undefined || v === null) continue;
    s += (s ? ',' : '') + keyValue(k, v);
  }
  return s;
}

function logRecord(r: KataLogRecord): string {
  // Leading commas everywhere, the first one dropped at the end: body is always present.
  let s = '';
  const t = toU64(r.timeUnixNano);
  if (t !== 0n) s += ',"timeUnixNano":"' + t.toString() + '"';
  const o = toU64(r.observedTimeUnixNano);
  if (o !== 0n) s += ',"observedTimeUnixNano":"' + o.toString() + '"';
  const sev = r.severityNumber;
  if (typeof sev === 'number' && Number.isInteger(sev) && sev !== 0 && Math.abs(sev) < 2 ** 31)
    s += ',"severityNumber":' + String(sev);
  if (typeof r.severityText === 'string' && r.severityText !== '') s += ',"severityText":' + str(r.severityText);
  s += ',"body":' + anyValue(bodyOf(r.body));
  const attrs = r.attributes && typeof r.attributes === 'object' ? attributes(r.attributes) : '';
  if (attrs) s += ',"attributes":[' + attrs + ']';
  const traceId = normalizeId(r.traceId, 16);
  if (traceId) s += ',"traceId":"' + traceId + '"';
  const spanId = normalizeId(r.spanId, 8);
  if (spanId) s += ',"spanId":"' + spanId + '"';
  if (typeof r.eventName === 'string' && r.eventName !== '') s += ',"eventName":' + str(r.eventName);
  return '{' + s.slice(1) + '}';
}

export const SCOPE_JSON = '{"name":' + str(SCOPE_NAME) + ',"version":' + str(SCOPE_VERSION) + '}';

/** Encode records as one OTLP/JSON ExportLogsServiceRequest (Collector file-exporter form). Never throws on
 * odd field values. */
export function encodeLogsJson(records: readonly KataLogRecord[], opts: EncodeOptions = {}): string {
  const groups = groupByResource(records, opts.resource);
  if (groups.length === 0) return '{}';
  let s = '{"resourceLogs":[';
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    let res = '';
    for (const [k, v] of group.resource) res += (res ? ',' : '') + keyValue(k, v);
    s += (g ? ',' : '') + '{"resource":' + (res ? '{"attributes":[' + res + ']}' : '{}');
    s += ',"scopeLogs":[{"scope":' + SCOPE_JSON + ',"logRecords":[';
    for (let i = 0; i < group.records.length; i++) s += (i ? ',' : '') + logRecord(group.records[i]!);
    s += ']}]}';
  }
  return s + ']}';
}
