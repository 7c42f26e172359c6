// The duplicate suppression stage's descriptor: `pipeline.dedupe` (defaults stated only here) and a lazy factory.
import { Type } from '@sinclair/typebox';
import type { StageDescriptor } from '../components/types.js';
import type { PipelineConfig } from '../config/types.js';
import { bool, ms, section } from '../config/schema-kit.js';

export const DedupeSchema = section(
  {
    enabled: bool(true, 'Drop the second copy of a record seen twice (journal `kata` and containerd copies).'),
    window_ms: ms(60_000, 'How long a record is remembered for duplicate detection.', 1),
    max_entries: Type.Integer({ minimum: 1, default: 100_000, description: 'Most records remembered.' }),
  },
  'Duplicate suppression.',
);

export const dedupeStage: StageDescriptor<PipelineConfig['dedupe']> = {
  kind: 'stage',
  type: 'dedupe',
  stability: 'beta',
  configKey: 'pipeline.dedupe',
  schema: DedupeSchema,
  instance: (config) => (config.pipeline.dedupe.enabled ? config.pipeline.dedupe : undefined),
  load: () => import('./dedupe.js').then((m) => m.createDedupeStage),
};
