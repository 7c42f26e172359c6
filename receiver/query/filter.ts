// What an investigator asks for (`kata-otel query` flags) and the one predicate that decides whether a record
// matches. The index (index.ts) only prunes: every candidate still goes through `matches`, so a stale or
// partial index can cost time but never change an answer.
import { RE2JS } from 're2js';
import type { AttrValue, KataLogRecord } from '../model/record.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SUBSYSTEM,
} from '../semconv/generated.js';

export interface Filter {
  sandbox?: string;
  container?: string;
  /** `k8s.namespace.name` and `k8s.pod.name`; namespace absent when the user gave only a pod name. */
  pod?: { namespace?: string; name: string };
  traceId?: string;
  spanId?: string;
  component?: string;
  subsystem?: string;
  /** Severity range, inclusive, as OTel SeverityNumbers. */
  severityMin?: number;
  severityMax?: number;
  /** Time range in ns since the epoch: since inclusive, until exclusive. */
  sinceNs?: bigint;
  untilNs?: bigint;
  /** Linear-time regular expression on the body (re2js: the guest wrote the text, the user wrote the pattern). */
  grep?: RE2JS;
  /** Attribute equalities (`--where k=v`), all must hold; a value `undefined` means "the attribute exists". */
  where?: { key: string; value?: string }[];
  /** Alert rule id (`kata.alert.rule.id`). */
  rule?: string;
}

/** Filters that are one string attribute equal to a value; the index keeps a posting list per `kind:value`. */
export const IDENTITY_FILTERS = [
  { field: 'sandbox', kind: 's', attr: ATTR_KATA_SANDBOX_ID },
  { field: 'container', kind: 'c', attr: ATTR_CONTAINER_ID },
  { field: 'component', kind: 'k', attr: ATTR_KATA_COMPONENT },
  { field: 'subsystem', kind: 'u', attr: ATTR_KATA_SUBSYSTEM },
  { field: 'rule', kind: 'r', attr: ATTR_KATA_ALERT_RULE_ID },
] as const;

/** The time a record is about: its own time, or when it was read when it carries none. */
export const recordTimeNs = (r: KataLogRecord): bigint =>
  r.timeUnixNano > 0n ? r.timeUnixNano : r.observedTimeUnixNano;

const str = (v: AttrValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

function attrEquals(v: AttrValue | undefined, want: string): boolean {
  if (v === undefined) return false;
  if (Array.isArray(v)) return v.includes(want);
  return String(v) === want;
}

export function matches(r: KataLogRecord, f: Filter): boolean {
  const a = r.attributes;
  for (const id of IDENTITY_FILTERS) {
    const want = f[id.field];
    if (want !== undefined && str(a[id.attr]) !== want) return false;
  }
  if (f.pod) {
    if (str(a[ATTR_K8S_POD_NAME]) !== f.pod.name) return false;
    if (f.pod.namespace !== undefined && str(a[ATTR_K8S_NAMESPACE_NAME]) !== f.pod.namespace) return false;
  }
  if (f.traceId !== undefined && r.traceId !== f.traceId) return false;
  if (f.spanId !== undefined && r.spanId !== f.spanId) return false;
  if (f.severityMin !== undefined && r.severityNumber < f.severityMin) return false;
  if (f.severityMax !== undefined && r.severityNumber > f.severityMax) return false;
  if (f.sinceNs !== undefined || f.untilNs !== undefined) {
    const t = recordTimeNs(r);
    if (f.sinceNs !== undefined && t < f.sinceNs) return false;
    if (f.untilNs !== undefined && t >= f.untilNs) return false;
  }
  if (f.where) {
    for (const w of f.where) {
      const v = a[w.key];
      if (w.value === undefined ? v === undefined : !attrEquals(v, w.value)) return false;
    }
  }
  if (f.grep && !f.grep.matcher(r.body).find()) return false;
  return true;
}

// ---- parsing the flags -------------------------------------------------------------------------------------

export class FilterError extends Error {}

/** OTel SeverityNumber ranges by their short names (data model: the first number of each range). */
const SEVERITY: Record<string, number> = { trace: 1, debug: 5, info: 9, warn: 13, warning: 13, error: 17, fatal: 21 };
const SEVERITY_TOP: Record<number, number> = { 1: 4, 5: 8, 9: 12, 13: 16, 17: 20, 21: 24 };

function severityNumber(word: string, flag: string): number {
  const w = word.trim().toLowerCase();
  if (/^\d+$/.test(w) && Number(w) >= 0 && Number(w) <= 24) return Number(w);
  const n = SEVERITY[w];
  if (n === undefined)
    throw new FilterError(
      `${flag}: unknown severity "${word}"; use trace, debug, info, warn, error, fatal or a SeverityNumber 0-24`,
    );
  return n;
}

/** `>=warn`, `>info`, `<=info`, `<error`, `=error` (the whole error range), `error` (= `>=error`). */
export function parseSeverity(spec: string): { min?: number; max?: number } {
  const m = /^\s*(>=|<=|>|<|=)?\s*(\w+)\s*$/.exec(spec);
  if (!m) throw new FilterError(`--severity: cannot read "${spec}"; write e.g. '>=warn', '<info' or 'error'`);
  const n = severityNumber(m[2]!, '--severity');
  const named = !/^\d+$/.test(m[2]!);
  const top = named ? (SEVERITY_TOP[n] ?? n) : n;
  switch (m[1] ?? '>=') {
    case '>=':
      return { min: n };
    case '>':
      return { min: top + 1 };
    case '<=':
      return { max: top };
    case '<':
      return { max: n - 1 };
    default:
      return { min: n, max: top };
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A duration like `90s`, `2h`, `7d`, `1h30m` in ms; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/.test(t)) return undefined;
  let ms = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/** `--since`/`--until`: a duration back from now (`2h`), an ISO-8601 time, or seconds since the epoch. */
export function parseTime(text: string, flag: string, nowMs: number): bigint {
  const d = parseDuration(text);
  if (d !== undefined) return BigInt(Math.round(nowMs - d)) * 1_000_000n;
  if (/^\d+(\.\d+)?$/.test(text.trim())) return BigInt(Math.round(Number(text) * 1000)) * 1_000_000n;
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new FilterError(
      `${flag}: cannot read "${text}" as a time; write a duration back from now (2h, 30m, 7d), an ISO-8601 time (2026-05-17T19:43:30Z) or seconds since the epoch`,
    );
  return BigInt(ms) * 1_000_000n;
}

const HEX = /^[0-9a-f]+$/;

function hexId(v: string, flag: string, len: number): string {
  const h = v.trim().toLowerCase();
  if (h.length !== len || !HEX.test(h)) throw new FilterError(`${flag}: "${v}" is not a ${len}-digit hex id`);
  return h;
}

/** The flags as the CLI hands them over (all strings, as typed). */
export interface FilterFlags {
  sandbox?: string;
  container?: string;
  pod?: string;
  traceId?: string;
  spanId?: string;
  component?: string;
  subsystem?: string;
  severity?: string;
  since?: string;
  until?: string;
  grep?: string;
  ignoreCase?: boolean;
  where?: string[];
  rule?: string;
}

export function parseFilter(o: FilterFlags, nowMs = Date.now()): Filter {
  const f: Filter = {};
  if (o.sandbox) f.sandbox = o.sandbox;
  if (o.container) f.container = o.container;
  if (o.pod) {
    const i = o.pod.indexOf('/');
    f.pod = i < 0 ? { name: o.pod } : { namespace: o.pod.slice(0, i), name: o.pod.slice(i + 1) };
    if (!f.pod.name) throw new FilterError(`--pod: "${o.pod}" has no pod name; write NAMESPACE/NAME or NAME`);
  }
  if (o.traceId) f.traceId = hexId(o.traceId, '--trace-id', 32);
  if (o.spanId) f.spanId = hexId(o.spanId, '--span-id', 16);
  if (o.component) f.component = o.component;
  if (o.subsystem) f.subsystem = o.subsystem;
  if (o.rule) f.rule = o.rule;
  if (o.severity) {
    const s = parseSeverity(o.severity);
    if (s.min !== undefined) f.severityMin = s.min;
    if (s.max !== undefined) f.severityMax = s.max;
  }
  if (o.since) f.sinceNs = parseTime(o.since, '--since', nowMs);
  if (o.until) f.untilNs = parseTime(o.until, '--until', nowMs);
  if (o.grep !== undefined) {
    try {
      f.grep = RE2JS.compile(o.grep, o.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
    } catch (err) {
      throw new FilterError(`--grep: "${o.grep}" is not a valid RE2 expression: ${(err as Error).message}`);
    }
  }
  if (o.where?.length) {
    f.where = o.where.map((w) => {
      const i = w.indexOf('=');
      if (i === 0) throw new FilterError(`--where: "${w}" has no attribute name; write KEY=VALUE or KEY`);
      return i < 0 ? { key: w } : { key: w.slice(0, i), value: w.slice(i + 1) };
    });
  }
  return f;
}
