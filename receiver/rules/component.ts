// The rulesStage descriptor: type, stability, where its settings sit, its schema (config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { StageDescriptor } from '../components/types.js';
import type { PipelineConfig } from '../config/types.js';
export const rulesStage: StageDescriptor<PipelineConfig['rules']> = {
  kind: 'stage',
  type: 'rules',
  stability: 'beta',
  configKey: 'pipeline.rules',
  schema: () => import('./config.js').then((m) => m.RulesSchema),
  instance: ({ pipeline: { rules: r } }) => (r.enabled && (r.builtin || r.files.length) ? r : undefined),
  load: () => import('./factory.js').then((m) => m.createRulesStage),
};
