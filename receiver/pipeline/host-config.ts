// The host stage's descriptor: `host.name` (and `host.id`) on every record, from the node itself; no settings.
import { Type } from '@sinclair/typebox';
import type { StageDescriptor } from '../components/types.js';

export const hostStage: StageDescriptor<Record<string, never>> = {
  kind: 'stage',
  type: 'host',
  stability: 'stable',
  configKey: '',
  schema: Type.Object({}),
  // Before dedupe and rules (threshold rules group by host.name).
  instance: () => ({}),
  load: () => import('./host.js').then((m) => m.createHostStage),
};
