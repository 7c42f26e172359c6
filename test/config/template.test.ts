import { describe, expect, it } from 'vitest';
import { expand, TemplateError } from '../../receiver/config/template.js';

const env = { A: 'alpha', EMPTY: '', TRICKY: 'x${env:A}y' };

describe('${...} expansion', () => {
  it('replaces env references, keeps text and literal $${', () => {
    expect(expand('pre-${env:A}-post', { env }).value).toBe('pre-alpha-post');
    expect(expand('no refs $ { }', { env }).value).toBe('no refs $ { }');
    expect(expand('$${env:A} is literal', { env }).value).toBe('${env:A} is literal');
  });

  it('never expands a value read from the environment again', () => {
    expect(expand('${env:TRICKY}', { env }).value).toBe('x${env:A}y');
  });

  it('uses :- defaults when unset or empty, lazily, and flags empty optional values', () => {
    expect(expand('${env:NOPE:-fallback}', { env }).value).toBe('fallback');
    expect(expand('${env:EMPTY:-fallback}', { env }).value).toBe('fallback');
    expect(expand('${env:A:-${env:NOPE}}', { env }).value).toBe('alpha'); // default not evaluated
    expect(expand('${env:NOPE:-${env:A}}', { env }).value).toBe('alpha');
    expect(expand('${env:NOPE:-}', { env })).toEqual({ value: '', emptyOptional: true });
    expect(expand('${env:EMPTY}', { env })).toEqual({ value: '', emptyOptional: false });
  });

  it('nests references inside base64 and options when the providers are allowed', () => {
    const ctx = { env, options: { region: 'eu', none: '' }, providers: ['env', 'option', 'base64'] as const };
    expect(expand('Basic ${base64:${env:A}:${option:region}}', ctx).value).toBe(
      `Basic ${Buffer.from('alpha:eu').toString('base64')}`,
    );
    expect(expand('${option:none}', ctx).emptyOptional).toBe(true);
  });

  it('errors name the variable, or say what to write', () => {
    const unset = () => expand('${env:KATA_TOKEN}', { env });
    expect(unset).toThrow(TemplateError);
    expect(unset).toThrow('environment variable KATA_TOKEN is not set; export KATA_TOKEN=… before starting kata-otel');
    try {
      unset();
    } catch (e) {
      expect((e as TemplateError).variable).toBe('KATA_TOKEN');
    }
    expect(() => expand('${env:A', { env })).toThrow('is not closed with }');
    expect(() => expand('${A}', { env })).toThrow('is not a reference; write ${env:VAR}');
    expect(() => expand('${file:/etc/x}', { env })).toThrow('${file:…} is not supported here; use ${env:…}');
    expect(() => expand('${env:bad-name}', { env })).toThrow('is not an environment variable name');
  });
});

describe('${...} nesting depth', () => {
  it('refuses 20,000 nested ${env: with a clear error instead of a stack overflow (issue 11)', async () => {
    const { loadConfig, ConfigError } = await import('../../receiver/config/index.js');
    const deep = '${env:NOPE:-'.repeat(20_000) + 'x' + '}'.repeat(20_000);
    expect(() => expand(deep, { env })).toThrow(TemplateError);
    expect(() => expand(deep, { env })).toThrow(/nest more than 16 deep/);
    let err: unknown;
    try {
      loadConfig(undefined, { data_dir: deep }, { env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/data_dir.*nest more than 16 deep/s);
    expect((err as Error).message.length).toBeLessThan(1000);
    // 16 levels still work.
    expect(expand('${env:NOPE:-'.repeat(16) + 'x' + '}'.repeat(16), { env }).value).toBe('x');
  });
});
