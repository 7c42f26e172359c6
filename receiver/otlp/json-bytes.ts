// JSON text written as UTF-8 bytes into one reused scratch buffer: the OTLP/JSON encoder (encode-json.ts, the store
// exporter's format) and the integrity chain's canonical JSON (integrity/chain.ts) write every record through this. Written by hand because it is the hot path: building the same
// text by string concatenation and JSON.stringify per value made ~8 KB of short-lived strings per record, the largest
// allocator in `run --once` and much of its GC time (bench/README.md, "The front of the hot path"). Strings come out
// as the exact bytes JSON.stringify writes for them: printable ASCII is copied by a loop, anything else (a quote, a
// backslash, a control character, non-ASCII) goes through JSON.stringify itself. One writer at a time: every user
// starts with `begin` and ends with `take` or `text`, synchronously.

import { INITIAL_SCRATCH, kept, withRoom } from './scratch.js';
import { jsonText } from './values.js';

let buf: Buffer = Buffer.allocUnsafe(INITIAL_SCRATCH);
let pos = 0;

/** Room for `n` more bytes. */
function ensure(n: number): void {
  if (pos + n > buf.length) buf = withRoom(buf, pos, n);
}

// Buffer#utf8Write is the primitive behind Buffer#write, minus its argument juggling (as in encode-proto.ts).
type Utf8Writer = { utf8Write(s: string, offset: number, length: number): number };
function utf8(s: string): void {
  const len = Buffer.byteLength(s, 'utf8');
  ensure(len);
  pos += (buf as unknown as Utf8Writer).utf8Write(s, pos, len);
}

/** Start writing at the scratch buffer's beginning. */
export function begin(): void {
  pos = 0;
}

/** Where the next byte goes (for `rewind`, `setByte`). */
export const mark = (): number => pos;
/** Drop what was written since `at`. */
export function rewind(at: number): void {
  pos = at;
}
/** Overwrite one byte already written. */
export function setByte(at: number, b: number): void {
  buf[at] = b;
}
/** Text that needs no escaping and is ASCII (the constant parts of a format, digits). */
export function ascii(s: string): void {
  const n = s.length;
  ensure(n);
  for (let i = 0; i < n; i++) buf[pos + i] = s.charCodeAt(i);
  pos += n;
}

/** Text that needs no escaping, possibly non-ASCII (a key escaped before, kept by the caller). */
export function raw(s: string): void {
  const n = s.length;
  ensure(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return utf8(s.slice(i));
    buf[pos++] = c;
  }
}

/**
 * `s` as a JSON string literal, quotes included: the bytes of JSON.stringify of its well-formed form (lone surrogates
 * as U+FFFD, as the UTF-8 of the protobuf encoder has them).
 */
export function jsonString(s: string): void {
  const n = s.length;
  ensure(n + 2);
  const start = pos;
  buf[start] = 34;
  const at = start + 1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 34 || c === 92) {
      pos = start;
      return utf8(jsonText(s));
    }
    buf[at + i] = c;
  }
  buf[at + n] = 34;
  pos = at + n + 1;
}

/** A non-negative safe integer in decimal. */
export function uint(n: number): void {
  ensure(16);
  if (n < 10) {
    buf[pos++] = 48 + n;
    return;
  }
  let digits = 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
  let p = pos + digits;
  pos = p;
  while (n >= 10) {
    const q = Math.floor(n / 10);
    buf[--p] = 48 + (n - q * 10);
    n = q;
  }
  buf[--p] = 48 + n;
}

/** A safe integer in decimal, as JSON.stringify writes it (-0 as 0). */
export function int(n: number): void {
  if (n < 0) {
    ensure(1);
    buf[pos++] = 45;
    n = -n;
  }
  uint(n);
}

// An unsigned 64-bit integer in decimal without BigInt#toString (a string per call, and slow): read its two 32-bit
// halves through a BigUint64Array, divide by 1e9 in 16-bit limbs (every step exact in a double).
const u64View = new BigUint64Array(1);
const u32View = new Uint32Array(u64View.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;
/** `v` (0 ≤ v < 2^64) in decimal. */
export function u64(v: bigint): void {
  u64View[0] = v;
  const lo = u32View[LO] as number;
  const hi = u32View[HI] as number;
  if (hi < 0x200000) return uint(hi * 0x100000000 + lo); // below 2^53
  const D = 1e9;
  let r = hi >>> 16; // < 2^16, so its quotient is 0
  r = r * 0x10000 + (hi & 0xffff);
  const q2 = Math.floor(r / D);
  r = (r - q2 * D) * 0x10000 + (lo >>> 16);
  const q1 = Math.floor(r / D);
  r = (r - q1 * D) * 0x10000 + (lo & 0xffff);
  const q0 = Math.floor(r / D);
  r -= q0 * D;
  uint((q2 * 0x10000 + q1) * 0x10000 + q0); // ≥ 2^53 / 1e9, so the nine digits below never lead
  ensure(9);
  for (let i = 8; i >= 0; i--) {
    const q = Math.floor(r / 10);
    buf[pos + i] = 48 + (r - q * 10);
    r = q;
  }
  pos += 9;
}

/** What was written since `from`, as a view of the scratch buffer: valid until the next write (to hash it). */
export const bytes = (from: number): Buffer => buf.subarray(from, pos);

/** What was written since `begin`, as a Buffer of its own; the scratch buffer is free again. */
export function take(): Buffer {
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  buf = kept(buf);
  pos = 0; // a later writer that starts at `mark()` (integrity/chain.ts) starts at the beginning
  return out;
}

/** What was written since `from` (default: `begin`), as text; the scratch buffer's end is set back to `from`. */
export function text(from = 0): string {
  const s = buf.toString('utf8', from, pos);
  pos = from;
  if (from === 0) buf = kept(buf);
  return s;
}
