// `query --sql`: the matching records loaded into an in-memory DuckDB table `records` (the archive's row
// schema, see duck.ts), then the user's SQL. Results print as JSON lines, or as aligned columns for people.
import type { KataLogRecord } from '../model/record.js';
import { loadRecords, openDuck } from './duck.js';
import { escapeControls, type OutputFormat } from './format.js';

const plain = (v: unknown): unknown =>
  typeof v === 'bigint'
    ? Number.isSafeInteger(Number(v))
      ? Number(v)
      : v.toString()
    : v !== null && typeof v === 'object'
      ? JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)))
      : v;

export async function runSql(
  sql: string,
  records: AsyncIterable<KataLogRecord>,
  format: OutputFormat,
  write: (s: string) => void,
): Promise<void> {
  const con = await openDuck();
  try {
    await loadRecords(con, 'records', records);
    const result = await con.runAndReadAll(sql);
    const names = result.columnNames();
    const rows = result.getRowsJS().map((r) => r.map(plain));
    if (format !== 'human') {
      for (const r of rows) write(JSON.stringify(Object.fromEntries(names.map((n, i) => [n, r[i]]))) + '\n');
      return;
    }
    const cells = [
      names,
      ...rows.map((r) => r.map((v) => escapeControls(typeof v === 'string' ? v : (JSON.stringify(v) ?? 'NULL')))),
    ];
    const widths = names.map((_, i) => Math.min(60, Math.max(...cells.map((r) => String(r[i]).length))));
    for (const r of cells)
      write(
        r
          .map((c, i) => String(c).padEnd(widths[i]!))
          .join('  ')
          .trimEnd() + '\n',
      );
  } finally {
    con.closeSync();
  }
}
