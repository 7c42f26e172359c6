// The rule prefilter may only ever skip a rule for a record none of the rule's conditions can match. Checked on
// every built-in fixture line, on random records built from the rules' own phrases (random case, padding,
// non-ASCII, missing and non-string attributes), and end to end: the engine with and without the prefilter
// raises the same alerts on the same streams.
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Attributes, KataLogRecord } from '../../receiver/model/record.js';
import { parseText } from '../../receiver/parse/index.js';
import { fieldValue, type Cond } from '../../receiver/rules/condition.js';
import { RuleEngine } from '../../receiver/rules/engine.js';
import { loadBuiltinRules, loadRules } from '../../receiver/rules/load.js';
import { RulePrefilter } from '../../receiver/rules/prefilter.js';
import type { Rule } from '../../receiver/rules/types.js';

const rules = loadBuiltinRules().rules.map((r) => ({ ...r, enabled: true }));

/** Can the rule act on the record: one of its conditions holds (and, for absence and sequence rules, which follow
 *  one entity, the record has every group_by value). */
function acts(rule: Rule, r: KataLogRecord): boolean {
  if (rule.kind === 'absence' || rule.kind === 'sequence')
    for (const f of rule.groupBy) {
      const v = fieldValue(r, f);
      if (v === undefined || v === '') return false;
    }
  return conditionsOf(rule).some((t) => t(r));
}

function conditionsOf(rule: Rule): ((r: KataLogRecord) => boolean)[] {
  switch (rule.kind) {
    case 'match':
    case 'threshold':
      return [rule.condition.test];
    case 'absence':
      return [rule.start.test, rule.stop.test, rule.condition.test];
    case 'sequence':
      return rule.steps.map((s) => s.test);
  }
}

/** A record with only a body (and a level). */
const bodyRecord = (body: string): KataLogRecord => ({
  timeUnixNano: 1n,
  observedTimeUnixNano: 1n,
  severityNumber: 9,
  severityText: '',
  body,
  attributes: {},
});

function checkInvariant(rs: Rule[], records: KataLogRecord[]): void {
  const pre = new RulePrefilter(rs);
  for (const r of records) {
    pre.begin(r);
    rs.forEach((rule, i) => {
      if (acts(rule, r))
        expect(pre.may(i), `${rule.id} skipped ${JSON.stringify({ body: r.body, a: r.attributes })}`).toBe(true);
    });
  }
}

/** Literal strings and fields anywhere in a condition. */
function literals(c: Cond, out: { strings: Set<string>; fields: Set<string> }): void {
  switch (c.kind) {
    case 'and':
    case 'or':
      for (const x of c.items) literals(x, out);
      return;
    case 'not':
      return literals(c.item, out);
    case 'exists':
      out.fields.add(c.field);
      return;
    case 'cmp':
      out.fields.add(c.field);
      for (const v of c.values) out.strings.add(String(v));
  }
}
const lit = { strings: new Set<string>(), fields: new Set<string>() };
for (const r of rules)
  for (const c of r.kind === 'sequence'
    ? r.steps
    : r.kind === 'absence'
      ? [r.start, r.stop, r.condition]
      : [r.condition])
    literals(c.ast, lit);
const phrases = [...lit.strings];
// Condition fields and group_by fields (absence and sequence rules only act on records that have the latter).
const fields = [...new Set([...lit.fields, ...rules.flatMap((r) => r.groupBy)])].filter((f) => f.includes('.'));

describe('RulePrefilter', () => {
  it('lets every built-in fixture line through to the rules it matches', () => {
    const dir = new URL('./fixtures/', import.meta.url);
    const records: KataLogRecord[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
      const fx = parse(readFileSync(new URL(f, dir), 'utf8')) as {
        positive: { line: string }[];
        negative: { line: string }[];
      };
      for (const e of [...fx.positive, ...fx.negative])
        records.push(...parseText(e.line, { observedTimeUnixNano: 1_700_000_000_000_000_000n }));
    }
    expect(records.length).toBeGreaterThan(50);
    checkInvariant(rules, records);
  });

  const caseMix = (s: string, flips: boolean[]) =>
    [...s].map((ch, i) => (flips[i % flips.length] ? ch.toUpperCase() : ch.toLowerCase())).join('');
  const text = fc.oneof(
    fc
      .tuple(
        fc.constantFrom(...phrases),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        fc.string(),
        fc.string(),
      )
      .map(([p, flips, a, b]) => a + caseMix(p, flips) + b),
    fc.constantFrom(...phrases),
    fc.string(),
    fc.constantFrom('KELVIN \u212a', 'İstanbul', 'ﬁle', 'ǅ'),
  );
  const value = fc.oneof(text, fc.integer({ min: -3, max: 30 }), fc.array(text, { maxLength: 2 }), fc.boolean());
  const record = fc
    .record({
      body: text,
      severityNumber: fc.integer({ min: 0, max: 24 }),
      attrs: fc.dictionary(fc.constantFrom(...fields), value, { maxKeys: 4 }),
    })
    .map(({ body, severityNumber, attrs }): KataLogRecord => ({
      timeUnixNano: 1_700_000_000_000_000_000n,
      observedTimeUnixNano: 1n,
      severityNumber,
      severityText: '',
      body,
      attributes: attrs as Attributes,
    }));

  it('never skips a rule whose condition holds, on random records made of the rules’ own phrases', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), (records) => checkInvariant(rules, records)),
      { numRuns: 400 },
    );
  });

  it('lets through bodies whose lowercase differs in length or maps non-ASCII letters to ASCII (K → k, İ → i̇)', () => {
    const bodies = phrases.flatMap((p) => [
      p.replace(/k/g, '\u212a'),
      p.replace(/i/g, '\u0130'),
      p.toUpperCase().replace(/K/g, '\u212a'),
      'x\u0130 ' + p.toUpperCase(),
    ]);
    checkInvariant(rules, bodies.map(bodyRecord));
  });

  it('handles every operator: regex, numbers, not, exists, case-insensitive and short phrases', () => {
    const set = loadRules([
      {
        file: 'inline.yaml',
        text: `
- ruleset: tests
- rule: r1
  name: r1
  desc: d
  condition: body regex "ab+c" or body iendswith "Zz" or body startswith "x"
  output: o
  priority: low
- rule: r2
  name: r2
  desc: d
  condition: not body contains "quiet" and kata.field.n >= 3
  output: o
  priority: low
- rule: r3
  name: r3
  desc: d
  condition: kata.field.s != "a" or kata.field.e exists or body = 7
  output: o
  priority: low
- rule: r4
  name: r4
  desc: d
  condition: kata.field.s in (a, 5) and body icontains "ÉCOLE"
  output: o
  priority: low
`,
      },
    ]).rules;
    const recs = ['abbbc', 'xyz', 'helloZZ', '7', ' 7', 'école', 'quiet', ''].flatMap((body) =>
      [
        {},
        { 'kata.field.n': 5 },
        { 'kata.field.n': '4' },
        { 'kata.field.s': 'b' },
        { 'kata.field.s': 5 },
        { 'kata.field.s': 'a' },
        { 'kata.field.e': '' },
      ].map((attributes): KataLogRecord => ({
        timeUnixNano: 1n,
        observedTimeUnixNano: 1n,
        severityNumber: 9,
        severityText: '',
        body,
        attributes: attributes as Attributes,
      })),
    );
    checkInvariant(set, recs);
  });

  it('the engine raises the same alerts with and without it', () => {
    fc.assert(
      fc.property(fc.array(fc.array(record, { maxLength: 30 }), { maxLength: 6 }), (batches) => {
        let t = 1_700_000_000_000_000_000n;
        const a = new RuleEngine({ rules, clock: () => 1n });
        const b = new RuleEngine({ rules, clock: () => 1n, prefilter: false });
        for (const batch of batches) {
          const stamped = batch.map((r) => ({ ...r, timeUnixNano: (t += 7_000_000_000n) }));
          expect(a.process(stamped)).toEqual(b.process(stamped));
          expect(a.flush(t)).toEqual(b.flush(t));
        }
        expect(a.close()).toEqual(b.close());
      }),
      { numRuns: 150 },
    );
  });
});

describe('RulePrefilter body cache', () => {
  it('gives a long-lived prefilter the answer of a fresh one, through repeated, unique and non-ASCII bodies', () => {
    const pre = new RulePrefilter(rules);
    const bodies = [
      ...Array.from({ length: 3000 }, (_, i) => `unique message ${i} ${phrases[i % phrases.length]}`),
      ...Array.from({ length: 6000 }, (_, i) => (i % 7 === 0 ? 'KELVIN \u212a' : `${phrases[i % phrases.length]}`)),
      ...Array.from({ length: 600 }, (_, i) => `again ${phrases[(i * 3) % phrases.length]}`),
    ];
    for (const body of bodies) {
      const r = bodyRecord(body);
      const fresh = new RulePrefilter(rules);
      fresh.begin(r);
      pre.begin(r);
      expect([...pre.bits], body).toEqual([...fresh.bits]);
    }
  });
});
