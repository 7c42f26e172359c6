// Shared by the parse tests.
import type { KataLogRecord, ParseContext } from '../../receiver/model/record.js';
import { parseText } from '../../receiver/parse/index.js';

export const OBSERVED = 1_764_000_000_000_000_000n; // 2025-11-24T16:00:00Z

export function ctx(extra: Partial<ParseContext> = {}): ParseContext {
  return { observedTimeUnixNano: OBSERVED, ...extra };
}

/** Parse one entry that must give exactly one record. */
export function one(text: string, c: ParseContext = ctx()): KataLogRecord {
  const recs = parseText(text, c);
  if (recs.length !== 1) throw new Error(`expected one record, got ${recs.length}`);
  return recs[0] as KataLogRecord;
}

/** Go's strconv.Quote for the characters these tests use (JSON string quoting is the same for them). */
export const goQuote = (s: string): string => JSON.stringify(s);

export const CORPUS = new URL('../fixtures/corpus/', import.meta.url);
