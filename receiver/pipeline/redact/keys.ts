// Which key names name a secret: OCI `Env` keys (`DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`, `GITHUB_TOKEN`), JSON
// and Go/Rust struct fields (`password`, `identity_token`, `Auth`), logfmt keys and query parameters (`sig`,
// `access_token`). Over-matching (`AUTHOR`) costs a masked value; under-matching leaks a secret, so the test
// leans wide.

/** Words that name a secret wherever they appear in a key (`dbpassword`, `identitytoken`). */
const SUBSTRINGS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'credential',
  'apikey',
  'privatekey',
  'accesskey',
  'secretkey',
];
/** Words that name a secret only as a whole segment (`API_KEY`, `Auth`, `sig`), not inside another word. */
const SEGMENTS = new Set([
  'pass',
  'pwd',
  'key',
  'keys',
  'auth',
  'auths',
  'authorization',
  'oauth',
  'creds',
  'cred',
  'sig',
  'signature',
  'cookie',
  'bearer',
  'otp',
]);

const MAX_KEY = 128;

/** True when `key` (any case, `_`/`-`/`.`/camelCase separated) names a secret. */
// Every word above contains one of these: most keys are rejected by this one native test.
const CANDIDATE = /pass|pwd|secret|token|cred|key|auth|sig|cookie|bearer|otp/i;

export function isSecretKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_KEY || !CANDIDATE.test(key)) return false;
  const lower = key.toLowerCase();
  const squashed = lower.replace(/[^a-z0-9]+/g, '');
  for (const w of SUBSTRINGS) if (squashed.includes(w)) return true;
  // camelCase boundaries become separators: `AccountKey` → account key, `clientSecret` → client secret.
  const parts = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  for (const p of parts) if (SEGMENTS.has(p)) return true;
  return false;
}
