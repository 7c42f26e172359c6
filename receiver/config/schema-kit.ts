// Building blocks of the configuration schema, shared by config/schema.ts and the components' own config files
// (receiver/components/registry.ts): only TypeBox, so a component's schema can be read without loading its code.
import { Type, type Static, type TSchema, type SchemaOptions } from '@sinclair/typebox';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** A string that must be one of `values` (a plain JSON-Schema enum, which gives ajv's clearest error). */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** `schema` or null (one JSON-Schema type list rather than an anyOf, so a wrong value gives one error). */
export function Nullable<S extends TSchema>(schema: S, options: SchemaOptions = {}) {
  const { type, ...rest } = schema as unknown as { type: string };
  return Type.Unsafe<Static<S> | null>({ ...rest, ...options, type: [type, 'null'] });
}

export const ms = (def: number, description: string, min = 0) =>
  Type.Integer({ minimum: min, default: def, description });
export const bytes = (def: number, description: string, min = 1) =>
  Type.Integer({ minimum: min, default: def, description });
export const bool = (def: boolean, description: string) => Type.Boolean({ default: def, description });
export const strings = (def: string[], description: string) => Type.Array(Type.String(), { default: def, description });
export const section = <P extends Record<string, TSchema>>(properties: P, description: string) =>
  Type.Object(properties, { additionalProperties: false, default: {}, description });

export const START_AT = ['beginning', 'end'] as const;

/** A static attribute value, as on a KataLogRecord: string, number, boolean or list of strings. */
export const AttrValueSchema = Type.Unsafe<string | number | boolean | string[]>({
  type: ['string', 'number', 'boolean', 'array'],
  items: { type: 'string' },
});

/** An exporter's `name` (every exporter type has one). */
export const ExporterName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  maxLength: 64,
  description: 'Name in metrics, logs and the queue directory; default: the type, made unique (`otlp`, `otlp-2`).',
  'x-default': 'type, made unique',
  'x-hint': 'use letters, digits, ".", "_" and "-"',
});
