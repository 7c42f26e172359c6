// The one ajv setup for kata-otel configuration files (the receiver config and the vendor presets), and the
// readable messages of its errors. The validators `run` uses are compiled at build time (gen-validator.ts): ajv
// itself is required only when a schema is compiled (the generator, tests), not when this module is imported.
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject } from 'ajv';
import { closest, pathString, showValue, type ConfigProblem } from './errors.js';

const require = createRequire(import.meta.url);

/** `code`: ajv's code options, e.g. `{ source: true, esm: true }` for the build-time validator (gen-validator.ts). */
export function createAjv(code?: { source: boolean; esm: boolean }): Ajv {
  const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
  const addFormats = require('ajv-formats') as (ajv: Ajv) => Ajv;
  const ajv = new AjvClass({
    ...(code ? { code } : {}),
    allErrors: true,
    // Fill every missing setting from its `default`, inside discriminated exporter entries too.
    useDefaults: true,
    discriminator: true,
    // `port: "4317"` and `${env:PORT}` (always a string) are accepted for numbers and booleans.
    coerceTypes: true,
    allowUnionTypes: true,
    verbose: true,
    strict: true,
  });
  addFormats(ajv);
  // Documentation-only annotations of our schemas.
  ajv.addKeyword({ keyword: 'x-default', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' });
  return ajv;
}

function segments(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

const typeWord = (t: unknown): string => {
  const list = Array.isArray(t) ? t : [t];
  return list
    .map((x) => (x === 'integer' ? 'a whole number' : x === 'null' ? 'null' : x === 'array' ? 'a list' : `a ${x}`))
    .join(' or ');
};

/** One readable problem per ajv error, with the key path as segments (for finding the line). */
export function describeErrors(errors: ErrorObject[]): (ConfigProblem & { segments: (string | number)[] })[] {
  const out: (ConfigProblem & { segments: (string | number)[] })[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    let segs = segments(e.instancePath);
    const hint = (e.parentSchema as Record<string, unknown> | undefined)?.['x-hint'] as string | undefined;
    let message: string;
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = (e.params as { additionalProperty: string }).additionalProperty;
        const allowed = Object.keys(((e.parentSchema as { properties?: object })?.properties ?? {}) as object);
        const near = closest(key, allowed);
        segs = [...segs, key];
        message = near
          ? `unknown key "${key}"; did you mean "${near}"?`
          : `unknown key "${key}"; remove it (allowed here: ${allowed.join(', ')})`;
        break;
      }
      case 'enum': {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
        const near = typeof e.data === 'string' ? closest(e.data, allowed) : undefined;
        message = `${showValue(e.data)} is not one of ${allowed.join(', ')}; use one of them${near ? ` (did you mean "${near}"?)` : ''}`;
        break;
      }
      case 'discriminator': {
        const p = e.params as { error: string; tag: string; tagValue: unknown };
        const branches = (
          (e.parentSchema as { oneOf?: { properties: { type: { const: string } } }[] })?.oneOf ?? []
        ).map((b) => b.properties.type.const);
        segs = [...segs, p.tag];
        message =
          p.error === 'tag'
            ? `missing "${p.tag}"; set it to one of ${branches.join(', ')}`
            : `${showValue(p.tagValue)} is not one of ${branches.join(', ')}; use one of them${typeof p.tagValue === 'string' && closest(p.tagValue, branches) ? ` (did you mean "${closest(p.tagValue, branches)}"?)` : ''}`;
        break;
      }
      case 'required': {
        const key = (e.params as { missingProperty: string }).missingProperty;
        segs = [...segs, key];
        const props = (e.parentSchema as { properties?: Record<string, { 'x-hint'?: string }> })?.properties;
        const keyHint = props?.[key]?.['x-hint'];
        message = `missing; add it${keyHint ? ` (${keyHint})` : ''}`;
        break;
      }
      case 'type':
        message = `${showValue(e.data)} is not ${typeWord((e.params as { type: unknown }).type)}; write ${typeWord((e.params as { type: unknown }).type)}`;
        break;
      case 'minimum':
      case 'exclusiveMinimum':
        message = `${showValue(e.data)} is too small; use at least ${(e.params as { limit: number }).limit}`;
        break;
      case 'maximum':
      case 'exclusiveMaximum':
        message = `${showValue(e.data)} is too large; use at most ${(e.params as { limit: number }).limit}`;
        break;
      case 'minItems':
        message = `needs at least ${(e.params as { limit: number }).limit} item(s)${hint ? `; ${hint}` : ''}`;
        break;
      case 'minLength':
        message = `must not be empty; give a value or remove the key`;
        break;
      case 'pattern':
      case 'format':
        message = `${showValue(e.data)} is not valid${hint ? `; ${hint}` : e.keyword === 'format' ? `; write a ${(e.params as { format: string }).format}` : ''}`;
        break;
      case 'oneOf':
      case 'anyOf':
        continue; // the branch errors say more
      default:
        message = `${showValue(e.data)}: ${e.message ?? 'invalid'}`;
    }
    const path = pathString(segs);
    const key = `${path}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message, segments: segs });
  }
  return out;
}
