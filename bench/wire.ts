// The counting receiver's decoder: walks an ExportLogsServiceRequest (opentelemetry-proto collector/logs/v1) on
// the wire and materialises every field of every log record (times, severity, body, each attribute key and
// value, ids, event name), as a backend that stores the records would. Hand-written rather than protobufjs or
// receiver/otlp/decode.ts because the bench's receiver shares the 2 cores with the process being measured:
// protobufjs costs ~7.5 s of CPU per 1M records (perf-baseline.md) and would make the receiver the bottleneck,
// and decode.ts builds KataLogRecords (resource merged into every record), work a backend does not do.
// test/bench/harness.test.ts checks it against the official generated code (otlp-proto-official).

export type WireValue = string | boolean | number | bigint | WireValue[] | { kv: [string, WireValue][] } | Uint8Array;

export interface WireRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: WireValue | undefined;
  attributes: [string, WireValue][];
  eventName: string;
  traceId: string;
  spanId: string;
  flags: number;
}

export interface WireResourceLogs {
  resource: [string, WireValue][];
  scopeName: string;
  scopeVersion: string;
  records: WireRecord[];
}

export interface WireCounts {
  resources: number;
  records: number;
  attributes: number;
  /** UTF-16 length of every string materialised (keeps the work observable, so it cannot be optimised away). */
  chars: number;
}

// A decoded string is needed as a JS string (a backend indexes it); utf8Slice is Buffer#toString without the
// argument checks.
type Utf8Slicer = { utf8Slice(start: number, end: number): string };

let buf: Buffer = Buffer.alloc(0);
let pos = 0;
let chars = 0;
let attrs = 0;
/** Set while decoding for validation: build the full object tree; otherwise values are read and dropped. */
let keep = false;

function fail(what: string): never {
  throw new Error(`malformed OTLP request at byte ${pos}: ${what}`);
}

function varint(): number {
  let x = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) fail('truncated varint');
    const b = buf[pos++] as number;
    x += (b & 0x7f) * mul;
    if (b < 0x80) return x;
    mul *= 128;
  }
  fail('varint longer than 10 bytes');
}

/** A varint as an exact signed 64-bit value (int_value); only built when keeping values. */
function varint64(): bigint | number {
  const start = pos;
  const n = varint();
  if (!keep) return n;
  let v = 0n;
  let shift = 0n;
  for (let p = start; p < pos; p++, shift += 7n) v |= BigInt((buf[p] as number) & 0x7f) << shift;
  return BigInt.asIntN(64, v);
}

function fixed64(): bigint | number {
  if (pos + 8 > buf.length) fail('truncated fixed64');
  const lo = buf.readUInt32LE(pos);
  const hi = buf.readUInt32LE(pos + 4);
  pos += 8;
  return keep ? (BigInt(hi) << 32n) | BigInt(lo) : hi * 4294967296 + lo;
}

function len(): number {
  const n = varint();
  if (pos + n > buf.length) fail(`length ${n} runs past the end`);
  return n;
}

function str(): string {
  const n = len();
  const s = (buf as unknown as Utf8Slicer).utf8Slice(pos, pos + n);
  pos += n;
  chars += s.length;
  return s;
}

function skip(wire: number): void {
  if (wire === 0) varint();
  else if (wire === 1) pos += 8;
  else if (wire === 2) pos += len();
  else if (wire === 5) pos += 4;
  else fail(`unsupported wire type ${wire}`);
}

function anyValue(end: number): WireValue | undefined {
  let v: WireValue | undefined;
  while (pos < end) {
    const tag = varint();
    switch (tag) {
      case 0x0a:
        v = str();
        break;
      case 0x10:
        v = varint() !== 0;
        break;
      case 0x18:
        v = varint64();
        break;
      case 0x21:
        v = buf.readDoubleLE(pos);
        pos += 8;
        break;
      case 0x2a: {
        const e = len() + pos;
        const arr: WireValue[] = [];
        while (pos < e) {
          if (varint() !== 0x0a) fail('ArrayValue field other than values');
          const ve = len() + pos;
          const x = anyValue(ve);
          if (keep) arr.push(x ?? '');
        }
        v = arr;
        break;
      }
      case 0x32: {
        const e = len() + pos;
        const kv: [string, WireValue][] = [];
        while (pos < e) {
          if (varint() !== 0x0a) fail('KeyValueList field other than values');
          const ke = len() + pos;
          const p = keyValue(ke);
          if (keep) kv.push(p);
        }
        v = { kv };
        break;
      }
      case 0x3a: {
        const n = len();
        v = keep ? buf.subarray(pos, pos + n) : n;
        pos += n;
        break;
      }
      default:
        skip(tag & 7);
    }
  }
  return v;
}

function keyValue(end: number): [string, WireValue] {
  let k = '';
  let v: WireValue | undefined;
  while (pos < end) {
    const tag = varint();
    if (tag === 0x0a) k = str();
    else if (tag === 0x12) {
      const e = len() + pos;
      v = anyValue(e);
    } else skip(tag & 7);
  }
  attrs++;
  return [k, v ?? ''];
}

function hex(n: number): string {
  const s = buf.toString('hex', pos, pos + n);
  pos += n;
  return s;
}

let onRecord: ((body: WireValue | undefined, attributes: [string, WireValue][]) => void) | undefined;

function logRecord(end: number, out: WireRecord[] | undefined): void {
  let time: bigint | number = 0;
  let observed: bigint | number = 0;
  let sevNum = 0;
  let sevText = '';
  let body: WireValue | undefined;
  const attributes: [string, WireValue][] = [];
  let eventName = '';
  let traceId = '';
  let spanId = '';
  let flags = 0;
  while (pos < end) {
    const tag = varint();
    switch (tag) {
      case 0x09:
        time = fixed64();
        break;
      case 0x10:
        sevNum = varint();
        break;
      case 0x1a:
        sevText = str();
        break;
      case 0x2a: {
        const e = len() + pos;
        body = anyValue(e);
        break;
      }
      case 0x32: {
        const e = len() + pos;
        const kv = keyValue(e);
        if (keep) attributes.push(kv);
        break;
      }
      case 0x38:
        varint(); // dropped_attributes_count
        break;
      case 0x45:
        flags = buf.readUInt32LE(pos);
        pos += 4;
        break;
      case 0x4a:
        traceId = hex(len());
        break;
      case 0x52:
        spanId = hex(len());
        break;
      case 0x59:
        observed = fixed64();
        break;
      case 0x62:
        eventName = str();
        break;
      default:
        skip(tag & 7);
    }
  }
  if (onRecord) onRecord(body, attributes);
  if (out)
    out.push({
      timeUnixNano: BigInt(time),
      observedTimeUnixNano: BigInt(observed),
      severityNumber: sevNum,
      severityText: sevText,
      body,
      attributes,
      eventName,
      traceId,
      spanId,
      flags,
    });
}

/**
 * Decode one request. Returns the counts; when `into` is given, also the full tree (for validation; slower).
 * Throws on malformed input, naming the byte offset.
 */
export function decodeLogsRequest(
  bytes: Uint8Array,
  into?: WireResourceLogs[],
  /** Called with each record's body and attributes (the steady-state bench reads its tags from them). */
  each?: (body: WireValue | undefined, attributes: [string, WireValue][]) => void,
): WireCounts {
  onRecord = each;
  buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  pos = 0;
  chars = 0;
  attrs = 0;
  keep = into !== undefined || each !== undefined;
  let resources = 0;
  let records = 0;
  try {
    while (pos < buf.length) {
      const tag = varint();
      if (tag !== 0x0a) {
        skip(tag & 7);
        continue;
      }
      const rlEnd = len() + pos;
      resources++;
      const rl: WireResourceLogs = { resource: [], scopeName: '', scopeVersion: '', records: [] };
      while (pos < rlEnd) {
        const t = varint();
        if (t === 0x0a) {
          const resEnd = len() + pos;
          while (pos < resEnd) {
            const rt = varint();
            if (rt === 0x0a) {
              const e = len() + pos;
              const kv = keyValue(e);
              if (keep) rl.resource.push(kv);
            } else skip(rt & 7);
          }
        } else if (t === 0x12) {
          const slEnd = len() + pos;
          while (pos < slEnd) {
            const st = varint();
            if (st === 0x0a) {
              const scEnd = len() + pos;
              while (pos < scEnd) {
                const ct = varint();
                if (ct === 0x0a) rl.scopeName = str();
                else if (ct === 0x12) rl.scopeVersion = str();
                else skip(ct & 7);
              }
            } else if (st === 0x12) {
              const e = len() + pos;
              logRecord(e, keep ? rl.records : undefined);
              records++;
            } else skip(st & 7);
          }
        } else skip(t & 7);
      }
      if (into) into.push(rl);
    }
    if (pos !== buf.length) fail('a field runs past the end of the request');
    return { resources, records, attributes: attrs, chars };
  } finally {
    buf = Buffer.alloc(0);
    onRecord = undefined;
  }
}
