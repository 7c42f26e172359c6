// The vsockSource descriptor: type, stability, where its settings sit, its schema (vsock-config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { SourceDescriptor } from '../components/types.js';
import { guestInstances } from './guest-config.js';
import type { VsockInstanceConfig } from './vsock-config.js';
export const vsockSource: SourceDescriptor<VsockInstanceConfig> = {
  kind: 'source',
  type: 'vsock',
  stability: 'alpha',
  configKey: 'sources.vsock',
  schema: () => import('./vsock-config.js').then((m) => m.VsockSchema),
  instances: guestInstances('vsock'),
  load: () => import('./vsock.js').then((m) => m.createVsockSource),
};
