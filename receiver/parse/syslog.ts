// Carrier prefixes in front of a record: journalctl/syslog short (`May 17 19:43:30 host ident[pid]: `, month
// names in other locales too), `journalctl -o short-iso` (`2025-11-20T16:25:32+0000 host ident[pid]: `),
// `<PRI>` (`<6>Feb 21 10:31:27 kata-runtime[14314]: `, raw datagrams have no host) and RFC 5424
// (`<165>1 2003-10-11T22:14:15.003Z host app procid msgid [sd] msg`). Each parser fills `outer` and returns the
// index where the message starts, or -1 (and leaves `outer` untouched) when the text is not that prefix.
// Hand-written: it runs in front of every journal-text line, and the journalctl forms (localised months, no
// host in raw datagrams, short-iso) are not what generic syslog parsers accept.
import { severityFromPriority } from '../model/severity.js';
import type { Outer } from './build.js';
import { toInt } from './fields.js';
import { again, type Shape } from './frame.js';
import { monthIndex, parseTimestamp } from './time.js';

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Two digits at s[i], or -1. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * `host ident[pid]: ` at s[i..]: fills host/ident/pid, returns the message index. A first token that ends with
 * `:` is the tag itself (raw datagrams have no host); a second token without `:` means there is no tag.
 */
function parseTag(s: string, i: number, outer: Outer): number {
  const n = s.length;
  let tagStart = i;
  let tagEnd = s.indexOf(' ', i);
  if (tagEnd < 0) tagEnd = n;
  if (s.charCodeAt(tagEnd - 1) !== 58 || tagEnd - 1 === i) {
    outer.host = s.slice(i, tagEnd);
    if (tagEnd >= n) return n;
    tagStart = tagEnd + 1;
    tagEnd = s.indexOf(' ', tagStart);
    if (tagEnd < 0) tagEnd = n;
    if (s.charCodeAt(tagEnd - 1) !== 58 || tagEnd - 1 === tagStart) return tagStart;
  }
  const colon = tagEnd - 1;
  const br = s.indexOf('[', tagStart);
  if (br > tagStart && br < colon && s.charCodeAt(colon - 1) === 93) {
    outer.ident = s.slice(tagStart, br);
    const pid = toInt(s.slice(br + 1, colon - 1));
    if (pid !== undefined) outer.pid = pid;
  } else {
    outer.ident = s.slice(tagStart, colon);
  }
  return tagEnd < n ? tagEnd + 1 : n;
}

/** `Mon DD HH:MM:SS[.frac] ` → month/day/time, then the tag. */
export function parseBsdPrefix(s: string, i: number, outer: Outer): number {
  const sp = s.indexOf(' ', i);
  if (sp < i + 2 || sp > i + 11) return -1;
  const month = monthIndex(s.slice(i, sp));
  if (month < 0) return -1;
  let j = sp + 1;
  if (s.charCodeAt(j) === 32) j++; // `May  7`
  if (!isDigit(s.charCodeAt(j))) return -1;
  let day = s.charCodeAt(j) - 48;
  j++;
  if (isDigit(s.charCodeAt(j))) {
    day = day * 10 + s.charCodeAt(j) - 48;
    j++;
  }
  if (s.charCodeAt(j) !== 32 || s.charCodeAt(j + 3) !== 58 || s.charCodeAt(j + 6) !== 58) return -1;
  const hh = two(s, j + 1);
  const mm = two(s, j + 4);
  const ss = two(s, j + 7);
  if (hh < 0 || mm < 0 || ss < 0 || day < 1 || day > 31) return -1;
  j += 9;
  let frac = 0;
  if (s.charCodeAt(j) === 46) {
    // short-precise: `19:43:30.996810`
    let k = 0;
    j++;
    while (isDigit(s.charCodeAt(j))) {
      if (k < 9) frac = frac * 10 + s.charCodeAt(j) - 48;
      k++;
      j++;
    }
    for (; k < 9; k++) frac *= 10;
  }
  if (s.charCodeAt(j) !== 32) return -1;
  if (outer.timeNs === 0n && outer.syslogDate === undefined) outer.syslogDate = [month, day, hh, mm, ss, frac];
  return parseTag(s, j + 1, outer);
}

/** `2025-11-20T16:25:32+0000 host ident[pid]: ` (journalctl -o short-iso / short-iso-precise). */
export function parseIsoPrefix(s: string, i: number, outer: Outer): number {
  const sp = s.indexOf(' ', i);
  if (sp < 0) return -1;
  const t = parseTimestamp(s, i, sp);
  if (t === undefined) return -1;
  const c = s.charCodeAt(sp + 1);
  if (c === 91 || sp + 1 >= s.length) return -1; // `… [` is a Firecracker line
  if (outer.timeNs === 0n) outer.timeNs = t;
  return parseTag(s, sp + 1, outer);
}

/** `<PRI>`: severity from PRI & 7; then RFC 5424 (`1 …`), a BSD prefix, or the message itself. */
export function parsePriPrefix(s: string, i: number, outer: Outer): number {
  const close = s.indexOf('>', i);
  if (close < i + 2 || close > i + 4) return -1;
  const pri = toInt(s.slice(i + 1, close));
  if (pri === undefined || pri > 191) return -1;
  if (outer.severity === undefined) {
    outer.severity = severityFromPriority(pri & 7);
    outer.severityText = String(pri & 7);
  }
  const j = close + 1;
  if (s.charCodeAt(j) === 49 && s.charCodeAt(j + 1) === 32) {
    const r = parseRfc5424(s, j + 2, outer);
    if (r >= 0) return r;
  }
  const b = parseBsdPrefix(s, j, outer);
  return b >= 0 ? b : j;
}

function nextToken(s: string, i: number): number {
  const sp = s.indexOf(' ', i);
  return sp < 0 ? s.length : sp;
}

/** RFC 5424 after `<PRI>1 `: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]. */
function parseRfc5424(s: string, i: number, outer: Outer): number {
  const n = s.length;
  let e = nextToken(s, i);
  if (e - i !== 1 || s.charCodeAt(i) !== 45) {
    const t = parseTimestamp(s, i, e);
    if (t === undefined) return -1;
    if (outer.timeNs === 0n) outer.timeNs = t;
  }
  const fields: string[] = [];
  let j = e + 1;
  for (let k = 0; k < 4 && j <= n; k++) {
    e = nextToken(s, j);
    fields.push(s.slice(j, e));
    j = e + 1;
  }
  if (fields.length < 4) return -1;
  const [host, app, procid] = fields as [string, string, string, string];
  if (host !== '-') outer.host = host;
  if (app !== '-') outer.ident = app;
  const pid = toInt(procid);
  if (pid !== undefined) outer.pid = pid;
  // STRUCTURED-DATA: `-` or one or more `[id k="v" …]` (values escape `"`, `\`, `]`)
  if (s.charCodeAt(j) === 45) j++;
  else {
    while (s.charCodeAt(j) === 91) {
      let inQ = false;
      j++;
      while (j < n) {
        const c = s.charCodeAt(j);
        if (c === 92) j++;
        else if (c === 34) inQ = !inQ;
        else if (c === 93 && !inQ) break;
        j++;
      }
      j++;
    }
  }
  if (s.charCodeAt(j) === 32) j++;
  if (s.charCodeAt(j) === 0xfeff) j++; // BOM
  return Math.min(j, n);
}

/** A carrier prefix shape: the prefix fills `outer`, and the rest of the line is dispatched again. */
function prefixShape(
  name: string,
  first: (c: number) => boolean,
  parse: (s: string, i: number, o: Outer) => number,
): Shape {
  return {
    name,
    first,
    parse(s, i, f) {
      const j = parse(s, i, f.outer);
      return j < 0 ? undefined : again(s, j, f);
    },
  };
}

export const PRI_PREFIX = prefixShape('pri', (c) => c === 60, parsePriPrefix);
export const ISO_PREFIX = prefixShape('iso-prefix', isDigit, parseIsoPrefix);
// Letters and non-ASCII (`May`, `déc.`, `дек`), digits for CJK months (`11月`).
export const BSD_PREFIX = prefixShape('bsd-prefix', (c) => c > 64 || isDigit(c), parseBsdPrefix);
