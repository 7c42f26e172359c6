// Small conversions shared by the OTLP encoders and decoders.

const U64_MAX = (1n << 64n) - 1n;

/** A time as an unsigned 64-bit ns count. Odd input (negative, non-bigint, NaN) never throws: it clamps to
 * 0 or the maximum, and a finite number is truncated. */
export function toU64(v: unknown): bigint {
  if (typeof v === 'bigint') return v < 0n ? 0n : v > U64_MAX ? U64_MAX : v;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return toU64(BigInt(Math.trunc(v)));
  if (typeof v === 'string' && /^\d+$/.test(v)) return toU64(BigInt(v));
  return 0n;
}

/** Lowercase hex id of exactly `bytes` bytes, or undefined when absent, malformed or all zero (the OTLP
 * "empty" id, which the Collector omits as well). One pass, no regex: every exported record asks twice. */
export function normalizeId(id: unknown, bytes: number): string | undefined {
  if (typeof id !== 'string' || id.length !== bytes * 2) return undefined;
  let zero = true;
  let upper = false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (c !== 48) zero = false;
    } else if (c >= 97 && c <= 102) zero = false;
    else if (c >= 65 && c <= 70) {
      zero = false;
      upper = true;
    } else return undefined;
  }
  if (zero) return undefined;
  return upper ? id.toLowerCase() : id;
}

/** Replace lone UTF-16 surrogates with U+FFFD, as the UTF-8 encoder does, so JSON and protobuf carry the
 * same text. `isWellFormed` is native (V8 ≥ 11.1, Node 20) but not yet in the ES2023 lib typings. */
type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };
export function wellFormed(s: string): string {
  const w = s as unknown as WellFormed;
  return w.isWellFormed() ? s : w.toWellFormed();
}

/** `s` as a JSON string literal, lone surrogates as U+FFFD (the OTLP/JSON writers' form). */
export const jsonText = (s: string): string => JSON.stringify(wellFormed(s));

/** The body is a string by type; anything else is carried as text rather than dropped. */
export function bodyOf(b: unknown): string {
  return typeof b === 'string' ? b : b === undefined || b === null ? '' : otherToString(b);
}
export function otherToString(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
    return s === undefined ? String(v) : s;
  } catch {
    return String(v);
  }
}
