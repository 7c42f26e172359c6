// Public API of the parse layer: text entries and journald entries → KataLogRecords following the Kata semantic
// conventions (docs/semconv.md). Never throws: whatever is not understood is kept as a record with the raw text
// as body and `kata.log.parse_error`. How a line is dispatched: dispatch.ts and docs/architecture.md.
import type { KataLogRecord, ParseContext } from '../model/record.js';
import { KATA_COMPONENT_VALUE_UNKNOWN, KATA_LOG_FORMAT_VALUE_TEXT } from '../semconv/generated.js';
import { addParseError, finish, newRecord, type Outer } from './build.js';
import { dispatchJournal, dispatchText, topFrame } from './dispatch.js';
import { journalString } from './journal.js';

export { LineAssembler, type LineAssemblerOptions } from './multiline.js';

function failed(text: string, ctx: ParseContext, e: unknown): KataLogRecord {
  const rec = newRecord(ctx, text, KATA_LOG_FORMAT_VALUE_TEXT, KATA_COMPONENT_VALUE_UNKNOWN);
  addParseError(rec, `internal parser error: ${e instanceof Error ? e.message : String(e)}`);
  return finish(rec, { timeNs: 0n }, ctx, text);
}

/**
 * Parse one logical entry (one line, or a multi-line group from LineAssembler) of any Kata log shape.
 * Returns at least one record.
 */
export function parseText(text: string, ctx: ParseContext): KataLogRecord[] {
  try {
    let s = text;
    while (s.endsWith('\n') || s.endsWith('\r')) s = s.slice(0, -1);
    const outer: Outer = { timeNs: 0n };
    return [finish(dispatchText(s, topFrame(ctx, outer)), outer, ctx, text)];
  } catch (e) {
    return [failed(typeof text === 'string' ? text : String(text), ctx, e)];
  }
}

/** Parse one `journalctl -o json` entry (field name → string, byte array, or array of values). */
export function parseJournalEntry(fields: Record<string, unknown>, ctx: ParseContext): KataLogRecord[] {
  let raw = '';
  try {
    raw = journalString(fields.MESSAGE) ?? '';
    const outer: Outer = { timeNs: 0n };
    return [finish(dispatchJournal(fields, topFrame(ctx, outer)), outer, ctx, raw)];
  } catch (e) {
    return [failed(raw, ctx, e)];
  }
}
