// OTLP logs (protobuf or OTLP/JSON) → KataLogRecord[], flattened: the Resource attributes are merged back
// into each record's attributes (record attributes win on a clash). Used by the embedded store to read its
// own files back and by tests. Bad input never throws: a broken record is skipped and reported through
// `onError`, the rest is returned.
//
// Value mapping (KataLogRecord attributes hold string | number | boolean | string[]):
//   stringValue → string, boolValue → boolean, doubleValue → number,
//   intValue → number when it is a safe integer, else its decimal string (no silent precision loss),
//   arrayValue → string[] (non-string elements as text), kvlistValue → its JSON text, bytesValue → base64.
import type { AttrValue, Attributes, KataLogRecord } from '../model/record.js';
import { ProtoReader } from './proto-reader.js';

export type DecodeErrorHandler = (message: string) => void;

// ---- protobuf ------------------------------------------------------------------------------------------

function pbAnyValue(r: ProtoReader): unknown {
  let v: unknown = undefined;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === 2) v = r.string();
    else if (f === 2 && w === 0) v = r.varint() !== 0;
    else if (f === 3 && w === 0) v = r.int64();
    else if (f === 4 && w === 1) v = r.double();
    else if (f === 5 && w === 2) {
      const a = r.sub();
      const out: unknown[] = [];
      while (!a.done) {
        const [af, aw] = a.tag();
        if (af === 1 && aw === 2) out.push(pbAnyValue(a.sub()));
        else a.skip(aw);
      }
      v = out;
    } else if (f === 6 && w === 2) {
      const l = r.sub();
      const obj: Record<string, unknown> = {};
      while (!l.done) {
        const [lf, lw] = l.tag();
        if (lf === 1 && lw === 2) {
          const [k, val] = pbKeyValue(l.sub());
          obj[k] = val;
        } else l.skip(lw);
      }
      v = { kv: obj };
    } else if (f === 7 && w === 2) {
      const [s, e] = r.bytes();
      v = Buffer.from(r.buf.buffer, r.buf.byteOffset + s, e - s).toString('base64');
    } else r.skip(w);
  }
  return v;
}

function pbKeyValue(r: ProtoReader): [string, unknown] {
  let key = '';
  let value: unknown = undefined;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === 2) key = r.string();
    else if (f === 2 && w === 2) value = pbAnyValue(r.sub());
    else r.skip(w);
  }
  return [key, value];
}

function pbAttributesInto(r: ProtoReader, into: Attributes): void {
  const [k, v] = pbKeyValue(r);
  const a = toAttrValue(v);
  if (a !== undefined) into[k] = a;
}

function pbLogRecord(r: ProtoReader, resource: Attributes): KataLogRecord {
  const rec: KataLogRecord = {
    timeUnixNano: 0n,
    observedTimeUnixNano: 0n,
    severityNumber: 0,
    severityText: '',
    body: '',
    attributes: { ...resource },
  };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === 1) rec.timeUnixNano = r.fixed64();
    else if (f === 2 && w === 0) rec.severityNumber = Number(BigInt.asIntN(32, r.bigVarint()));
    else if (f === 3 && w === 2) rec.severityText = r.string();
    else if (f === 5 && w === 2) rec.body = toText(pbAnyValue(r.sub()));
    else if (f === 6 && w === 2) pbAttributesInto(r.sub(), rec.attributes);
    else if (f === 9 && w === 2) rec.traceId = hexOf(r);
    else if (f === 10 && w === 2) rec.spanId = hexOf(r);
    else if (f === 11 && w === 1) rec.observedTimeUnixNano = r.fixed64();
    else if (f === 12 && w === 2) rec.eventName = r.string();
    else r.skip(w);
  }
  if (rec.traceId === '') delete rec.traceId;
  if (rec.spanId === '') delete rec.spanId;
  return rec;
}

function hexOf(r: ProtoReader): string {
  const [s, e] = r.bytes();
  return Buffer.from(r.buf.buffer, r.buf.byteOffset + s, e - s).toString('hex');
}

/** Decode a protobuf ExportLogsServiceRequest (or LogsData: same field 1). */
export function decodeLogsProto(bytes: Uint8Array, onError?: DecodeErrorHandler): KataLogRecord[] {
  const out: KataLogRecord[] = [];
  const req = new ProtoReader(bytes);
  try {
    while (!req.done) {
      const [f, w] = req.tag();
      if (!(f === 1 && w === 2)) {
        req.skip(w);
        continue;
      }
      const rl = req.sub();
      const resource: Attributes = {};
      const scopes: ProtoReader[] = [];
      while (!rl.done) {
        const [rf, rw] = rl.tag();
        if (rf === 1 && rw === 2) {
          const res = rl.sub();
          while (!res.done) {
            const [af, aw] = res.tag();
            if (af === 1 && aw === 2) pbAttributesInto(res.sub(), resource);
            else res.skip(aw);
          }
        } else if (rf === 2 && rw === 2) scopes.push(rl.sub());
        else rl.skip(rw);
      }
      for (const sl of scopes) {
        while (!sl.done) {
          const [sf, sw] = sl.tag();
          if (sf === 2 && sw === 2) {
            const lr = sl.sub();
            try {
              out.push(pbLogRecord(lr, resource));
            } catch (err) {
              onError?.(`skipped a malformed protobuf LogRecord: ${(err as Error).message}`);
            }
          } else sl.skip(sw);
        }
      }
    }
  } catch (err) {
    onError?.(
      `malformed protobuf ExportLogsServiceRequest at byte ${req.pos}: ${(err as Error).message}; kept ${out.length} records decoded before it`,
    );
  }
  return out;
}

// ---- OTLP/JSON -----------------------------------------------------------------------------------------

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function jsonAnyValue(v: unknown): unknown {
  if (!isObj(v)) return undefined;
  if ('stringValue' in v) return typeof v.stringValue === 'string' ? v.stringValue : String(v.stringValue);
  if ('boolValue' in v) return v.boolValue === true || v.boolValue === 'true';
  if ('intValue' in v) return jsonInt(v.intValue);
  if ('doubleValue' in v) return typeof v.doubleValue === 'number' ? v.doubleValue : Number(v.doubleValue);
  if ('arrayValue' in v) return arr(isObj(v.arrayValue) ? v.arrayValue.values : undefined).map(jsonAnyValue);
  if ('kvlistValue' in v) {
    const obj: Record<string, unknown> = {};
    for (const kv of arr(isObj(v.kvlistValue) ? v.kvlistValue.values : undefined))
      if (isObj(kv) && typeof kv.key === 'string') obj[kv.key] = jsonAnyValue(kv.value);
    return { kv: obj };
  }
  if ('bytesValue' in v) return typeof v.bytesValue === 'string' ? v.bytesValue : '';
  return undefined;
}

function jsonInt(v: unknown): number | bigint | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : undefined;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) {
    const b = BigInt(v);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }
  return undefined;
}

export function jsonU64(v: unknown): bigint {
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt.asUintN(64, BigInt(v));
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return BigInt(Math.trunc(v));
  return 0n;
}

export function jsonAttributesInto(list: unknown, into: Attributes): void {
  for (const kv of arr(list)) {
    if (!isObj(kv) || typeof kv.key !== 'string') continue;
    const a = toAttrValue(jsonAnyValue(kv.value));
    if (a !== undefined) into[kv.key] = a;
  }
}

function jsonLogRecord(lr: Json, resource: Attributes): KataLogRecord {
  const rec: KataLogRecord = {
    timeUnixNano: jsonU64(lr.timeUnixNano),
    observedTimeUnixNano: jsonU64(lr.observedTimeUnixNano),
    severityNumber:
      typeof lr.severityNumber === 'number' ? Math.trunc(lr.severityNumber) : Number(jsonInt(lr.severityNumber) ?? 0),
    severityText: typeof lr.severityText === 'string' ? lr.severityText : '',
    body: toText(jsonAnyValue(lr.body)),
    attributes: { ...resource },
  };
  jsonAttributesInto(lr.attributes, rec.attributes);
  if (typeof lr.eventName === 'string' && lr.eventName !== '') rec.eventName = lr.eventName;
  if (typeof lr.traceId === 'string' && lr.traceId !== '') rec.traceId = lr.traceId.toLowerCase();
  if (typeof lr.spanId === 'string' && lr.spanId !== '') rec.spanId = lr.spanId.toLowerCase();
  return rec;
}

function jsonRequest(doc: unknown, out: KataLogRecord[], onError: DecodeErrorHandler | undefined, where: string): void {
  if (!isObj(doc)) {
    onError?.(`${where}: not an OTLP/JSON object`);
    return;
  }
  for (const rl of arr(doc.resourceLogs)) {
    if (!isObj(rl)) continue;
    const resource: Attributes = {};
    if (isObj(rl.resource)) jsonAttributesInto(rl.resource.attributes, resource);
    for (const sl of arr(rl.scopeLogs)) {
      if (!isObj(sl)) continue;
      for (const lr of arr(sl.logRecords)) {
        if (!isObj(lr)) {
          onError?.(`${where}: skipped a logRecords entry that is not an object`);
          continue;
        }
        try {
          out.push(jsonLogRecord(lr, resource));
        } catch (err) {
          onError?.(`${where}: skipped a malformed log record: ${(err as Error).message}`);
        }
      }
    }
  }
}

/** Decode OTLP/JSON: one ExportLogsServiceRequest / LogsData document, or JSON lines of them (the
 * Collector file-exporter format). A line that does not parse is reported and skipped. */
export function decodeLogsJson(text: string, onError?: DecodeErrorHandler): KataLogRecord[] {
  const out: KataLogRecord[] = [];
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    whole = undefined; // not one document: JSON lines
  }
  if (whole !== undefined) {
    jsonRequest(whole, out, onError, 'OTLP/JSON');
    return out;
  }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch (err) {
      onError?.(`OTLP/JSON line ${i + 1}: ${(err as Error).message}; line skipped`);
      continue;
    }
    jsonRequest(doc, out, onError, `OTLP/JSON line ${i + 1}`);
  }
  return out;
}

// ---- shared --------------------------------------------------------------------------------------------

function toAttrValue(v: unknown): AttrValue | undefined {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return v;
    case 'bigint':
      return v.toString();
    case 'undefined':
      return undefined;
    default:
      if (Array.isArray(v)) return v.map((e) => (typeof e === 'string' ? e : toText(e)));
      return toText(v);
  }
}

/** Text form of a decoded AnyValue (for bodies and non-string array elements). */
function toText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(plain(v));
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (isObj(v) && isObj(v.kv)) return Object.fromEntries(Object.entries(v.kv).map(([k, x]) => [k, plain(x)]));
  return v;
}
