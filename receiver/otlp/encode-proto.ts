// KataLogRecord[] → protobuf ExportLogsServiceRequest (opentelemetry-proto collector/logs/v1).
//
// Written by hand because this is the export hot path: ../shared/research/perf-baseline.md measured that a
// hand-written writer avoids protobufjs's intermediate object tree (~20 small objects per record) and GC.
// Two passes over the records: the first computes every string's UTF-8 length and every nested message's
// size into a flat slot array (pre-order), the second writes into one exactly-sized Buffer, reading the
// slots back in the same order. Field numbers come from logs.proto / common.proto / resource.proto and
// are checked against otlp-proto-official's generated root.js by test/otlp/encode.test.ts (re-encoding
// our output with it gives identical bytes).
import type { Attributes, KataLogRecord } from '../model/record.js';
import { groupByResource, isResourceKey, SCOPE_NAME, SCOPE_VERSION, type ResourceOverlay } from './resource.js';
import { bodyOf, normalizeId, otherToString, toU64 } from './values.js';

// Tags: field_number << 3 | wire_type (0 varint, 1 fixed64, 2 length-delimited).
const TAG_REQUEST_RESOURCE_LOGS = 0x0a; // ExportLogsServiceRequest.resource_logs = 1
const TAG_RL_RESOURCE = 0x0a; // ResourceLogs.resource = 1
const TAG_RL_SCOPE_LOGS = 0x12; // ResourceLogs.scope_logs = 2
const TAG_RESOURCE_ATTRIBUTES = 0x0a; // Resource.attributes = 1
const TAG_SL_SCOPE = 0x0a; // ScopeLogs.scope = 1
const TAG_SL_LOG_RECORDS = 0x12; // ScopeLogs.log_records = 2
const TAG_SCOPE_NAME = 0x0a; // InstrumentationScope.name = 1
const TAG_SCOPE_VERSION = 0x12; // InstrumentationScope.version = 2
const TAG_LR_TIME = 0x09; // LogRecord.time_unix_nano = 1 (fixed64)
const TAG_LR_SEVERITY_NUMBER = 0x10; // severity_number = 2
const TAG_LR_SEVERITY_TEXT = 0x1a; // severity_text = 3
const TAG_LR_BODY = 0x2a; // body = 5
const TAG_LR_ATTRIBUTES = 0x32; // attributes = 6
const TAG_LR_TRACE_ID = 0x4a; // trace_id = 9
const TAG_LR_SPAN_ID = 0x52; // span_id = 10
const TAG_LR_OBSERVED_TIME = 0x59; // observed_time_unix_nano = 11 (fixed64)
const TAG_LR_EVENT_NAME = 0x62; // event_name = 12
const TAG_KV_KEY = 0x0a; // KeyValue.key = 1
const TAG_KV_VALUE = 0x12; // KeyValue.value = 2
const TAG_AV_STRING = 0x0a; // AnyValue.string_value = 1
const TAG_AV_BOOL = 0x10; // bool_value = 2
const TAG_AV_INT = 0x18; // int_value = 3
const TAG_AV_DOUBLE = 0x21; // double_value = 4 (fixed64)
const TAG_AV_ARRAY = 0x2a; // array_value = 5
const TAG_ARRAY_VALUES = 0x0a; // ArrayValue.values = 1

export interface EncodeOptions {
  /** Extra resource attributes (exporter settings). */
  resource?: ResourceOverlay;
}

// ---- pass 1: sizes -------------------------------------------------------------------------------------

let slots = new Uint32Array(4096);
let nslots = 0;
function slot(v: number): number {
  if (nslots === slots.length) {
    const bigger = new Uint32Array(slots.length * 2);
    bigger.set(slots);
    slots = bigger;
  }
  slots[nslots] = v;
  return nslots++;
}

const varintSize = (n: number): number =>
  n < 0x80
    ? 1
    : n < 0x4000
      ? 2
      : n < 0x200000
        ? 3
        : n < 0x10000000
          ? 4
          : n < 2 ** 35
            ? 5
            : Math.ceil(Math.log2(n + 1) / 7);
/** Size of a length-delimited field holding `len` bytes (one-byte tag). */
const lenField = (len: number): number => 1 + varintSize(len) + len;

const enum Kind {
  Skip,
  String,
  Bool,
  Int,
  Double,
  Array,
  BigInt,
  Other,
}
function kindOf(v: unknown): Kind {
  switch (typeof v) {
    case 'string':
      return Kind.String;
    case 'boolean':
      return Kind.Bool;
    case 'number':
      return Number.isSafeInteger(v) ? Kind.Int : Kind.Double;
    case 'bigint':
      return Kind.BigInt;
    case 'undefined':
      return Kind.Skip;
    default:
      return v === null ? Kind.Skip : Array.isArray(v) ? Kind.Array : Kind.Other;
  }
}

function int64Size(n: number): number {
  return n < 0 ? 10 : varintSize(n);
}
function bigint64Size(v: bigint): number {
  let u = BigInt.asUintN(64, v);
  let n = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    n++;
  }
  return n;
}

/** UTF-8 byte length. Most strings here are short and ASCII: a JS scan beats the native call's overhead.
 * (Lone surrogates count 3 bytes, as the encoder writes U+FFFD for them.) */
function utf8Length(s: string): number {
  const n = s.length;
  if (n > 64) return Buffer.byteLength(s, 'utf8');
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return n;
}

/** Content size of a string field (its byte length goes into a slot). */
function sizeString(s: string): number {
  const len = utf8Length(s);
  slot(len);
  return lenField(len);
}

/** Size of the AnyValue message content for `v`; pre-order slot for the message itself first. */
function sizeAnyValue(v: unknown): number {
  const at = slot(0);
  let n: number;
  switch (kindOf(v)) {
    case Kind.String:
      n = sizeString(v as string);
      break;
    case Kind.Bool:
      n = 2;
      break;
    case Kind.Int:
      n = 1 + int64Size(v as number);
      break;
    case Kind.Double:
      n = 9;
      break;
    case Kind.BigInt:
      n = 1 + bigint64Size(v as bigint);
      break;
    case Kind.Array: {
      const inner = slot(0); // the ArrayValue message
      let m = 0;
      for (const e of v as unknown[]) m += lenField(sizeAnyValue(e === undefined || e === null ? '' : e));
      slots[inner] = m;
      n = lenField(m);
      break;
    }
    default:
      n = sizeString(otherToString(v));
  }
  slots[at] = n;
  return n;
}

function sizeKeyValue(k: string, v: unknown): number {
  const at = slot(0);
  const n = sizeString(k) + lenField(sizeAnyValue(v));
  slots[at] = n;
  return n;
}

function sizeAttributes(attrs: Attributes, skipResource: boolean): number {
  let n = 0;
  for (const k in attrs) {
    if (skipResource && isResourceKey(k)) continue;
    const v = attrs[k];
    if (v === undefined || v === null) continue;
    n += lenField(sizeKeyValue(k, v));
  }
  return n;
}

function sizeLogRecord(r: KataLogRecord): number {
  const at = slot(0);
  let n = 0;
  if (toU64(r.timeUnixNano) !== 0n) n += 9;
  const sev = severityOf(r.severityNumber);
  if (sev !== 0) n += 1 + int64Size(sev);
  if (typeof r.severityText === 'string' && r.severityText !== '') n += sizeString(r.severityText);
  n += lenField(sizeAnyValue(bodyOf(r.body)));
  if (r.attributes && typeof r.attributes === 'object') n += sizeAttributes(r.attributes, true);
  if (normalizeId(r.traceId, 16)) n += 18;
  if (normalizeId(r.spanId, 8)) n += 10;
  if (toU64(r.observedTimeUnixNano) !== 0n) n += 9;
  if (typeof r.eventName === 'string' && r.eventName !== '') n += sizeString(r.eventName);
  slots[at] = n;
  return n;
}

// ---- pass 2: write -------------------------------------------------------------------------------------

let buf: Buffer = Buffer.alloc(0);
let pos = 0;
let cursor = 0;
const next = (): number => slots[cursor++] as number;

function writeVarint(n: number): void {
  while (n >= 0x80) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos++] = n;
}
function writeBigVarint(v: bigint): void {
  let u = BigInt.asUintN(64, v);
  while (u >= 0x80n) {
    buf[pos++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[pos++] = Number(u);
}
function writeInt64(n: number): void {
  if (n < 0) writeBigVarint(BigInt(n));
  else writeVarint(n);
}
function writeFixed64(v: bigint): void {
  buf.writeBigUInt64LE(v, pos);
  pos += 8;
}
// Buffer#utf8Write is the primitive behind Buffer#write, minus its argument juggling (measurable per string).
type Utf8Writer = { utf8Write(s: string, offset: number, length: number): number };

/** Write `s` (UTF-8 length `len`) at pos. UTF-8 length equals the UTF-16 length only for ASCII. */
function writeUtf8(s: string, len: number): void {
  if (len === s.length && len <= 64) {
    for (let i = 0; i < len; i++) buf[pos + i] = s.charCodeAt(i);
    pos += len;
  } else pos += (buf as unknown as Utf8Writer).utf8Write(s, pos, len);
}
function writeString(tag: number, s: string): void {
  const len = next();
  buf[pos++] = tag;
  writeVarint(len);
  writeUtf8(s, len);
}
function writeLenHeader(tag: number, len: number): void {
  buf[pos++] = tag;
  writeVarint(len);
}

function writeAnyValue(tag: number, v: unknown): void {
  writeLenHeader(tag, next());
  switch (kindOf(v)) {
    case Kind.String:
      writeString(TAG_AV_STRING, v as string);
      break;
    case Kind.Bool:
      buf[pos++] = TAG_AV_BOOL;
      buf[pos++] = v ? 1 : 0;
      break;
    case Kind.Int:
      buf[pos++] = TAG_AV_INT;
      writeInt64(v as number);
      break;
    case Kind.Double:
      buf[pos++] = TAG_AV_DOUBLE;
      buf.writeDoubleLE(v as number, pos);
      pos += 8;
      break;
    case Kind.BigInt:
      buf[pos++] = TAG_AV_INT;
      writeBigVarint(v as bigint);
      break;
    case Kind.Array:
      writeLenHeader(TAG_AV_ARRAY, next());
      for (const e of v as unknown[]) writeAnyValue(TAG_ARRAY_VALUES, e === undefined || e === null ? '' : e);
      break;
    default:
      writeString(TAG_AV_STRING, otherToString(v));
  }
}

function writeKeyValue(tag: number, k: string, v: unknown): void {
  writeLenHeader(tag, next());
  writeString(TAG_KV_KEY, k);
  writeAnyValue(TAG_KV_VALUE, v);
}

function writeAttributes(tag: number, attrs: Attributes, skipResource: boolean): void {
  for (const k in attrs) {
    if (skipResource && isResourceKey(k)) continue;
    const v = attrs[k];
    if (v === undefined || v === null) continue;
    writeKeyValue(tag, k, v);
  }
}

function writeLogRecord(r: KataLogRecord): void {
  writeLenHeader(TAG_SL_LOG_RECORDS, next());
  const t = toU64(r.timeUnixNano);
  if (t !== 0n) {
    buf[pos++] = TAG_LR_TIME;
    writeFixed64(t);
  }
  const sev = severityOf(r.severityNumber);
  if (sev !== 0) {
    buf[pos++] = TAG_LR_SEVERITY_NUMBER;
    writeInt64(sev);
  }
  if (typeof r.severityText === 'string' && r.severityText !== '') writeString(TAG_LR_SEVERITY_TEXT, r.severityText);
  writeAnyValue(TAG_LR_BODY, bodyOf(r.body));
  if (r.attributes && typeof r.attributes === 'object') writeAttributes(TAG_LR_ATTRIBUTES, r.attributes, true);
  const traceId = normalizeId(r.traceId, 16);
  if (traceId) {
    writeLenHeader(TAG_LR_TRACE_ID, 16);
    pos += buf.write(traceId, pos, 16, 'hex');
  }
  const spanId = normalizeId(r.spanId, 8);
  if (spanId) {
    writeLenHeader(TAG_LR_SPAN_ID, 8);
    pos += buf.write(spanId, pos, 8, 'hex');
  }
  const o = toU64(r.observedTimeUnixNano);
  if (o !== 0n) {
    buf[pos++] = TAG_LR_OBSERVED_TIME;
    writeFixed64(o);
  }
  if (typeof r.eventName === 'string' && r.eventName !== '') writeString(TAG_LR_EVENT_NAME, r.eventName);
}

// ---- shared helpers ------------------------------------------------------------------------------------

/** SeverityNumber as an int32 enum value; anything that is not an int32 becomes 0 (unspecified). */
function severityOf(n: unknown): number {
  return typeof n === 'number' && Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 ? n : 0;
}
/** Encode records as one protobuf ExportLogsServiceRequest. Never throws on odd field values. */
export function encodeLogsProto(records: readonly KataLogRecord[], opts: EncodeOptions = {}): Uint8Array {
  const groups = groupByResource(records, opts.resource);
  nslots = 0;
  // pass 1
  const scopeSize = sizeString(SCOPE_NAME) + sizeString(SCOPE_VERSION);
  let total = 0;
  for (const g of groups) {
    const rlAt = slot(0);
    const resAt = slot(0);
    let res = 0;
    for (const [k, v] of g.resource) res += lenField(sizeKeyValue(k, v));
    slots[resAt] = res;
    const slAt = slot(0);
    let sl = lenField(scopeSize);
    for (const r of g.records) sl += lenField(sizeLogRecord(r));
    slots[slAt] = sl;
    const rl = lenField(res) + lenField(sl);
    slots[rlAt] = rl;
    total += lenField(rl);
  }
  // pass 2 (the scope's two string slots come first, then each group's slots in the same pre-order)
  buf = Buffer.allocUnsafe(total);
  pos = 0;
  cursor = 2;
  const scopeNameLen = slots[0] as number;
  const scopeVersionLen = slots[1] as number;
  for (const g of groups) {
    writeLenHeader(TAG_REQUEST_RESOURCE_LOGS, next());
    writeLenHeader(TAG_RL_RESOURCE, next());
    for (const [k, v] of g.resource) writeKeyValue(TAG_RESOURCE_ATTRIBUTES, k, v);
    writeLenHeader(TAG_RL_SCOPE_LOGS, next());
    writeLenHeader(TAG_SL_SCOPE, scopeSize);
    buf[pos++] = TAG_SCOPE_NAME;
    writeVarint(scopeNameLen);
    writeUtf8(SCOPE_NAME, scopeNameLen);
    buf[pos++] = TAG_SCOPE_VERSION;
    writeVarint(scopeVersionLen);
    writeUtf8(SCOPE_VERSION, scopeVersionLen);
    for (const r of g.records) writeLogRecord(r);
  }
  if (pos !== total) throw new Error(`encodeLogsProto: wrote ${pos} bytes, planned ${total} (encoder bug)`);
  const out = buf;
  buf = Buffer.alloc(0);
  if (slots.length > 1 << 20) slots = new Uint32Array(4096); // do not keep a huge scratch array alive
  return out;
}
