// The built-in secret detectors. Each one appends the [start, end) of secret values it finds in a string to
// `out`; the redactor merges the spans and replaces them. Everything here runs on guest-written text, so every
// scan is linear: the key/value scanner is hand-written (each character is looked at a bounded number of times,
// whatever the escaping), and every regex starts only at a token boundary (a lookbehind that fails at once
// inside a run) with no nested quantifiers, so no attempt re-reads what an earlier one read.
import { isSecretKey } from './keys.js';
import { AWS_SECRET, BEARER, KEY_VALUE, PEM, TOKEN_SHAPE, URL_CREDENTIALS } from './trigger.js';

export interface Span {
  start: number;
  end: number;
  /** Built-in detector name or user rule name (self-metrics label). */
  rule: string;
}

export type Detector = (s: string, out: Span[]) => void;

const isIdentStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isIdent = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57) || c === 46 || c === 45;
const BACKSLASH = 92;
const QUOTE = 34;

/** Backslashes immediately before `i`, looking no further back than `floor`. */
function backslashesBefore(s: string, i: number, floor: number): number {
  let n = 0;
  while (i - n - 1 >= floor && s.charCodeAt(i - n - 1) === BACKSLASH) n++;
  return n;
}

/** End of a quoted value whose opening `"` sits at `open` behind `level` backslashes (0 in a parsed body, 1 in
 *  raw JSON text, 3 in JSON inside an escaped `vmconsole="…"`): the first `"` behind exactly `level`
 *  backslashes. Returns the index of the backslashes before that quote (the value's end), or s.length. */
function quotedEnd(s: string, open: number, level: number): number {
  let q = open + 1;
  for (;;) {
    const at = s.indexOf('"', q);
    if (at < 0) return s.length; // unterminated: the rest is the value, and is hidden
    const b = backslashesBefore(s, at, open + 1);
    if (b === level || (b < level && b % 2 === 0)) return at - b;
    q = at + 1;
  }
}

/** Where a bare value (`password=hunter2`, `Password:hunter2`) ends. */
function bareEnd(s: string, i: number): number {
  let j = i;
  for (; j < s.length; j++) {
    const c = s.charCodeAt(j);
    // whitespace , ; & " ' ) ] } > and a backslash (an escaped quote follows)
    if (c <= 32 || c === 44 || c === 59 || c === 38 || c === 34 || c === 39 || c === 41 || c === 93) break;
    if (c === 125 || c === 62 || c === BACKSLASH) break;
  }
  return j;
}

const SCHEME_WORD = /^(?:bearer|basic|token|digest)$/i;

function credentialEnd(s: string, i: number): number {
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c <= 32 || c === QUOTE || c === 39 || c === BACKSLASH) break;
    j++;
  }
  const last = s.charCodeAt(j - 1);
  return j > i + 1 && (last === 41 || last === 93 || last === 125) ? j - 1 : j;
}

/**
 * `KEY=VALUE` and `key: value` pairs whose key names a secret, in every shape Kata prints them:
 * OCI Env entries in agent JSON (`"Env":["DB_PASSWORD=…"]`), the Go shim's request structs
 * (`Env:[]string{"DB_PASSWORD=…"}`, `Env:["DB_PASSWORD=…"]`), the agent's Rust Debug spec (`env: ["K=V"]`),
 * policy documents, registry auth (`password:"…"`, `"auth":"…"`, `identity_token:"…"`), logfmt and query
 * strings (`token=…&`), at any level of backslash escaping. `keyRule` names the rule a key falls under, if any.
 */
export function keyValueDetector(keyRule: (key: string) => string | undefined): Detector {
  return (s, out) => {
    const n = s.length;
    let i = 0;
    while (i < n) {
      if (!isIdentStart(s.charCodeAt(i)) || (i > 0 && isIdent(s.charCodeAt(i - 1)))) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j < n && isIdent(s.charCodeAt(j))) j++;
      // An Env entry: the whole `KEY=VALUE` is one quoted string; the value runs to that string's closing quote.
      const envEntry = i > 0 && s.charCodeAt(i - 1) === QUOTE && s.charCodeAt(j) === 61;
      let k = j;
      if (!envEntry) {
        while (k < n && s.charCodeAt(k) === BACKSLASH) k++; // the key's own closing quote, escaped or not
        if (s.charCodeAt(k) === QUOTE || s.charCodeAt(k) === 39) k++;
        else k = j;
        while (k < n && s.charCodeAt(k) === 32) k++;
      }
      const sep = s.charCodeAt(k);
      // The key is only looked at when a value follows it: most identifiers in a line are not keys.
      const rule = sep === 58 || sep === 61 ? keyRule(s.slice(i, j)) : undefined;
      if (!rule) {
        i = j;
        continue;
      }
      if (envEntry) {
        const level = backslashesBefore(s, i - 1, 0);
        const end = quotedEnd(s, i - 1, level);
        if (end > j + 1) out.push({ start: j + 1, end, rule });
        i = Math.max(end, j + 1);
        continue;
      }
      k++;
      while (k < n && s.charCodeAt(k) === 32) k++;
      if (s.startsWith('Some(', k)) k += 5; // Rust Debug `password: Some("…")`
      let q = k;
      while (q < n && s.charCodeAt(q) === BACKSLASH) q++;
      const open = s.charCodeAt(q);
      if (open === QUOTE) {
        const end = quotedEnd(s, q, q - k);
        if (end > q + 1) out.push({ start: q + 1, end, rule });
        i = Math.max(end, q + 1);
        continue;
      }
      if (open === 39) {
        const close = s.indexOf("'", q + 1);
        const end = close < 0 ? n : close;
        if (end > q + 1) out.push({ start: q + 1, end, rule });
        i = end + 1;
        continue;
      }
      let end = bareEnd(s, k);
      // `Authorization: Bearer <token>`: the scheme word and the credential after it, which runs to the next
      // space or quote (a credential may hold `,` `;` `)`), less one closing bracket a message put after it.
      if (SCHEME_WORD.test(s.slice(k, end)) && s.charCodeAt(end) === 32) {
        end = credentialEnd(s, end + 1);
      }
      if (end > k && s.charCodeAt(k) !== 123 && s.charCodeAt(k) !== 91) out.push({ start: k, end, rule });
      i = Math.max(end, j);
    }
  };
}

/** PEM private key blocks (RSA, EC, OPENSSH, ENCRYPTED, PGP …): the body between the markers, or to the end of
 *  the string when the END marker is missing (a truncated key is still a secret). */
export const pemDetector: Detector = (s, out) => {
  let from = 0;
  for (;;) {
    const b = s.indexOf('-----BEGIN ', from);
    if (b < 0) return;
    const head = s.indexOf('-----', b + 11);
    if (head < 0 || head - b > 80) {
      from = b + 11;
      continue;
    }
    const label = s.slice(b + 11, head);
    if (!/PRIVATE KEY/.test(label)) {
      from = head + 5;
      continue;
    }
    const start = head + 5;
    const e = s.indexOf('-----END ', start);
    const end = e < 0 ? s.length : e;
    if (end > start) out.push({ start, end, rule: 'private-key' });
    from = e < 0 ? s.length : e + 9;
  }
};

function regexDetector(rule: string, re: RegExp, group = 0, accept?: (v: string) => boolean): Detector {
  // `d`: the match indices give where the group starts.
  const rx = new RegExp(re.source, 'gd');
  return (s, out) => {
    rx.lastIndex = 0;
    for (let m = rx.exec(s); m; m = rx.exec(s)) {
      const at = m.indices?.[group];
      const v = m[group];
      if (at && v && (!accept || accept(v))) out.push({ start: at[0], end: at[1], rule });
      if (m[0].length === 0) rx.lastIndex++;
    }
  };
}

/** `scheme://user:password@host`: the password. */
export const urlCredentialsDetector = regexDetector(
  'url-credentials',
  // The password runs to the last `@` before a space or quote: a log may hold it unencoded, `@ # ? /` and all
  // (a URL whose path holds an `@` loses a little more than its password).
  /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/[^\s/?#@:"'\\]{0,256}:([^\s"'\\]{1,512})@/g,
  1,
);

/** `Bearer <token>` / `Basic <base64>` anywhere (HTTP headers echoed in errors). A credential has a digit, a
 *  symbol or mixed case, so prose (`Basic information`) is left alone. */
export const bearerDetector = regexDetector(
  'bearer',
  /(?<![A-Za-z0-9])(?:Bearer|Basic|bearer|basic|BEARER|BASIC)\s{1,8}([A-Za-z0-9._~+/-]{8,4096}=*)/g,
  1,
  (v) => /[0-9._~+/=-]/.test(v) || (/[a-z]/.test(v) && /[A-Z]/.test(v)),
);

// Well-known token shapes, one alternation so a string is scanned once. Sources: AWS IAM identifier prefixes,
// GitHub's token formats (ghp_/gho_/ghu_/ghs_/ghr_, github_pat_), Slack xox*, JWTs (three base64url parts, the
// first two JSON objects), Google API keys (AIza…) and OAuth access tokens (ya29.), Azure AD client secrets (Q~).
const TOKEN_SHAPES = new RegExp(
  [
    '(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16}(?![A-Za-z0-9])',
    '(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,251}',
    '(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,247}',
    '(?<![A-Za-z0-9-])xox[abposre]-[A-Za-z0-9-]{10,250}',
    '(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,8192}\\.eyJ[A-Za-z0-9_-]{4,65536}\\.[A-Za-z0-9_-]{8,8192}',
    '(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])',
    '(?<![A-Za-z0-9_.-])ya29\\.[0-9A-Za-z_-]{20,2048}',
    '(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])',
  ].join('|'),
  'g',
);
export const tokenShapeDetector = regexDetector('token-shape', TOKEN_SHAPES);

/** A bare 40-character AWS secret access key: base64 with upper, lower case and a digit, not hex (a SHA-1). */
export const awsSecretDetector = regexDetector(
  'aws-secret-key',
  /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g,
  0,
  (v) => /[a-z]/.test(v) && /[A-Z]/.test(v) && /[0-9]/.test(v) && !/^[0-9a-fA-F]+$/.test(v),
);

/** The built-in key test, then the user's key rules. */
export const builtinKeyRule =
  (extra?: (key: string) => string | undefined) =>
  (key: string): string | undefined =>
    isSecretKey(key) ? 'key-value' : extra?.(key);

/** The built-in detectors, each with its bit of the trigger's mask (trigger.ts); `extraKey` adds user key rules to
 *  the key/value scanner. */
export function builtinDetectors(extraKey?: (key: string) => string | undefined): [number, Detector][] {
  return [
    [KEY_VALUE, keyValueDetector(builtinKeyRule(extraKey))],
    [PEM, pemDetector],
    [URL_CREDENTIALS, urlCredentialsDetector],
    [BEARER, bearerDetector],
    [TOKEN_SHAPE, tokenShapeDetector],
    [AWS_SECRET, awsSecretDetector],
  ];
}
