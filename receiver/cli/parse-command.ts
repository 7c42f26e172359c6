// `kata-otel parse`: raw Kata log text in, OTLP/JSON out (one ExportLogsServiceRequest per line, the
// Collector file-exporter format), for inspecting what kata-otel makes of a log and for piping into tools.
import { access, constants, stat } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import type { KataLogRecord } from '../model/record.js';
import { encodeLogsJson } from '../otlp/index.js';
import { parseFile, parseStream } from '../api/parse.js';
import { DedupeStage } from '../pipeline/dedupe.js';
import { LimitsStage } from '../pipeline/limits.js';
import { ATTR_KATA_LOG_ORIGIN, KATA_LOG_ORIGIN_VALUE_STDIN } from '../semconv/generated.js';

export interface ParseCommandOptions {
  files: string[];
  dedupe: boolean;
  original: boolean;
  batchSize: number;
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
  const limits = new LimitsStage(); // the same attribute limits as `run` (its defaults)
  let pending: KataLogRecord[] = [];
  let total = 0;
  const flush = async () => {
    if (!pending.length) return;
    limits.process(pending);
    const out = dedupe ? dedupe.process(pending) : pending;
    pending = [];
    total += out.length;
    if (out.length) await write(opts.stdout, encodeLogsJson(out) + '\n');
  };
  for (const f of files) {
    // A file's records carry log.file.path / log.file.name (parseFile), stdin's kata.log.origin=stdin.
    const o = { keepOriginal: opts.original };
    const stdin = { ...o, attributes: { [ATTR_KATA_LOG_ORIGIN]: KATA_LOG_ORIGIN_VALUE_STDIN } };
    for await (const r of f === '-' ? parseStream(opts.stdin, stdin) : parseFile(f, o)) {
      pending.push(r);
      if (pending.length >= opts.batchSize) await flush();
    }
  }
  await flush();
  const suppressed = dedupe?.suppressed ?? 0;
  opts.stderr.write(`kata-otel parse: ${total} records${suppressed ? `, ${suppressed} duplicates suppressed` : ''}\n`);
  return 0;
}
