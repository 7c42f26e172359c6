// The query index: one small JSON file per store file under <data_dir>/index/, listing for every line (one
// ExportLogsServiceRequest) its byte range, time range and severity range, plus posting lists from the
// identities an investigator filters on (sandbox, container, pod, trace id, component, subsystem, alert rule)
// to the lines that hold them. A one-sandbox query then reads only that sandbox's lines.
//
// Built incrementally: an index remembers how many bytes of its store file it covers and, when the file has
// grown, indexes only the new complete lines. It is rebuilt when missing, unreadable (a crash mid-write can
// at worst leave a stray temporary: the index is written to a temporary file, fsynced and renamed), or stale
// (the store file shrank or its first bytes differ: a different file under the same name). Index files of
// deleted store files are removed. The index only prunes; `matches` decides, so it can never change an answer.
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { listStoreFiles } from '../exporters/store.js';
import type { KataLogRecord } from '../model/record.js';
import { decodeLogsJson } from '../otlp/index.js';
import { ATTR_K8S_NAMESPACE_NAME, ATTR_K8S_POD_NAME } from '../semconv/generated.js';
import { pidAlive } from '../queue/lock.js';
import { writeFileAtomic } from './atomic.js';
import { IDENTITY_FILTERS, recordTimeNs, type Filter } from './filter.js';
import { scanLines } from './lines.js';

const VERSION = 1;
const HEAD_BYTES = 4096;
const SUFFIX = '.idx.json';

export interface FileIndex {
  v: number;
  file: string;
  /** Bytes of the store file covered (just past the last complete line indexed). */
  size: number;
  /** sha256 of the first `headLen` bytes: tells a rewritten file under the same name. */
  head: string;
  headLen: number;
  off: number[];
  len: number[];
  /** Per line: time range in ms (floor/ceil of the records' ns) and severity range. */
  tmin: number[];
  tmax: number[];
  smin: number[];
  smax: number[];
  /** `<kind>:<value>` → ascending line numbers. Kinds: those of IDENTITY_FILTERS (s sandbox, c container,
   * k component, u subsystem, r rule), p namespace/pod, n pod, t trace id. */
  keys: Record<string, number[]>;
}

function keysOf(r: KataLogRecord): string[] {
  const a = r.attributes;
  const out: string[] = [];
  const add = (k: string, v: unknown) => {
    if (typeof v === 'string' && v !== '') out.push(`${k}:${v}`);
  };
  for (const id of IDENTITY_FILTERS) add(id.kind, a[id.attr]);
  add('n', a[ATTR_K8S_POD_NAME]);
  if (typeof a[ATTR_K8S_POD_NAME] === 'string' && typeof a[ATTR_K8S_NAMESPACE_NAME] === 'string')
    add('p', `${a[ATTR_K8S_NAMESPACE_NAME]}/${a[ATTR_K8S_POD_NAME]}`);
  add('t', r.traceId);
  return out;
}

/** The posting-list keys a filter requires (each must hold for a line to be a candidate). */
function requiredKeys(f: Filter): string[] {
  const k: string[] = [];
  for (const id of IDENTITY_FILTERS) if (f[id.field] !== undefined) k.push(`${id.kind}:${f[id.field]}`);
  if (f.pod) k.push(f.pod.namespace === undefined ? `n:${f.pod.name}` : `p:${f.pod.namespace}/${f.pod.name}`);
  if (f.traceId !== undefined) k.push(`t:${f.traceId}`);
  return k;
}

const emptyIndex = (file: string): FileIndex => ({
  v: VERSION,
  file,
  size: 0,
  head: '',
  headLen: 0,
  off: [],
  len: [],
  tmin: [],
  tmax: [],
  smin: [],
  smax: [],
  keys: {},
});

async function headHash(path: string, len: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, 0);
    return createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex');
  } finally {
    await fh.close();
  }
}

interface LineSummary {
  tmin: number;
  tmax: number;
  smin: number;
  smax: number;
  keys: Set<string>;
}

/** ns since the epoch as a decimal string → [floor ms, ceil ms], without BigInt (hot: once per record). */
function msRange(ns: string): [number, number] {
  if (ns.length <= 6) return [0, Number(ns) === 0 ? 0 : 1];
  const lo = Number(ns.slice(0, -6));
  return [lo, /^0+$/.test(ns.slice(-6)) ? lo : lo + 1];
}

type J = Record<string, unknown>;
const list = (v: unknown): J[] => (Array.isArray(v) ? (v as J[]) : []);
const U64 = /^\d+$/;

/** String attribute values by key, as decodeLogsJson would read them (stringValue only: keys hold strings). */
function strings(attrs: unknown, into: Map<string, string>): void {
  for (const kv of list(attrs)) {
    const v = kv.value as J | undefined;
    if (typeof kv.key !== 'string') continue;
    if (typeof v?.stringValue === 'string') into.set(kv.key, v.stringValue);
    else into.delete(kv.key); // a later non-string value wins in the decoder too
  }
}

/**
 * Summarise one Collector file-exporter line straight from the parsed JSON. Hand-written rather than
 * decodeLogsJson + keysOf because building full records (an attribute object per record) is most of the index
 * build time; any field shaped unlike what kata-otel writes returns undefined and the caller uses the decoder.
 */
function summariseFast(text: string): LineSummary | undefined {
  let doc: J;
  try {
    doc = JSON.parse(text) as J;
  } catch {
    return undefined;
  }
  const sum: LineSummary = { tmin: Infinity, tmax: -Infinity, smin: Infinity, smax: -Infinity, keys: new Set() };
  let n = 0;
  for (const rl of list(doc.resourceLogs)) {
    const res = new Map<string, string>();
    strings((rl.resource as J | undefined)?.attributes, res);
    for (const sl of list(rl.scopeLogs))
      for (const lr of list(sl.logRecords)) {
        const t = lr.timeUnixNano ?? '0';
        const o = lr.observedTimeUnixNano ?? '0';
        const sev = lr.severityNumber ?? 0;
        if (typeof t !== 'string' || typeof o !== 'string' || !U64.test(t) || !U64.test(o) || typeof sev !== 'number')
          return undefined;
        const [lo, hi] = msRange(/^0+$/.test(t) ? o : t);
        if (lo < sum.tmin) sum.tmin = lo;
        if (hi > sum.tmax) sum.tmax = hi;
        if (sev < sum.smin) sum.smin = sev;
        if (sev > sum.smax) sum.smax = sev;
        const a = new Map(res);
        strings(lr.attributes, a);
        const rec: KataLogRecord = {
          timeUnixNano: 0n,
          observedTimeUnixNano: 0n,
          severityNumber: sev,
          severityText: '',
          body: '',
          attributes: Object.fromEntries(a),
        };
        if (typeof lr.traceId === 'string' && lr.traceId !== '') rec.traceId = lr.traceId.toLowerCase();
        for (const k of keysOf(rec)) sum.keys.add(k);
        n++;
      }
  }
  return n ? sum : undefined;
}

function summariseDecoded(text: string): LineSummary | undefined {
  const recs = decodeLogsJson(text); // a torn or foreign line holds no records: nothing to index
  if (recs.length === 0) return undefined;
  const sum: LineSummary = { tmin: Infinity, tmax: -Infinity, smin: Infinity, smax: -Infinity, keys: new Set() };
  for (const r of recs) {
    const [lo, hi] = msRange(recordTimeNs(r).toString());
    if (lo < sum.tmin) sum.tmin = lo;
    if (hi > sum.tmax) sum.tmax = hi;
    if (r.severityNumber < sum.smin) sum.smin = r.severityNumber;
    if (r.severityNumber > sum.smax) sum.smax = r.severityNumber;
    for (const k of keysOf(r)) sum.keys.add(k);
  }
  return sum;
}

/** Index the complete lines of `path` past `idx.size`, in place. */
export async function extendIndex(path: string, idx: FileIndex): Promise<void> {
  const { end } = await scanLines(path, idx.size, (line, offset) => {
    const text = line.toString('utf8');
    if (!text.trim()) return;
    const sum = summariseFast(text) ?? summariseDecoded(text);
    if (!sum) return;
    const n = idx.off.length;
    idx.off.push(offset);
    idx.len.push(line.length);
    idx.tmin.push(sum.tmin);
    idx.tmax.push(sum.tmax);
    idx.smin.push(sum.smin);
    idx.smax.push(sum.smax);
    for (const k of sum.keys) (idx.keys[k] ??= []).push(n);
  });
  if (idx.headLen < HEAD_BYTES && end > idx.headLen) {
    idx.headLen = Math.min(HEAD_BYTES, end);
    idx.head = await headHash(path, idx.headLen);
  }
  idx.size = end;
}

/** Line numbers of `idx` that may hold records matching `f`, ascending; lines before `fromOffset` excluded. */
export function candidateLines(idx: FileIndex, f: Filter, fromOffset = 0): number[] {
  const req = requiredKeys(f);
  let lines: number[];
  if (req.length) {
    const lists = req.map((k) => idx.keys[k] ?? []).sort((a, b) => a.length - b.length);
    lines = lists[0]!;
    for (const other of lists.slice(1)) {
      const set = new Set(other);
      lines = lines.filter((n) => set.has(n));
    }
  } else lines = idx.off.map((_, i) => i);
  const since = f.sinceNs === undefined ? undefined : Number(f.sinceNs / 1_000_000n);
  const until = f.untilNs === undefined ? undefined : Number(f.untilNs / 1_000_000n) + 1;
  return lines.filter(
    (n) =>
      idx.off[n]! >= fromOffset &&
      (since === undefined || idx.tmax[n]! >= since) &&
      (until === undefined || idx.tmin[n]! <= until) &&
      (f.severityMin === undefined || idx.smax[n]! >= f.severityMin) &&
      (f.severityMax === undefined || idx.smin[n]! <= f.severityMax),
  );
}

export interface StoreIndexOptions {
  /** Write index files (false for a read-only copy of a data dir: the index is then kept in memory only). */
  persist?: boolean;
  /** Keep every file's index in memory between refreshes (queries); the daemon's indexer does not. */
  keepInMemory?: boolean;
  onWarn?: (message: string) => void;
}

export class StoreIndex {
  private readonly cache = new Map<string, FileIndex>();
  /** Store file sizes seen by `refreshChanged`. */
  private readonly sizes = new Map<string, number>();
  private persist: boolean;

  constructor(
    readonly storeDir: string,
    readonly indexDir: string,
    private readonly opts: StoreIndexOptions = {},
  ) {
    this.persist = opts.persist ?? true;
  }

  /** Bring the index of every store file up to date; returns them in store (write) order. */
  async refresh(): Promise<FileIndex[]> {
    const names = await listStoreFiles(this.storeDir);
    if (this.persist) {
      try {
        await mkdir(this.indexDir, { recursive: true, mode: 0o700 });
      } catch (err) {
        this.readOnly(err);
      }
    }
    const out: FileIndex[] = [];
    for (const name of names) {
      const idx = await this.one(name);
      if (idx) out.push(idx);
    }
    await this.removeOrphans(new Set(names));
    return out;
  }

  /** The daemon's incremental pass: index only the store files whose size changed since the last pass (in
   * practice the one being written), holding no index in memory between passes. Returns the files indexed. */
  async refreshChanged(): Promise<number> {
    const names = await listStoreFiles(this.storeDir);
    await mkdir(this.indexDir, { recursive: true, mode: 0o700 });
    let n = 0;
    for (const name of names) {
      const size = await stat(join(this.storeDir, name)).then(
        (s) => s.size,
        () => undefined,
      );
      if (size === undefined || this.sizes.get(name) === size) continue;
      const idx = await this.one(name);
      if (idx) this.sizes.set(name, size);
      n++;
    }
    const live = new Set(names);
    for (const k of this.sizes.keys()) if (!live.has(k)) this.sizes.delete(k);
    await this.removeOrphans(live);
    return n;
  }

  private readOnly(err: unknown): void {
    if (!this.persist) return;
    this.persist = false;
    this.opts.onWarn?.(
      `index directory ${this.indexDir} is not writable (${(err as Error).message}); indexing in memory for this run only`,
    );
  }

  private async one(name: string): Promise<FileIndex | undefined> {
    const path = join(this.storeDir, name);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      return undefined; // deleted by retention meanwhile
    }
    let idx = this.cache.get(name) ?? (await this.load(name));
    if (idx && (idx.size > size || (idx.headLen > 0 && (await headHash(path, idx.headLen)) !== idx.head))) {
      this.opts.onWarn?.(`index of ${name} is stale (the store file changed under it); rebuilding it`);
      idx = undefined;
    }
    const before = idx?.size ?? -1;
    idx ??= emptyIndex(name);
    try {
      if (size > idx.size) await extendIndex(path, idx);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    if (this.opts.keepInMemory !== false) this.cache.set(name, idx);
    if (idx.size !== before) await this.save(idx);
    return idx;
  }

  private async load(name: string): Promise<FileIndex | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.indexDir, name + SUFFIX), 'utf8');
    } catch {
      return undefined; // missing: built from scratch
    }
    try {
      const idx = JSON.parse(text) as FileIndex;
      if (idx.v !== VERSION || idx.file !== name || !Array.isArray(idx.off) || idx.off.length !== idx.tmax.length)
        throw new Error('unexpected shape');
      return idx;
    } catch (err) {
      this.opts.onWarn?.(`index of ${name} is damaged (${(err as Error).message}); rebuilding it`);
      return undefined;
    }
  }

  private async save(idx: FileIndex): Promise<void> {
    if (!this.persist) return;
    try {
      await writeFileAtomic(join(this.indexDir, idx.file + SUFFIX), JSON.stringify(idx));
    } catch (err) {
      this.readOnly(err);
    }
  }

  /** Index files whose store file is gone (retention, archive), and temporaries of a crashed writer. */
  private async removeOrphans(live: Set<string>): Promise<void> {
    if (!this.persist) return;
    let names: string[];
    try {
      names = await readdir(this.indexDir);
    } catch {
      return;
    }
    for (const n of names) {
      const tmp = /\.tmp-(\d+)$/.exec(n);
      const orphan = n.endsWith(SUFFIX) && !live.has(n.slice(0, -SUFFIX.length));
      if (orphan || (tmp && !pidAlive(Number(tmp[1])))) await unlink(join(this.indexDir, n)).catch(() => {});
    }
  }
}
