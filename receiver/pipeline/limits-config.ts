// The attribute limits stage's descriptor: `pipeline.limits` (defaults stated only here) and a lazy factory.
import { Type } from '@sinclair/typebox';
import type { StageDescriptor } from '../components/types.js';
import type { PipelineConfig } from '../config/types.js';
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

export const limitsStage: StageDescriptor<PipelineConfig['limits']> = {
  kind: 'stage',
  type: 'limits',
  stability: 'stable',
  configKey: 'pipeline.limits',
  schema: LimitsSchema,
  // Always on: everything after it works on records within the limits (a guest line can carry 62k keys).
  instance: (config) => config.pipeline.limits,
  load: () => import('./limits.js').then((m) => m.createLimitsStage),
};
