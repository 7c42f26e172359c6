// Rule evaluation is linear in the size of the record, whatever the rule: the guest writes the text, so a
// backtracking regex (`^(a+)+$`) or a quadratic operator would let one line freeze the receiver (issue 11).
import { describe, expect, it } from 'vitest';
import { compile, MAX_REGEX_INPUT, parseCondition } from '../../receiver/rules/condition.js';
import { RuleEngine } from '../../receiver/rules/engine.js';
import { loadBuiltinRules, loadRules } from '../../receiver/rules/load.js';
import { rec } from './helpers.js';

const noCtx = { macro: () => undefined, list: () => undefined };

/** Median wall time of `reps` runs of `fn`, in ms. */
function median(fn: () => void, reps = 5): number {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(reps / 2)] as number;
}

// Every operator, and regexes chosen to backtrack badly on a backtracking engine.
const USER_RULES = `
- rule: user-redos-nested
  desc: nested quantifier
  condition: body regex "^(a+)+$"
  output: '%body'
  priority: low
- rule: user-redos-alternation
  desc: overlapping alternation
  condition: body iregex "^(a|aa|a?)+b$" or kata.field.msg regex "(x+x+)+y"
  output: '%body'
  priority: low
- rule: user-every-operator
  desc: every string and comparison operator
  condition: >-
    (body contains "aab" or body icontains "AAB" or body startswith "ab" or body istartswith "AB"
    or body endswith "ba" or body iendswith "BA" or body in ("x", "y") or severity_number >= 30
    or body contains ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "is blocked by polic!"))
    and not kata.field.missing exists
  output: '%body %{kata.field.msg}'
  priority: low
`;

/** Adversarial bodies of n characters: the regexes' and the substring needles' near misses. */
const SHAPES: Record<string, (n: number) => string> = {
  'all a, then b': (n) => 'a'.repeat(n - 1) + 'b',
  'all a': (n) => 'a'.repeat(n),
  'near-miss needles': (n) => 'is blocked by polic'.repeat(Math.ceil(n / 19)).slice(0, n),
  'a then x': (n) => 'a'.repeat(n >> 1) + 'x'.repeat(n - (n >> 1)),
};

describe('rules run in linear time', () => {
  it('a ReDoS rule (`^(a+)+$` on a 28-character message took 15 s) answers at once', () => {
    const test = compile(parseCondition('body regex "^(a+)+$"', noCtx));
    const t = performance.now();
    expect(test(rec('a'.repeat(27) + '!'))).toBe(false);
    expect(test(rec('a'.repeat(28)))).toBe(true);
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('runs regexes on RE2: its syntax, and what RE2 cannot run is refused at load', () => {
    expect(compile(parseCondition('body regex "(?P<word>kill)\\\\s+\\\\pL+"', noCtx))(rec('kill init'))).toBe(true);
    expect(compile(parseCondition('body iregex "^KERNEL"', noCtx))(rec('kernel panic'))).toBe(true);
    expect(() => parseCondition('body regex "(a)\\\\1"', noCtx)).toThrow(/backreference/);
    expect(() => parseCondition('body regex "a{2,1001}"', noCtx)).toThrow(/invalid regular expression.*RE2/);
  });

  it('matches a regex on the first 64 KiB of a value only (documented)', () => {
    const test = compile(parseCondition('body regex "needle"', noCtx));
    expect(test(rec('x'.repeat(MAX_REGEX_INPUT - 6) + 'needle'))).toBe(true);
    expect(test(rec('x'.repeat(MAX_REGEX_INPUT) + 'needle'))).toBe(false);
  });

  it('evaluates the built-in and user rules in time linear in the record (1, 16, 256 KiB)', () => {
    const builtin = loadBuiltinRules();
    const user = loadRules([{ file: 'user.yaml', text: USER_RULES }]);
    const engine = new RuleEngine({ rules: [...builtin.rules, ...user.rules], clock: () => 0n });
    for (const [shape, make] of Object.entries(SHAPES)) {
      const perByte = [1024, 16 * 1024, 256 * 1024].map((n) => {
        const body = make(n);
        const records = Array.from({ length: 4 }, () => rec(body, { 'kata.field.msg': body.replace(/a/g, 'x') }));
        for (let i = 0; i < 3; i++) engine.process(records); // warm up the JIT and RE2's caches at this size
        return median(() => engine.process(records), 7) / n;
      });
      const [k1, k16, k256] = perByte as [number, number, number];
      // Linear: the time per byte stays about flat, where a quadratic step multiplies it by 16 (the size ratio)
      // and an exponential one never returns. Generous factor 8: RE2 switches engines with the input size (its
      // bit-state backtracker for small inputs, DFA/NFA beyond), which moves the constant, and 2 shared cores.
      expect(k16 / k1, `${shape}: per-byte time 1 -> 16 KiB`).toBeLessThan(8);
      expect(k256 / k16, `${shape}: per-byte time 16 -> 256 KiB`).toBeLessThan(8);
    }
  });
});
