// One `journalctl --output=json` line → its fields object, the same key → value mapping as `JSON.parse` gives, but
// with the keys in a fixed order. Hand-written because it is the journald source's hot path and JSON.parse is slow
// here for a reason of its own: journalctl (systemd 252) writes an entry's fields in hash-table order, which
// differs from entry to entry (20,000 entries of the steady bench: 20,000 orders). JSON.parse gives every new
// order new hidden classes (a chain of maps, one per key, each with its own descriptor array); once a major GC has
// dropped the maps of entries already delivered, every entry builds ~15 of them again: ~20 µs per entry in a
// running receiver against ~4 µs for JSON.parse of lines whose order it has seen, the maps are old-space garbage,
// and every reader of the fields (provenance, the journal parser) meets a new map per entry (megamorphic loads).
// Here the known fields are set in one fixed order and any others after them sorted by name, by an object literal
// generated once per set of fields (factoryFor), so entries with the same set of fields share one map.
//
// The fast path takes what journalctl writes: `{"KEY":"value",…}` with string or null values, no whitespace. A
// string value without escapes is a slice of the line; one with escapes is decoded by JSON.parse of that value
// alone (which also rejects a bad escape). Anything else (arrays: binary MESSAGE or a repeated field, numbers,
// whitespace, a control character, `__proto__`, malformed text) is left to JSON.parse of the whole line, so every
// line gets exactly JSON.parse's verdict and values. One pass over the line with indexOf: linear in its length.

import { JOURNAL_PROTOCOL_FIELDS } from '../parse/journal.js';

/** Fields in the order they are set (journald's own first, then the syslog/native-protocol and runtime-rs ones). */
const KNOWN_FIELDS: readonly string[] = [
  '__CURSOR',
  '__REALTIME_TIMESTAMP',
  '__MONOTONIC_TIMESTAMP',
  '__SEQNUM',
  '__SEQNUM_ID',
  '_BOOT_ID',
  '_MACHINE_ID',
  '_HOSTNAME',
  '_RUNTIME_SCOPE',
  '_NAMESPACE',
  '_TRANSPORT',
  '_STREAM_ID',
  '_LINE_BREAK',
  '_UID',
  '_GID',
  '_PID',
  '_COMM',
  '_EXE',
  '_CMDLINE',
  '_CAP_EFFECTIVE',
  '_SELINUX_CONTEXT',
  '_AUDIT_SESSION',
  '_AUDIT_LOGINUID',
  '_SYSTEMD_CGROUP',
  '_SYSTEMD_SLICE',
  '_SYSTEMD_UNIT',
  '_SYSTEMD_USER_UNIT',
  '_SYSTEMD_USER_SLICE',
  '_SYSTEMD_SESSION',
  '_SYSTEMD_OWNER_UID',
  '_SYSTEMD_INVOCATION_ID',
  '_SOURCE_REALTIME_TIMESTAMP',
  '_SOURCE_MONOTONIC_TIMESTAMP',
  ...JOURNAL_PROTOCOL_FIELDS,
  // runtime-rs (slog-journald) native records
  'NAME',
  'SUBSYSTEM',
  'SOURCE',
  'COMPONENT',
  'STREAM',
];

/** Candidates by (name length, second character): a key is matched with one or two `startsWith`, no string made. */
const BUCKETS = new Map<number, number[]>();
const bucketOf = (length: number, second: number) => length * 128 + second;
KNOWN_FIELDS.forEach((k, rank) => {
  const b = bucketOf(k.length, k.charCodeAt(1));
  const list = BUCKETS.get(b);
  if (list) list.push(rank);
  else BUCKETS.set(b, [rank]);
});

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const CONTROL = /[\u0000-\u001f]/;

// Scratch space of the fast path (one line at a time, never re-entered): values by rank, which ranks are set,
// and the other fields.
const slots: unknown[] = new Array<unknown>(KNOWN_FIELDS.length);
const present = new Uint8Array(KNOWN_FIELDS.length);
const otherKeys: string[] = [];
const otherValues: unknown[] = [];
// The set ranks as a bit set (KNOWN_FIELDS has at most 64 names): the key of the object factory for them.
let lo = 0;
let hi = 0;
if (KNOWN_FIELDS.length > 64) throw new Error('journal-json: more than 64 known fields');

/**
 * The fields of one journalctl JSON line, or undefined when the line is not a JSON object (malformed, or another
 * JSON value): the caller keeps such a line as raw text.
 */
export function parseJournalLine(text: string): Record<string, unknown> | undefined {
  const fast = scan(text);
  return fast ? build() : slowPath(text);
}

const RANK = new Map(KNOWN_FIELDS.map((k, rank) => [k, rank]));

/** JSON.parse of the whole line; its fields then set in the same order as the fast path's. */
function slowPath(text: string): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const parsed = v as Record<string, unknown>;
  // An own `__proto__` can only be set as JSON.parse did it.
  if (Object.prototype.hasOwnProperty.call(parsed, '__proto__')) return parsed;
  reset();
  for (const k of Object.keys(parsed)) put(RANK.get(k) ?? -1, k, parsed[k]);
  return build();
}

function put(rank: number, key: string | undefined, value: unknown): void {
  if (rank >= 0) {
    if (present[rank] === 0) {
      present[rank] = 1;
      if (rank < 32) lo |= 1 << rank;
      else hi |= 1 << (rank - 32);
    }
    slots[rank] = value; // a repeated key: the last one wins, as in JSON.parse
  } else {
    otherKeys.push(key as string);
    otherValues.push(value);
  }
}

/** The fast path's scan into the scratch space; false: leave the line to JSON.parse. */
function scan(t: string): boolean {
  const n = t.length;
  reset();
  if (n < 2 || t.charCodeAt(0) !== OPEN || CONTROL.test(t)) return false;
  if (n === 2) return t.charCodeAt(1) === CLOSE;
  // The next backslash at or after the scan position (n: none): moves forward only, so the scan stays linear.
  let bs = t.indexOf('\\');
  if (bs < 0) bs = n;
  let i = 1;
  for (;;) {
    if (t.charCodeAt(i) !== QUOTE) return false;
    const ke = t.indexOf('"', i + 1);
    if (ke < 0 || bs < ke || t.charCodeAt(ke + 1) !== COLON) return false;
    const rank = knownRank(t, i + 1, ke);
    let key: string | undefined;
    if (rank < 0) {
      key = t.slice(i + 1, ke);
      if (key === '__proto__') return false; // an own property for JSON.parse, the prototype for an assignment
    }
    const v = ke + 2;
    let value: unknown;
    let end: number;
    const c = t.charCodeAt(v);
    if (c === QUOTE) {
      let q = t.indexOf('"', v + 1);
      let escaped = false;
      // A backslash before the candidate quote: skip the escape (it may be the quote itself) and look again.
      while (q >= 0 && bs < q) {
        escaped = true;
        const after = bs + 2;
        bs = t.indexOf('\\', after);
        if (bs < 0) bs = n;
        if (after > q) q = t.indexOf('"', after);
      }
      if (q < 0) return false;
      if (escaped) {
        try {
          value = JSON.parse(t.slice(v, q + 1));
        } catch {
          return false;
        }
      } else value = t.slice(v + 1, q);
      end = q + 1;
    } else if (c === 0x6e && t.startsWith('null', v)) {
      value = null;
      end = v + 4;
    } else return false;
    put(rank, key, value);
    const d = t.charCodeAt(end);
    if (d === COMMA) {
      i = end + 1;
      continue;
    }
    return d === CLOSE && end + 1 === n;
  }
}

/** The rank of the key `t[from, to)` among KNOWN_FIELDS, or -1. */
function knownRank(t: string, from: number, to: number): number {
  const list = BUCKETS.get(bucketOf(to - from, t.charCodeAt(from + 1)));
  if (list === undefined) return -1;
  for (const rank of list) if (t.startsWith(KNOWN_FIELDS[rank] as string, from)) return rank;
  return -1;
}

function reset(): void {
  // `slots` keeps its old values: only the ranks marked in `present` are read.
  present.fill(0);
  otherKeys.length = 0;
  otherValues.length = 0;
  lo = 0;
  hi = 0;
}

/** The fields object: known fields in rank order, then the others by name (the last of a repeated key wins). */
function build(): Record<string, unknown> {
  const m = otherKeys.length;
  const order = m > 1 ? othersByName() : undefined;
  const make = factoryFor(order);
  let o: Record<string, unknown>;
  if (make !== undefined) {
    o = make(slots, order === undefined ? otherValues : order.map((j) => otherValues[j]));
  } else {
    o = {};
    // A walk over the ranks (a few dozen bytes) is cheaper than sorting the ranks set.
    for (let r = 0; r < present.length; r++) if (present[r] === 1) o[KNOWN_FIELDS[r] as string] = slots[r];
    if (order === undefined) {
      if (m === 1) o[otherKeys[0] as string] = otherValues[0];
    } else for (const j of order) o[otherKeys[j] as string] = otherValues[j];
  }
  reset();
  return o;
}

/** Positions of the other fields sorted by name, the position as tie-break (of two equal keys the later is set last). */
function othersByName(): number[] {
  const order = Array.from({ length: otherKeys.length }, (_, j) => j);
  return order.sort((a, b) => {
    const ka = otherKeys[a] as string;
    const kb = otherKeys[b] as string;
    return ka < kb ? -1 : ka > kb ? 1 : a - b;
  });
}

// Object factories, one per set of fields: `(known, others) => ({"__CURSOR": known[0], …, "AA": others[0], …})`.
// An object literal gets every field in-object on one hidden class per set; an object built by assignments of
// computed keys turns into a hash table past 16 fields (V8's limit for such stores), and a real node's journal
// entries have 20–30 (26 fields: 0.14 µs against 2.1 µs to build). Bounded: a writer that invents field sets gets
// the assignments once MAX_FACTORIES exist. The generated code holds only field names journald allows
// ([A-Z0-9_], not starting with a digit), written with JSON.stringify; with code generation from strings
// disabled (--disallow-code-generation-from-strings) the assignments are used.
type Factory = (known: unknown[], others: unknown[]) => Record<string, unknown>;
const MAX_FACTORIES = 256;
/** Entries with more fields of other names than this (journald allows 1,024 per entry) use the assignments. */
const MAX_FACTORY_OTHERS = 64;
const knownOnly = new Map<number, Map<number, Factory>>();
const withOthers = new Map<string, Factory>();
let factories = 0;
let codegen = true;
const FIELD_NAME = /^[A-Z_][A-Z0-9_]*$/;

function factoryFor(order: number[] | undefined): Factory | undefined {
  if (!codegen) return undefined;
  const m = otherKeys.length;
  let names: string[] = [];
  let sig = '';
  if (m === 0) {
    const f = knownOnly.get(lo)?.get(hi);
    if (f !== undefined) return f;
  } else {
    if (m > MAX_FACTORY_OTHERS) return undefined;
    names = order === undefined ? [otherKeys[0] as string] : order.map((j) => otherKeys[j] as string);
    sig = `${lo},${hi},${names.join(',')}`;
    const f = withOthers.get(sig);
    if (f !== undefined) return f;
    for (let i = 0; i < names.length; i++)
      if (!FIELD_NAME.test(names[i] as string) || names[i] === names[i - 1]) return undefined;
  }
  if (factories >= MAX_FACTORIES) return undefined;
  const props: string[] = [];
  for (let r = 0; r < present.length; r++)
    if (present[r] === 1) props.push(`${JSON.stringify(KNOWN_FIELDS[r])}:k[${r}]`);
  names.forEach((n, i) => props.push(`${JSON.stringify(n)}:o[${i}]`));
  let f: Factory;
  try {
    f = new Function('k', 'o', `return {${props.join(',')}};`) as Factory;
  } catch {
    codegen = false;
    return undefined;
  }
  factories++;
  if (m > 0) withOthers.set(sig, f);
  else {
    let byHi = knownOnly.get(lo);
    if (byHi === undefined) knownOnly.set(lo, (byHi = new Map()));
    byHi.set(hi, f);
  }
  return f;
}
