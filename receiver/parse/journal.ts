// journald entries (`journalctl -o json`, sd-journal fields). The journal fields become the carrier (`outer`):
// host, identifier, unit, cursor, pid, PRIORITY, time; MESSAGE is parsed with the text detectors (Go shim
// logfmt under `kata`, containerd's copy under `containerd`, forwarded agent JSON, …). runtime-rs ≥ 3.20 writes
// native records instead: MESSAGE is plain text and the upper-cased slog keys carry the structure.
import type { KataLogRecord } from '../model/record.js';
import {
  ATTR_CODE_FILE_PATH,
  ATTR_CODE_FUNCTION_NAME,
  ATTR_CODE_LINE_NUMBER,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SOURCE,
  KATA_COMPONENT_VALUE_RUNTIME,
  KATA_LOG_FORMAT_VALUE_JOURNALD,
} from '../semconv/generated.js';
import { severityFromPriority } from '../model/severity.js';
import { adopt, newRecord } from './build.js';
import { applyField, isGoSourceLabel, setHypervisorFromSubsystem, toInt } from './fields.js';
import { child, type Frame, type ObjectShape } from './frame.js';
import { markForwarded, runtimeRsNested } from './runtimers.js';
import { microsToNanos } from './time.js';

type Fields = Record<string, unknown>;

/** A journald field as a string: strings as-is, numbers, byte arrays (non-UTF-8 / binary MESSAGE) decoded. */
export function journalString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return '';
    if (typeof v[0] === 'number') {
      const bytes = v.filter((b): b is number => typeof b === 'number' && b >= 0 && b <= 255);
      return Buffer.from(bytes).toString('utf8');
    }
    // A field that occurs several times in one entry: journalctl gives an array; the last one wins.
    return journalString(v[v.length - 1]);
  }
  return undefined;
}

/**
 * runtime-rs (slog-journald) PRIORITY: Critical 2, Error 3, Warning 4, Info 5, Debug 6, Trace 7 — one step
 * below syslog for info and debug, so the syslog mapping would make every info record a notice.
 */
const RUNTIME_RS_PRIORITY = [21, 21, 21, 17, 13, 9, 5, 1];

/** Fields journald or the syslog transport define; not copied as `kata.field.*` from runtime-rs records. */
export const JOURNAL_PROTOCOL_FIELDS: readonly string[] = [
  'MESSAGE',
  'MESSAGE_ID',
  'PRIORITY',
  'SYSLOG_IDENTIFIER',
  'SYSLOG_PID',
  'SYSLOG_FACILITY',
  'SYSLOG_TIMESTAMP',
  'SYSLOG_RAW',
  'CODE_FILE',
  'CODE_LINE',
  'CODE_FUNC',
  'CODE_FUNCTION',
  'INVOCATION_ID',
  'USER_INVOCATION_ID',
  'TID',
  'ERRNO',
  'DOCUMENTATION',
];
const JOURNAL_FIELDS = new Set(JOURNAL_PROTOCOL_FIELDS);

function isRuntimeRsNative(f: Fields, ident: string | undefined): boolean {
  const name = journalString(f.NAME);
  if (name === 'kata-runtime') return true;
  return (
    ident === 'kata' &&
    journalString(f._TRANSPORT) === 'journal' &&
    (f.SUBSYSTEM !== undefined || f.SOURCE !== undefined || f.COMPONENT !== undefined)
  );
}

/** The record for one journal entry (not finished: the caller applies `outer` and the context). */
export function journalRecord(f: Fields, fr: Frame): KataLogRecord {
  const { outer, ctx } = fr;
  const msg = journalString(f.MESSAGE) ?? '';
  outer.host ??= journalString(f._HOSTNAME);
  outer.ident ??= journalString(f.SYSLOG_IDENTIFIER);
  outer.unit ??= journalString(f._SYSTEMD_UNIT) ?? journalString(f._SYSTEMD_USER_UNIT);
  outer.cursor ??= journalString(f.__CURSOR);
  if (outer.pid === undefined) {
    const p = journalString(f.SYSLOG_PID) ?? journalString(f._PID);
    const pid = p === undefined ? undefined : toInt(p);
    if (pid !== undefined) outer.pid = pid;
  }
  if (outer.timeNs === 0n)
    outer.timeNs = microsToNanos(f._SOURCE_REALTIME_TIMESTAMP) ?? microsToNanos(f.__REALTIME_TIMESTAMP) ?? 0n;
  const prio = journalString(f.PRIORITY);
  const p = prio === undefined ? undefined : toInt(prio);
  const native = isRuntimeRsNative(f, outer.ident);
  if (p !== undefined && outer.severity === undefined) {
    outer.severity = native ? (RUNTIME_RS_PRIORITY[p] ?? 0) : severityFromPriority(p);
    outer.severityText = prio;
  }
  if (!native) return fr.next(msg, 0, child(fr, 'line'));

  const subsystem = journalString(f.SUBSYSTEM);
  const source = journalString(f.SOURCE);
  const sandbox = source !== undefined && !isGoSourceLabel(source) ? source : undefined;
  const nested = runtimeRsNested(msg, journalString(f.STREAM), subsystem, fr, sandbox);
  if (nested !== undefined) {
    adopt(nested, 0n, outer.severity, outer.severityText);
    return nested;
  }
  const rec = newRecord(ctx, msg, KATA_LOG_FORMAT_VALUE_JOURNALD, KATA_COMPONENT_VALUE_RUNTIME);
  const a = rec.attributes;
  for (const k in f) {
    if (k.charCodeAt(0) === 95 || JOURNAL_FIELDS.has(k)) continue; // `_…`, `__…`: journald's trusted fields
    const v = journalString(f[k]);
    if (v === undefined) continue;
    // slog-journald upper-cased the slog keys (`-` → `_`); lower-casing restores them, so kata.field.* keys
    // match runtime-rs's pre-3.20 JSON records.
    const key = k.toLowerCase();
    if (key === 'source') a[ATTR_KATA_SOURCE] = v;
    else applyField(a, key, v);
  }
  const file = journalString(f.CODE_FILE);
  if (file !== undefined) a[ATTR_CODE_FILE_PATH] = file;
  const line = journalString(f.CODE_LINE);
  const ln = line === undefined ? undefined : toInt(line);
  if (ln !== undefined) a[ATTR_CODE_LINE_NUMBER] = ln;
  const fn = journalString(f.CODE_FUNCTION) ?? journalString(f.CODE_FUNC);
  if (fn !== undefined) a[ATTR_CODE_FUNCTION_NAME] = fn;
  if (sandbox !== undefined) a[ATTR_KATA_SANDBOX_ID] = sandbox;
  setHypervisorFromSubsystem(a, subsystem);
  return markForwarded(rec, msg, subsystem, outer.severity ?? 0);
}

/** A journald entry written out as JSON text (`journalctl -o json` lines): it has `MESSAGE`. */
export const JOURNAL_OBJECT: ObjectShape = {
  name: 'journald-json',
  parse: (o, _raw, f) => (o.MESSAGE === undefined ? undefined : journalRecord(o, f)),
};
