// JSON lines: slog JSON (agent, runtime-rs < 3.20, kata-agent-ctl), logrus JSON (`kata-runtime
// --log-format=json`), a journald object (`journalctl -o json`, keys include MESSAGE), and syslog/collector
// wrappers (`{"message": "<a Kata line>", "host": …}` from rsyslog/fluent, docker's `{"log": …}`). JSON.parse
// does the parsing; damaged JSON (doc-mangled quotes, console-split records) gets a tolerant scan instead.
import type { KataLogRecord, ParseContext } from '../model/record.js';
import { severityFromLevel } from '../model/severity.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_KATA_EXEC_ID,
  ATTR_KATA_FIELD,
  ATTR_KATA_NAME,
  ATTR_KATA_SOURCE,
  ATTR_KATA_SUBSYSTEM,
  ATTR_PROCESS_PID,
  KATA_COMPONENT_VALUE_AGENT,
  KATA_COMPONENT_VALUE_RUNTIME,
  KATA_COMPONENT_VALUE_UNKNOWN,
  KATA_LOG_FORMAT_VALUE_SLOG_JSON,
  KATA_LOG_FORMAT_VALUE_TEXT,
} from '../semconv/generated.js';
import { addParseError, fileComponent, identComponent, newRecord, type Outer } from './build.js';
import { toInt } from './fields.js';
import { child, type Frame, type ObjectShape, type Shape } from './frame.js';
import { parseTimestamp } from './time.js';

type Obj = Record<string, unknown>;

/** Parse a JSON text (one line or a multi-line object); never throws. Errors name the frame's carrier. */
export function jsonRecord(text: string, f: Frame): KataLogRecord {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    const repaired = repairJson(text);
    if (repaired !== undefined) {
      try {
        o = JSON.parse(repaired);
      } catch {
        o = undefined;
      }
    }
    if (o === undefined) {
      const where = f.carrier === undefined ? '' : ` in ${f.carrier}`;
      return tolerantRecord(text, f.outer, f.ctx, `invalid JSON${where}: ${(e as Error).message}`);
    }
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    return unknownJson(text, f, 'JSON value is not an object');
  }
  return f.next.object(o as Obj, text, f);
}

export const JSON_TEXT: Shape = {
  name: 'json',
  first: (c) => c === 123,
  parse: (s, i, f) => jsonRecord(i === 0 ? s : s.slice(i), f),
};

/**
 * Damage seen in real Kata logs that leaves the record recoverable: smart quotes from copy-paste, and a record
 * split across console lines (a raw newline inside a string; newlines between tokens are whitespace anyway).
 */
function repairJson(text: string): string | undefined {
  let t = text;
  if (t.includes('\u201c') || t.includes('\u201d')) t = t.replace(/[\u201c\u201d]/g, '"');
  if (t.includes('\n') || t.includes('\r')) t = t.replace(/[\r\n]/g, '');
  return t === text ? undefined : t;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A collector's JSON around a Kata line: its metadata becomes the carrier (`outer`), the line is parsed. */
function wrapped(o: Obj, inner: string, f: Frame): KataLogRecord {
  const outer = f.outer;
  outer.host ??= str(o.host) ?? str(o.hostname) ?? str(o.HOSTNAME) ?? str(o._HOSTNAME);
  outer.ident ??=
    str(o.ident) ??
    str(o.programname) ??
    str(o.app_name) ??
    str(o.appname) ??
    str(o.syslog_identifier) ??
    str(o.SYSLOG_IDENTIFIER);
  if (outer.pid === undefined) {
    const p = o.pid ?? o.procid;
    const pid = typeof p === 'number' ? p : typeof p === 'string' ? toInt(p) : undefined;
    if (pid !== undefined && Number.isInteger(pid)) outer.pid = pid;
  }
  if (outer.timeNs === 0n) {
    const t = str(o.time) ?? str(o.timestamp) ?? str(o['@timestamp']);
    const ns = t === undefined ? undefined : parseTimestamp(t);
    if (ns !== undefined) outer.timeNs = ns;
  }
  if (outer.severity === undefined) {
    const lv = str(o.level) ?? str(o.severity);
    const sev = lv === undefined ? 0 : severityFromLevel(lv);
    if (sev > 0) {
      outer.severity = sev;
      outer.severityText = lv;
    }
  }
  const stream = str(o.stream);
  if (stream !== undefined) outer.iostream ??= stream;
  let line = inner;
  while (line.endsWith('\n') || line.endsWith('\r')) line = line.slice(0, -1);
  return f.next(line, 0, child(f, 'line'));
}

/** A collector/syslog wrapper (`{"message": "<a Kata line>", "host": …}`, docker's `{"log": …}`). */
export const WRAPPER: ObjectShape = {
  name: 'json-wrapper',
  parse(o, _raw, f) {
    const inner = str(o.message) ?? str(o.msg) ?? str(o.log);
    return inner === undefined ? undefined : wrapped(o, inner, f);
  },
};

export function unknownJson(raw: string, f: Frame, why: string): KataLogRecord {
  const rec = newRecord(
    f.ctx,
    raw,
    KATA_LOG_FORMAT_VALUE_TEXT,
    identComponent(f.outer.ident) ?? fileComponent(f.ctx) ?? KATA_COMPONENT_VALUE_UNKNOWN,
  );
  addParseError(rec, why);
  return rec;
}

/**
 * The value of `"key":` in damaged JSON. A string value ends at the first `"` that is followed by `,"`, `}` or
 * the end (so unescaped inner quotes, as in the documented agent `announce` record, do not cut it short); an
 * unterminated value runs to the end of the text (a console-split record).
 */
export function scanJsonValue(s: string, key: string): string | undefined {
  const pat = `"${key}":`;
  const at = s.indexOf(pat);
  if (at < 0) return undefined;
  let i = at + pat.length;
  while (s.charCodeAt(i) === 32) i++;
  if (s.charCodeAt(i) !== 34) {
    let j = i;
    while (j < s.length && s.charCodeAt(j) !== 44 && s.charCodeAt(j) !== 125) j++;
    return s.slice(i, j).trim();
  }
  const start = i + 1;
  for (let j = start; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 92) {
      j++;
      continue;
    }
    if (c === 34 && endsValue(s, j + 1)) return unescapeJson(s.slice(start, j));
  }
  return unescapeJson(s.slice(start).trimEnd());
}

/** After a candidate closing quote: end of text, `}`, `,"` (compact) or `,` + newline (pretty-printed). */
function endsValue(s: string, k: number): boolean {
  while (s.charCodeAt(k) === 32 || s.charCodeAt(k) === 9) k++;
  if (k >= s.length) return true;
  const d = s.charCodeAt(k);
  if (d === 125 || d === 10 || d === 13) return true;
  if (d !== 44) return false;
  const e = s.charCodeAt(k + 1);
  return e === 34 || e === 10 || e === 13 || k + 1 >= s.length;
}

function unescapeJson(v: string): string {
  if (!v.includes('\\')) return v;
  try {
    return JSON.parse(`"${v}"`) as string;
  } catch {
    return v;
  }
}

/** Damaged JSON: body = the raw text, with best-effort level/ts/msg and identity fields, and the parse error. */
export function tolerantRecord(text: string, outer: Outer, ctx: ParseContext, why: string): KataLogRecord {
  const level = scanJsonValue(text, 'level');
  const ts = scanJsonValue(text, 'ts') ?? scanJsonValue(text, 'time');
  const msg = scanJsonValue(text, 'msg');
  const name = scanJsonValue(text, 'name');
  const source = scanJsonValue(text, 'source');
  let component: string;
  if (name === 'kata-agent' || name === 'kata-agent-ctl' || source === 'agent') component = KATA_COMPONENT_VALUE_AGENT;
  else if (name === 'kata-runtime' || name === 'containerd-shim-v2') component = KATA_COMPONENT_VALUE_RUNTIME;
  else component = identComponent(outer.ident) ?? fileComponent(ctx) ?? KATA_COMPONENT_VALUE_UNKNOWN;
  const isSlog = level !== undefined || ts !== undefined;
  const rec = newRecord(ctx, text, isSlog ? KATA_LOG_FORMAT_VALUE_SLOG_JSON : KATA_LOG_FORMAT_VALUE_TEXT, component);
  const a = rec.attributes;
  if (level !== undefined) {
    rec.severityText = level;
    rec.severityNumber = severityFromLevel(level);
  }
  if (ts !== undefined) {
    const t = parseTimestamp(ts);
    if (t !== undefined) rec.timeUnixNano = t;
  }
  if (msg !== undefined) a[ATTR_KATA_FIELD('msg')] = msg;
  if (name !== undefined) a[ATTR_KATA_NAME] = name;
  if (source !== undefined) a[ATTR_KATA_SOURCE] = source;
  const subsystem = scanJsonValue(text, 'subsystem');
  if (subsystem !== undefined) a[ATTR_KATA_SUBSYSTEM] = subsystem;
  const pid = scanJsonValue(text, 'pid');
  const p = pid === undefined ? undefined : toInt(pid);
  if (p !== undefined) a[ATTR_PROCESS_PID] = p;
  const cid = scanJsonValue(text, 'cid') ?? scanJsonValue(text, 'container-id');
  if (cid !== undefined) a[ATTR_CONTAINER_ID] = cid;
  const eid = scanJsonValue(text, 'eid') ?? scanJsonValue(text, 'exec-id');
  if (eid !== undefined) a[ATTR_KATA_EXEC_ID] = eid;
  addParseError(rec, why);
  return rec;
}
