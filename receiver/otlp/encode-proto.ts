// KataLogRecord[] → protobuf ExportLogsServiceRequest (opentelemetry-proto collector/logs/v1).
//
// Written by hand because this is the export hot path: ../shared/research/perf-baseline.md measured that a
// hand-written writer avoids protobufjs's intermediate object tree (~20 small objects per record) and GC.
// One pass over the records into a reused scratch buffer: a length-delimited field reserves the number of
// length bytes its content usually needs (1 for a KeyValue, 2 for a LogRecord), writes the content, then writes
// the length in front of it; in the rare case the length needs more or fewer bytes, the content is moved
// (copyWithin), so the output stays canonical protobuf. Strings are written by an ASCII loop that falls back to
// the native UTF-8 writer at the first non-ASCII character. A first version computed every size in a separate
// pass and scanned every string twice (bench/README.md has the profiles). Field numbers come from logs.proto /
// common.proto / resource.proto and are checked against otlp-proto-official's generated root.js by
// test/otlp/encode.test.ts (re-encoding our output with it gives identical bytes).
import type { Attributes, KataLogRecord } from '../model/record.js';
import { groupByResource, isResourceKey, SCOPE_NAME, SCOPE_VERSION, type ResourceOverlay } from './resource.js';
import { INITIAL_SCRATCH, kept, withRoom } from './scratch.js';
import { bodyOf, normalizeId, otherToString, toU64 } from './values.js';
import type { ExtraAttributesOf } from './extra.js';

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
  /** Attributes written after a record's own (otlp/extra.ts: the integrity chain's). */
  extra?: ExtraAttributesOf;
}

// ---- the scratch buffer ---------------------------------------------------------------------------------

let buf: Buffer = Buffer.allocUnsafe(INITIAL_SCRATCH);
let pos = 0;

/** Room for `n` more bytes. */
function ensure(n: number): void {
  if (pos + n > buf.length) buf = withRoom(buf, pos, n);
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

// ---- primitives ----------------------------------------------------------------------------------------

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

// fixed64 through a BigUint64Array: converting the bigint by assignment allocates nothing (Buffer's
// writeBigUInt64LE does bigint arithmetic per call).
const u64 = new BigUint64Array(1);
const u64Bytes = new Uint8Array(u64.buffer);
function writeFixed64(v: bigint): void {
  u64[0] = v;
  for (let i = 0; i < 8; i++) buf[pos + i] = u64Bytes[i] as number;
  pos += 8;
}

// Buffer#utf8Write is the primitive behind Buffer#write, minus its argument juggling (measurable per string).
type Utf8Writer = { utf8Write(s: string, offset: number, length: number): number };

/** Below this length a JS loop copies ASCII faster than a native call; from it on, utf8Write (bench/README.md). */
const NATIVE_FROM = 32;

/** A string field: tag, UTF-8 length, bytes. (Lone surrogates are written as U+FFFD by the UTF-8 writer.) */
function writeString(tag: number, s: string): void {
  const n = s.length;
  ensure(n * 3 + 11);
  buf[pos++] = tag;
  if (n < NATIVE_FROM) {
    // Optimistic: ASCII, so the byte length is the string length and fits in one byte.
    const at = pos + 1;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at + i] = c;
    }
    if (i === n) {
      buf[pos] = n;
      pos = at + n;
      return;
    }
  }
  // The bytes first, after as many length bytes as the shortest possible length needs (UTF-8 has at least one byte
  // per UTF-16 unit); moved when the length needs more. No Buffer.byteLength pass over the string.
  const reserve = varintSize(n);
  const len = (buf as unknown as Utf8Writer).utf8Write(s, pos + reserve, n * 3);
  const need = varintSize(len);
  if (need !== reserve) buf.copyWithin(pos + need, pos + reserve, pos + reserve + len);
  writeVarint(len);
  pos += len;
}

/** Reserve `reserve` length bytes after `tag`; returns where the length goes. Pair with endLen. */
function beginLen(tag: number, reserve: number): number {
  ensure(1 + reserve);
  buf[pos++] = tag;
  const at = pos;
  pos += reserve;
  return at;
}
/** Write the length of what was written since beginLen; move the content when the length needs another size. */
function endLen(at: number, reserve: number): void {
  const start = at + reserve;
  const len = pos - start;
  const need = varintSize(len);
  if (need !== reserve) {
    ensure(need - reserve);
    buf.copyWithin(at + need, start, pos);
    pos += need - reserve;
  }
  let n = len;
  let p = at;
  while (n >= 0x80) {
    buf[p++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[p] = n;
}

// ---- messages ------------------------------------------------------------------------------------------

/** AnyValue message content for `v`. */
function writeAnyValueContent(v: unknown): void {
  switch (kindOf(v)) {
    case Kind.String:
      writeString(TAG_AV_STRING, v as string);
      break;
    case Kind.Bool:
      ensure(2);
      buf[pos++] = TAG_AV_BOOL;
      buf[pos++] = v ? 1 : 0;
      break;
    case Kind.Int:
      ensure(11);
      buf[pos++] = TAG_AV_INT;
      writeInt64(v as number);
      break;
    case Kind.Double:
      ensure(9);
      buf[pos++] = TAG_AV_DOUBLE;
      buf.writeDoubleLE(v as number, pos);
      pos += 8;
      break;
    case Kind.BigInt:
      ensure(11);
      buf[pos++] = TAG_AV_INT;
      writeBigVarint(v as bigint);
      break;
    case Kind.Array: {
      const at = beginLen(TAG_AV_ARRAY, 1);
      for (const e of v as unknown[]) writeAnyValue(TAG_ARRAY_VALUES, e === undefined || e === null ? '' : e);
      endLen(at, 1);
      break;
    }
    default:
      writeString(TAG_AV_STRING, otherToString(v));
  }
}

function writeAnyValue(tag: number, v: unknown): void {
  const at = beginLen(tag, 1);
  writeAnyValueContent(v);
  endLen(at, 1);
}

/** Copy `s` as ASCII at `at`; false (nothing to undo but the bytes) at the first character that is not ASCII. */
function copyAscii(s: string, at: number): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return false;
    buf[at + i] = c;
  }
  return true;
}

/** copyAscii by the native UTF-8 writer (longer strings): its byte count is the string length only for ASCII. */
const asciiNative = (s: string, at: number): boolean =>
  (buf as unknown as Utf8Writer).utf8Write(s, at, s.length * 3) === s.length;

function writeKeyValue(tag: number, k: string, v: unknown): void {
  // The common attribute, a short ASCII key with a short ASCII string value, written in one go: every length in it
  // fits one byte, so they are known up front (no reserve-and-patch, no kind dispatch). Anything else, or a
  // character that is not ASCII, takes the general path below.
  if (typeof v === 'string' && k.length + v.length <= 116) {
    const kn = k.length;
    const vn = v.length;
    ensure(kn + vn * 3 + 8);
    const at = pos;
    if (copyAscii(k, at + 4) && (vn < NATIVE_FROM ? copyAscii(v, at + 8 + kn) : asciiNative(v, at + 8 + kn))) {
      buf[at] = tag;
      buf[at + 1] = kn + vn + 6; // KeyValue: key field (2 + kn) + value field (2 + AnyValue (2 + vn))
      buf[at + 2] = TAG_KV_KEY;
      buf[at + 3] = kn;
      buf[at + 4 + kn] = TAG_KV_VALUE;
      buf[at + 5 + kn] = vn + 2;
      buf[at + 6 + kn] = TAG_AV_STRING;
      buf[at + 7 + kn] = vn;
      pos = at + 8 + kn + vn;
      return;
    }
  }
  const at = beginLen(tag, 1);
  writeString(TAG_KV_KEY, k);
  writeAnyValue(TAG_KV_VALUE, v);
  endLen(at, 1);
}

function writeAttributes(tag: number, attrs: Attributes, skipResource: boolean): void {
  for (const k in attrs) {
    if (skipResource && isResourceKey(k)) continue;
    const v = attrs[k];
    if (v === undefined || v === null) continue;
    writeKeyValue(tag, k, v);
  }
}

function writeHexId(tag: number, hex: string, bytes: number): void {
  ensure(2 + bytes);
  buf[pos++] = tag;
  buf[pos++] = bytes;
  pos += buf.write(hex, pos, bytes, 'hex');
}

/** The extra attributes of the current call's records (EncodeOptions.extra). */
let extraOf: ExtraAttributesOf | undefined;

function writeLogRecord(r: KataLogRecord): void {
  const at = beginLen(TAG_SL_LOG_RECORDS, 2);
  ensure(32);
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
  const extra = extraOf?.get(r);
  if (extra)
    for (let i = 0; i + 1 < extra.length; i += 2) {
      const v = extra[i + 1];
      if (v !== undefined && v !== null) writeKeyValue(TAG_LR_ATTRIBUTES, extra[i] as string, v);
    }
  const traceId = normalizeId(r.traceId, 16);
  if (traceId) writeHexId(TAG_LR_TRACE_ID, traceId, 16);
  const spanId = normalizeId(r.spanId, 8);
  if (spanId) writeHexId(TAG_LR_SPAN_ID, spanId, 8);
  const o = toU64(r.observedTimeUnixNano);
  if (o !== 0n) {
    ensure(9);
    buf[pos++] = TAG_LR_OBSERVED_TIME;
    writeFixed64(o);
  }
  if (typeof r.eventName === 'string' && r.eventName !== '') writeString(TAG_LR_EVENT_NAME, r.eventName);
  endLen(at, 2);
}

// ---- shared helpers ------------------------------------------------------------------------------------

/** SeverityNumber as an int32 enum value; anything that is not an int32 becomes 0 (unspecified). */
function severityOf(n: unknown): number {
  return typeof n === 'number' && Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 ? n : 0;
}

/** Encode records as one protobuf ExportLogsServiceRequest. Never throws on odd field values. */
export function encodeLogsProto(records: readonly KataLogRecord[], opts: EncodeOptions = {}): Uint8Array {
  const groups = groupByResource(records, opts.resource);
  extraOf = opts.extra;
  pos = 0;
  for (const g of groups) {
    const rl = beginLen(TAG_REQUEST_RESOURCE_LOGS, 3);
    const res = beginLen(TAG_RL_RESOURCE, 2);
    for (const [k, v] of g.resource) writeKeyValue(TAG_RESOURCE_ATTRIBUTES, k, v);
    endLen(res, 2);
    const sl = beginLen(TAG_RL_SCOPE_LOGS, 3);
    const sc = beginLen(TAG_SL_SCOPE, 1);
    writeString(TAG_SCOPE_NAME, SCOPE_NAME);
    writeString(TAG_SCOPE_VERSION, SCOPE_VERSION);
    endLen(sc, 1);
    for (const r of g.records) writeLogRecord(r);
    endLen(sl, 3);
    endLen(rl, 3);
  }
  extraOf = undefined;
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  buf = kept(buf);
  return out;
}
