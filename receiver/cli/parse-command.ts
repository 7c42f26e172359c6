// `kata-otel parse`: raw Kata log text in, OTLP/JSON out (one ExportLogsServiceRequest per line, the
// Collector file-exporter format), for inspecting what kata-otel makes of a log and for piping into tools.
import { createReadStream } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Attributes, KataLogRecord } from '../model/record.js';
import { nowUnixNano } from '../model/record.js';
import { encodeLogsJson } from '../otlp/index.js';
import { LineAssembler } from '../parse/multiline.js';
import { parseText } from '../parse/index.js';
import { DedupeStage } from '../pipeline/dedupe.js';
import { ParseStats } from './parse-stats.js';
import { ATTR_KATA_LOG_TRUNCATED, ATTR_LOG_FILE_NAME, ATTR_LOG_FILE_PATH } from '../semconv/generated.js';
import { EntryFramer, type FramedEntry } from '../sources/file/framer.js';
import { DEFAULT_MAX_LINE_BYTES } from '../sources/lines.js';

export interface ParseCommandOptions {
  files: string[];
  dedupe: boolean;
  original: boolean;
  batchSize: number;
  /** Longer lines are cut and marked `kata.log.truncated`, as `run` does (`max_line_bytes`). */
  maxLineBytes?: number;
  /** Print a coverage report (parse-stats.ts) instead of OTLP/JSON; `examples` raw lines per kind. */
  stats?: { examples: number };
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

/** Checks every input before any output, so a typo fails fast and clearly. Returns the error lines. */
export async function checkInputs(files: string[]): Promise<string[]> {
  const errors: string[] = [];
  for (const f of files) {
    if (f === '-') continue;
    try {
      await access(f, constants.R_OK);
      if ((await stat(f)).isDirectory()) errors.push(`${f}: is a directory; give the log files inside it`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'no such file; check the path'
          : code === 'EACCES'
            ? 'permission denied; run as a user who can read it'
            : String(err);
      errors.push(`${f}: cannot read: ${why}`);
    }
  }
  return errors;
}

const write = (out: Writable, text: string): Promise<void> =>
  new Promise((res, rej) => {
    if (out.write(text)) res();
    else {
      out.once('drain', res);
      out.once('error', rej);
    }
  });

export async function parseCommand(opts: ParseCommandOptions): Promise<number> {
  const files = opts.files.length ? opts.files : ['-'];
  const errors = await checkInputs(files);
  if (errors.length) {
    for (const e of errors) opts.stderr.write(`kata-otel parse: ${e}\n`);
    return 2;
  }
  const dedupe = opts.dedupe ? new DedupeStage() : undefined;
  const stats = opts.stats ? new ParseStats(opts.stats.examples) : undefined;
  let pending: KataLogRecord[] = [];
  let total = 0;
  const flush = async () => {
    if (!pending.length) return;
    const out = dedupe ? dedupe.process(pending) : pending;
    pending = [];
    total += out.length;
    if (out.length) await write(opts.stdout, encodeLogsJson(out) + '\n');
  };
  for (const f of files) {
    const attributes: Attributes = {};
    if (f !== '-') {
      const abs = resolve(f);
      attributes[ATTR_LOG_FILE_PATH] = abs;
      attributes[ATTR_LOG_FILE_NAME] = basename(abs);
    }
    const input: AsyncIterable<Buffer | string> = f === '-' ? opts.stdin : createReadStream(f);
    // The framing `run` uses (split on '\n' only, one '\r' dropped, long lines cut and marked, multi-line
    // groups), so parse shows what the receiver would make of the same bytes.
    const framer = new EntryFramer(opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, 0, new LineAssembler());
    const cut: Attributes = { ...attributes, [ATTR_KATA_LOG_TRUNCATED]: true };
    const out: FramedEntry[] = [];
    const emit = () => {
      const observedTimeUnixNano = nowUnixNano();
      for (const e of out) {
        const ctx = { observedTimeUnixNano, attributes: e.truncated ? cut : attributes, keepOriginal: opts.original };
        const recs = parseText(e.text, ctx);
        if (stats) stats.add(recs, e.text, f);
        else for (const r of recs) pending.push(r);
      }
      out.length = 0;
    };
    for await (const chunk of input) {
      framer.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, out);
      emit();
      if (pending.length >= opts.batchSize) await flush();
    }
    framer.flush(out);
    emit();
  }
  await flush();
  if (stats) {
    await write(opts.stdout, stats.report());
    return 0;
  }
  const suppressed = dedupe?.suppressed ?? 0;
  opts.stderr.write(`kata-otel parse: ${total} records${suppressed ? `, ${suppressed} duplicates suppressed` : ''}\n`);
  return 0;
}
