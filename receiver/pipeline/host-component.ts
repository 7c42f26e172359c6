// The hostStage descriptor: type, stability, where its settings sit, its schema (host-config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { StageDescriptor } from '../components/types.js';
export const hostStage: StageDescriptor<Record<string, never>> = {
  kind: 'stage',
  type: 'host',
  stability: 'stable',
  configKey: '',
  schema: () => import('./host-config.js').then((m) => m.HostStageSchema),
  // Before dedupe and rules (threshold rules group by host.name).
  instance: () => ({}),
  load: () => import('./host.js').then((m) => m.createHostStage),
};
