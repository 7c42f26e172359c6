// A Kata record that does not start its line: after a paste's line number, a bare clock time, a truncated journal
// prefix, a hostname, a relay's wrapper (`relay-1: {"content": level=warning msg=\"…\" …}`) or inside a JSON
// field dump (`"MESSAGE":"time=\"…\" level=info …"`). And the fragment of a wrapped record: a line that is only
// the trailing `key=value` pairs of a logfmt record. Both run only on lines no shape took at their start.
//
// Linear time: at most MAX_TRIES candidate starts are tried, each with one tokenize / JSON.parse of the rest of
// the line; candidates are found with indexOf moving forward only.
import type { KataLogRecord } from '../model/record.js';
import { ATTR_KATA_LOG_FRAGMENT, ATTR_KATA_LOG_PREFIX, KATA_LOG_FORMAT_VALUE_LOGFMT } from '../semconv/generated.js';
import { child, type Frame } from './frame.js';
import { goRecord } from './goshim.js';
import { tokenizeLogfmt, trailingPairsStart } from './logfmt.js';

const MAX_TRIES = 8;
const KEYS = ['time=', 'level=', 'msg='];
/** Keys only a Kata record's pairs have: a fragment needs one of these. */
const IDENTITY_KEYS = new Set(['sandbox', 'source', 'subsystem', 'container', 'cid', 'name']);
/** Keys logrus writes in every record: a fragment needs two of these or identity keys. */
const KATA_KEYS = new Set([...IDENTITY_KEYS, 'pid', 'level', 'msg', 'time', 'exec', 'error', 'qemuPid']);

/** The next start of `time=`/`level=`/`msg=` or `{"`/`{\"` at or after `from`, or -1. */
function nextCandidate(s: string, from: number, json: boolean): number {
  let best = -1;
  for (const k of json ? ['{"', '{\\"'] : KEYS) {
    const at = s.indexOf(k, from);
    if (at >= 0 && (best < 0 || at < best)) best = at;
  }
  return best;
}

/**
 * Where the JSON string holding s[k] opens (the index after its `"`), when that quote opens a value (`:"`, `,"`,
 * `["`, `{"`); else k. Looking back stops at the first quote that is not escaped.
 */
function stringStart(s: string, k: number, from: number): number {
  for (let j = k - 1; j >= from; j--) {
    if (s.charCodeAt(j) !== 34) continue;
    let b = 0;
    while (j - 1 - b >= from && s.charCodeAt(j - 1 - b) === 92) b++;
    if (b % 2 === 1) continue; // an escaped quote inside the string
    const c = j > 0 ? s.charCodeAt(j - 1) : 0;
    return c === 58 || c === 44 || c === 91 || c === 123 ? j + 1 : k;
  }
  return k;
}

/**
 * When the record at k sits inside a JSON string (its first quote is escaped: `time=\"…`), the string's content
 * from k to its closing quote, unescaped once; else undefined.
 */
function escapedRecord(s: string, k: number): string | undefined {
  const q = s.indexOf('"', k);
  if (q <= k || s.charCodeAt(q - 1) !== 92) return undefined;
  let end = s.length;
  for (let j = k; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 92) j++;
    else if (c === 34) {
      end = j;
      break;
    }
  }
  let body = s.slice(k, end).trimEnd();
  // a relay's unquoted wrapper ends with its own closing brace
  if (end === s.length && body.endsWith('}')) body = body.slice(0, -1).trimEnd();
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    return body.replace(/\\(["\\])/g, '$1');
  }
}

/** Is this tokenization a whole logrus record (pairs only, with a level and a message)? */
function isRecord(kv: string[]): boolean {
  let level = false;
  let msg = false;
  for (let j = 0; j < kv.length; j += 2) {
    if (kv[j] === 'level') level = true;
    else if (kv[j] === 'msg') msg = true;
  }
  return level && msg;
}

const isSpace = (c: number) => c === 32 || c === 9;

/** The last time, level and msg of two tokenizations agree. */
function sameRecord(a: string[], b: string[]): boolean {
  const last = (kv: string[], key: string) => {
    let v: string | undefined;
    for (let j = 0; j < kv.length; j += 2) if (kv[j] === key) v = kv[j + 1];
    return v;
  };
  return ['time', 'level', 'msg'].every((k) => last(a, k) === last(b, k));
}

function withPrefix(rec: KataLogRecord, prefix: string): KataLogRecord {
  if (prefix !== '' && rec.attributes[ATTR_KATA_LOG_PREFIX] === undefined)
    rec.attributes[ATTR_KATA_LOG_PREFIX] = prefix;
  return rec;
}

/** A logrus or slog/runtime-rs JSON record somewhere after s[i], parsed with the text before it kept; or undefined. */
export function embeddedRecord(s: string, i: number, f: Frame): KataLogRecord | undefined {
  let tries = 0;
  for (let k = nextCandidate(s, i + 1, false); k >= 0 && tries < MAX_TRIES; k = nextCandidate(s, k + 1, false)) {
    tries++;
    const escaped = escapedRecord(s, k);
    if (escaped !== undefined) {
      const t = tokenizeLogfmt(escaped, 0);
      if (t.bare > 0 || t.error !== undefined || !isRecord(t.kv)) continue;
      // The whole JSON string is the line that was logged (a PRI and journal prefix may come before the record).
      const open = stringStart(s, k, i);
      const text = open === k ? escaped : (escapedRecord(s, open) ?? escaped);
      return withPrefix(f.next(text, 0, child(f, 'line')), s.slice(i, open));
    }
    const t = tokenizeLogfmt(s, k);
    if (t.bare > 0 || t.error !== undefined || !isRecord(t.kv)) continue;
    // Pairs just before the record, split from it by a space, are the record's too (logrus keys in any order:
    // `sandbox=… time="…" …`), when reading them does not change what the record says.
    let start = k;
    let kv = t.kv;
    if (k > i && isSpace(s.charCodeAt(k - 1))) {
      const whole = tokenizeLogfmt(s, i);
      const from = whole.bare === 0 && whole.error === undefined ? i : trailingPairsStart(s, i);
      if (from >= 0 && from < k) {
        const ext = from === i ? whole.kv : tokenizeLogfmt(s, from).kv;
        if (sameRecord(ext, t.kv)) {
          start = from;
          kv = ext;
        }
      }
    }
    return withPrefix(goRecord(kv, s.slice(start), f, KATA_LOG_FORMAT_VALUE_LOGFMT), s.slice(i, start));
  }
  tries = 0;
  const last = s.lastIndexOf('}');
  for (
    let k = nextCandidate(s, i + 1, true);
    k >= 0 && k < last && tries < MAX_TRIES;
    k = nextCandidate(s, k + 1, true)
  ) {
    tries++;
    let text = s.slice(k, last + 1);
    if (text.startsWith('{\\"')) {
      const e = escapedRecord(s, k);
      if (e === undefined) continue;
      text = e;
    }
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch {
      continue;
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) continue;
    const r = o as Record<string, unknown>;
    if (r.MESSAGE === undefined && (r.msg === undefined || r.level === undefined)) continue;
    return withPrefix(f.next(text, 0, child(f, 'line')), s.slice(i, k));
  }
  return undefined;
}

/**
 * The tail of a wrapped logfmt record (`pid=4411 sandbox=9f2c… source=virtcontainers subsystem=kata_agent`, or
 * one starting mid-value): the trailing pairs, when they are Kata's, as a record marked `kata.log.fragment`.
 */
export function fragmentRecord(s: string, i: number, f: Frame): KataLogRecord | undefined {
  if (s.indexOf('=', i) < 0) return undefined;
  let start = i;
  const whole = tokenizeLogfmt(s, i);
  if (whole.bare > 0 || whole.error !== undefined) {
    start = trailingPairsStart(s, i);
    if (start < 0) return undefined;
  }
  const kv = start === i ? whole.kv : tokenizeLogfmt(s, start).kv;
  let identity = 0;
  let known = 0;
  for (let j = 0; j < kv.length; j += 2) {
    const k = kv[j] as string;
    if (IDENTITY_KEYS.has(k)) identity++;
    if (KATA_KEYS.has(k)) known++;
  }
  if (identity === 0 || known < 2) return undefined;
  const raw = s.slice(i).trimEnd();
  const rec = goRecord(kv, raw, f, KATA_LOG_FORMAT_VALUE_LOGFMT);
  rec.attributes[ATTR_KATA_LOG_FRAGMENT] = true;
  return rec;
}
