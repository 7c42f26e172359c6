// DuckDB, for `query --sql` and the Parquet archive only. Imported with `await import()` from those paths so
// neither `query` without --sql nor the daemon ever loads its native library (memory, start-up time).
// Records map to one flat row (ROW_COLUMNS); `attributes` keeps every attribute as JSON text so a record read
// back from Parquet is identical to the one written (types included), and the common identities get their own
// columns for SQL and for Parquet's row-group statistics.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Attributes, KataLogRecord } from '../model/record.js';
import { ATTR_KATA_COMPONENT, ATTR_KATA_SANDBOX_ID } from '../semconv/generated.js';

export const ROW_TABLE_SQL = `(
  time_unix_nano UBIGINT, observed_time_unix_nano UBIGINT, severity_number INTEGER, severity_text VARCHAR,
  body VARCHAR, event_name VARCHAR, trace_id VARCHAR, span_id VARCHAR, sandbox_id VARCHAR, component VARCHAR,
  attributes VARCHAR)`;

export async function openDuck(): Promise<DuckDBConnection> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  return db.connect();
}

/** Single-quoted SQL string literal (paths we pass to read_parquet/COPY). */
export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Load records into a new table `name` with the row schema. */
export async function loadRecords(
  con: DuckDBConnection,
  name: string,
  records: AsyncIterable<KataLogRecord> | Iterable<KataLogRecord>,
): Promise<number> {
  await con.run(`CREATE TABLE ${name} ${ROW_TABLE_SQL}`);
  const app = await con.createAppender(name);
  let n = 0;
  const text = (v: string | undefined) => (v === undefined ? app.appendNull() : app.appendVarchar(v));
  const attr = (a: Attributes, k: string) => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
  for await (const r of records) {
    app.appendUBigInt(r.timeUnixNano);
    app.appendUBigInt(r.observedTimeUnixNano);
    app.appendInteger(r.severityNumber);
    app.appendVarchar(r.severityText);
    app.appendVarchar(r.body);
    text(r.eventName);
    text(r.traceId);
    text(r.spanId);
    text(attr(r.attributes, ATTR_KATA_SANDBOX_ID));
    text(attr(r.attributes, ATTR_KATA_COMPONENT));
    app.appendVarchar(JSON.stringify(r.attributes));
    app.endRow();
    if (++n % 10_000 === 0) app.flushSync();
  }
  app.closeSync();
  return n;
}

/** A row read back (from Parquet) → the record that was written. */
export function rowToRecord(row: Record<string, unknown>): KataLogRecord {
  const r: KataLogRecord = {
    timeUnixNano: BigInt(row.time_unix_nano as bigint),
    observedTimeUnixNano: BigInt(row.observed_time_unix_nano as bigint),
    severityNumber: Number(row.severity_number),
    severityText: String(row.severity_text ?? ''),
    body: String(row.body ?? ''),
    attributes: JSON.parse(String(row.attributes ?? '{}')) as Attributes,
  };
  if (typeof row.event_name === 'string') r.eventName = row.event_name;
  if (typeof row.trace_id === 'string') r.traceId = row.trace_id;
  if (typeof row.span_id === 'string') r.spanId = row.span_id;
  return r;
}
