import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RuleLoadError, loadBuiltinRules, loadRuleFiles, loadRules } from '../../receiver/rules/load.js';
import { rules } from './helpers.js';

const issuesOf = (yaml: string, file = 'bad.yaml') => {
  try {
    loadRules([{ file, text: yaml }]);
  } catch (e) {
    if (e instanceof RuleLoadError) return e;
    throw e;
  }
  throw new Error('no RuleLoadError');
};

const VALID = `
- rule: ok-rule
  desc: d
  condition: body = x
  output: o
  priority: low
`;

describe('rule files: validation', () => {
  it('names the file, line, rule, field and value, and says what to do', () => {
    const e = issuesOf(`
- rule: r1
  desc: one
  condition: body = x
  output: '%body'
  priority: urgent
`);
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]).toMatchObject({ file: 'bad.yaml', line: 2, rule: 'r1', field: 'priority', value: 'urgent' });
    expect(e.message).toBe(
      "bad.yaml:2: rule 'r1': field 'priority' (value \"urgent\"): is not a severity; use one of info, low, medium, high, critical (Falco priorities are accepted too)",
    );
  });

  it('reports every problem of every rule in one go', () => {
    const e = issuesOf(`
- rule: a
  desc: d
  condition: body contains
  output: o
  priority: high
- rule: b
  condition: kata.component = agent
  output: '%{nope}'
  priority: low
  exceptions: []
- rule: c
  desc: d
  kind: threshold
  condition: body = x
  output: o
  priority: low
  count: 0
- rule: d
  desc: d
  kind: sequence
  sequence: [body = x]
  output: o
  priority: low
  window: 5m
  timeout: 1m
`);
    const by = (rule: string) => e.issues.filter((i) => i.rule === rule).map((i) => `${i.field}: ${i.message}`);
    expect(by('a')).toEqual([
      "condition: column 14: expected a value after 'contains' (contains), found the end of the condition",
    ]);
    expect(by('b')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^exceptions: 'exceptions' \(Falco\) is not supported/),
        "desc: missing; every rule needs 'desc:'",
        expect.stringMatching(/^output: column 1: '%\{nope\}' is neither a field/),
      ]),
    );
    expect(by('c')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^count: threshold rules need count: N/),
        expect.stringMatching(/^window: missing/),
      ]),
    );
    expect(by('d')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^timeout: only applies to absence rules/),
        expect.stringMatching(/^sequence: sequence rules need sequence: a list of at least two conditions/),
      ]),
    );
  });

  it('explains YAML syntax errors, including the common unquoted-colon mistake', () => {
    const e = issuesOf(`
- rule: r
  desc: d
  condition: body startswith "policy: ignoring error for "
  output: o
  priority: high
`);
    expect(e.issues[0]?.line).toBe(4);
    expect(e.message).toMatch(/YAML syntax error: .*must be quoted or written as a block/);
  });

  it('checks the shape of the file and of each item', () => {
    expect(issuesOf('rule: x').message).toMatch(/a rules file is a YAML list/);
    expect(issuesOf('- rule: x\n  macro: y').message).toMatch(/exactly one of rule:, macro:, list:, ruleset:/);
    expect(issuesOf('- list: l\n  items: {a: 1}').message).toMatch(/list 'l' needs 'items:'/);
    expect(
      issuesOf('- rule: "bad id"\n  desc: d\n  condition: body = x\n  output: o\n  priority: low').message,
    ).toMatch(/rule ids use letters/);
    expect(issuesOf(VALID + VALID).message).toMatch(/rule 'ok-rule' is already defined at line 2 of this file/);
    expect(issuesOf('- rule: nope\n  enabled: false').message).toMatch(/there is no earlier rule 'nope'/);
    expect(issuesOf(VALID.replace('priority: low', 'priority: low\n  references: [example.com]')).message).toMatch(
      /references are URLs/,
    );
  });

  it('resolves macros and lists in any order and refuses cycles', () => {
    const rs = rules(`
- rule: r
  desc: d
  condition: m1 and body in (l1)
  output: o
  priority: low
- macro: m1
  condition: m2 or kata.component = runtime
- macro: m2
  condition: kata.component = agent
- list: l1
  items: [a, l2]
- list: l2
  items: [b, c]
`);
    expect(rs.lists.get('l1')).toEqual(['a', 'b', 'c']);
    const r = rs.rules[0];
    expect(r?.kind).toBe('match');
    const cyc = issuesOf(`
- macro: m1
  condition: m2
- macro: m2
  condition: m1
${VALID}`);
    expect(cyc.message).toMatch(/refers to itself \(m1 → m2 → m1\)|refers to itself \(m2 → m1 → m2\)/);
  });

  it('lets a later file switch a rule off or replace it, and accepts Falco priorities', () => {
    const rs = loadRules([
      { file: 'a.yaml', text: VALID },
      { file: 'b.yaml', text: '- rule: ok-rule\n  enabled: false\n' },
    ]);
    expect(rs.rules[0]?.enabled).toBe(false);
    const replaced = loadRules([
      { file: 'a.yaml', text: VALID },
      { file: 'b.yaml', text: VALID.replace('priority: low', 'priority: WARNING') },
    ]);
    expect(replaced.rules).toHaveLength(1);
    expect(replaced.rules[0]?.severity).toBe('medium');
    expect(replaced.rules[0]?.origin.file).toBe('b.yaml');
  });

  it('reads files, directories and "builtin" from disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-rules-'));
    writeFileSync(join(dir, 'site.yaml'), '- ruleset: site\n- rule: kata-agent-silent\n  enabled: false\n' + VALID);
    const rs = loadRuleFiles(['builtin', dir]);
    expect(rs.meta.name).toBe('kata-otel-builtin');
    expect(rs.rules.find((r) => r.id === 'kata-agent-silent')?.enabled).toBe(false);
    expect(rs.rules.find((r) => r.id === 'ok-rule')?.ruleset).toBe('site');
    expect(() => loadRuleFiles(join(dir, 'missing.yaml'))).toThrow(
      /missing\.yaml: cannot read: .*pass a rules file, a directory of \*\.yaml, or 'builtin'/,
    );
  });
});

describe('built-in library', () => {
  it('loads, with ruleset metadata, unique ids and every kind represented', () => {
    const rs = loadBuiltinRules();
    expect(rs.meta).toMatchObject({ name: 'kata-otel-builtin', author: 'kata-otel', date: '2026-11-26' });
    expect(new Set(rs.rules.map((r) => r.id)).size).toBe(rs.rules.length);
    expect(new Set(rs.rules.map((r) => r.kind))).toEqual(new Set(['match', 'threshold', 'absence', 'sequence']));
    for (const r of rs.rules) {
      expect(r.desc.length, r.id).toBeGreaterThan(20);
      expect(r.ruleset).toBe('kata-otel-builtin');
    }
  });

  it('the example in docs/rules.md is a valid rules file', () => {
    const doc = readFileSync(new URL('../../docs/rules.md', import.meta.url), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const rs = rules(example as string);
    expect(rs.meta.name).toBe('my-site');
    expect(rs.rules.map((r) => r.id)).toEqual(['my-agent-shell']);
  });
});
