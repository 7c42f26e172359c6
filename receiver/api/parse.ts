// Library entry points for parsing: one line, a stream of text, or a file into KataLogRecords, with the same
// multi-line grouping (LineAssembler) and per-file attributes as `kata-otel parse`.
import { createReadStream } from 'node:fs';
import { basename, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { Attributes, KataLogRecord } from '../model/record.js';
import { nowUnixNano } from '../model/record.js';
import { LineAssembler, parseText } from '../parse/index.js';
import { applyProvenance } from '../pipeline/provenance.js';
import { ATTR_LOG_FILE_NAME, ATTR_LOG_FILE_PATH } from '../semconv/generated.js';

export interface ParseOptions {
  /** Attributes every record carries (`log.file.path`, a sandbox id known from where the text came from, …). */
  attributes?: Attributes;
  /** Keep the raw text in `log.record.original`. */
  keepOriginal?: boolean;
  /** Read time (ns since the epoch); default: now, taken per line. */
  observedTimeUnixNano?: bigint;
}

export interface ParseStreamOptions extends ParseOptions {
  /** Group continuation lines (Go panics, multi-line agent output) into one record. Default true. */
  multiline?: boolean;
}

/** Parse one logical entry (one line, or an already grouped multi-line entry) of any Kata log shape. Never throws:
 *  text that is not understood becomes a record with the raw text as body and `kata.log.parse_error`.
 *  Provenance is marked as `run` marks it (origin from `attributes`, guest-controlled text, the carrier's sandbox). */
export function parseLine(text: string, opts: ParseOptions = {}): KataLogRecord[] {
  const records = parseText(String(text), {
    observedTimeUnixNano: opts.observedTimeUnixNano ?? nowUnixNano(),
    attributes: opts.attributes,
    keepOriginal: opts.keepOriginal,
  });
  applyProvenance(records, opts.attributes);
  return records;
}

/** Parse lines (each item one line, without or with its newline), grouping continuation lines. */
export async function* parseLines(
  lines: AsyncIterable<string> | Iterable<string>,
  opts: ParseStreamOptions = {},
): AsyncGenerator<KataLogRecord> {
  const assembler = opts.multiline === false ? undefined : new LineAssembler();
  const parse = (entries: string[]) => entries.flatMap((text) => parseLine(text, opts));
  for await (const item of lines) {
    const line = String(item).replace(/\r?\n$/, '');
    yield* parse(assembler ? assembler.push(line) : [line]);
  }
  if (assembler) yield* parse(assembler.flush());
}

/** Parse a stream of Kata log text: a Readable, or any (async) iterable of text chunks (split into lines here). */
export function parseStream(
  input: Readable | AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  opts: ParseStreamOptions = {},
): AsyncGenerator<KataLogRecord> {
  const stream = input instanceof Readable ? input : Readable.from(input);
  return parseLines(createInterface({ input: stream, crlfDelay: Infinity }), opts);
}

/** Parse a Kata log file; records carry `log.file.path` and `log.file.name` like the daemon's. */
export function parseFile(path: string, opts: ParseStreamOptions = {}): AsyncGenerator<KataLogRecord> {
  const abs = resolve(path);
  const attributes: Attributes = { [ATTR_LOG_FILE_PATH]: abs, [ATTR_LOG_FILE_NAME]: basename(abs), ...opts.attributes };
  return parseStream(createReadStream(abs), { ...opts, attributes });
}
