// The dedupeStage descriptor: type, stability, where its settings sit, its schema (dedupe-config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { StageDescriptor } from '../components/types.js';
import type { PipelineConfig } from '../config/types.js';
export const dedupeStage: StageDescriptor<PipelineConfig['dedupe']> = {
  kind: 'stage',
  type: 'dedupe',
  stability: 'beta',
  configKey: 'pipeline.dedupe',
  schema: () => import('./dedupe-config.js').then((m) => m.DedupeSchema),
  instance: (config) => (config.pipeline.dedupe.enabled ? config.pipeline.dedupe : undefined),
  load: () => import('./dedupe.js').then((m) => m.createDedupeStage),
};
