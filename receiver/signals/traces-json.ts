// OTLP/JSON ExportTraceServiceRequest text → KataSpan[] (the Resource attributes merged into each span's, as a
// KataSpan holds them). Only for spans queued as OTLP/JSON ('j' payloads, ./payload.ts) that meet an exporter
// of another form after a protocol change between runs; test/signals/payload.test.ts round-trips it.
import { jsonAttributesInto, jsonU64 } from '../otlp/decode.js';
import type { KataSpan, SpanStatusCode } from '../lifecycle/types.js';
import type { Attributes } from '../model/record.js';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function decodeTracesJson(text: string): KataSpan[] {
  const out: KataSpan[] = [];
  for (const rs of arr(obj(JSON.parse(text)).resourceSpans)) {
    const resource: Attributes = {};
    jsonAttributesInto(obj(obj(rs).resource).attributes, resource);
    for (const ss of arr(obj(rs).scopeSpans))
      for (const x of arr(obj(ss).spans)) {
        const sp = obj(x);
        const attributes: Attributes = { ...resource };
        jsonAttributesInto(sp.attributes, attributes);
        const st = obj(sp.status);
        const code = st.code === 1 || st.code === 2 ? st.code : 0;
        out.push({
          traceId: str(sp.traceId),
          spanId: str(sp.spanId),
          parentSpanId: str(sp.parentSpanId),
          name: str(sp.name),
          startTimeUnixNano: jsonU64(sp.startTimeUnixNano),
          endTimeUnixNano: jsonU64(sp.endTimeUnixNano),
          attributes,
          events: arr(sp.events).map((e) => {
            const a: Attributes = {};
            jsonAttributesInto(obj(e).attributes, a);
            return { name: str(obj(e).name), timeUnixNano: jsonU64(obj(e).timeUnixNano), attributes: a };
          }),
          status: st.message
            ? { code: code as SpanStatusCode, message: str(st.message) }
            : { code: code as SpanStatusCode },
        });
      }
  }
  return out;
}
