// The attribute limits stage's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): `pipeline.limits` (defaults stated only here).
import { Type } from '@sinclair/typebox';
import { section } from '../config/schema-kit.js';

export const LimitsSchema = section(
  {
    max_attributes: Type.Integer({
      minimum: 0,
      default: 128,
      description:
        "Most record attributes (OTel's default); beyond it the line's own `kata.field.*` keys are dropped last-first. 0: no limit.",
    }),
    max_attribute_value_length: Type.Integer({
      minimum: 0,
      default: 16_384,
      description: 'Longer string attribute values (and list elements) are cut to this many characters. 0: no limit.',
    }),
  },
  'Attribute limits: a limited record gets `kata.log.truncated` and is counted (`kata_otel_records_limited_total`).',
);
