// The exporter interface (Vector's sink side). An exporter sends one batch and says what happened; it never
// retries by itself: the delivery queue in front of it owns retry, backoff and acknowledgement, so every
// exporter gets the same at-least-once behaviour.
import type { ExtraAttributesOf } from '../otlp/extra.js';
import type { KataLogRecord } from '../model/record.js';

export type ExportResult =
  /** Accepted. `rejected` > 0 on an OTLP partial success: those records were refused permanently. */
  | { code: 'success'; rejected?: number; message?: string }
  /** Try again later (UNAVAILABLE, 503, 429, timeouts); `retryAfterMs` from RetryInfo / Retry-After. */
  | { code: 'retryable'; error: string; retryAfterMs?: number }
  /** Will never succeed (bad request, auth); the batch is dropped and counted. */
  | { code: 'permanent'; error: string };

export interface Exporter {
  readonly name: string;
  export(records: KataLogRecord[], signal?: AbortSignal): Promise<ExportResult>;
  /** Flush and release resources. */
  shutdown(): Promise<void>;
  /** Optional: send an empty request (no records) to check the backend is reachable and accepts us (`validate`). */
  probe?(signal?: AbortSignal): Promise<ExportResult>;
  /**
   * Optional: the exporter's request body, so the delivery queue encodes records once, when they are queued (and
   * writes those bytes to disk), rather than keeping records and encoding them at every attempt. The payloads of
   * several queued batches are concatenated into one export, so they must concatenate into a valid request (OTLP
   * protobuf requests do: `resource_logs` is a repeated field).
   */
  readonly payload?: PayloadCodec;
  /**
   * Optional: the records are numbered (the integrity chain, receiver/integrity) at the point the delivery queue
   * fixes their order (the disk queue's single writer, the memory queue's take), and stored and sent as sealed:
   * chain order = storage order = delivery order, and a retry resends the same bytes.
   */
  readonly seal?: Sealer;
}

/** The state of a sealed stream after (or before) a batch: opaque to the queue. */
export type SealMark = unknown;

/** A batch as the queue stores and sends it: stamped, and encoded when the exporter has a payload codec. */
export interface SealedBatch {
  /** The exporter's payload (its codec), or, without one or when the codec failed, the stamped records. */
  payload?: Uint8Array;
  records?: KataLogRecord[];
  /** Records in the batch (the input plus checkpoints and anchors chained into it). */
  count: number;
  before: SealMark;
  after: SealMark;
}

export interface Sealer {
  /** Take the stream's next numbers for `records`. Called by one writer, in storage order; never throws. */
  seal(records: KataLogRecord[]): SealedBatch;
  /** The batch is stored (written and synced per the queue's policy): its head is what `persist` saves. */
  stored(batch: SealedBatch): void;
  /** The batch, and every one sealed after it, will never be stored (a queue closing after write errors). */
  rewind(batch: SealedBatch): void;
  /** Save the head of the stored batches durably (before the queue deletes the frames that hold it). */
  persist(): Promise<void>;
  /** Before the first seal: resume the stream from the records of the last frame the queue holds (if any). */
  resume(lastFrame: KataLogRecord[] | undefined): Promise<void>;
}

export interface PayloadCodec {
  /** The media type of the payload (`application/x-protobuf`): a queue keeps payloads of this type only. */
  readonly type: 'application/x-protobuf';
  /** Never throws on odd record contents. `extra`: attributes to write after a record's own (otlp/extra.ts). */
  encode(records: KataLogRecord[], extra?: ExtraAttributesOf): Uint8Array;
  /** `encode` writes `extra` (else it is not given): the integrity seal then needs no copies of the records. */
  readonly extraAttributes?: boolean;
  /** Send payloads produced by `encode` (possibly several, concatenated) holding `records` records. */
  export(payload: Uint8Array, records: number, signal?: AbortSignal): Promise<ExportResult>;
}
