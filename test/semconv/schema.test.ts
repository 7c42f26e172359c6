// Checks semconv/model against the OTel semantic convention schema. Weaver (the upstream checker) is a Rust
// binary that cannot be installed here, and its JSON Schema (open-telemetry/weaver schemas/semconv.schema.json)
// is not published in an npm package, so this is a faithful subset of that schema, written out below and run
// with ajv: group shape (id, brief, type, stability, entity `name`), attribute definitions (id, type,
// stability), references, requirement levels, stability levels and entity attribute roles. Two rules are
// stricter than the schema text and come from the semconv entity model: every attribute of an entity group
// carries `role` (the schema's `role` property is mis-keyed `#ref` and so unchecked), and an entity has at least
// one identifying attribute.
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const stability = { enum: ['stable', 'development', 'alpha', 'beta', 'release_candidate'] };
const reqLevel = {
  oneOf: [
    { enum: ['required', 'recommended', 'opt_in'] },
    ...['conditionally_required', 'recommended', 'opt_in'].map((k) => ({
      type: 'object',
      additionalProperties: false,
      required: [k],
      properties: { [k]: { type: 'string' } },
    })),
  ],
};
const scalarTypes = ['string', 'int', 'double', 'boolean', 'any'];
const attrType = {
  oneOf: [
    {
      enum: [...scalarTypes, ...scalarTypes.filter((t) => t !== 'any').map((t) => `${t}[]`)].flatMap((t) => [
        t,
        `template[${t}]`,
      ]),
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['members'],
      properties: {
        members: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'value', 'stability'],
            properties: {
              id: { type: 'string' },
              value: { type: ['string', 'number'] },
              brief: { type: 'string' },
              note: { type: 'string' },
              stability,
            },
          },
        },
      },
    },
  ],
};
const attribute = {
  type: 'object',
  properties: {
    requirement_level: reqLevel,
    brief: { type: 'string' },
    note: { type: 'string' },
    role: { enum: ['identifying', 'descriptive'] },
  },
  oneOf: [
    {
      required: ['id', 'type', 'stability'],
      not: { required: ['ref'] },
      properties: { id: { type: 'string' }, type: attrType, stability },
    },
    { required: ['ref'], not: { required: ['id'] }, properties: { ref: { type: 'string' } } },
  ],
};
const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['groups'],
  properties: {
    groups: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'brief', 'type'],
        properties: {
          id: { type: 'string' },
          type: { enum: ['span', 'entity', 'metric', 'event', 'attribute_group'] },
          brief: { type: 'string' },
          note: { type: 'string' },
          stability,
          attributes: { type: 'array', items: attribute },
        },
        allOf: [
          { if: { properties: { type: { not: { const: 'attribute_group' } } } }, then: { required: ['stability'] } },
          { if: { properties: { type: { enum: ['entity', 'event'] } } }, then: { required: ['name'] } },
          {
            if: { properties: { type: { enum: ['metric', 'event'] } } },
            else: { anyOf: [{ required: ['attributes'] }, { required: ['extends'] }] },
          },
          {
            if: { properties: { type: { const: 'entity' } } },
            then: {
              properties: { attributes: { items: { required: ['role'] } } },
              required: ['attributes'],
            },
          },
        ],
      },
    },
  },
};

const validate = new Ajv({ allErrors: true, strict: false }).compile(SCHEMA);
const registry = parse(
  readFileSync(fileURLToPath(new URL('../../semconv/model/registry.yaml', import.meta.url)), 'utf8'),
) as { groups: { type: string; id: string; attributes?: { role?: string }[] }[] };

describe('semconv registry against the OTel semconv schema (subset)', () => {
  it('registry.yaml is valid', () => {
    expect(validate(registry) ? [] : validate.errors).toEqual([]);
  });

  it('every entity has an identifying attribute', () => {
    for (const g of registry.groups.filter((x) => x.type === 'entity'))
      expect(
        g.attributes?.some((a) => a.role === 'identifying'),
        g.id,
      ).toBe(true);
  });

  it('rejects an entity attribute without role, a bad role and a bad requirement level', () => {
    const entity = structuredClone(registry.groups.find((g) => g.type === 'entity')) as Record<string, unknown> & {
      attributes: Record<string, unknown>[];
    };
    delete entity.attributes[0]!.role;
    expect(validate({ groups: [entity] })).toBe(false);
    entity.attributes[0]!.role = 'primary';
    expect(validate({ groups: [entity] })).toBe(false);
    entity.attributes[0]!.role = 'identifying';
    expect(validate({ groups: [entity] })).toBe(true);
    entity.attributes[0]!.requirement_level = 'mandatory';
    expect(validate({ groups: [entity] })).toBe(false);
  });
});
