// The delivery queue: one per exporter, between the pipeline and the exporter. It is what makes delivery
// at-least-once: `append` resolves only when the records are held (memory) or durable (disk), and a record
// leaves the queue only when its exporter accepted it or refused it permanently (counted). When the queue is
// full, `append` waits (policy `block`), which pauses the sources through `await ctx.emit(...)`.
import type { KataLogRecord } from '../model/record.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';

export interface QueueDepth {
  /** Records appended and not yet acknowledged (waiting or in flight). */
  records: number;
  /** Their size: frame bytes on disk (disk queue) or an estimate of their memory (memory queue). */
  bytes: number;
}

export interface DeliveryQueue {
  /** The exporter's name (metrics label, directory name of the disk queue). */
  readonly name: string;
  /**
   * Resolves when the records are held (memory) or durable per the fsync policy (disk). When the queue is full it
   * waits for space (`block`) or drops the oldest waiting batches (`drop_oldest`). Rejects only once the queue is
   * closed (shutdown); then the records were not taken and the caller must not commit its checkpoint.
   * `after`: nothing is written before it resolves; when it rejects, the records are not taken (SourceBatch.after).
   */
  append(records: KataLogRecord[], after?: Promise<void>): Promise<void>;
  /** The same for a payload its exporter sends as it is (spans, metric points: codec.ts SIGNAL_BODY). */
  appendPayload(payload: Uint8Array, count: number, after?: Promise<void>): Promise<void>;
  /** Starts the consumer loop that calls the exporter. Idempotent. */
  start(): void;
  /** Resolves true once the queue is empty (everything acknowledged), false when `timeoutMs` passes first. */
  drain(timeoutMs: number): Promise<boolean>;
  /** Stops the consumer (aborting backoff sleeps and in-flight exports), flushes and closes files. Unacknowledged
   *  records stay on disk and are sent again by the next start (disk); a memory queue loses them. */
  close(): Promise<void>;
  depth(): QueueDepth;
}

export interface RetryOptions {
  /** First backoff ceiling. Default 1000 ms. */
  initialMs: number;
  /** Largest backoff ceiling. Default 30000 ms. */
  maxMs: number;
  /** Ceiling growth per attempt. Default 2. */
  multiplier: number;
}

export interface QueueOptions {
  /** `disk` (default: survives restarts and crashes) or `memory` (lost on exit; for tests and `--once` demos). */
  kind: 'disk' | 'memory';
  /** Bound on the records held (waiting + in flight). Default 512 MiB. */
  maxBytes: number;
  /** What `append` does when the queue is full: `block` (default; sources pause) or `drop_oldest`. */
  whenFull: 'block' | 'drop_oldest';
  /** Disk queue: `always` (default: every append resolves after an fsync that covers it; appends that arrive
   *  while an fsync runs share the next one, so a busy queue does one fsync per round, not per append),
   *  `interval` (at most one fsync per `fsyncIntervalMs`: fewer fsyncs on slow disks, but a source that waits for
   *  each batch gets at most one batch per interval), `never` (page cache only: survives a process crash, not a
   *  power loss or kernel crash). */
  fsync: 'always' | 'interval' | 'never';
  /** Default 200 ms. */
  fsyncIntervalMs: number;
  /** Disk queue: a segment file is closed and a new one started past this size. Default 16 MiB. */
  segmentBytes: number;
  /** Most records per export call. Appends are split into frames of at most this many records and small frames
   *  are merged into one export; a record is never split. Default 2048. */
  maxBatchRecords: number;
  /** Export calls running at once. Default 2. */
  maxInFlight: number;
  retry: RetryOptions;
}

/** What `createQueue` accepts: any subset of the options; the rest take the defaults. */
export type QueueOptionsInput = Partial<Omit<QueueOptions, 'retry'>> & { retry?: Partial<RetryOptions> };

export interface QueueDeps {
  /** The receiver's data directory; the disk queue lives in `<dataDir>/queue/<exporter name>/`. */
  dataDir: string;
  logger: Logger;
  metrics: Metrics;
}

const MiB = 1024 * 1024;

export const DEFAULT_QUEUE_OPTIONS: Readonly<QueueOptions> = Object.freeze({
  kind: 'disk',
  maxBytes: 512 * MiB,
  whenFull: 'block',
  fsync: 'always',
  fsyncIntervalMs: 200,
  segmentBytes: 16 * MiB,
  maxBatchRecords: 2048,
  maxInFlight: 2,
  retry: Object.freeze({ initialMs: 1000, maxMs: 30_000, multiplier: 2 }),
});

/** Fills in defaults and checks every value; throws an Error naming the option and value at fault. */
export function resolveQueueOptions(input: QueueOptionsInput = {}): QueueOptions {
  const d = DEFAULT_QUEUE_OPTIONS;
  const o: QueueOptions = {
    kind: input.kind ?? d.kind,
    maxBytes: input.maxBytes ?? d.maxBytes,
    whenFull: input.whenFull ?? d.whenFull,
    fsync: input.fsync ?? d.fsync,
    fsyncIntervalMs: input.fsyncIntervalMs ?? d.fsyncIntervalMs,
    segmentBytes: input.segmentBytes ?? d.segmentBytes,
    maxBatchRecords: input.maxBatchRecords ?? d.maxBatchRecords,
    maxInFlight: input.maxInFlight ?? d.maxInFlight,
    retry: {
      initialMs: input.retry?.initialMs ?? d.retry.initialMs,
      maxMs: input.retry?.maxMs ?? d.retry.maxMs,
      multiplier: input.retry?.multiplier ?? d.retry.multiplier,
    },
  };
  const oneOf = (field: string, value: unknown, allowed: readonly string[]) => {
    if (!allowed.includes(value as string))
      throw new Error(`queue option ${field}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  };
  const positive = (field: string, value: unknown, integer: boolean) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value)))
      throw new Error(
        `queue option ${field}: ${JSON.stringify(value)} must be a positive ${integer ? 'integer' : 'number'}`,
      );
  };
  oneOf('kind', o.kind, ['disk', 'memory']);
  oneOf('whenFull', o.whenFull, ['block', 'drop_oldest']);
  oneOf('fsync', o.fsync, ['always', 'interval', 'never']);
  positive('maxBytes', o.maxBytes, true);
  positive('fsyncIntervalMs', o.fsyncIntervalMs, false);
  positive('segmentBytes', o.segmentBytes, true);
  positive('maxBatchRecords', o.maxBatchRecords, true);
  positive('maxInFlight', o.maxInFlight, true);
  positive('retry.initialMs', o.retry.initialMs, false);
  positive('retry.maxMs', o.retry.maxMs, false);
  positive('retry.multiplier', o.retry.multiplier, false);
  if (o.retry.multiplier < 1) throw new Error(`queue option retry.multiplier: ${o.retry.multiplier} must be >= 1`);
  if (o.retry.maxMs < o.retry.initialMs)
    throw new Error(`queue option retry.maxMs: ${o.retry.maxMs} must be >= retry.initialMs (${o.retry.initialMs})`);
  return o;
}
