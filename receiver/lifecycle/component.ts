// The lifecycleStage descriptor: type, stability, where its settings sit, its schema (config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { StageDescriptor } from '../components/types.js';
import type { LifecycleInstanceConfig } from './config.js';
export const lifecycleStage: StageDescriptor<LifecycleInstanceConfig> = {
  kind: 'stage',
  type: 'lifecycle',
  stability: 'alpha',
  configKey: 'pipeline.lifecycle',
  schema: () => import('./config.js').then((m) => m.LifecycleSchema),
  // After k8s (spans carry the pod), before rules (they read `kata.lifecycle.phase`; alerts copy the trace).
  instance: ({ pipeline: { lifecycle: lc }, dataDir }) =>
    lc.enabled ? { execs: lc.execs, idleMs: lc.idleMs, retainMs: lc.retainMs, dataDir } : undefined,
  load: () => import('./stage.js').then((m) => m.createLifecycleStage),
};
