// KataSpan[] → ExportTraceServiceRequest, protobuf (opentelemetry-proto collector/trace/v1) and OTLP/JSON in the
// Collector file-exporter form (same conventions as encode-json.ts). Spans are few (a dozen per sandbox
// lifetime), so the protobuf side is a plain nested writer, not the scratch-buffer one of the logs hot path.
// Field numbers from trace.proto / common.proto; test/otlp/encode-traces.test.ts decodes the output with the
// official generated code.
import type { KataSpan, SpanEvent } from '../lifecycle/types.js';
import type { Attributes } from '../model/record.js';
import { attributes as jsonAttributes, keyValue as jsonKeyValue, SCOPE_JSON, str } from './encode-json.js';
import type { EncodeOptions } from './encode-proto.js';
import { groupByResource, isResourceKey, SCOPE_NAME, SCOPE_VERSION } from './resource.js';
import { fixed64, keyValue, len, tag, text, varint, type Part } from './proto-writer.js';
import { normalizeId, toU64 } from './values.js';

/** SpanKind INTERNAL: the steps are inside Kata, not RPCs kata-otel saw. */
const SPAN_KIND_INTERNAL = 1;

// ---- protobuf ----------------------------------------------------------------------------------------------

function attrs(field: number, a: Attributes, skipResource: boolean): Part[] {
  const out: Part[] = [];
  for (const k in a) {
    if (skipResource && isResourceKey(k)) continue;
    const v = a[k];
    if (v === undefined || v === null) continue;
    out.push(len(field, keyValue(k, v)));
  }
  return out;
}

function idBytes(field: number, id: string, bytes: number): Part[] {
  const hex = normalizeId(id, bytes);
  return hex ? [len(field, Buffer.from(hex, 'hex'))] : [];
}

function event(e: SpanEvent): Buffer {
  return Buffer.concat([fixed64(1, e.timeUnixNano), text(2, e.name), ...attrs(3, e.attributes, false)]);
}

function span(s: KataSpan): Buffer {
  const status: Part[] = [];
  if (s.status.message) status.push(text(2, s.status.message));
  if (s.status.code) status.push(Buffer.concat([tag(3, 0), varint(s.status.code)]));
  return Buffer.concat([
    ...idBytes(1, s.traceId, 16),
    ...idBytes(2, s.spanId, 8),
    ...idBytes(4, s.parentSpanId, 8),
    text(5, s.name),
    tag(6, 0),
    varint(SPAN_KIND_INTERNAL),
    fixed64(7, s.startTimeUnixNano),
    fixed64(8, s.endTimeUnixNano),
    ...attrs(9, s.attributes, true),
    ...s.events.map((e) => len(11, event(e))),
    len(15, Buffer.concat(status)),
  ]);
}

/** One ExportTraceServiceRequest: spans grouped by resource (sandbox, component). */
export function encodeTracesProto(spans: readonly KataSpan[], opts: EncodeOptions = {}): Uint8Array {
  const scope = Buffer.concat([text(1, SCOPE_NAME), text(2, SCOPE_VERSION)]);
  const out: Part[] = [];
  for (const g of groupByResource(spans, opts.resource)) {
    const resource = Buffer.concat(g.resource.map(([k, v]) => len(1, keyValue(k, v))));
    const scopeSpans = Buffer.concat([len(1, scope), ...g.records.map((s) => len(2, span(s)))]);
    out.push(len(1, Buffer.concat([len(1, resource), len(2, scopeSpans)])));
  }
  return Buffer.concat(out);
}

// ---- OTLP/JSON ---------------------------------------------------------------------------------------------

function jsonSpan(s: KataSpan): string {
  let o = '';
  const t = normalizeId(s.traceId, 16);
  if (t) o += ',"traceId":"' + t + '"';
  const id = normalizeId(s.spanId, 8);
  if (id) o += ',"spanId":"' + id + '"';
  const p = normalizeId(s.parentSpanId, 8);
  if (p) o += ',"parentSpanId":"' + p + '"';
  o += ',"name":' + str(s.name) + ',"kind":' + String(SPAN_KIND_INTERNAL);
  o += ',"startTimeUnixNano":"' + toU64(s.startTimeUnixNano).toString() + '"';
  o += ',"endTimeUnixNano":"' + toU64(s.endTimeUnixNano).toString() + '"';
  const a = jsonAttributes(s.attributes);
  if (a) o += ',"attributes":[' + a + ']';
  if (s.events.length) {
    o += ',"events":[';
    s.events.forEach((e, i) => {
      const ea = jsonAttributes(e.attributes);
      o += (i ? ',' : '') + '{"timeUnixNano":"' + toU64(e.timeUnixNano).toString() + '","name":' + str(e.name);
      o += (ea ? ',"attributes":[' + ea + ']' : '') + '}';
    });
    o += ']';
  }
  let st = '';
  if (s.status.message) st += ',"message":' + str(s.status.message);
  if (s.status.code) st += ',"code":' + String(s.status.code);
  o += ',"status":{' + st.slice(1) + '}';
  return '{' + o.slice(1) + '}';
}

/** One OTLP/JSON ExportTraceServiceRequest (Collector file-exporter form, one line: add the `\n` yourself). */
export function encodeTracesJson(spans: readonly KataSpan[], opts: EncodeOptions = {}): string {
  const groups = groupByResource(spans, opts.resource);
  if (groups.length === 0) return '{}';
  let s = '{"resourceSpans":[';
  groups.forEach((g, i) => {
    let res = '';
    for (const [k, v] of g.resource) res += (res ? ',' : '') + jsonKeyValue(k, v);
    s += (i ? ',' : '') + '{"resource":' + (res ? '{"attributes":[' + res + ']}' : '{}');
    s += ',"scopeSpans":[{"scope":' + SCOPE_JSON + ',"spans":[' + g.records.map(jsonSpan).join(',') + ']}]}';
  });
  return s + ']}';
}
