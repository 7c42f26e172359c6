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

/**
 * Read a Go-quoted string whose opening `"` is at s[start]: `\"`, `\\`, `\n`, `\t`, `\r`, `\a\b\f\v`, `\xNN`,
 * `\uNNNN`, `\UNNNNNNNN`, octal `\NNN`. Raw newlines inside the quotes are kept (a line broken by the writer).
 */
export function readGoQuoted(s: string, start: number): Quoted {
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
    out += s.slice(chunkStart, i);
    const e = s.charCodeAt(i + 1);
    i += 2;
    switch (e) {
      case 110: out += '\n'; break; // prettier-ignore
      case 116: out += '\t'; break; // prettier-ignore
      case 114: out += '\r'; break; // prettier-ignore
      case 97: out += '\x07'; break; // prettier-ignore
      case 98: out += '\b'; break; // prettier-ignore
      case 102: out += '\f'; break; // prettier-ignore
      case 118: out += '\v'; break; // prettier-ignore
      case 120: // \xNN
      case 117: // \uNNNN
      case 85: {
        // \UNNNNNNNN
        const len = e === 120 ? 2 : e === 117 ? 4 : 8;
        const v = hexValue(s, i, len);
        if (v < 0) out += s.slice(i - 2, i);
        else {
          out += codePoint(v);
          i += len;
        }
        break;
      }
      default:
        if (e >= 48 && e <= 55) {
          // octal \NNN
          const d2 = s.charCodeAt(i) - 48;
          const d3 = s.charCodeAt(i + 1) - 48;
          if (d2 >= 0 && d2 <= 7 && d3 >= 0 && d3 <= 7) {
            out += String.fromCharCode((e - 48) * 64 + d2 * 8 + d3);
            i += 2;
            break;
          }
        }
        out += String.fromCharCode(e); // \" \\ \' and anything unknown: the character itself
    }
    chunkStart = i;
  }
  return { value: out + s.slice(chunkStart), end: n, closed: false };
}

/**
 * Read a Rust Debug-quoted str whose opening `"` is at s[start]: `\"`, `\\`, `\'`, `\n`, `\r`, `\t`, `\0`, `\u{…}`.
 */
export function readRustQuoted(s: string, start: number): Quoted {
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
    out += s.slice(chunkStart, i);
    const e = s.charCodeAt(i + 1);
    i += 2;
    if (e === 110) out += '\n';
    else if (e === 114) out += '\r';
    else if (e === 116) out += '\t';
    else if (e === 48) out += '\0';
    else if (e === 117 && s.charCodeAt(i) === 123) {
      const close = s.indexOf('}', i);
      const v = close > i + 1 && close - i <= 7 ? hexValue(s, i + 1, close - i - 1) : -1;
      if (v < 0) out += '\\u';
      else {
        out += codePoint(v);
        i = close + 1;
      }
    } else out += String.fromCharCode(e);
    chunkStart = i;
  }
  return { value: out + s.slice(chunkStart), end: n, closed: false };
}

/** `"…"` (Rust Debug) → its content; text that is not quoted comes back unchanged. */
export function unquoteRust(s: string): string {
  const t = s.trim();
  if (t.length < 2 || t.charCodeAt(0) !== 34) return s;
  return readRustQuoted(t, 0).value;
}
