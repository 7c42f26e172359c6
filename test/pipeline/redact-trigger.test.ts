// The redaction trigger (receiver/pipeline/redact/trigger.ts) decides which built-in detectors run on a string; a
// detector it does not wake never runs. So the one property that matters: whenever a detector would find a
// secret in a string, the trigger sets that detector's bit. Checked on every string of the secret fixtures and on
// random strings built from the detectors' own shapes (keywords in random case, token prefixes, base64 runs of
// 38–42 characters, separators, quotes, escapes). And the point of it: the ids Kata prints on every line
// (64-hex sandbox and container ids, UUIDs, SHA-1s) wake nothing, while a secret-named key with a hex value is
// still hidden.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseText } from '../../receiver/parse/index.js';
import { builtinDetectors, type Span } from '../../receiver/pipeline/redact/detectors.js';
import { MASK, Redactor } from '../../receiver/pipeline/redact/redactor.js';
import { AWS_SECRET, KEY_VALUE, TOKEN_SHAPE, triggered } from '../../receiver/pipeline/redact/trigger.js';

const FIX = new URL('../fixtures/redact/', import.meta.url).pathname;
const LINES = readFileSync(join(FIX, 'secret-lines.log'), 'utf8').trimEnd().split('\n');
const DETECTORS = builtinDetectors();

/** The detectors that find something in `s` but whose bit the trigger left unset (must be empty). */
function missed(s: string): number[] {
  const wake = triggered(s);
  const out: number[] = [];
  for (const [bit, d] of DETECTORS) {
    const spans: Span[] = [];
    d(s, spans);
    if (spans.length > 0 && (wake & bit) === 0) out.push(bit);
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+';
const ALNUM = B64.slice(0, 62);
const chars = (alphabet: string, min: number, max: number) =>
  fc.array(fc.constantFrom(...alphabet.split('')), { minLength: min, maxLength: max }).map((a) => a.join(''));
const randomCase = (w: string) =>
  fc
    .array(fc.boolean(), { minLength: w.length, maxLength: w.length })
    .map((up) => [...w].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
const KEY_WORDS = ['password', 'pass', 'pwd', 'secret', 'token', 'cred', 'key', 'auth', 'sig', 'cookie', 'bearer'];
const fragment = fc.oneof(
  fc
    .constantFrom(...KEY_WORDS, 'otp', 'basic', 'Bearer ', 'Basic ', 'DB_PASSWORD', 'apiKey', 'x_auth_sig')
    .chain(randomCase),
  fc.constantFrom('=', ':', ': ', '"', '\\"', "'", ' ', ',', '&', '{', '}', '[', ']', '\\', '=='),
  fc.constantFrom('https://', 'u:p@', '://', '@', '-----BEGIN ', 'RSA PRIVATE KEY-----', '-----END '),
  fc.constantFrom('AKIA', 'ASIA', 'ACCA', 'ghp_', 'gho_', 'github_pat_', 'xoxb-', 'eyJ', '.eyJ', 'AIza', 'ya29.', 'Q~'),
  fc.constantFrom('akia', 'Akia', 'GHP_', 'XOXB-', 'EYJ', 'aiza', 'YA29.', 'q~', '7Q~', '1q~'),
  chars(ALNUM, 1, 12),
  chars(B64, 38, 42),
  chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 16, 16),
  chars(ALNUM + '_-', 30, 40),
  chars('0123456789abcdef', 40, 64),
  fc.constantFrom('µ', 'é', '\u{1F600}', '\u0000', '\n'),
);
const shaped = fc.array(fragment, { minLength: 1, maxLength: 12 }).map((a) => a.join(''));

describe('the trigger wakes every detector that would find a secret', () => {
  it('on every string of the secret fixtures (body and attributes)', () => {
    let strings = 0;
    for (const line of LINES)
      for (const r of parseText(line, { observedTimeUnixNano: 1n, keepOriginal: true })) {
        for (const v of [r.body, ...Object.values(r.attributes)])
          for (const s of Array.isArray(v) ? v : [v])
            if (typeof s === 'string') {
              strings++;
              expect(missed(s), s).toEqual([]);
            }
      }
    expect(strings).toBeGreaterThan(50);
  });

  it('on random strings made of the detectors’ own shapes', () => {
    let found = 0;
    fc.assert(
      fc.property(shaped, (s) => {
        expect(missed(s), JSON.stringify(s)).toEqual([]);
        if (triggered(s) !== 0) found++;
      }),
      { numRuns: 20_000, seed: 20 },
    );
    // The generator really produces strings the detectors care about.
    expect(found).toBeGreaterThan(5_000);
  });

  it('on every detector’s own shapes placed inside ordinary text', () => {
    const secrets = [
      'password=hunter2',
      '"DB_PASSWORD=hunter2"',
      'Authorization: Bearer abc.DEF-123',
      'basic dXNlcjpwYXNz',
      'https://robot:Zq9x@registry.example.com',
      '-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEE\\n-----END EC PRIVATE KEY-----',
      'AKIAIOSFODNN7EXAMPLE',
      'ghp_R2d2C3poLuke4Skywalker5Leia6OrganaHan7',
      'xoxb-1234567890-0987654321-AbCdEfGh',
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl',
      'AIzaSyA1234567890abcdefghijklmnopqrstu',
      'ya29.a0AfH6SMBx1234567890abcdefgh',
      'abc8Q~abcdefghijklmnopqrstuvwxyz0123456',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ];
    for (const secret of secrets)
      for (const s of [secret, `msg="x ${secret} y"`, `{"a":"${secret}"}`, `é ${secret}µ`]) {
        expect(triggered(s), s).not.toBe(0);
        expect(missed(s), s).toEqual([]);
      }
  });
});

describe('Kata ids wake nothing; secret keys with hex values are still hidden', () => {
  const hex = (n: number) => chars('0123456789abcdef', n, n);
  const uuid = fc.uuid();

  it('64-hex ids, UUIDs and SHA-1s, alone and in the places Kata prints them', () => {
    fc.assert(
      fc.property(hex(64), uuid, hex(40), (id, u, sha) => {
        for (const s of [
          id,
          u,
          sha,
          `/run/vc/sbs/${id}/shim-monitor.sock`,
          `container=${id} sandbox=${id}`,
          `/run/containerd/io.containerd.runtime.v2.task/k8s.io/${id}/rootfs`,
          `/var/lib/kubelet/pods/${u}/volumes`,
          `sha1 ${sha}`,
          `sha256:${id}`,
        ]) {
          // A 64-hex id can hold `acca` or `aida` in lower case; the token shapes want them in upper case.
          expect(triggered(s), s).toBe(0);
        }
      }),
      { numRuns: 2_000, seed: 20 },
    );
  });

  it('an exactly-40 base64 run with upper, lower case and a digit wakes the AWS detector; 39, 41 or hex do not', () => {
    const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    expect(triggered(key) & AWS_SECRET).toBe(AWS_SECRET);
    expect(triggered(`x ${key}, y`) & AWS_SECRET).toBe(AWS_SECRET);
    expect(triggered(key.slice(1)) & AWS_SECRET).toBe(0);
    expect(triggered(`${key}A`) & AWS_SECRET).toBe(0);
    expect(triggered('0123456789abcdefABCDEF0123456789abcdefAB') & AWS_SECRET).toBe(AWS_SECRET); // hex, mixed case
    expect(triggered('0123456789abcdef0123456789abcdef01234567') & AWS_SECRET).toBe(0);
    expect(triggered('aida acca') & TOKEN_SHAPE).toBe(0);
    expect(triggered('AIDA') & TOKEN_SHAPE).toBe(TOKEN_SHAPE);
    expect(triggered('SIGCHLD') & KEY_VALUE).toBe(KEY_VALUE);
  });

  it('a hex-only 40-character value under a secret-named key is hidden in every shape', () => {
    fc.assert(
      fc.property(hex(40), hex(64), (sha, id) => {
        const red = new Redactor();
        for (const [text, secret] of [
          [`token=${sha} sandbox=${id}`, sha],
          [`{"password":"${sha}","sandbox":"${id}"}`, sha],
          [`Env:[]string{"GITHUB_TOKEN=${sha}"} id=${id}`, sha],
          [`access_key: ${id}`, id],
        ] as const) {
          const out = red.redactString(text);
          expect(out.text, text).not.toContain(secret);
          expect(out.text).toContain(MASK);
        }
        // The id beside it stays.
        expect(red.redactString(`token=${sha} sandbox=${id}`).text).toContain(id);
      }),
      { numRuns: 300, seed: 20 },
    );
  });
});
