// The guest agent's own spans (kata-tracing.md §2–3): the agent connects to vsock port 10240 on the host and
// writes, per span, an 8-byte big-endian length and the payload. Decoded: the JSON era (Kata ≥ 3.29.0,
// `serde_json` of opentelemetry-rust 0.17 SpanData; trace and span ids are bare JSON integers up to 2^128, kept
// exact). Not decoded: the bincode era (Kata 2.2.0–3.28.0): those frames are counted as undecodable.
// The payload is guest text, so hostile: frames are capped (oversized: the connection is dropped, its framing
// cannot be trusted), every field is checked, nothing in a span names the sandbox (the socket it came in on
// does), and the ids are re-derived so a guest cannot collide with the lifecycle spans (./stage.ts).
import type { Attributes } from '../model/record.js';
import { ATTR_KATA_AGENT_SPAN_ATTRIBUTE } from '../semconv/generated.js';

export interface AgentSpan {
  /** Hex as the agent wrote them (32 / 16 digits); parent '' for a root. */
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  events: { name: string; timeUnixNano: bigint; attributes: Attributes }[];
  status: { code: 0 | 1 | 2; message: string };
}

export type FrameOutcome =
  { kind: 'span'; span: AgentSpan } | { kind: 'undecodable'; reason: string } | { kind: 'oversized'; bytes: bigint };

const HEADER = 8;
const MAX_ATTRIBUTES = 128;
const MAX_STRING = 4096;

/** Splits a byte stream into frames; `push` returns the outcomes of the frames completed so far. */
export class AgentFrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private dead = false;

  constructor(private readonly maxFrameBytes: number) {}

  /** True once an oversized frame was seen: the caller drops the connection. */
  get broken(): boolean {
    return this.dead;
  }

  /** Bytes held of an unfinished frame (at end of stream: a truncated frame). */
  get pending(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): FrameOutcome[] {
    if (this.dead) return [];
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: FrameOutcome[] = [];
    while (this.buf.length >= HEADER) {
      const len = this.buf.readBigUInt64BE(0);
      if (len > BigInt(this.maxFrameBytes)) {
        this.dead = true;
        this.buf = Buffer.alloc(0);
        out.push({ kind: 'oversized', bytes: len });
        break;
      }
      const n = Number(len);
      if (this.buf.length < HEADER + n) break;
      out.push(decodeAgentSpan(this.buf.subarray(HEADER, HEADER + n)));
      this.buf = this.buf.subarray(HEADER + n);
    }
    return out;
  }
}

const hex = (v: unknown, digits: number): string | undefined => {
  if (typeof v !== 'string' || !/^\d{1,40}$/.test(v)) return undefined;
  const n = BigInt(v);
  if (n >= 1n << BigInt(digits * 4)) return undefined;
  return n.toString(16).padStart(digits, '0');
};

function time(v: unknown): bigint | undefined {
  const t = v as { secs_since_epoch?: unknown; nanos_since_epoch?: unknown } | null;
  if (!t || typeof t.secs_since_epoch !== 'number' || typeof t.nanos_since_epoch !== 'number') return undefined;
  if (!Number.isSafeInteger(t.secs_since_epoch) || t.secs_since_epoch < 0) return undefined;
  return BigInt(t.secs_since_epoch) * 1_000_000_000n + BigInt(Math.max(0, Math.trunc(t.nanos_since_epoch)));
}

const cut = (s: string) => (s.length > MAX_STRING ? s.slice(0, MAX_STRING) : s);

/** An opentelemetry-rust `Value` ({"String":"x"}, {"I64":5}, {"Bool":true}, {"F64":1.5}, {"Array":{…}}). */
function value(v: unknown): Attributes[string] | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const [tag, x] = Object.entries(v as Record<string, unknown>)[0] ?? [];
  if (tag === 'String' && typeof x === 'string') return cut(x);
  if ((tag === 'I64' || tag === 'F64') && typeof x === 'number') return x;
  if (tag === 'Bool' && typeof x === 'boolean') return x;
  if (tag === 'Array' && x && typeof x === 'object') {
    const arr = Object.values(x as Record<string, unknown>)[0];
    if (Array.isArray(arr)) return arr.slice(0, MAX_ATTRIBUTES).map((e) => cut(String(e)));
  }
  return undefined;
}

function attributes(entries: [string, unknown][]): Attributes {
  const out: Attributes = {};
  for (const [k, v] of entries.slice(0, MAX_ATTRIBUTES)) {
    const x = value(v);
    if (x !== undefined) out[ATTR_KATA_AGENT_SPAN_ATTRIBUTE(cut(k))] = x;
  }
  return out;
}

const STATUS: Record<string, 0 | 1 | 2> = { Unset: 0, Ok: 1, Error: 2 };

/** One JSON-era payload → a span, or why not. Never throws. */
export function decodeAgentSpan(payload: Buffer): FrameOutcome {
  if (payload[0] !== 0x7b /* { */)
    return { kind: 'undecodable', reason: 'not a JSON object (a bincode-era agent, Kata < 3.29, or garbage)' };
  let doc: Record<string, unknown>;
  try {
    // serde_json writes the u128 trace id and u64 span ids as bare integers: quote them before JSON.parse so
    // they stay exact (JSON.parse would round them to doubles).
    const text = payload
      .toString('utf8')
      .replace(/"(trace_id|span_id|parent_span_id)":(\d{1,40})(?=[,}])/g, '"$1":"$2"');
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    return { kind: 'undecodable', reason: `not JSON: ${(err as Error).message.slice(0, 120)}` };
  }
  if (!doc || typeof doc !== 'object') return { kind: 'undecodable', reason: 'not a JSON object' };
  const ctx = doc.span_context as Record<string, unknown> | undefined;
  const traceId = hex(ctx?.trace_id, 32);
  const spanId = hex(ctx?.span_id, 16);
  const parent = doc.parent_span_id === undefined ? '0' : doc.parent_span_id;
  const parentSpanId = hex(parent, 16);
  const start = time(doc.start_time);
  const end = time(doc.end_time);
  if (!traceId || !spanId || parentSpanId === undefined || start === undefined || end === undefined)
    return { kind: 'undecodable', reason: 'missing or malformed span_context, parent_span_id or times' };
  if (typeof doc.name !== 'string') return { kind: 'undecodable', reason: 'name is not a string' };
  const map = (doc.attributes as { map?: unknown } | undefined)?.map;
  const queue = (doc.events as { queue?: unknown } | undefined)?.queue;
  const events = (Array.isArray(queue) ? queue : []).slice(0, MAX_ATTRIBUTES).flatMap((e: unknown) => {
    const ev = e as { name?: unknown; timestamp?: unknown; attributes?: unknown };
    const t = time(ev.timestamp);
    if (typeof ev.name !== 'string' || t === undefined) return [];
    const kvs = Array.isArray(ev.attributes) ? (ev.attributes as { key?: unknown; value?: unknown }[]) : [];
    return [
      {
        name: cut(ev.name),
        timeUnixNano: t,
        attributes: attributes(kvs.filter((kv) => typeof kv.key === 'string').map((kv) => [String(kv.key), kv.value])),
      },
    ];
  });
  return {
    kind: 'span',
    span: {
      traceId,
      spanId,
      parentSpanId: /^0+$/.test(parentSpanId) ? '' : parentSpanId,
      name: cut(doc.name),
      kind: typeof doc.span_kind === 'string' ? doc.span_kind : 'Internal',
      startTimeUnixNano: start,
      endTimeUnixNano: end < start ? start : end,
      attributes: map && typeof map === 'object' ? attributes(Object.entries(map)) : {},
      events,
      status: {
        code: STATUS[String(doc.status_code)] ?? 0,
        message: typeof doc.status_message === 'string' ? cut(doc.status_message) : '',
      },
    },
  };
}
