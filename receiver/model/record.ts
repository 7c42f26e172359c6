// The one record type every stage passes along: an OTLP log record plus the attributes that the exporter
// splits into Resource (RESOURCE_ATTRIBUTE_KEYS) and record attributes. Attribute names come from
// receiver/semconv/generated.ts, never from string literals.

export type AttrValue = string | number | boolean | string[];
export type Attributes = Record<string, AttrValue>;

export interface KataLogRecord {
  /** The record's own time in ns since the epoch; 0n when the record carries none (then observed time is used downstream). */
  timeUnixNano: bigint;
  /** When kata-otel read the record, ns since the epoch. */
  observedTimeUnixNano: bigint;
  /** OTel SeverityNumber 1..24, 0 when unknown. */
  severityNumber: number;
  /** The original level text as written (`info`, `DEBG`, `6`), '' when none. */
  severityText: string;
  /** The message; for unparsed lines, the raw text. */
  body: string;
  /** Resource and record attributes together; see RESOURCE_ATTRIBUTE_KEYS. */
  attributes: Attributes;
  /** OTel EventName (e.g. `kata.alert`). */
  eventName?: string;
  /** Hex trace id / span id, when correlation links a record to a trace. */
  traceId?: string;
  spanId?: string;
}

/** What a source knows about a line before it is parsed. */
export interface ParseContext {
  /** Read time (ns since the epoch). */
  observedTimeUnixNano: bigint;
  /** Attributes every record from this input carries (log.file.path, kata.sandbox.id from a run-dir path, …). */
  attributes?: Attributes;
  /** Keep the raw text in `log.record.original`. */
  keepOriginal?: boolean;
}

export const nowUnixNano = (): bigint => BigInt(Date.now()) * 1_000_000n;
