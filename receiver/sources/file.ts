// The file source lives in ./file/, one module per role (tracker, reader, checkpointer, poller) composed by
// file/source.ts; file/README.md has the design, rotation cases and loss windows. This module keeps the public
// names at the import path the rest of kata-otel (and its users) know.
export { FileSource } from './file/source.js';
export { SourceInputError, type FileSourceOptions, type FileSourceStats } from './file/options.js';
export type { FileCheckpoint } from './file/checkpointer.js';
export type { AssemblerFactory, EntryAssembler } from './file/framer.js';
