import { describe, expect, it } from 'vitest';
import {
  ConditionError,
  compile,
  parseCondition,
  toNnf,
  type Cond,
  type Value,
} from '../../receiver/rules/condition.js';
import { parseTemplate, renderTemplate, TemplateError } from '../../receiver/rules/template.js';
import { rec } from './helpers.js';

const lists = new Map<string, Value[]>([
  ['shells', ['/bin/sh', '/bin/bash']],
  ['comps', ['agent', 'runtime']],
]);
const macros = new Map<string, string>([['is_agent', 'kata.component = agent']]);
const ctx = {
  list: (n: string) => lists.get(n),
  macro: (n: string): Cond | undefined => (macros.has(n) ? parseCondition(macros.get(n) as string, ctx) : undefined),
};
const test = (cond: string, r = rec('hello world')) => compile(parseCondition(cond, ctx))(r);
const errorOf = (cond: string): ConditionError => {
  try {
    parseCondition(cond, ctx);
  } catch (e) {
    if (e instanceof ConditionError) return e;
    throw e;
  }
  throw new Error(`no error for: ${cond}`);
};

describe('condition language', () => {
  it('evaluates string operators on the body and attributes', () => {
    const r = rec('Kernel panic - not syncing: Attempted to kill init!', { 'kata.field.event': 'GUEST_PANICKED' });
    expect(test('body contains "panic - not"', r)).toBe(true);
    expect(test('body contains "PANIC"', r)).toBe(false);
    expect(test('body icontains "PANIC"', r)).toBe(true);
    expect(test('body startswith "Kernel"', r)).toBe(true);
    expect(test('body istartswith "kernel"', r)).toBe(true);
    expect(test('body endswith "init!"', r)).toBe(true);
    expect(test('body iendswith "INIT!"', r)).toBe(true);
    expect(test('body regex "kill [a-z]+!$"', r)).toBe(true);
    expect(test('body iregex "^KERNEL"', r)).toBe(true);
    expect(test('kata.field.event = GUEST_PANICKED', r)).toBe(true);
    expect(test("kata.field.event = 'guest_panicked'", r)).toBe(false);
    expect(test('kata.field.event != RESUME', r)).toBe(true);
  });

  it('compares numbers, including numeric strings', () => {
    const r = rec('x', { 'process.pid': 56, 'kata.field.qmp-major-version': '6' }, { severity: 17 });
    expect(test('severity_number >= 17', r)).toBe(true);
    expect(test('severity_number > 17', r)).toBe(false);
    expect(test('severity_number < 18 and severity_number <= 17', r)).toBe(true);
    expect(test('process.pid = 56', r)).toBe(true);
    expect(test('kata.field.qmp-major-version >= 6', r)).toBe(true);
    expect(test('kata.field.qmp-major-version = 6', r)).toBe(true);
    expect(test('body > 3', r)).toBe(false); // not a number: false, not an exception
  });

  it('treats a missing field as false for every comparison, != included', () => {
    expect(test('error.message contains "x"')).toBe(false);
    expect(test('error.message != "x"')).toBe(false);
    expect(test('not error.message = "x"')).toBe(true);
    expect(test('error.message exists')).toBe(false);
    expect(test('body exists')).toBe(true);
  });

  it('expands lists and matches any element of array attributes', () => {
    const r = rec('exec /bin/bash', { 'kata.field.args': ['-c', '/bin/sh'] });
    expect(test('body contains (shells)', r)).toBe(true);
    expect(test('kata.component in (comps)', r)).toBe(true);
    expect(test('kata.component in comps', r)).toBe(true);
    expect(test('kata.component in (runtime, hypervisor)', r)).toBe(false);
    expect(test('kata.field.args = /bin/sh', r)).toBe(true);
    expect(test('kata.field.args contains "-c"', r)).toBe(true);
  });

  it('honours precedence: not > and > or, and parentheses', () => {
    const r = rec('a');
    expect(test('body = a or body = b and body = c', r)).toBe(true); // a or (b and c)
    expect(test('(body = a or body = b) and body = c', r)).toBe(false);
    expect(test('not body = b and body = a', r)).toBe(true); // (not b) and a
    expect(test('not (body = a or body = b)', r)).toBe(false);
  });

  it('inlines macros', () => {
    expect(test('is_agent and body contains hello')).toBe(true);
    expect(test('not is_agent')).toBe(false);
  });

  it('reports mistakes with the column they are at', () => {
    expect(errorOf('body contains')).toMatchObject({ column: 14 });
    expect(errorOf('body contains').message).toMatch(/expected a value after 'contains'/);
    expect(errorOf('body contains "x" kata.component = agent').message).toMatch(
      /unexpected 'kata.component'; join conditions with 'and' \/ 'or'/,
    );
    expect(errorOf('body contains "x" kata.component = agent').column).toBe(19);
    expect(errorOf('(body = a').message).toMatch(/expected '\)' to close the '\(' at column 1/);
    expect(errorOf('body = "unterminated').column).toBe(8);
    expect(errorOf('kata.component =< agent').message).toMatch(/unknown operator '=<'/);
    expect(errorOf('nosuchmacro and body = x').message).toMatch(/unknown macro 'nosuchmacro'/);
    expect(errorOf('kata.sandbox.id').message).toMatch(/expected an operator after field 'kata.sandbox.id'/);
    expect(errorOf('component = agent').message).toMatch(/unknown field 'component'/);
    expect(errorOf('severity_number > high').message).toMatch(/compares numbers; 'high' is not a number/);
    expect(errorOf('kata.component in nolist').message).toMatch(/'nolist' is not a list/);
    expect(errorOf('body regex "a(b"').message).toMatch(/invalid regular expression/);
    expect(errorOf('body regex "(?=x)y"').message).toMatch(/lookaround or a backreference/);
    expect(errorOf('body = x or').message).toMatch(/found the end of the condition/);
  });

  it('puts conditions into negation normal form for the exporters', () => {
    const nnf = toNnf(parseCondition('not (body = a and not kata.component = agent)', ctx));
    expect(nnf).toEqual({
      kind: 'or',
      items: [
        { kind: 'not', item: { kind: 'cmp', field: 'body', op: 'eq', values: ['a'] } },
        { kind: 'cmp', field: 'kata.component', op: 'eq', values: ['agent'] },
      ],
    });
  });
});

describe('output templates', () => {
  it('renders %body, %{field}, bare %field and context values', () => {
    const r = rec('VM died', { 'error.message': 'boom' });
    const t = parseTemplate(
      '%body in %{kata.sandbox.id} (%kata.component). %{count}x in %{window}; 100%% sure; %{container.id}',
    );
    expect(renderTemplate(t, r, { count: '3', window: '5m' })).toBe(
      'VM died in sb1 (agent). 3x in 5m; 100% sure; <NA>',
    );
  });

  it('rejects unknown placeholders with the column', () => {
    expect(() => parseTemplate('x %{nope}')).toThrow(TemplateError);
    expect(() => parseTemplate('x %{kata.sandbox.id')).toThrow(/not closed/);
    let err: unknown;
    try {
      parseTemplate('ok %5 off');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as TemplateError).column).toBe(4);
  });
});
