// The k8sStage descriptor: type, stability, where its settings sit, its schema (config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { StageDescriptor } from '../../components/types.js';
import type { PipelineConfig } from '../../config/types.js';
export const k8sStage: StageDescriptor<PipelineConfig['k8s']> = {
  kind: 'stage',
  type: 'k8s',
  stability: 'beta',
  configKey: 'pipeline.k8s',
  schema: () => import('./config.js').then((m) => m.K8sSchema),
  // After dedupe (one lookup per record kept), before rules (alerts carry the pod).
  instance: (config) => (config.pipeline.k8s.enabled ? config.pipeline.k8s : undefined),
  load: () => import('../k8s.js').then((m) => m.createK8sStage),
};
