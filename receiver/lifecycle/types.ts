// What the lifecycle stage produces: spans synthesized from Kata's lifecycle log lines (docs/tracing.md).
// A span is plain data (bigint ns times, hex ids) so it can be persisted while open, queued and encoded as OTLP.
import type { Attributes } from '../model/record.js';

/** OTLP Status.code: 0 unset, 1 ok, 2 error. */
export type SpanStatusCode = 0 | 1 | 2;

export interface SpanEvent {
  name: string;
  timeUnixNano: bigint;
  attributes: Attributes;
}

export interface KataSpan {
  /** 32 hex digits. */
  traceId: string;
  /** 16 hex digits. */
  spanId: string;
  /** '' for the sandbox root. */
  parentSpanId: string;
  name: string;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  /** Resource (RESOURCE_ATTRIBUTE_KEYS) and span attributes together, as on KataLogRecord. */
  attributes: Attributes;
  events: SpanEvent[];
  status: { code: SpanStatusCode; message?: string };
}

/** Where a sandbox is in its life, as the rules see it (`kata.lifecycle.phase`). */
export type LifecyclePhase = 'creating' | 'running' | 'stopping' | 'stopped';
