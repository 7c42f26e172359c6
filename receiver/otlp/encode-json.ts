// KataLogRecord[] → OTLP/JSON ExportLogsServiceRequest, written the way the OpenTelemetry Collector's pdata
// JSON marshaler (file exporter) writes it, so its `otlpjsonfile` receiver reads our files back:
// lowerCamelCase keys in the Collector's field order; 64-bit integers (times, intValue) as decimal strings;
// severityNumber as an integer (OTLP/JSON forbids enum names); traceId/spanId as hex, omitted when empty;
// zero/empty scalars omitted except `body`; doubles as JSON numbers, NaN/±Infinity as "NaN"/"Infinity"/
// "-Infinity" strings. (Checked against opentelemetry-collector pdata/internal/generated_proto_*.go
// MarshalJSON and opentelemetry-proto docs/specification.md "JSON Protobuf Encoding".)
// One request per call, no trailing newline: a JSON-lines writer adds the `\n` (encodeLogsJsonLine does).
//
// Written as UTF-8 bytes (json-bytes.ts) rather than by string concatenation: the store exporter (the default)
// encodes every record this way, and the concatenated version built ~8 KB of short-lived strings per record.
// Strings are written as JSON.stringify writes them after lone surrogates become U+FFFD (wellFormed).
import type { Attributes, KataLogRecord } from '../model/record.js';
import type { EncodeOptions } from './encode-proto.js';
import { groupByResource, isResourceKey, SCOPE_NAME, SCOPE_VERSION } from './resource.js';
import { ascii, begin, int, jsonString, mark, raw, rewind, setByte, take, text, u64 } from './json-bytes.js';
import { bodyOf, jsonText, normalizeId, otherToString, toU64 } from './values.js';
import type { ExtraAttributesOf } from './extra.js';

export const str = jsonText;

// ---- values ---------------------------------------------------------------------------------------------

function anyValue(v: unknown): void {
  switch (typeof v) {
    case 'string':
      ascii('{"stringValue":');
      jsonString(v);
      ascii('}');
      return;
    case 'boolean':
      return ascii(v ? '{"boolValue":true}' : '{"boolValue":false}');
    case 'number':
      if (Number.isSafeInteger(v)) {
        ascii('{"intValue":"');
        int(v);
        return ascii('"}');
      }
      if (Number.isNaN(v)) return ascii('{"doubleValue":"NaN"}');
      if (!Number.isFinite(v)) return ascii(v > 0 ? '{"doubleValue":"Infinity"}' : '{"doubleValue":"-Infinity"}');
      return ascii('{"doubleValue":' + JSON.stringify(v) + '}');
    case 'bigint':
      return ascii('{"intValue":"' + BigInt.asIntN(64, v).toString() + '"}');
    default:
      if (Array.isArray(v)) {
        if (v.length === 0) return ascii('{"arrayValue":{}}');
        ascii('{"arrayValue":{"values":[');
        for (let i = 0; i < v.length; i++) {
          const e: unknown = v[i];
          if (i) ascii(',');
          anyValue(e === undefined || e === null ? '' : e);
        }
        return ascii(']}}');
      }
      ascii('{"stringValue":');
      jsonString(otherToString(v));
      ascii('}');
  }
}

// `{"key":"<k>","value":` per attribute key, kept as text for the keys seen (they repeat on every record).
// Bounded: an input with endless distinct keys builds the prefix each time.
const keyPrefixes = new Map<string, string>();
const MAX_KEY_PREFIXES = 2048;
function keyPrefix(k: string): string {
  let p = keyPrefixes.get(k);
  if (p === undefined) {
    p = '{"key":' + str(k) + ',"value":';
    if (keyPrefixes.size < MAX_KEY_PREFIXES) keyPrefixes.set(k, p);
  }
  return p;
}

function writeKeyValue(k: string, v: unknown): void {
  raw(keyPrefix(k));
  anyValue(v);
  ascii('}');
}

/** Record (non-resource) attributes, comma-separated; whether any was written. */
function writeAttributes(attrs: Attributes): boolean {
  let first = true;
  for (const k in attrs) {
    if (isResourceKey(k)) continue;
    const v = attrs[k];
    if (v === undefined || v === null) continue;
    if (!first) ascii(',');
    first = false;
    writeKeyValue(k, v);
  }
  return !first;
}

/** The extra attributes of the current call's records (EncodeOptions.extra). */
let extraOf: ExtraAttributesOf | undefined;

function writeLogRecord(r: KataLogRecord): void {
  // Leading commas everywhere, the first one overwritten with `{` at the end: body is always present.
  const start = mark();
  const t = toU64(r.timeUnixNano);
  if (t !== 0n) {
    ascii(',"timeUnixNano":"');
    u64(t);
    ascii('"');
  }
  const o = toU64(r.observedTimeUnixNano);
  if (o !== 0n) {
    ascii(',"observedTimeUnixNano":"');
    u64(o);
    ascii('"');
  }
  const sev = r.severityNumber;
  if (typeof sev === 'number' && Number.isInteger(sev) && sev !== 0 && Math.abs(sev) < 2 ** 31) {
    ascii(',"severityNumber":');
    int(sev);
  }
  if (typeof r.severityText === 'string' && r.severityText !== '') {
    ascii(',"severityText":');
    jsonString(r.severityText);
  }
  ascii(',"body":');
  anyValue(bodyOf(r.body));
  const extra = extraOf?.get(r);
  if ((r.attributes && typeof r.attributes === 'object') || extra) {
    const at = mark();
    ascii(',"attributes":[');
    let any = r.attributes && typeof r.attributes === 'object' ? writeAttributes(r.attributes) : false;
    if (extra)
      for (let i = 0; i + 1 < extra.length; i += 2) {
        const v = extra[i + 1];
        if (v === undefined || v === null) continue;
        if (any) ascii(',');
        any = true;
        writeKeyValue(extra[i] as string, v);
      }
    if (any) ascii(']');
    else rewind(at);
  }
  const traceId = normalizeId(r.traceId, 16);
  if (traceId) {
    ascii(',"traceId":"');
    ascii(traceId);
    ascii('"');
  }
  const spanId = normalizeId(r.spanId, 8);
  if (spanId) {
    ascii(',"spanId":"');
    ascii(spanId);
    ascii('"');
  }
  if (typeof r.eventName === 'string' && r.eventName !== '') {
    ascii(',"eventName":');
    jsonString(r.eventName);
  }
  setByte(start, 123); // `{` over the leading comma
  ascii('}');
}

/** Writes the request from the scratch buffer's start. */
function writeRequest(records: readonly KataLogRecord[], opts: EncodeOptions): void {
  begin();
  const groups = groupByResource(records, opts.resource);
  if (groups.length === 0) return ascii('{}');
  extraOf = opts.extra;
  ascii('{"resourceLogs":[');
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    if (g) ascii(',');
    if (group.resource.length === 0) ascii('{"resource":{}');
    else {
      ascii('{"resource":{"attributes":[');
      for (let i = 0; i < group.resource.length; i++) {
        const [k, v] = group.resource[i]!;
        if (i) ascii(',');
        writeKeyValue(k, v);
      }
      ascii(']}');
    }
    ascii(',"scopeLogs":[{"scope":' + SCOPE_JSON + ',"logRecords":[');
    for (let i = 0; i < group.records.length; i++) {
      if (i) ascii(',');
      writeLogRecord(group.records[i]!);
    }
    ascii(']}]}');
  }
  ascii(']}');
  extraOf = undefined;
}

/** The text `write` writes (at the scratch buffer's current end, which is set back): for the string API. */
function asText(write: () => void): string {
  const start = mark();
  write();
  return text(start);
}

export const keyValue = (k: string, v: unknown): string => asText(() => writeKeyValue(k, v));

/** Record (non-resource) attributes as OTLP/JSON KeyValues, comma-separated. */
export const attributes = (attrs: Attributes): string => asText(() => void writeAttributes(attrs));

export const SCOPE_JSON = '{"name":' + str(SCOPE_NAME) + ',"version":' + str(SCOPE_VERSION) + '}';

/** Encode records as one OTLP/JSON ExportLogsServiceRequest (Collector file-exporter form). Never throws on
 * odd field values. */
export function encodeLogsJson(records: readonly KataLogRecord[], opts: EncodeOptions = {}): string {
  writeRequest(records, opts);
  return text();
}

/** The same request as UTF-8 bytes with a trailing `\n`: one JSON line of a store file, no string in between. */
export function encodeLogsJsonLine(records: readonly KataLogRecord[], opts: EncodeOptions = {}): Buffer {
  writeRequest(records, opts);
  ascii('\n');
  return take();
}
