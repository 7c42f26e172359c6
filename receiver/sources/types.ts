// The source interface (Vector's source side): a source reads raw entries where Kata writes them and hands
// them downstream in batches. `emit` resolves only once the batch is durable downstream (in the delivery
// queue), so a source commits its checkpoint (file offset, journal cursor) after `await emit(...)` and never
// before: that is the at-least-once hand-off. Awaiting `emit` is also the backpressure: a source reads no
// more while the queue is full.
import type { Attributes } from '../model/record.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';

/** One logical entry: a (possibly multi-line) text record, or a journald entry's fields. */
export type RawEntry = ({ kind: 'text'; text: string } | { kind: 'journal'; fields: Record<string, unknown> }) & {
  attributes?: Attributes;
  /** OTel EventName for the records of this entry, when the source knows what they are (Firecracker metrics). */
  eventName?: string;
};

export interface SourceBatch {
  /** Name of the source that read the batch (for metrics and logs). */
  source: string;
  entries: RawEntry[];
  /** When the entries were read (ns since the epoch). */
  observedTimeUnixNano: bigint;
  /** Attributes every entry of the batch carries (log.file.path, kata.sandbox.id from a run-dir path, …). */
  attributes?: Attributes;
  /**
   * A durability barrier: the batch must not become durable downstream before this resolves (and is not queued at
   * all when it rejects). A source that hands off its next batch before the previous one's checkpoint is on disk
   * (the file source does, to overlap the fsyncs with parsing) passes that checkpoint write here, so a crash still
   * re-reads at most one batch.
   */
  after?: Promise<void>;
}

export interface SourceContext {
  /** Hand a batch downstream; resolves when it is durable. Rejects only when the receiver is shutting down. */
  emit(batch: SourceBatch): Promise<void>;
  /** Aborted on shutdown: stop reading, finish the batch in hand, return. */
  signal: AbortSignal;
  /** Where sources keep their checkpoints (`<data-dir>/checkpoints`). */
  checkpointDir: string;
  /** `--once`: read to the current end of every input, then return instead of following. */
  once: boolean;
  /**
   * `emit` honours SourceBatch.after, so a source may hand off its next batch before the previous one resolved
   * (at most two in flight), passing the previous batch's checkpoint write as the barrier. The receiver's pipeline
   * does; a context that leaves this unset gets one batch at a time.
   */
  pipelined?: boolean;
  logger: Logger;
  metrics: Metrics;
}

export interface Source {
  readonly name: string;
  /** Runs until the input is exhausted (once mode) or `signal` aborts. Errors for one input are logged, not thrown. */
  run(ctx: SourceContext): Promise<void>;
}
