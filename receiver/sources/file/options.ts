// The file source's public types: its options, its stats, and the error for a missing input path. Re-exported by
// receiver/sources/file.ts, the import path the rest of kata-otel uses.
import type { Attributes } from '../../model/record.js';
import type { AssemblerFactory } from './framer.js';

export interface FileSourceOptions {
  /** Glob patterns (picomatch) of files to read; relative patterns are resolved against the working directory. */
  include: string[];
  exclude?: string[];
  /** Where to start in a file present at the first poll that has no checkpoint. Default 'end'. */
  startAt?: 'beginning' | 'end';
  pollIntervalMs?: number;
  /**
   * Following: poll when inotify reports a change in a pattern's directory (and every SAFETY_POLL_MS anyway), not
   * every pollIntervalMs (watcher.ts says when watching applies). Default true.
   */
  watch?: boolean;
  /** Watching, a poll runs at least this often anyway (watcher.ts says why). Default SAFETY_POLL_MS (2 s). */
  safetyPollMs?: number;
  /** Bytes at the start of a file that identify it. Default 1024. */
  fingerprintBytes?: number;
  /** Longer lines are cut (kata.log.truncated). Default 1 MiB. */
  maxLineBytes?: number;
  /** A last line without newline is emitted after this long without growth. Default 500 ms. */
  flushTimeoutMs?: number;
  maxOpenFiles?: number;
  /**
   * Following: a poll's entries wait up to this long (from the first of them) for later polls' before they are handed
   * off, so a slow trickle pays the per-batch costs (a pass through the stages, a queue append and its fsync, a
   * checkpoint write) about once per linger rather than once per poll. A full batch goes at once. Default 500 ms.
   */
  lingerMs?: number;
  batchMaxEntries?: number;
  /** Approximate (UTF-16 code units of the entry texts). Default 1 MiB. */
  batchMaxBytes?: number;
  /** Static attributes on every batch. */
  attributes?: Attributes;
  /** Multi-line grouping; default: every line is one entry. */
  assembler?: AssemblerFactory;
  /** Source name: metrics label, log field, checkpoint file name. Default 'file'. */
  name?: string;
  /** After shutdown began, how long a pending emit may take before the source stops waiting (uncommitted). Default 5 s. */
  drainTimeoutMs?: number;
  /** Forget the checkpoint of a file not seen for this long. Default 24 h. */
  forgetAfterMs?: number;
  /** Most file checkpoints kept (the least recently seen go first). Default 4096. */
  maxCheckpoints?: number;
  /** Directories a symbolic link in a watched directory may point into; other links are not followed. Default none. */
  followSymlinks?: string[];
}

/** A literal input path (a file named on the command line) that does not exist. */
export class SourceInputError extends Error {
  constructor(readonly paths: string[]) {
    super(
      `input file${paths.length > 1 ? 's' : ''} not found: ${paths.join(', ')} (check the path, or quote a glob so the shell does not expand it)`,
    );
    this.name = 'SourceInputError';
  }
}

export interface FileSourceStats {
  /** Descriptors held now. */
  openFiles: number;
  /** Files with a known identity (open, closed, or loaded from the checkpoint). */
  trackedFiles: number;
  /** Errors logged (permission denied, directories, patterns without match, read errors). */
  errors: number;
  /** Bytes of the tracked files not read yet (size last seen − read position): progress and ETA of an import. */
  bytesLeft: number;
  /** Polls run so far (following: with watching, about one per change rather than one per poll interval). */
  polls: number;
}
