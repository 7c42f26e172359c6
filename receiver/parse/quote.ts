// Unescaping of the two quoting styles Kata nests records in: Go's strconv.Quote (logrus logfmt values) and
// Rust's `{:?}` Debug formatting of a str (runtime-rs `qemu stderr: "…"`, `vm console: "…"`, CH `stream` lines).
// Hand-written: these run on the logfmt hot path, and no library does either exactly.

function hexValue(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(i + k);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

function codePoint(v: number): string {
  return v >= 0 && v <= 0x10ffff ? String.fromCodePoint(v) : '\ufffd';
}

/** Result of reading one quoted string: the unescaped value and the index just past the closing quote. */
export interface Quoted {
  value: string;
  end: number;
  /** False when the closing quote was missing (value = the rest of the text). */
  closed: boolean;
}

/** One escape: the text it stands for and the index just past it. `i` is the index after the escape letter `e`. */
type Unescape = (s: string, i: number, e: number) => { text: string; next: number };

/**
 * The scan both quoting styles share: copy runs of plain characters, hand each backslash escape to `unescape`,
 * stop at the closing `"`. A missing closing quote yields the rest of the text (closed: false).
 */
function readQuoted(s: string, start: number, unescape: Unescape): Quoted {
  const n = s.length;
  let i = start + 1;
  let chunkStart = i;
  let out = '';
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 34) return { value: out + s.slice(chunkStart, i), end: i + 1, closed: true };
    if (c !== 92 || i + 1 >= n) {
      i++;
      continue;
    }
    const r = unescape(s, i + 2, s.charCodeAt(i + 1));
    out += s.slice(chunkStart, i) + r.text;
    i = chunkStart = r.next;
  }
  return { value: out + s.slice(chunkStart), end: n, closed: false };
}

const GO_SIMPLE: Record<number, string> = {
  110: '\n',
  116: '\t',
  114: '\r',
  97: '\x07',
  98: '\b',
  102: '\f',
  118: '\v',
};

function unescapeGo(s: string, i: number, e: number): { text: string; next: number } {
  const simple = GO_SIMPLE[e];
  if (simple !== undefined) return { text: simple, next: i };
  if (e === 120 || e === 117 || e === 85) {
    // \xNN, \uNNNN, \UNNNNNNNN
    const len = e === 120 ? 2 : e === 117 ? 4 : 8;
    const v = hexValue(s, i, len);
    return v < 0 ? { text: s.slice(i - 2, i), next: i } : { text: codePoint(v), next: i + len };
  }
  if (e >= 48 && e <= 55) {
    // octal \NNN
    const d2 = s.charCodeAt(i) - 48;
    const d3 = s.charCodeAt(i + 1) - 48;
    if (d2 >= 0 && d2 <= 7 && d3 >= 0 && d3 <= 7)
      return { text: String.fromCharCode((e - 48) * 64 + d2 * 8 + d3), next: i + 2 };
  }
  return { text: String.fromCharCode(e), next: i }; // \" \\ \' and anything unknown: the character itself
}

function unescapeRust(s: string, i: number, e: number): { text: string; next: number } {
  if (e === 110) return { text: '\n', next: i };
  if (e === 114) return { text: '\r', next: i };
  if (e === 116) return { text: '\t', next: i };
  if (e === 48) return { text: '\0', next: i };
  if (e === 117 && s.charCodeAt(i) === 123) {
    // \u{…}: at most 6 hex digits, so the `}` is looked for only that far (a guest line of unclosed `\u{` would
    // otherwise search the rest of the line at each one).
    let close = -1;
    for (let k = i + 1; k <= i + 7 && k < s.length; k++) {
      if (s.charCodeAt(k) === 125) {
        close = k;
        break;
      }
    }
    const v = close > i + 1 ? hexValue(s, i + 1, close - i - 1) : -1;
    return v < 0 ? { text: '\\u', next: i } : { text: codePoint(v), next: close + 1 };
  }
  return { text: String.fromCharCode(e), next: i };
}

/**
 * Read a Go-quoted string whose opening `"` is at s[start]: `\"`, `\\`, `\n`, `\t`, `\r`, `\a\b\f\v`, `\xNN`,
 * `\uNNNN`, `\UNNNNNNNN`, octal `\NNN`. Raw newlines inside the quotes are kept (a line broken by the writer).
 */
export function readGoQuoted(s: string, start: number): Quoted {
  return readQuoted(s, start, unescapeGo);
}

/**
 * Read a Rust Debug-quoted str whose opening `"` is at s[start]: `\"`, `\\`, `\'`, `\n`, `\r`, `\t`, `\0`, `\u{…}`.
 */
export function readRustQuoted(s: string, start: number): Quoted {
  return readQuoted(s, start, unescapeRust);
}

/** `"…"` (Rust Debug) → its content; text that is not quoted comes back unchanged. */
export function unquoteRust(s: string): string {
  const t = s.trim();
  if (t.length < 2 || t.charCodeAt(0) !== 34) return s;
  return readRustQuoted(t, 0).value;
}
