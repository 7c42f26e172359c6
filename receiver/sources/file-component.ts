// The fileSource descriptor: type, stability, where its settings sit, its schema (file-config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SourceDescriptor } from '../components/types.js';
import type { FileInstanceConfig } from './file-config.js';
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a missing path is reported by FileSource.validate()
  }
}

export const fileSource: SourceDescriptor<FileInstanceConfig> = {
  kind: 'source',
  type: 'file',
  stability: 'beta',
  configKey: 'sources.files[]',
  schema: () => import('./file-config.js').then((m) => m.FileSourceSchema),
  instances(config, inputs) {
    const files = inputs.files.filter((f) => f !== '-');
    const cli = files.length
      ? [
          {
            id: 'files',
            config: {
              // A directory on the command line means the *.log files below it.
              include: files.map((f) => (isDirectory(f) ? join(resolve(f), '**/*.log') : resolve(f))),
              startAt: 'beginning' as const,
              multiline: true,
              maxLineBytes: config.sources.files[0]?.maxLineBytes,
              requireInputs: true,
            },
          },
        ]
      : [];
    return [...cli, ...config.sources.files.map((f, i) => ({ id: `file-${i}`, config: f }))];
  },
  load: () => import('./file-factory.js').then((m) => m.createFileSource),
};
