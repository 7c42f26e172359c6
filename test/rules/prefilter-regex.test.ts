// The prefilter's regex alternative (prefilter.ts requiredLiterals): a body regex lets a record through only when
// the body holds the literal runs every match of the pattern contains. Checked on strings generated to match each
// built-in rule's body regex (and regexes of the shapes the reader must handle), placed inside random text: the
// prefilter must let every one through.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import type { Cond } from '../../receiver/rules/condition.js';
import { loadBuiltinRules, loadRules } from '../../receiver/rules/load.js';
import { RulePrefilter, requiredLiterals } from '../../receiver/rules/prefilter.js';
import type { Rule } from '../../receiver/rules/types.js';

function bodyRegexes(c: Cond, out: { pattern: string; fold: boolean }[]): void {
  if (c.kind === 'and' || c.kind === 'or') for (const x of c.items) bodyRegexes(x, out);
  else if (c.kind === 'not') bodyRegexes(c.item, out);
  else if (c.kind === 'cmp' && c.field === 'body' && (c.op === 'regex' || c.op === 'iregex'))
    for (const v of c.values) out.push({ pattern: String(v), fold: c.op === 'iregex' });
}

const record = (body: string): KataLogRecord => ({
  timeUnixNano: 1n,
  observedTimeUnixNano: 1n,
  severityNumber: 9,
  severityText: 'info',
  body,
  attributes: {},
});

describe('literal runs a regex requires', () => {
  it.each([
    ['vsock[: /]*[0-9]+:1026([^0-9]|$)', ['vsock', ':1026']],
    ['method handle /(a|b)/[A-Za-z]+ got error', ['method handle /', '/', ' got error']],
    ['^\\[[0-9T:.+-]+Z? +ERROR +(x|y)', ['[', ' ', 'ERROR ']],
    ['abc?d', ['ab', 'd']],
    ['x{0,3}yz', ['yz']],
    ['ab{2}c', ['ab', 'c']],
    ['ab*?c', ['a', 'c']],
    ['a\\.b', ['a.b']],
    ['a|b', []],
    ['(a|b)|c', []],
    ['\\d+foo', []],
    ['[|]foo', ['foo']],
    ['é+x', []],
  ])('%s → %j', (pattern, runs) => {
    expect(requiredLiterals(pattern)).toEqual(runs);
  });

  it('strings matching each built-in body regex (and these shapes) in random text pass the prefilter', () => {
    const builtin = loadBuiltinRules().rules.map((r) => ({ ...r, enabled: true }));
    const extra = loadRules([
      {
        file: 'shapes.yaml',
        text: [
          '- rule: shapes',
          '  name: shapes',
          '  desc: regex shapes',
          '  condition: body regex "ab?c+d{2,3}e*[0-9]x" or body iregex "Hello (World|there) ok"',
          '  output: x',
          '  priority: low',
        ].join('\n'),
      },
    ]).rules;
    const rules: Rule[] = [...builtin, ...extra];
    const pre = new RulePrefilter(rules);
    let checked = 0;
    rules.forEach((rule, i) => {
      if (rule.kind !== 'match' && rule.kind !== 'threshold') return;
      const found: { pattern: string; fold: boolean }[] = [];
      bodyRegexes(rule.condition.ast, found);
      for (const { pattern, fold } of found) {
        // An iregex match in random case (fast-check generates matches of case-sensitive patterns only).
        const match = fc
          .tuple(fc.stringMatching(new RegExp(pattern)), fc.array(fc.boolean(), { maxLength: 64 }))
          .map(([m, up]) => (fold ? [...m].map((c, k) => (up[k] ? c.toUpperCase() : c)).join('') : m));
        fc.assert(
          fc.property(fc.string({ maxLength: 20 }), match, fc.string({ maxLength: 20 }), (a, m, b) => {
            const r = record(`${a}${m}${b}`);
            if (!rule.condition.test(r)) return;
            pre.begin(r);
            expect(pre.may(i), `${rule.id}: ${JSON.stringify(r.body)}`).toBe(true);
            checked++;
          }),
          { numRuns: 300, seed: 20 },
        );
      }
    });
    expect(checked).toBeGreaterThan(1000);
  });
});
