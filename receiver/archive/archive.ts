// The archive: store files older than N days become one zstd-compressed Parquet file each run, under
// <data_dir>/archive/, listed in manifest.json with their row count, sha256, time range and sandbox ids.
// Order of a run, so a crash at any point loses nothing and duplicates nothing for long:
//   write <name>.parquet.tmp → count its rows back → fsync → rename → manifest (temp + rename) → delete the
//   archived store files. A crash before the manifest leaves an unlisted file (removed on the next run); a
//   crash after it but before the deletes leaves store files whose records are also archived: the next run
//   sees them listed as sources of an archive and deletes them without archiving them again.
// Reading verifies each file's sha256 and row count against the manifest first: a damaged archive is an
// error the caller reports (exit code), never skipped in silence.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { listStoreFiles } from '../exporters/store.js';
import type { KataLogRecord } from '../model/record.js';
import { decodeLogsJson } from '../otlp/index.js';
import { ATTR_KATA_SANDBOX_ID } from '../semconv/generated.js';
import { recordTimeNs, type Filter } from '../query/filter.js';
import { scanLines } from '../query/lines.js';
import { writeFileAtomic } from '../query/atomic.js';

export interface ArchiveEntry {
  file: string;
  rows: number;
  bytes: number;
  sha256: string;
  /** Time range of the records, ns since the epoch, as decimal strings (JSON has no 64-bit integers). */
  minTimeNs: string;
  maxTimeNs: string;
  sandboxes: string[];
  /** The store files archived into it. */
  sources: string[];
  createdAt: string;
}

export interface Manifest {
  v: 1;
  files: ArchiveEntry[];
}

export const archiveDir = (dataDir: string) => join(dataDir, 'archive');
const MANIFEST = 'manifest.json';

export async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { v: 1, files: [] };
    throw err;
  }
  const m = JSON.parse(text) as Manifest;
  if (m.v !== 1 || !Array.isArray(m.files))
    throw new Error(`${join(dir, MANIFEST)}: not a kata-otel archive manifest (v ${String(m.v)})`);
  return m;
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Records of one store file in write order (torn lines skipped, as readStore does). */
export async function* storeFileRecords(path: string): AsyncGenerator<KataLogRecord> {
  const batches: KataLogRecord[][] = [];
  await scanLines(path, 0, (line) => {
    const text = line.toString('utf8');
    if (text.trim()) batches.push(decodeLogsJson(text));
  });
  for (const b of batches) yield* b;
}

export interface ArchiveOptions {
  dataDir: string;
  /** Archive store files whose last write is older than this. */
  olderThanMs: number;
  /** Delete archive files whose newest record is older than this (0: keep forever). */
  maxAgeMs?: number;
  now?: number;
}

export interface ArchiveResult {
  archived?: ArchiveEntry;
  storeFilesRemoved: string[];
  archivesExpired: string[];
}

export async function archiveStore(o: ArchiveOptions): Promise<ArchiveResult> {
  const now = o.now ?? Date.now();
  const storeDir = join(o.dataDir, 'store');
  const dir = archiveDir(o.dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const manifest = await readManifest(dir);
  const result: ArchiveResult = { storeFilesRemoved: [], archivesExpired: [] };

  // Leftovers of a crashed run: an unlisted Parquet file or temporary.
  const listed = new Set(manifest.files.map((f) => f.file));
  for (const n of await readdir(dir))
    if ((n.endsWith('.parquet') && !listed.has(n)) || n.includes('.tmp')) await unlink(join(dir, n)).catch(() => {});

  const alreadyArchived = new Set(manifest.files.flatMap((f) => f.sources));
  const due: string[] = [];
  for (const name of await listStoreFiles(storeDir)) {
    const path = join(storeDir, name);
    if (alreadyArchived.has(name)) {
      await removeStoreFile(o.dataDir, name);
      result.storeFilesRemoved.push(name);
      continue;
    }
    const s = await stat(path).catch(() => undefined);
    if (s && now - s.mtimeMs > o.olderThanMs) due.push(name);
  }

  if (due.length) {
    const entry = await writeArchive(storeDir, dir, due, now);
    if (entry) {
      manifest.files.push(entry);
      await writeFileAtomic(join(dir, MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
      result.archived = entry;
    }
    for (const name of due) {
      await removeStoreFile(o.dataDir, name);
      result.storeFilesRemoved.push(name);
    }
  }

  if (o.maxAgeMs && o.maxAgeMs > 0) {
    const cutoff = BigInt(Math.round(now - o.maxAgeMs)) * 1_000_000n;
    const keep = manifest.files.filter((f) => BigInt(f.maxTimeNs) >= cutoff);
    if (keep.length !== manifest.files.length) {
      const gone = manifest.files.filter((f) => !keep.includes(f));
      manifest.files = keep;
      await writeFileAtomic(join(dir, MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
      for (const f of gone) {
        await unlink(join(dir, f.file)).catch(() => {});
        result.archivesExpired.push(f.file);
      }
    }
  }
  return result;
}

async function removeStoreFile(dataDir: string, name: string): Promise<void> {
  await unlink(join(dataDir, 'store', name)).catch(() => {});
  await unlink(join(dataDir, 'index', `${name}.idx.json`)).catch(() => {});
}

async function writeArchive(
  storeDir: string,
  dir: string,
  names: string[],
  now: number,
): Promise<ArchiveEntry | undefined> {
  const { openDuck, loadRecords, sqlString } = await import('../query/duck.js');
  let min = -1n;
  let max = -1n;
  const sandboxes = new Set<string>();
  async function* all(): AsyncGenerator<KataLogRecord> {
    for (const n of names) {
      for await (const r of storeFileRecords(join(storeDir, n))) {
        const t = recordTimeNs(r);
        if (min < 0n || t < min) min = t;
        if (t > max) max = t;
        const sb = r.attributes[ATTR_KATA_SANDBOX_ID];
        if (typeof sb === 'string') sandboxes.add(sb);
        yield r;
      }
    }
  }
  const con = await openDuck();
  try {
    const rows = await loadRecords(con, 'batch', all());
    if (rows === 0) return undefined;
    const file = `archive-${names[0]!.replace(/^logs-|\.jsonl$/g, '')}-${names.length}f.parquet`;
    const final = join(dir, file);
    const tmp = `${final}.tmp`;
    await con.run(
      `COPY (SELECT * FROM batch ORDER BY sandbox_id, time_unix_nano) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)`,
    );
    const back = await con.runAndReadAll(`SELECT count(*) AS n FROM read_parquet(${sqlString(tmp)})`);
    const n = Number(back.getRowObjects()[0]!.n);
    if (n !== rows) throw new Error(`archive ${tmp}: wrote ${rows} rows but read back ${n}; store files kept`);
    await fsyncFile(tmp);
    await rename(tmp, final);
    return {
      file,
      rows,
      bytes: (await stat(final)).size,
      sha256: await sha256File(final),
      minTimeNs: min.toString(),
      maxTimeNs: max.toString(),
      sandboxes: [...sandboxes].sort(),
      sources: names,
      createdAt: new Date(now).toISOString(),
    };
  } finally {
    con.closeSync();
  }
}

/** Manifest entries that may hold records for `f` (time range and sandbox). */
export function archivesFor(m: Manifest, f: Filter): ArchiveEntry[] {
  return m.files.filter(
    (e) =>
      (f.sinceNs === undefined || BigInt(e.maxTimeNs) >= f.sinceNs) &&
      (f.untilNs === undefined || BigInt(e.minTimeNs) < f.untilNs) &&
      (f.sandbox === undefined || e.sandboxes.includes(f.sandbox)),
  );
}

export class ArchiveDamagedError extends Error {}

/** Check one archive file against its manifest entry; throws ArchiveDamagedError naming what is wrong. */
export async function verifyArchive(dir: string, e: ArchiveEntry): Promise<void> {
  const path = join(dir, e.file);
  let sum: string;
  try {
    sum = await sha256File(path);
  } catch (err) {
    throw new ArchiveDamagedError(
      `archive ${path}: cannot read it (${(err as Error).message}); restore it from a backup, or remove its entry from ${join(dir, MANIFEST)} to accept losing its ${e.rows} records`,
    );
  }
  if (sum !== e.sha256)
    throw new ArchiveDamagedError(
      `archive ${path}: sha256 ${sum} does not match the manifest (${e.sha256}); the file is damaged. Restore it from a backup, or remove its entry from ${join(dir, MANIFEST)} to accept losing its ${e.rows} records`,
    );
}

/** Records of the archives that may match `f` (each verified first), sandbox then time order. */
export async function* readArchives(dataDir: string, f: Filter): AsyncGenerator<KataLogRecord> {
  const dir = archiveDir(dataDir);
  const entries = archivesFor(await readManifest(dir), f);
  if (entries.length === 0) return;
  const { openDuck, rowToRecord, sqlString } = await import('../query/duck.js');
  const con = await openDuck();
  try {
    for (const e of entries) {
      await verifyArchive(dir, e);
      // Pushed down so Parquet row-group statistics skip what cannot match; matches() still decides. A record
      // without a time (0) is matched on its observed time, so those rows always pass the time condition.
      const cond: string[] = [];
      if (f.sandbox !== undefined) cond.push(`sandbox_id = ${sqlString(f.sandbox)}`);
      const time: string[] = [];
      if (f.sinceNs !== undefined) time.push(`time_unix_nano >= ${f.sinceNs.toString()}`);
      if (f.untilNs !== undefined) time.push(`time_unix_nano < ${f.untilNs.toString()}`);
      if (time.length) cond.push(`(time_unix_nano = 0 OR (${time.join(' AND ')}))`);
      const sql = `SELECT * FROM read_parquet(${sqlString(join(dir, e.file))})${cond.length ? ' WHERE ' + cond.join(' AND ') : ''}`;
      let rows = 0;
      try {
        // Streamed in chunks: an archive can hold far more rows than should sit in memory at once.
        const result = await con.stream(sql);
        for await (const chunk of result.yieldRowObjects())
          for (const row of chunk) {
            rows++;
            yield rowToRecord(row);
          }
      } catch (err) {
        if (err instanceof ArchiveDamagedError) throw err;
        throw new ArchiveDamagedError(`archive ${join(dir, e.file)}: cannot be read: ${(err as Error).message}`);
      }
      if (cond.length === 0 && rows !== e.rows)
        throw new ArchiveDamagedError(`archive ${join(dir, e.file)}: holds ${rows} rows, the manifest says ${e.rows}`);
    }
  } finally {
    con.closeSync();
  }
}
