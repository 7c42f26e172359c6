// Spans (and metric points) as a delivery-queue payload: SIGNAL_BODY (0x01), a kind byte, then JSON with the
// bigint times as decimal strings. The queue stores and concatenates payloads as they are (queue/codec.ts);
// JSON.stringify escapes every control character, so 0x01 never occurs inside the JSON and splitting on it
// recovers each payload. The exporter encodes the OTLP request when it sends (spans are few; one JSON form
// serves protobuf, OTLP/JSON, the store and stdout, and a protocol change between runs).
import type { MetricData } from '../lifecycle/metrics.js';
import type { KataSpan } from '../lifecycle/types.js';
import { SIGNAL_BODY } from '../queue/codec.js';

export type SignalKind = 't' | 'm';

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

/** The items of every `kind` payload in `bytes` (one or several concatenated); throws on anything else. */
export function decodeSignalPayloads(bytes: Uint8Array, kind: SignalKind): unknown[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const items: unknown[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] !== SIGNAL_BODY || buf[pos + 1] !== kind.charCodeAt(0))
      throw new Error(`not a '${kind}' signal payload at byte ${pos}`);
    const next = buf.indexOf(SIGNAL_BODY, pos + 2);
    const end = next < 0 ? buf.length : next;
    const arr: unknown = JSON.parse(buf.toString('utf8', pos + 2, end));
    if (!Array.isArray(arr)) throw new Error(`signal payload at byte ${pos} is not a JSON array`);
    items.push(...(arr as unknown[]));
    pos = end;
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
