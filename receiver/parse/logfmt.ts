// The logrus text (logfmt) tokenizer: `time="…" level=info msg="…" key=value bare-key …`. Hand-written single
// pass over the string (no regex per field, no split): it runs on every Go-shim line, the most common Kata shape.
import { readGoQuoted } from './quote.js';

// Smart quotes (“ ” „ ‘ ’) from documentation/copy-paste: a value opened with one is closed by the next smart
// quote of the same family that is followed by a space or the end of the line.
const isDoubleSmart = (c: number) => c === 0x201c || c === 0x201d || c === 0x201e;
const isSingleSmart = (c: number) => c === 0x2018 || c === 0x2019;

export interface LogfmtResult {
  /** Keys and values, alternating: [k0, v0, k1, v1, …]. A bare key has the value ''. */
  kv: string[];
  /** How many tokens had no `=` (bare keys). */
  bare: number;
  /** Set when a quoted value had no closing quote (its value is the rest of the line). */
  error?: string;
}

// Keys repeat on every line (time, level, msg, sandbox, …): they are looked up in a small table of keys seen
// before, hashed while the key is scanned, instead of being sliced out of every line. The table holds the
// interned string, so the callers' switch statements compare keys by reference and attribute objects get keys
// V8 does not have to intern again. A slot holds the last key hashed to it; a miss just slices.
const KEY_SLOTS = 512;
const keyTable: (string | undefined)[] = new Array<string | undefined>(KEY_SLOTS).fill(undefined);
const MAX_INTERNED_KEY = 40;

/** The interned form of a new key (a string used as a property name is internalized by V8). */
function intern(k: string): string {
  return Object.keys({ [k]: 0 })[0] as string;
}

function keyAt(s: string, ks: number, ke: number, h: number): string {
  const n = ke - ks;
  if (n > MAX_INTERNED_KEY) return s.slice(ks, ke);
  const slot = h & (KEY_SLOTS - 1);
  const known = keyTable[slot];
  if (known !== undefined && known.length === n) {
    let i = 0;
    while (i < n && known.charCodeAt(i) === s.charCodeAt(ks + i)) i++;
    if (i === n) return known;
  }
  const k = intern(s.slice(ks, ke));
  keyTable[slot] = k;
  return k;
}

/** Tokenize s[start..] as logfmt. Never throws. */
export function tokenizeLogfmt(s: string, start = 0): LogfmtResult {
  const kv: string[] = [];
  let error: string | undefined;
  let bare = 0;
  // Position of the next backslash after the current value (-1: none left), found once, not per value.
  let nextBackslash = -2;
  const n = s.length;
  let i = start;
  while (i < n) {
    let c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    const ks = i;
    let h = 0x811c9dc5;
    while (i < n) {
      c = s.charCodeAt(i);
      if (c === 61 || c === 32 || c === 9 || c === 10 || c === 13) break;
      h = Math.imul(h ^ c, 0x01000193);
      i++;
    }
    const key = keyAt(s, ks, i, (h ^ (h >>> 15)) >>> 0);
    if (i >= n || c !== 61) {
      kv.push(key, '');
      bare++;
      continue;
    }
    i++; // '='
    if (i >= n) {
      kv.push(key, '');
      break;
    }
    c = s.charCodeAt(i);
    if (c === 34) {
      // Fast path: no backslash before the closing quote, so the value is a plain slice (native scans).
      const close = s.indexOf('"', i + 1);
      if (nextBackslash !== -1 && nextBackslash <= i) nextBackslash = s.indexOf('\\', i + 1);
      if (close > 0 && (nextBackslash < 0 || nextBackslash > close)) {
        kv.push(key, s.slice(i + 1, close));
        i = close + 1;
        continue;
      }
      const q = readGoQuoted(s, i);
      if (!q.closed && error === undefined) error = `unterminated quoted value for key "${key}"`;
      kv.push(key, q.value);
      i = q.end;
    } else if (isDoubleSmart(c) || isSingleSmart(c)) {
      const dbl = isDoubleSmart(c);
      let j = i + 1;
      let end = -1;
      while (j < n) {
        const d = s.charCodeAt(j);
        if (dbl ? isDoubleSmart(d) : isSingleSmart(d)) {
          const next = j + 1 < n ? s.charCodeAt(j + 1) : 32;
          if (next === 32 || next === 9 || next === 10 || next === 13) {
            end = j;
            break;
          }
        }
        j++;
      }
      if (end < 0) {
        kv.push(key, s.slice(i + 1));
        i = n;
      } else {
        kv.push(key, s.slice(i + 1, end));
        i = end + 1;
      }
    } else {
      const vs = i;
      while (i < n) {
        c = s.charCodeAt(i);
        if (c === 32 || c === 9 || c === 10 || c === 13) break;
        i++;
      }
      kv.push(key, s.slice(vs, i));
    }
  }
  return error === undefined ? { kv, bare } : { kv, bare, error };
}

/** Does the text start like a logrus logfmt record (`time=`, `level=`, `msg=`)? Cheap prefix test for dispatch. */
export function looksLikeLogfmt(s: string, i = 0): boolean {
  const c = s.charCodeAt(i);
  if (c === 116) return s.startsWith('time=', i) || s.startsWith('ts=', i);
  if (c === 108) return s.startsWith('level=', i);
  if (c === 109) return s.startsWith('msg=', i);
  return false;
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/**
 * Where the trailing run of `key=value` tokens of s[from..] starts: the first token start after a space from which
 * tokenizeLogfmt would read only key=value pairs (no bare key, no unterminated quote) to the end; -1 when none.
 * Linear (the logrus terminal format has no delimiter between message and fields, and a guest line can be 64 KiB):
 * whether the run from a token start is clean depends only on that token and the run from the next token start,
 * so each start is decided once, memoised, instead of tokenizing the rest of the line from every space. Token
 * scans from different starts do not overlap (keys stop at spaces; a quoted value stops at the next `"`, which is
 * where any later `="` would be), and smart-quote closers are found through one precomputed table.
 */
export function trailingPairsStart(s: string, from: number): number {
  const n = s.length;
  const memo = new Int8Array(n + 1); // 0 unknown, 1 clean to the end, 2 not
  memo[n] = 1;
  let closers: Int32Array | undefined;
  /** The next smart-quote closer of the family at or after j (-1: none), from a table built on first use. */
  const closer = (j: number, dbl: boolean): number => {
    if (closers === undefined) {
      closers = new Int32Array(2 * (n + 1));
      let nd = -1;
      let ns = -1;
      for (let k = n; k >= 0; k--) {
        if (k < n) {
          const d = s.charCodeAt(k);
          const next = k + 1 < n ? s.charCodeAt(k + 1) : 32;
          if (isSpace(next)) {
            if (isDoubleSmart(d)) nd = k;
            else if (isSingleSmart(d)) ns = k;
          }
        }
        closers[2 * k] = nd;
        closers[2 * k + 1] = ns;
      }
    }
    return closers[2 * j + (dbl ? 0 : 1)] as number;
  };
  /** End of the key=value token at i (index after it), or -1 when it is a bare key or an unterminated quote. */
  const tokenEnd = (i: number): number => {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 61) break;
      if (isSpace(c)) return -1;
      i++;
    }
    if (i >= n) return -1; // bare key at the end
    i++; // '='
    if (i >= n) return n;
    const c = s.charCodeAt(i);
    if (c === 34) {
      const q = readGoQuoted(s, i);
      return q.closed ? q.end : -1;
    }
    if (isDoubleSmart(c) || isSingleSmart(c)) {
      const e = closer(i + 1, isDoubleSmart(c));
      return e < 0 ? n : e + 1;
    }
    while (i < n && !isSpace(s.charCodeAt(i))) i++;
    return i;
  };
  const chain: number[] = [];
  const decide = (k: number): boolean => {
    // Follow token starts until one is decided, then settle the chain backwards.
    let p = k;
    while (p < n && isSpace(s.charCodeAt(p))) p++;
    while (memo[p] === 0) {
      chain.push(p);
      const e = tokenEnd(p);
      if (e < 0) {
        memo[p] = 2;
        break;
      }
      let q = e;
      while (q < n && isSpace(s.charCodeAt(q))) q++;
      p = q;
    }
    let ok = memo[p] === 1;
    for (let j = chain.length - 1; j >= 0; j--) {
      const c = chain[j] as number;
      if (memo[c] === 0) memo[c] = ok ? 1 : 2;
      ok = memo[c] === 1;
    }
    chain.length = 0;
    return ok;
  };
  for (let q = s.indexOf(' ', from); q >= 0 && q < n; q = s.indexOf(' ', q + 1)) {
    const k = q + 1;
    const c = s.charCodeAt(k);
    if (k >= n || c === 32 || c === 61) continue;
    if (decide(k)) return k;
  }
  return -1;
}
