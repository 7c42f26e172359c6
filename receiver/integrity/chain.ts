// The hash chain over one stream of records (a store, an exporter). Each record gets, as attributes, its
// sequence number, the previous record's chain value and its own:
//
//   value(n) = H( value(n-1) || "\n" || canonical(record n) )        value(0) = 64 zeros
//   H = HMAC-SHA256 with the key from integrity.hmac_key_file, or SHA-256 without one
//
// canonical() is RFC 8785 (JCS) JSON of what survives an OTLP round trip through any Collector: the log record's
// own fields and attributes (sequence number and stream included), plus the two resource attributes that say
// where a record came from (`kata.sandbox.id`, `kata.component`). Other resource attributes are left out on
// purpose: exporters fill them from OTEL_RESOURCE_ATTRIBUTES and Collectors add their own (docs/audit.md).
// Hand-written rather than a generic JCS package: it is per record on the export path, and the record shape
// is fixed (string keys sorted once per record, values of four known types).
import { createHmac, hash } from 'node:crypto';
import type { AttrValue, Attributes, KataLogRecord } from '../model/record.js';
import { isResourceKey } from '../otlp/index.js';
import { bodyOf, normalizeId, toU64, wellFormed } from '../otlp/values.js';
import type { ExtraAttributes } from '../otlp/extra.js';
import { ascii, bytes, int, jsonString, mark, raw, rewind, text, u64 } from '../otlp/json-bytes.js';
import {
  ATTR_AUDIT_INTEGRITY_ALGORITHM,
  ATTR_AUDIT_INTEGRITY_VALUE,
  ATTR_AUDIT_SEQUENCE_NUMBER,
  ATTR_AUDIT_SEQUENCE_PREV_HASH,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_INTEGRITY_CHECKPOINT_HEAD,
  ATTR_KATA_INTEGRITY_CHECKPOINT_SEQUENCE,
  ATTR_KATA_INTEGRITY_CHECKPOINT_STREAM,
  ATTR_KATA_INTEGRITY_STREAM,
  ATTR_KATA_SANDBOX_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
  EVENT_KATA_INTEGRITY_CHECKPOINT,
} from '../semconv/generated.js';

export const GENESIS = '0'.repeat(64);
export const ALG_SHA256 = 'sha256';
export const ALG_HMAC = 'hmac-sha256';

/** The chain fields a record carries but its own value does not cover. */
const OUTSIDE = new Set([ATTR_AUDIT_SEQUENCE_PREV_HASH, ATTR_AUDIT_INTEGRITY_VALUE, ATTR_AUDIT_INTEGRITY_ALGORITHM]);
/** Resource attributes the chain covers (never filled in by exporters or Collectors). */
const COVERED_RESOURCE = new Set([ATTR_KATA_SANDBOX_ID, ATTR_KATA_COMPONENT]);

const str = (s: string) => JSON.stringify(wellFormed(s));

/**
 * Per attribute name, `"key":` when the chain covers it, else '' : names repeat on every record, so one map lookup
 * replaces the coverage tests and the quoting. Bounded (names can come from guest text).
 */
const keyParts = new Map<string, string>();
const KEY_PARTS_MAX = 4096;
function keyPart(k: string): string {
  let p = keyParts.get(k);
  if (p === undefined) {
    p = coveredKey(k) ? str(k) + ':' : '';
    if (keyParts.size < KEY_PARTS_MAX) keyParts.set(k, p);
  }
  return p;
}

/** canonicalValue of `v` into the JSON scratch buffer (otlp/json-bytes.ts). */
function writeCanonicalValue(v: AttrValue): void {
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'boolean') return ascii(v ? 'true' : 'false');
  if (typeof v === 'number') {
    // Integer and double are different OTLP types: tag them, as the wire does.
    if (Number.isSafeInteger(v)) {
      ascii('{"int":"');
      int(v);
      return ascii('"}');
    }
    ascii('{"double":');
    if (Number.isFinite(v)) ascii(JSON.stringify(v));
    else jsonString(String(v));
    return ascii('}');
  }
  if (Array.isArray(v)) {
    ascii('[');
    for (let i = 0; i < v.length; i++) {
      if (i) ascii(',');
      const e: unknown = v[i];
      jsonString(typeof e === 'string' ? e : String(e));
    }
    return ascii(']');
  }
  jsonString(String(v));
}

/** Does the chain cover attribute `k` of a record whose attributes merge resource and record (KataLogRecord)? */
export const coveredKey = (k: string): boolean => !OUTSIDE.has(k) && (!isResourceKey(k) || COVERED_RESOURCE.has(k));

/** RFC 8785 canonical JSON of the covered part of a record. `attrs` defaults to the record's own. */
export function canonical(r: KataLogRecord, attrs: Attributes = r.attributes): string {
  const start = mark();
  writeCanonical(r, attrs, undefined, 0);
  return text(start);
}

// The covered keys of the last record and their sorted order: records of one source have their keys in one order,
// so most records reuse the sort (compared by identity: keys are the same interned strings).
const lastKeys: string[] = [];
let lastSorted: string[] = [];
const keysScratch: string[] = [];

/** The covered keys of `attrs` (plus the chain's two when `chain`), sorted; valid until the next call. */
function sortedKeys(attrs: Attributes, chain: boolean): string[] {
  const keys = keysScratch;
  let n = 0;
  for (const k in attrs) {
    const v = attrs[k];
    if (v !== undefined && v !== null && keyPart(k) !== '') keys[n++] = k;
  }
  if (chain) {
    keys[n++] = ATTR_KATA_INTEGRITY_STREAM;
    keys[n++] = ATTR_AUDIT_SEQUENCE_NUMBER;
  }
  keys.length = n;
  let same = n === lastKeys.length;
  for (let i = 0; same && i < n; i++) same = keys[i] === lastKeys[i];
  if (same) return lastSorted;
  for (let i = 0; i < n; i++) lastKeys[i] = keys[i]!;
  lastKeys.length = n;
  lastSorted = keys.slice().sort(); // UTF-16 code unit order, as JCS requires
  return lastSorted;
}

/**
 * canonical() of `r` into the JSON scratch buffer at its current end; with `stream`, the stream and sequence
 * number of a chain step are added to `attrs` (which must hold neither): the text of canonical() of a merged copy,
 * without the copy. Strings are the bytes of JSON.stringify of their well-formed form (json-bytes jsonString).
 */
function writeCanonical(r: KataLogRecord, attrs: Attributes, stream: string | undefined, seq: number): void {
  const keys = sortedKeys(attrs, stream !== undefined);
  ascii('{"attributes":{');
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (i) ascii(',');
    raw(keyPart(k));
    if (stream !== undefined && k === ATTR_KATA_INTEGRITY_STREAM) jsonString(stream);
    else if (stream !== undefined && k === ATTR_AUDIT_SEQUENCE_NUMBER) writeCanonicalValue(seq);
    else writeCanonicalValue(attrs[k]!);
  }
  ascii('},"body":');
  jsonString(bodyOf(r.body));
  ascii(',"eventName":');
  jsonString(typeof r.eventName === 'string' ? r.eventName : '');
  ascii(',"observedTimeUnixNano":"');
  u64(toU64(r.observedTimeUnixNano));
  ascii('","severityNumber":');
  const sev = r.severityNumber;
  int(typeof sev === 'number' && Number.isInteger(sev) && sev !== 0 && Math.abs(sev) < 2 ** 31 ? sev : 0);
  ascii(',"severityText":');
  jsonString(typeof r.severityText === 'string' ? r.severityText : '');
  ascii(',"spanId":"');
  ascii(normalizeId(r.spanId, 8) ?? '');
  ascii('","timeUnixNano":"');
  u64(toU64(r.timeUnixNano));
  ascii('","traceId":"');
  ascii(normalizeId(r.traceId, 16) ?? '');
  ascii('"}');
}

/** The chain step: H(prev || "\n" || canonical). */
export function chainValue(prev: string, canon: string, key?: Buffer): string {
  if (key)
    return createHmac('sha256', key)
      .update(prev + '\n' + canon)
      .digest('hex'); // one update: fewer native calls
  return hash('sha256', prev + '\n' + canon, 'hex'); // one call: no Hash object per record
}

/**
 * chainValue(prev, canonical(r, attrs + stream, seq)) without the text: the input is written as UTF-8 into the JSON
 * scratch buffer (no string per value, no concatenation) and hashed from there in one native call.
 */
function chainStep(
  prev: string,
  r: KataLogRecord,
  attrs: Attributes,
  stream: string | undefined,
  seq: number,
  key?: Buffer,
): string {
  const start = mark();
  raw(prev);
  ascii('\n');
  writeCanonical(r, attrs, stream, seq);
  const input = bytes(start);
  const value = key ? createHmac('sha256', key).update(input).digest('hex') : hash('sha256', input, 'hex');
  rewind(start);
  return value;
}

export interface ChainState {
  stream: string;
  /** Sequence number of the last record (0: none yet). */
  seq: number;
  /** Chain value of the last record (GENESIS: none yet). */
  head: string;
  /** Observed time of the last checkpoint, ns (0n: none yet; the interval starts at the first record). */
  checkpointAt: bigint;
}

export interface ChainOptions {
  key?: Buffer;
  checkpointIntervalMs: number;
  checkpointEveryRecords: number;
}

export const newState = (stream: string): ChainState => ({ stream, seq: 0, head: GENESIS, checkpointAt: 0n });

/** The five chain attributes, in the order a stamped record carries them (after the record's own). */
const CHAIN_KEYS = [
  ATTR_KATA_INTEGRITY_STREAM,
  ATTR_AUDIT_SEQUENCE_NUMBER,
  ATTR_AUDIT_SEQUENCE_PREV_HASH,
  ATTR_AUDIT_INTEGRITY_VALUE,
  ATTR_AUDIT_INTEGRITY_ALGORITHM,
] as const;

/** Stamp one record (a copy: the same record objects go to every exporter's queue). */
export function stampRecord(r: KataLogRecord, state: ChainState, key?: Buffer): KataLogRecord {
  const seq = state.seq + 1;
  const attributes: Attributes = {
    ...r.attributes,
    [ATTR_KATA_INTEGRITY_STREAM]: state.stream,
    [ATTR_AUDIT_SEQUENCE_NUMBER]: seq,
  };
  const value = chainStep(state.head, r, attributes, undefined, 0, key);
  attributes[ATTR_AUDIT_SEQUENCE_PREV_HASH] = state.head;
  attributes[ATTR_AUDIT_INTEGRITY_VALUE] = value;
  attributes[ATTR_AUDIT_INTEGRITY_ALGORITHM] = key ? ALG_HMAC : ALG_SHA256;
  state.seq = seq;
  state.head = value;
  return { ...r, attributes };
}

/**
 * stampRecord() for an encoder that writes extra attributes (otlp/extra.ts): the same chain values and the same
 * bytes on the wire, but the record is not copied: its five chain attributes go into `extra`, and the record
 * returned is `r` itself. A record that already has one of them (its own value would keep its place), or that is
 * in `extra` already (the same object twice in a batch), is stamped as a copy.
 */
export function stampRecordExtra(
  r: KataLogRecord,
  state: ChainState,
  key: Buffer | undefined,
  extra: Map<KataLogRecord, ExtraAttributes>,
): KataLogRecord {
  const attrs = r.attributes;
  if (!attrs || typeof attrs !== 'object' || extra.has(r)) return stampRecord(r, state, key);
  for (const k of CHAIN_KEYS) if (k in attrs) return stampRecord(r, state, key);
  const seq = state.seq + 1;
  const prev = state.head;
  const value = chainStep(prev, r, attrs, state.stream, seq, key);
  state.seq = seq;
  state.head = value;
  extra.set(r, [
    ATTR_KATA_INTEGRITY_STREAM,
    state.stream,
    ATTR_AUDIT_SEQUENCE_NUMBER,
    seq,
    ATTR_AUDIT_SEQUENCE_PREV_HASH,
    prev,
    ATTR_AUDIT_INTEGRITY_VALUE,
    value,
    ATTR_AUDIT_INTEGRITY_ALGORITHM,
    key ? ALG_HMAC : ALG_SHA256,
  ]);
  return r;
}

/** `r` with its extra attributes merged, as stampRecord would have made it (for consumers that read attributes). */
export function withChainAttributes(
  r: KataLogRecord,
  extra: ReadonlyMap<KataLogRecord, ExtraAttributes>,
): KataLogRecord {
  const x = extra.get(r);
  if (!x) return r;
  const attributes: Attributes = { ...r.attributes };
  for (let i = 0; i + 1 < x.length; i += 2) attributes[x[i] as string] = x[i + 1] as Attributes[string];
  return { ...r, attributes };
}

/** A checkpoint event anchoring `stream` at (`seq`, `head`); kata-otel's own resource. */
export function checkpointRecord(stream: string, seq: number, head: string, at: bigint): KataLogRecord {
  return {
    timeUnixNano: at,
    observedTimeUnixNano: at,
    severityNumber: 9,
    severityText: 'INFO',
    body: `integrity checkpoint: stream ${stream} has ${seq} records, head ${head}`,
    eventName: EVENT_KATA_INTEGRITY_CHECKPOINT,
    attributes: {
      [ATTR_SERVICE_NAME]: 'kata-otel',
      [ATTR_SERVICE_NAMESPACE]: 'kata-containers',
      [ATTR_KATA_INTEGRITY_CHECKPOINT_STREAM]: stream,
      [ATTR_KATA_INTEGRITY_CHECKPOINT_SEQUENCE]: seq,
      [ATTR_KATA_INTEGRITY_CHECKPOINT_HEAD]: head,
    },
  };
}

/**
 * Stamp a batch in the order the OTLP encoders will write it (records grouped by resource), then, when one is
 * due, append a checkpoint of this stream (itself chained). Due: the stream passed a multiple of
 * `checkpointEveryRecords`, or a record was observed `checkpointIntervalMs` after the last checkpoint. Both
 * depend only on the records, so a batch sent again after a failure gets the same numbers.
 * `extra`: records to chain after the batch (anchors of other streams).
 */
export function stampBatch(
  ordered: KataLogRecord[],
  state: ChainState,
  opts: ChainOptions,
  extra: KataLogRecord[] = [],
  extraAttributes?: Map<KataLogRecord, ExtraAttributes>,
): { records: KataLogRecord[]; checkpoint?: { seq: number; head: string } } {
  // With `extraAttributes`, records are stamped without copies (stampRecordExtra) for an encoder that takes them.
  const stamp = extraAttributes
    ? (r: KataLogRecord, s: ChainState, key?: Buffer) => stampRecordExtra(r, s, key, extraAttributes)
    : stampRecord;
  const out: KataLogRecord[] = [];
  const startSeq = state.seq;
  let latest = 0n;
  for (const r of ordered) {
    out.push(stamp(r, state, opts.key));
    if (r.observedTimeUnixNano > latest) latest = r.observedTimeUnixNano;
  }
  if (state.checkpointAt === 0n && latest > 0n) state.checkpointAt = latest;
  const every = opts.checkpointEveryRecords;
  const due =
    out.length > 0 &&
    (Math.floor(state.seq / every) > Math.floor(startSeq / every) ||
      latest - state.checkpointAt >= BigInt(opts.checkpointIntervalMs) * 1_000_000n);
  let checkpoint: { seq: number; head: string } | undefined;
  if (due) {
    checkpoint = { seq: state.seq, head: state.head };
    out.push(stamp(checkpointRecord(state.stream, state.seq, state.head, latest), state, opts.key));
    state.checkpointAt = latest;
  }
  for (const e of extra) out.push(stamp(e, state, opts.key));
  return { records: out, checkpoint };
}
