// The exporter interface (Vector's sink side). An exporter sends one batch and says what happened; it never
// retries by itself: the delivery queue in front of it owns retry, backoff and acknowledgement, so every
// exporter gets the same at-least-once behaviour.
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
}

export interface PayloadCodec {
  /** The media type of the payload (`application/x-protobuf`): a queue keeps payloads of this type only. */
  readonly type: 'application/x-protobuf';
  /** Never throws on odd record contents. */
  encode(records: KataLogRecord[]): Uint8Array;
  /** Send payloads produced by `encode` (possibly several, concatenated) holding `records` records. */
  export(payload: Uint8Array, records: number, signal?: AbortSignal): Promise<ExportResult>;
}
