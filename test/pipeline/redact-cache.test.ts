// The redactor's caches only save work: an attribute whose values never repeat (a journal cursor, a record uid, a
// per-line tag) is scanned without the clean-string cache, an attribute that keeps its value is compared with its
// last clean value, and neither changes what is found. A long-lived redactor must give every record the result a
// fresh one gives it, whatever came before.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attributes, KataLogRecord } from '../../receiver/model/record.js';
import { MASK, Redactor } from '../../receiver/pipeline/redact/redactor.js';

const record = (body: string, attributes: Attributes): KataLogRecord => ({
  timeUnixNano: 1n,
  observedTimeUnixNano: 1n,
  severityNumber: 9,
  severityText: 'INFO',
  body,
  attributes,
});

/** The redactor's clean-string cache, both generations (what it keeps alive). */
const cached = (r: Redactor) => {
  const x = r as unknown as { clean: Map<string, true>; older: Map<string, true> };
  return x.clean.size + x.older.size;
};

const SECRETS = [
  'password=hunter2',
  'Authorization: Bearer abcDEF123456789xyz',
  'AKIAIOSFODNN7EXAMPLE',
  'https://user:s3cr3t@registry.example.com/v2/',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
];
const CLEAN = [
  'kata-containers',
  'node-17',
  '3.2.0',
  'rpc call from shim to agent',
  'c05e2fc7e777e40338377708d8676d65',
];

describe('redaction caches', () => {
  it('scans a never-repeating attribute without the cache, still finds a secret in it, and caches again later', () => {
    const red = new Redactor();
    for (let i = 0; i < 5000; i++) {
      const r = record('same message', {
        'kata.field.bench_tag': `kb#${i}@1796570769057110`,
        'service.name': 'kata-runtime',
      });
      red.redactRecord(r);
    }
    // Of the 5,000 unique values only the samples were kept (256 before each verdict, one verdict per 4,352).
    expect(cached(red)).toBeLessThanOrEqual(2 * 256 + 3);
    const r = record('same message', { 'kata.field.bench_tag': 'password=hunter2' });
    red.redactRecord(r);
    expect(r.attributes['kata.field.bench_tag']).toBe(`password=${MASK}`);
    // Values that repeat again are cached again once the skip is over.
    for (let i = 0; i < 6000; i++) red.redactRecord(record('m', { 'kata.field.bench_tag': `v${i % 50}` }));
    const before = cached(red);
    for (let i = 0; i < 1000; i++) red.redactRecord(record('m', { 'kata.field.bench_tag': `v${i % 50}` }));
    expect(cached(red)).toBe(before);
  });

  it('an attribute that keeps its value is clean while it keeps it, and a changed value is scanned', () => {
    const red = new Redactor();
    const a = record('m', { 'kata.field.url': 'https://registry.example.com/v2/' });
    red.redactRecord(a);
    expect(a.attributes['kata.field.url']).toBe('https://registry.example.com/v2/');
    const b = record('m', { 'kata.field.url': 'https://user:s3cr3t@registry.example.com/v2/' });
    red.redactRecord(b);
    expect(b.attributes['kata.field.url']).toBe(`https://user:${MASK}@registry.example.com/v2/`);
    const c = record('m', { 'kata.field.url': 'https://registry.example.com/v2/' });
    red.redactRecord(c);
    expect(c.attributes['kata.field.url']).toBe('https://registry.example.com/v2/');
  });

  it('a long-lived redactor gives every record what a fresh one gives it', () => {
    const value = fc.oneof(
      fc.constantFrom(...SECRETS, ...CLEAN),
      fc.nat({ max: 1_000_000 }).map((n) => `kb#${n}@1796570769`),
      fc.tuple(fc.constantFrom(...SECRETS), fc.nat()).map(([s, n]) => `${s} id=${n}`),
    );
    const keys = ['kata.field.tag', 'kata.journal.cursor', 'kata.field.msg', 'service.name'];
    const rec = fc
      .tuple(value, fc.array(fc.tuple(fc.constantFrom(...keys), value), { maxLength: 4 }))
      .map(([body, kv]) => record(body, Object.fromEntries(kv)));
    fc.assert(
      fc.property(fc.array(rec, { minLength: 300, maxLength: 1200 }), (records) => {
        const red = new Redactor();
        for (const r of records) {
          const expected = structuredClone(r);
          new Redactor().redactRecord(expected);
          red.redactRecord(r);
          expect(r).toEqual(expected);
        }
      }),
      { numRuns: 15 },
    );
  });
});
