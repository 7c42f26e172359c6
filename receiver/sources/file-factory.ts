// The file source's factory (fileSource in file-config.ts loads it when a file source is configured).
import { LineAssembler } from '../parse/multiline.js';
import type { FileInstanceConfig } from './file-config.js';
import { FileSource } from './file.js';

const newAssembler = () => new LineAssembler();

export function createFileSource(c: FileInstanceConfig, name: string): FileSource {
  const source = new FileSource({
    name,
    include: c.include,
    exclude: c.exclude,
    startAt: c.startAt,
    pollIntervalMs: c.pollIntervalMs,
    watch: c.watch,
    lingerMs: c.lingerMs,
    fingerprintBytes: c.fingerprintBytes,
    maxLineBytes: c.maxLineBytes,
    flushTimeoutMs: c.flushTimeoutMs,
    maxOpenFiles: c.maxOpenFiles,
    attributes: c.attributes,
    assembler: c.multiline ? newAssembler : undefined,
    followSymlinks: c.followSymlinks,
  });
  // Files named on the command line must exist (SourceInputError, exit 2); configured globs may match later.
  if (c.requireInputs) source.validate();
  return source;
}
