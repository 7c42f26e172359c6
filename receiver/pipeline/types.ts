// A pipeline stage (Vector's transform): synchronous, batch in, batch out. A stage may drop records (dedupe),
// change them (enrichment) or add records (alerts).
import type { KataSpan } from '../lifecycle/types.js';
import type { KataLogRecord } from '../model/record.js';

export interface Stage {
  readonly name: string;
  process(records: KataLogRecord[]): KataLogRecord[];
  /** Called on a timer and at shutdown: records the stage produces on its own (absence alerts, held records). */
  flush?(nowUnixNano: bigint): KataLogRecord[];
  /** Called once at shutdown or at the end of a replay, after the last flush: whatever the stage still holds. */
  close?(): KataLogRecord[];
  /** After each batch: spans the stage produced, and what to do once they and the batch's records are durable. */
  drain?(): StageOutput;
}

export interface StageOutput {
  spans: KataSpan[];
  durable?: () => void;
}

/** Where spans go: a delivery queue of a trace exporter (receiver/lifecycle/export.ts). */
export interface SpanSink {
  readonly name: string;
  appendSpans(spans: KataSpan[], after?: Promise<void>): Promise<void>;
}

/** Where the pipeline delivers: a delivery queue (receiver/queue). `append` resolves once the records are durable.
 *  `after`: the source's durability barrier (SourceBatch.after). */
export interface RecordSink {
  readonly name: string;
  append(records: KataLogRecord[], after?: Promise<void>): Promise<void>;
}
