// The redactStage descriptor: type, stability, where its settings sit, its schema (config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { StageDescriptor } from '../../components/types.js';
import type { PipelineConfig } from '../../config/types.js';
export const redactStage: StageDescriptor<PipelineConfig['redaction']> = {
  kind: 'stage',
  type: 'redact',
  stability: 'beta',
  configKey: 'pipeline.redaction',
  schema: () => import('./config.js').then((m) => m.RedactionSchema),
  instance: (config) => (config.pipeline.redaction.enabled ? config.pipeline.redaction : undefined),
  load: () => import('./stage.js').then((m) => m.redactStageFactory),
};
