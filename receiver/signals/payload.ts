// Spans (and metric points) as a delivery-queue payload: SIGNAL_BODY (0x01), a kind byte, then JSON. Kind 't'
// (spans) and 'm' (metric points): kata-otel's own JSON of the items, bigint times as decimal strings, encoded
// in the exporter's form when it sends. Kind 'j': spans already encoded as one OTLP/JSON ExportTraceServiceRequest,
// for the exporters that send OTLP/JSON (the store, stdout otlp-json, OTLP http/json): encoded once, when
// queued, and sent as they are (a storm of lifetimes makes two spans per line: bench/README.md "Lifecycle per
// record"). Either kind can meet either exporter after a protocol change between runs; ./exporters.ts converts.
// The queue stores and concatenates payloads as they are (queue/codec.ts); JSON.stringify (and the OTLP/JSON
// encoder, through it) escapes every control character, so 0x01 never occurs inside the JSON and splitting on it
// recovers each payload.
import type { MetricData } from '../lifecycle/metrics.js';
import type { KataSpan } from '../lifecycle/types.js';
import { SIGNAL_BODY } from '../queue/codec.js';

export type SignalKind = 't' | 'm' | 'j';

/** A decimal-string time back to bigint (0n when malformed). */
export const big = (v: unknown): bigint => (typeof v === 'string' && /^\d{1,20}$/.test(v) ? BigInt(v) : 0n);
/** JSON.stringify replacer: bigint times as decimal strings. */
export const asString = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

/** A span read back from JSON (times as decimal strings); other fields are kept as they are. */
export function reviveSpan<T extends KataSpan>(x: unknown): T {
  const s = x as T;
  return {
    ...s,
    startTimeUnixNano: big(s.startTimeUnixNano),
    endTimeUnixNano: big(s.endTimeUnixNano),
    events: (Array.isArray(s.events) ? s.events : []).map((e) => ({ ...e, timeUnixNano: big(e.timeUnixNano) })),
  };
}

export function encodeSignalPayload(kind: SignalKind, items: readonly unknown[]): Uint8Array {
  const json = Buffer.from(JSON.stringify(items, asString), 'utf8');
  const out = Buffer.allocUnsafe(2 + json.length);
  out[0] = SIGNAL_BODY;
  out[1] = kind.charCodeAt(0);
  json.copy(out, 2);
  return out;
}

/** A payload whose JSON is already written (kind 'j'). */
export function textSignalPayload(kind: SignalKind, json: string): Uint8Array {
  const out = Buffer.allocUnsafe(2 + Buffer.byteLength(json, 'utf8'));
  out[0] = SIGNAL_BODY;
  out[1] = kind.charCodeAt(0);
  out.write(json, 2, 'utf8');
  return out;
}

/** Each payload in `bytes` (one or several concatenated): its kind and JSON text; throws on anything else. */
export function splitSignalPayloads(bytes: Uint8Array): { kind: SignalKind; text: string; at: number }[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { kind: SignalKind; text: string; at: number }[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const kind = String.fromCharCode(buf[pos + 1] ?? 0);
    if (buf[pos] !== SIGNAL_BODY || (kind !== 't' && kind !== 'm' && kind !== 'j'))
      throw new Error(`not a signal payload at byte ${pos}`);
    const next = buf.indexOf(SIGNAL_BODY, pos + 2);
    const end = next < 0 ? buf.length : next;
    out.push({ kind, text: buf.toString('utf8', pos + 2, end), at: pos });
    pos = end;
  }
  return out;
}

/** The items of a kata-otel JSON payload's text (kinds 't', 'm'). */
export function itemsOf(text: string, at = 0): unknown[] {
  const arr: unknown = JSON.parse(text);
  if (!Array.isArray(arr)) throw new Error(`signal payload at byte ${at} is not a JSON array`);
  return arr as unknown[];
}

/** The items of every `kind` payload in `bytes` (one or several concatenated); throws on anything else. */
export function decodeSignalPayloads(bytes: Uint8Array, kind: SignalKind): unknown[] {
  const items: unknown[] = [];
  for (const p of splitSignalPayloads(bytes)) {
    if (p.kind !== kind) throw new Error(`not a '${kind}' signal payload at byte ${p.at}`);
    items.push(...itemsOf(p.text, p.at));
  }
  return items;
}

export const encodeSpans = (spans: readonly KataSpan[]): Uint8Array => encodeSignalPayload('t', spans);

export function decodeSpans(bytes: Uint8Array): KataSpan[] {
  return decodeSignalPayloads(bytes, 't').map((x) => reviveSpan(x));
}

export const encodeMetrics = (metrics: readonly MetricData[]): Uint8Array => encodeSignalPayload('m', metrics);

export function decodeMetrics(bytes: Uint8Array): MetricData[] {
  return decodeSignalPayloads(bytes, 'm').map((x) => {
    const m = x as MetricData;
    return {
      ...m,
      points: m.points.map((p) => ({
        ...p,
        startTimeUnixNano: big(p.startTimeUnixNano),
        timeUnixNano: big(p.timeUnixNano),
      })),
    };
  });
}
