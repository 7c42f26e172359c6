// The limitsStage descriptor: type, stability, where its settings sit, its schema (limits-config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { StageDescriptor } from '../components/types.js';
import type { PipelineConfig } from '../config/types.js';
export const limitsStage: StageDescriptor<PipelineConfig['limits']> = {
  kind: 'stage',
  type: 'limits',
  stability: 'stable',
  configKey: 'pipeline.limits',
  schema: () => import('./limits-config.js').then((m) => m.LimitsSchema),
  // Always on: everything after it works on records within the limits (a guest line can carry 62k keys).
  instance: (config) => config.pipeline.limits,
  load: () => import('./limits.js').then((m) => m.createLimitsStage),
};
