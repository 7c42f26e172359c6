// A pipeline stage (Vector's transform): synchronous, batch in, batch out. A stage may drop records (dedupe),
// change them (enrichment) or add records (alerts).
import type { KataLogRecord } from '../model/record.js';

export interface Stage {
  readonly name: string;
  process(records: KataLogRecord[]): KataLogRecord[];
  /** Called on a timer and at shutdown: records the stage produces on its own (absence alerts, held records). */
  flush?(nowUnixNano: bigint): KataLogRecord[];
  /** Called once at shutdown or at the end of a replay, after the last flush: whatever the stage still holds. */
  close?(): KataLogRecord[];
}

/** Where the pipeline delivers: a delivery queue (receiver/queue). `append` resolves once the records are durable.
 *  `after`: the source's durability barrier (SourceBatch.after). */
export interface RecordSink {
  readonly name: string;
  append(records: KataLogRecord[], after?: Promise<void>): Promise<void>;
}
