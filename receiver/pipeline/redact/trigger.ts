// The redaction trigger: one linear pass over a string that says which built-in detectors (detectors.ts) could
// find anything in it, as a bit mask; a string it returns 0 for holds nothing any of them would find (most strings:
// it is what keeps redaction cheap). Hand-written, because it runs on every string attribute not seen before, and
// the regex it replaces (`pass|pwd|…|[A-Za-z0-9/+]{40}`, case-insensitive) cost 0.5–1 µs per string and matched
// every 64-hex sandbox and container id through its 40-character alternative, so the ids Kata prints everywhere
// ran every detector. Here a base64 run only counts when it is what the AWS secret key detector looks for: exactly
// 40 characters with upper case, lower case and a digit (a 64-hex id, a UUID or a SHA-1 never is).
//
// How: each character's class (a letter case-folded, a digit, `:` `/` `-` `~`, or other) is shifted into a 15-bit
// window of the last three; a table says whether those three begin a keyword, which is then compared in full.
// Every keyword below is a necessary condition of a detector; test/pipeline/redact-trigger.test.ts checks that the
// detectors never find a span in a string this returns no bit for.

/** One bit per built-in detector (builtinDetectors' order). */
export const KEY_VALUE = 1;
export const PEM = 2;
export const URL_CREDENTIALS = 4;
export const BEARER = 8;
export const TOKEN_SHAPE = 16;
export const AWS_SECRET = 32;

/** Keywords and the detectors they wake. Lower-case ones are compared case-insensitively (as loose as or looser
 *  than their detector); the others exactly, as their detector matches them. */
const KEYWORDS: [string, number][] = [
  // keys.ts CANDIDATE: every secret key name holds one of these.
  ['pass', KEY_VALUE],
  ['pwd', KEY_VALUE],
  ['secret', KEY_VALUE],
  ['token', KEY_VALUE],
  ['cred', KEY_VALUE],
  ['key', KEY_VALUE],
  ['auth', KEY_VALUE],
  ['sig', KEY_VALUE],
  ['cookie', KEY_VALUE],
  ['bearer', KEY_VALUE | BEARER],
  ['otp', KEY_VALUE],
  ['basic', BEARER],
  ['://', URL_CREDENTIALS],
  ['-----BEGIN ', PEM],
  // TOKEN_SHAPES' prefixes.
  ['AKIA', TOKEN_SHAPE],
  ['ASIA', TOKEN_SHAPE],
  ['ABIA', TOKEN_SHAPE],
  ['ACCA', TOKEN_SHAPE],
  ['AGPA', TOKEN_SHAPE],
  ['AIDA', TOKEN_SHAPE],
  ['AIPA', TOKEN_SHAPE],
  ['ANPA', TOKEN_SHAPE],
  ['ANVA', TOKEN_SHAPE],
  ['AROA', TOKEN_SHAPE],
  ['APKA', TOKEN_SHAPE],
  ['ghp_', TOKEN_SHAPE],
  ['gho_', TOKEN_SHAPE],
  ['ghu_', TOKEN_SHAPE],
  ['ghs_', TOKEN_SHAPE],
  ['ghr_', TOKEN_SHAPE],
  ['github_pat_', TOKEN_SHAPE],
  ['xox', TOKEN_SHAPE],
  ['eyJ', TOKEN_SHAPE],
  ['AIza', TOKEN_SHAPE],
  ['ya29.', TOKEN_SHAPE],
  // An Azure AD client secret's `<digit>Q~` (any digit: the keyword's `0` stands for the class).
  ['0Q~', TOKEN_SHAPE],
];

const DIGIT_CLASS = 27;
/** Character class for the trigram window: 0 other, 1–26 a–z (either case), 27 digit, 28 `:`, 29 `/`, 30 `-`, 31 `~`. */
const CLASS = new Uint8Array(128);
for (let c = 0; c < 26; c++) CLASS[65 + c] = CLASS[97 + c] = c + 1;
for (let c = 48; c <= 57; c++) CLASS[c] = DIGIT_CLASS;
CLASS[58] = 28;
CLASS[47] = 29;
CLASS[45] = 30;
CLASS[126] = 31;

/** Base64 characters of an AWS secret key ([A-Za-z0-9/+]): bit 1 member, 2 upper, 4 lower, 8 digit. */
const B64 = new Uint8Array(128);
for (let c = 65; c <= 90; c++) B64[c] = 1 | 2;
for (let c = 97; c <= 122; c++) B64[c] = 1 | 4;
for (let c = 48; c <= 57; c++) B64[c] = 1 | 8;
B64[47] = B64[43] = 1;
const MIXED = 2 | 4 | 8;
const AWS_KEY_LENGTH = 40;

/** Trigram → 1 + index in KEYWORDS (no two keywords share their first three classes). */
const TRIGRAM = new Uint8Array(1 << 15);
const trigram = (w: string) =>
  (CLASS[w.charCodeAt(0)]! << 10) | (CLASS[w.charCodeAt(1)]! << 5) | CLASS[w.charCodeAt(2)]!;
KEYWORDS.forEach(([w], i) => {
  const t = trigram(w);
  if (TRIGRAM[t] !== 0) throw new Error(`redaction trigger: keywords share a trigram: ${w}`);
  TRIGRAM[t] = i + 1;
});
const WORDS = KEYWORDS.map(([w]) => w);
const MASKS = KEYWORDS.map(([, m]) => m);
const EXACT = KEYWORDS.map(([w]) => w !== w.toLowerCase());

/** Whether keyword `k` (its first three characters matched by class) is at `at`. */
function confirm(s: string, at: number, k: number): number {
  const w = WORDS[k]!;
  if (at + w.length > s.length) return 0;
  const exact = EXACT[k]!;
  // `0Q~`: the class said "a digit", the rest is compared.
  for (let j = w.charCodeAt(0) === 48 ? 1 : 0; j < w.length; j++) {
    let c = s.charCodeAt(at + j);
    if (!exact && c >= 65 && c <= 90) c += 32;
    if (c !== w.charCodeAt(j)) return 0;
  }
  return MASKS[k]!;
}

/** The detectors (bits above) that could find a secret in `s`; 0: none can. Linear in `s.length`. */
export function triggered(s: string): number {
  const n = s.length;
  let mask = 0;
  let window = 0;
  let run = 0;
  let seen = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) {
      window = ((window << 5) | CLASS[c]!) & 0x7fff;
      const k = TRIGRAM[window]!;
      if (k !== 0) mask |= confirm(s, i - 2, k - 1);
      const b = B64[c]!;
      if (b !== 0) {
        run++;
        seen |= b;
        continue;
      }
    } else window = 0;
    if (run === AWS_KEY_LENGTH && (seen & MIXED) === MIXED) mask |= AWS_SECRET;
    run = 0;
    seen = 0;
  }
  if (run === AWS_KEY_LENGTH && (seen & MIXED) === MIXED) mask |= AWS_SECRET;
  return mask;
}
