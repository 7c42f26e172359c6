// Timestamps → ns since the epoch as bigint, at full precision. Hand-written because Date keeps only ms and
// Kata writes ns (`30.652028600-07:00`, trimmed `30.6520286-07:00`); this is on the hot path of every line.

const NS_PER_S = 1_000_000_000n;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Digits s[i..i+n) as a number, or -1 when one is not a digit. */
function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(i + k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Parse an RFC 3339 / ISO 8601 timestamp occupying exactly s[start, end): `YYYY-MM-DD(T| )HH:MM:SS[.frac][zone]`,
 * zone `Z`, `±HH:MM`, `±HHMM` or `±HH`. Without a zone (Firecracker) the time is read in the receiver's local
 * timezone. Fractions beyond 9 digits are cut. Returns undefined when the text is not such a timestamp.
 */
export function parseTimestamp(s: string, start = 0, end = s.length): bigint | undefined {
  if (end - start < 19) return undefined;
  const y = digits(s, start, 4);
  if (y < 0 || s.charCodeAt(start + 4) !== 45 || s.charCodeAt(start + 7) !== 45) return undefined;
  const mo = digits(s, start + 5, 2);
  const d = digits(s, start + 8, 2);
  const sep = s.charCodeAt(start + 10);
  if (sep !== 84 && sep !== 116 && sep !== 32) return undefined; // T t space
  const h = digits(s, start + 11, 2);
  const mi = digits(s, start + 14, 2);
  const sec = digits(s, start + 17, 2);
  if (s.charCodeAt(start + 13) !== 58 || s.charCodeAt(start + 16) !== 58) return undefined;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
    return undefined;
  let i = start + 19;
  let frac = 0;
  let c = i < end ? s.charCodeAt(i) : 0;
  if (c === 46 || c === 44) {
    // . or ,
    i++;
    let n = 0;
    while (i < end) {
      const dgt = s.charCodeAt(i) - 48;
      if (dgt < 0 || dgt > 9) break;
      if (n < 9) frac = frac * 10 + dgt;
      n++;
      i++;
    }
    if (n === 0) return undefined;
    for (; n < 9; n++) frac *= 10;
    c = i < end ? s.charCodeAt(i) : 0;
  }
  let offset = 0;
  if (i === end) {
    const ms = new Date(y, mo - 1, d, h, mi, sec).getTime();
    if (Number.isNaN(ms)) return undefined;
    return BigInt(ms) * 1_000_000n + BigInt(frac);
  }
  if (c === 90 || c === 122) {
    // Z z
    i++;
  } else if (c === 43 || c === 45) {
    const oh = digits(s, i + 1, 2);
    if (oh < 0) return undefined;
    i += 3;
    let om = 0;
    if (i < end && s.charCodeAt(i) === 58) i++;
    if (i < end) {
      om = digits(s, i, 2);
      if (om < 0) return undefined;
      i += 2;
    }
    offset = (oh * 3600 + om * 60) * (c === 45 ? -1 : 1);
  } else {
    return undefined;
  }
  if (i !== end) return undefined;
  return toNanos(daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset, frac);
}

// secs × 10^9 + frac as a bigint with one allocation: the two 32-bit halves are computed exactly in doubles
// (16-bit limbs keep every product below 2^53) and read back through a BigUint64Array. This runs for every
// record; `BigInt(secs) * NS_PER_S + BigInt(frac)` allocates three bigints.
const u64 = new BigUint64Array(1);
const u32 = new Uint32Array(u64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;

/** `secs` seconds and `frac` (0 ≤ frac < 10^9) nanoseconds since the epoch, in ns. */
export function toNanos(secs: number, frac: number): bigint {
  if (secs < 0 || secs >= 2 ** 32) return BigInt(secs) * NS_PER_S + BigInt(frac);
  const sl = secs % 65536;
  const sh = (secs - sl) / 65536;
  const a = sl * 1e9 + frac; // < 2^47
  const b = sh * 1e9; // < 2^46; contributes b × 2^16
  const bLo = b % 65536;
  const bHi = (b - bLo) / 65536;
  const aLo = a % 4294967296;
  const aHi = (a - aLo) / 4294967296;
  const lo = bLo * 65536 + aLo; // < 2^33
  const carry = lo >= 4294967296 ? 1 : 0;
  u32[LO] = lo - carry * 4294967296;
  u32[HI] = bHi + aHi + carry;
  return u64[0] as bigint;
}

/** journald's µs-since-epoch strings (`__REALTIME_TIMESTAMP`) → ns; undefined when not a number. */
export function microsToNanos(v: unknown): bigint | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? BigInt(Math.trunc(v)) * 1000n : undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 20) return undefined;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return BigInt(v) * 1000n;
}

// Month abbreviations as journalctl/syslog print them (`%b`) in common locales: English, German, French,
// Spanish, Italian, Portuguese, Dutch. Keys are lower-case without a trailing dot.
const MONTHS: Record<string, number> = {};
const MONTH_NAMES: string[][] = [
  ['jan', 'janv', 'jän', 'ene', 'gen', 'janeiro', 'januar', 'january', 'janvier', 'enero', 'gennaio'],
  ['feb', 'févr', 'fevr', 'fév', 'fev', 'febr', 'februar', 'february', 'février', 'febrero', 'febbraio'],
  ['mar', 'mär', 'mrz', 'mars', 'mrt', 'märz', 'march', 'marzo', 'maart'],
  ['apr', 'avr', 'abr', 'april', 'avril', 'abril', 'aprile'],
  ['may', 'mai', 'mag', 'mei', 'mayo', 'maggio', 'maio'],
  ['jun', 'juin', 'giu', 'juni', 'june', 'junio', 'giugno', 'junho'],
  ['jul', 'juil', 'lug', 'juli', 'july', 'juillet', 'julio', 'luglio', 'julho'],
  ['aug', 'août', 'aout', 'ago', 'augustus', 'august', 'agosto'],
  ['sep', 'sept', 'set', 'september', 'septembre', 'septiembre', 'settembre', 'setembro'],
  ['oct', 'okt', 'ott', 'out', 'oktober', 'october', 'octobre', 'octubre', 'ottobre', 'outubro'],
  ['nov', 'november', 'novembre', 'noviembre', 'novembro'],
  ['dec', 'dez', 'déc', 'dic', 'dezember', 'december', 'décembre', 'diciembre', 'dicembre', 'dezembro'],
];
// Russian (ru_RU `%b`, nominative and genitive), Polish, Swedish/Danish/Norwegian extras.
const MORE_MONTHS: string[][] = [
  ['янв', 'sty'],
  ['фев', 'февр', 'lut'],
  ['мар', 'марта', 'март', 'mar'],
  ['апр', 'kwi'],
  ['мая', 'май', 'maj'],
  ['июн', 'июня', 'июнь', 'cze'],
  ['июл', 'июля', 'июль', 'lip'],
  ['авг', 'sie'],
  ['сен', 'сент', 'wrz'],
  ['окт', 'paź', 'paz'],
  ['ноя', 'нояб', 'lis'],
  ['дек', 'gru'],
];
MORE_MONTHS.forEach((names, idx) => (MONTH_NAMES[idx] as string[]).push(...names));
MONTH_NAMES.forEach((names, idx) => {
  for (const n of names) {
    MONTHS[n] = idx;
    // the spellings journalctl prints, so the common case is one lookup without case folding
    MONTHS[n.charAt(0).toUpperCase() + n.slice(1)] = idx;
  }
});

/** Month index 0..11 of a (possibly localised, possibly dotted) month abbreviation; -1 when unknown. */
export function monthIndex(word: string): number {
  const direct = MONTHS[word];
  if (direct !== undefined) return direct;
  // CJK locales print the month number with a suffix: `11月` (zh, ja), `11월` (ko).
  const last = word.charCodeAt(word.length - 1);
  if (last === 0x6708 || last === 0xc6d4) {
    const m = Number(word.slice(0, -1));
    return Number.isInteger(m) && m >= 1 && m <= 12 && word.length <= 3 ? m - 1 : -1;
  }
  let w = word.toLowerCase();
  if (w.endsWith('.')) w = w.slice(0, -1);
  return MONTHS[w] ?? -1;
}

/**
 * The time of a syslog/journal short prefix (`May 17 19:43:30[.996810]`), which has no year and no zone:
 * journalctl prints local time, so read it in the receiver's local timezone, in the year of `observedNs`
 * (or the previous year when that would put it more than a day in the future, i.e. December lines read in January).
 */
export function syslogTime(
  month: number,
  day: number,
  h: number,
  m: number,
  s: number,
  fracNs: number,
  observedNs: bigint,
): bigint {
  const observedMs = observedNs > 0n ? Number(observedNs / 1_000_000n) : Date.now();
  let year = new Date(observedMs).getFullYear();
  let ms = new Date(year, month, day, h, m, s).getTime();
  if (ms - observedMs > 86_400_000) {
    year--;
    ms = new Date(year, month, day, h, m, s).getTime();
  }
  return BigInt(ms) * 1_000_000n + BigInt(fracNs);
}
