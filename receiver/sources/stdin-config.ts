// The stdin source's descriptor: `sources.stdin` (or `-` among the command line's files).
import type { SourceDescriptor } from '../components/types.js';
import { bool } from '../config/schema-kit.js';

export const StdinSchema = bool(false, 'Read log text from standard input.');

export const stdinSource: SourceDescriptor<true> = {
  kind: 'source',
  type: 'stdin',
  stability: 'beta',
  configKey: 'sources.stdin',
  schema: StdinSchema,
  instances: (config, inputs) =>
    inputs.files.includes('-') || config.sources.stdin ? [{ id: 'stdin', config: true }] : [],
  load: () => import('./stdin.js').then((m) => m.createStdinSource),
};
