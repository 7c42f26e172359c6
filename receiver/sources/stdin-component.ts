// The stdinSource descriptor: type, stability, where its settings sit, its schema (stdin-config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { SourceDescriptor } from '../components/types.js';
export const stdinSource: SourceDescriptor<true> = {
  kind: 'source',
  type: 'stdin',
  stability: 'beta',
  configKey: 'sources.stdin',
  schema: () => import('./stdin-config.js').then((m) => m.StdinSchema),
  instances: (config, inputs) =>
    inputs.files.includes('-') || config.sources.stdin ? [{ id: 'stdin', config: true }] : [],
  load: () => import('./stdin.js').then((m) => m.createStdinSource),
};
