// Runs a query: the archive (Parquet, oldest), then the store files through the index, or the OTLP/JSON files
// the user named instead. Yields each matching record with a stable reference (`file@offset#n`: the byte
// offset of its line and its position in the line) that the review report uses as an anchor.
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { KataLogRecord } from '../model/record.js';
import { decodeLogsJson } from '../otlp/index.js';
import { archiveDir, readArchives, readManifest } from '../archive/archive.js';
import { matches, type Filter } from './filter.js';
import { LineReader, scanLines } from './lines.js';
import { candidateLines, StoreIndex, type FileIndex } from './store-index.js';

export interface Hit {
  record: KataLogRecord;
  ref: string;
}

export interface QueryOptions {
  /** The data dir holding store/, index/ and archive/ (used when `files` is empty). */
  dataDir: string;
  /** Collector file-exporter OTLP/JSON files (or archive .parquet files) to read instead of the data dir. */
  files?: string[];
  onWarn?: (message: string) => void;
  /** Do not write index files (read-only evidence copy). */
  readOnly?: boolean;
}

export const storeDirOf = (dataDir: string) => join(dataDir, 'store');
export const indexDirOf = (dataDir: string) => join(dataDir, 'index');

export function openIndex(o: QueryOptions): StoreIndex {
  return new StoreIndex(storeDirOf(o.dataDir), indexDirOf(o.dataDir), {
    persist: !o.readOnly,
    ...(o.onWarn ? { onWarn: o.onWarn } : {}),
  });
}

/** Matching records of one indexed store file, lines at or past `fromOffset`. */
export async function* hitsInFile(
  storeDir: string,
  idx: FileIndex,
  f: Filter,
  fromOffset = 0,
  onWarn?: (m: string) => void,
): AsyncGenerator<Hit> {
  const lines = candidateLines(idx, f, fromOffset);
  if (lines.length === 0) return;
  let reader: LineReader;
  try {
    reader = await LineReader.open(join(storeDir, idx.file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // retention removed it meanwhile
    throw err;
  }
  try {
    for (const n of lines) {
      const off = idx.off[n]!;
      const text = await reader.read(off, idx.len[n]!);
      const recs = decodeLogsJson(text, (m) => onWarn?.(`${idx.file}@${off}: ${m}`));
      for (let i = 0; i < recs.length; i++)
        if (matches(recs[i]!, f)) yield { record: recs[i]!, ref: `${idx.file}@${off}#${i}` };
    }
  } finally {
    await reader.close();
  }
}

async function* hitsInPlainFile(path: string, f: Filter, onWarn?: (m: string) => void): AsyncGenerator<Hit> {
  if (path.endsWith('.parquet')) {
    const { openDuck, rowToRecord, sqlString } = await import('./duck.js');
    const con = await openDuck();
    try {
      const rows = (await con.runAndReadAll(`SELECT * FROM read_parquet(${sqlString(path)})`)).getRowObjects();
      for (let i = 0; i < rows.length; i++) {
        const r = rowToRecord(rows[i]!);
        if (matches(r, f)) yield { record: r, ref: `${basename(path)}#${i}` };
      }
    } finally {
      con.closeSync();
    }
    return;
  }
  const batches: { off: number; recs: KataLogRecord[] }[] = [];
  const errors: string[] = [];
  await scanLines(path, 0, (line, off) => {
    const text = line.toString('utf8');
    if (text.trim()) batches.push({ off, recs: decodeLogsJson(text, (m) => errors.push(`${path}@${off}: ${m}`)) });
  });
  const size = (await stat(path)).size;
  // One pretty-printed OTLP/JSON document (not JSON lines): decode it whole.
  if (batches.every((b) => b.recs.length === 0) && size > 0 && size <= 256 << 20) {
    const { readFile } = await import('node:fs/promises');
    const recs = decodeLogsJson(await readFile(path, 'utf8'), (m) => onWarn?.(`${path}: ${m}`));
    if (recs.length) {
      batches.length = 0;
      errors.length = 0;
      batches.push({ off: 0, recs });
    }
  }
  for (const e of errors) onWarn?.(e);
  for (const b of batches)
    for (let i = 0; i < b.recs.length; i++)
      if (matches(b.recs[i]!, f)) yield { record: b.recs[i]!, ref: `${basename(path)}@${b.off}#${i}` };
}

export async function* runQuery(o: QueryOptions, f: Filter): AsyncGenerator<Hit> {
  if (o.files?.length) {
    for (const p of o.files) yield* hitsInPlainFile(p, f, o.onWarn);
    return;
  }
  const manifest = await readManifest(archiveDir(o.dataDir));
  if (manifest.files.length) {
    let i = 0;
    for await (const r of readArchives(o.dataDir, f)) if (matches(r, f)) yield { record: r, ref: `archive#${i++}` };
  }
  const index = openIndex(o);
  for (const idx of await index.refresh()) yield* hitsInFile(index.storeDir, idx, f, 0, o.onWarn);
}

/** `--follow`: after the current matches, poll for lines appended (or files added) and yield their matches. */
export async function* followQuery(
  o: QueryOptions,
  f: Filter,
  signal: AbortSignal,
  everyMs = 500,
): AsyncGenerator<Hit> {
  const index = openIndex(o);
  const seen = new Map<string, number>();
  for (const idx of await index.refresh()) {
    yield* hitsInFile(index.storeDir, idx, f, 0, o.onWarn);
    seen.set(idx.file, idx.size);
  }
  while (!signal.aborted) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, everyMs);
      signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
    if (signal.aborted) break;
    for (const idx of await index.refresh()) {
      const from = seen.get(idx.file) ?? 0;
      if (idx.size > from) yield* hitsInFile(index.storeDir, idx, f, from, o.onWarn);
      seen.set(idx.file, idx.size);
    }
  }
}
