// Tails Kata's journal or log files into a KataLogBridge with the daemon's own source classes, so the checkpoints
// (journal cursor, file offsets under `<checkpointDir>`) are the daemon's: a source commits its checkpoint only
// after the batch was emitted and, by default, after the LoggerProvider's forceFlush resolved (with
// DurableLogRecordExporter behind a batch processor, that is when the batch is on disk).
import { LineAssembler } from '../parse/index.js';
import { FileSource, type FileSourceOptions } from '../sources/file.js';
import { JournaldSource, type JournaldSourceOptions } from '../sources/journald.js';
import type { Source, SourceContext } from '../sources/types.js';
import { silentLogger, type Logger } from '../telemetry/log.js';
import { Metrics } from '../telemetry/metrics.js';
import type { KataLogBridge } from './bridge.js';

export type { Source } from '../sources/types.js';
export type { FileSourceOptions, JournaldSourceOptions };

export interface BridgeFileOptions extends Omit<FileSourceOptions, 'assembler'> {
  /** Group continuation lines (Go panics, multi-line agent output) into one record, as `kata-otel parse` does.
   *  Default true. */
  multiline?: boolean;
}

export interface BridgeSourcesOptions {
  bridge: KataLogBridge;
  /** Where the checkpoints live; give the daemon's `<data_dir>/checkpoints` to share them. */
  checkpointDir: string;
  /** Follow the journal (journalctl), with the daemon's default filters unless given. */
  journald?: JournaldSourceOptions | boolean;
  /** Tail log files. */
  files?: BridgeFileOptions;
  /** More sources (any receiver Source). */
  sources?: Source[];
  /** Read every source to its current end, then resolve, instead of following. */
  once?: boolean;
  /** Stops the sources (they finish the batch in hand and commit its checkpoint). */
  signal?: AbortSignal;
  /** Default true: `await bridge.forceFlush()` before a source commits its checkpoint (at-least-once through the
   *  provider's exporter). false: commit once the records were handed to `Logger.emit`. */
  flushBeforeCheckpoint?: boolean;
  logger?: Logger;
  metrics?: Metrics;
}

/** The sources that `runBridgeSources` runs for these options (the daemon's FileSource and JournaldSource). */
export function bridgeSources(opts: Pick<BridgeSourcesOptions, 'journald' | 'files' | 'sources'>): Source[] {
  const out: Source[] = [...(opts.sources ?? [])];
  if (opts.journald) out.push(new JournaldSource(opts.journald === true ? {} : opts.journald));
  if (opts.files) {
    const { multiline = true, ...files } = opts.files;
    out.push(new FileSource({ ...files, assembler: multiline ? () => new LineAssembler() : undefined }));
  }
  return out;
}

/** Runs the sources into the bridge until they end (`once`) or `signal` aborts. Errors of one input are logged by
 *  its source; a source that fails as a whole rejects this promise after the others stopped. */
export async function runBridgeSources(opts: BridgeSourcesOptions): Promise<void> {
  const sources = bridgeSources(opts);
  if (!sources.length) throw new Error('runBridgeSources: give journald, files or sources');
  const flush = opts.flushBeforeCheckpoint ?? true;
  const ctx: SourceContext = {
    emit: async (batch) => void (await opts.bridge.process(batch, { flush })),
    signal: opts.signal ?? new AbortController().signal,
    checkpointDir: opts.checkpointDir,
    once: opts.once ?? false,
    logger: opts.logger ?? silentLogger,
    metrics: opts.metrics ?? new Metrics(),
  };
  const results = await Promise.allSettled(sources.map((s) => s.run(ctx)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  // Stateful stages (absence rules) hand over what they hold at the end of a replay.
  if (ctx.once) await opts.bridge.flushStages(undefined, true);
}
