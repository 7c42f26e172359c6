// The fifoSource descriptor: type, stability, where its settings sit, its schema (fifo-config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { SourceDescriptor } from '../components/types.js';
import { guestInstances } from './guest-config.js';
import type { FifoInstanceConfig } from './fifo-config.js';
export const fifoSource: SourceDescriptor<FifoInstanceConfig> = {
  kind: 'source',
  type: 'fifo',
  stability: 'alpha',
  configKey: 'sources.fifo',
  schema: () => import('./fifo-config.js').then((m) => m.FifoSchema),
  instances: guestInstances('fifo'),
  load: () => import('./fifo.js').then((m) => m.createFifoSource),
};
