// The disk queue (on by default): what makes kata-otel lose nothing across restarts, crashes and outages.
//
// Layout, in `<dataDir>/queue/<exporter name>/` (directory 0700, files 0600):
//   <seq:12 digits>-<random:8 hex>.seg   append-only segment files of frames (codec.ts); a new one past
//                                        segmentBytes and at every start (old segments are never written again,
//                                        so a torn tail is only ever at the end of a closed file)
//   acks.json                            which frames are done, per segment: { upTo, done[] } (every frame starting
//                                        before upTo, plus the listed offsets); replaced atomically (write temp,
//                                        fsync, rename)
//   lock                                 the process holding the directory (lock.ts)
//
// A frame is done once its exporter accepted it, refused it permanently, or it was dropped (drop_oldest) or found
// damaged. A segment is deleted when all of its frames are done, whatever order the acks came in. The random part
// of a segment's name means an acks.json entry can never describe a different file than the one it was written for.
//
// Duplicates: acks.json is saved at most once per fsyncIntervalMs (it only ever decides what is sent twice, never
// what is lost), so after a crash the batches acknowledged in that window, and those in flight, are sent again.
// `log.record.uid` identifies them downstream.
//
// fsync: `always` and `interval` survive power loss for every append that resolved; `never` survives a process
// crash (SIGKILL, OOM kill: the page cache still reaches the disk) but a power loss or kernel crash can lose the
// last seconds of appends, or leave damaged frames that are skipped and counted at the next start.
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Counter } from 'prom-client';
import type { Exporter, PayloadCodec, SealedBatch, Sealer } from '../exporters/types.js';
import type { KataLogRecord } from '../model/record.js';
import { decodeLogsProto } from '../otlp/decode.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { ensurePrivateDir, writeFileAtomic } from '../safefs/index.js';
import { backoffDelay, sleep } from './backoff.js';
import { acquireLock, releaseLock } from './lock.js';
import { encodeFrame, frameLengthAt, payloadFrameParts, readFrame, scanFrames } from './codec.js';
import { estimateBatchBytes } from './memory.js';
import {
  encodeOrUndefined,
  QueueCore,
  type Prepared,
  type QueueStore,
  type StoredBatch,
  type StoredEntry,
} from './core.js';
import { HandedRecord } from './handed.js';
import { resolveQueueOptions, type QueueDeps, type QueueOptions, type QueueOptionsInput } from './types.js';

const SEGMENT_RE = /^(\d{12,})-[0-9a-f]{8}\.seg$/;
const ACK_FILE = 'acks.json';
/** Recent appends are kept in memory (their payload, or their records as objects) up to this many frame bytes, so
 *  a consumer that keeps up never reads back or parses what it just wrote. */
const CACHE_BYTES = 4 * 1024 * 1024;
/** One writev per group of pending appends, up to this size / count (IOV_MAX is 1024 on Linux). */
const WRITE_GROUP_BYTES = 4 * 1024 * 1024;
const WRITE_GROUP_FRAMES = 512; // × 2 buffers per payload frame (header, payload) = IOV_MAX

interface Segment {
  name: string;
  seq: number;
  path: string;
  /** File size (= where the next frame goes, for the active segment). */
  size: number;
  /** Offsets of the frames (and damaged regions) in the file, in order, with their done flags. */
  offsets: number[];
  done: boolean[];
  /** Index of the first frame not done. */
  firstUndone: number;
  /** Frames not done. */
  live: number;
  fh?: FileHandle;
  opening?: Promise<FileHandle>;
  /** Still being appended to. */
  active: boolean;
  /** A write or fsync failed: never append to it again. */
  broken: boolean;
  deleted: boolean;
}

export interface DiskEntry extends StoredEntry {
  seg: Segment;
  index: number;
  offset: number;
  /** The records, or their payload, while cached in memory (see CACHE_BYTES). */
  records?: KataLogRecord[];
  payload?: Uint8Array;
  /** Recovered from a frame written before its exporter sealed (see DiskQueue.open). */
  unsealed?: boolean;
}

interface DiskPrepared extends Prepared {
  /** The frame's bytes, written in order with one writev (a payload frame: its header, then the payload itself).
   *  Undefined until the writer seals the records (a sealing exporter: `bytes` is an estimate until then). */
  frame?: Buffer[];
  records?: KataLogRecord[];
  payload?: Uint8Array;
  sealed?: SealedBatch;
}

interface PendingWrite {
  p: DiskPrepared;
  resolve: (e: DiskEntry) => void;
  reject: (err: Error) => void;
  seg?: Segment;
  index?: number;
  offset?: number;
}

/** The directory name for an exporter: its name with anything but [A-Za-z0-9._-] percent-encoded. */
export function queueDirName(exporterName: string): string {
  const safe = exporterName.replace(/[^A-Za-z0-9._-]/g, (c) =>
    [...Buffer.from(c)].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join(''),
  );
  // '', '.' and '..' would not name a directory of its own.
  return /^\.*$/.test(safe) ? `%2E${safe}` : safe;
}

function counter(metrics: Metrics, name: string, help: string): Counter<'exporter'> {
  const existing = metrics.registry.getSingleMetric(name);
  if (existing) return existing as Counter<'exporter'>;
  return new Counter({ name, help, labelNames: ['exporter'], registers: [metrics.registry] });
}

class DiskStore implements QueueStore<DiskPrepared, DiskEntry> {
  private readonly segments = new Map<string, Segment>();
  private active?: Segment;
  private nextSeq = 1;
  private cachedBytes = 0;
  private readonly cacheLimit: number;
  // Writer: appends wait here in order; one writev per group.
  private writeQueue: PendingWrite[] = [];
  private writer?: Promise<void>;
  private failures = 0;
  // Group commit (fsync: interval).
  private syncWaiters: PendingWrite[] = [];
  private syncTimer?: NodeJS.Timeout;
  private syncing?: Promise<void>;
  private lastSyncAt = 0;
  // Acknowledgement file.
  private ackDirty = false;
  private ackWriting?: Promise<void>;
  private lastAckAt = 0;
  private lastAckText = '';
  private readonly background = new Set<Promise<void>>();
  private closing = false;
  private closed = false;
  private readonly closeAbort = new AbortController();
  private readonly corruptBytes: Counter<'exporter'>;
  private readonly corruptRegions: Counter<'exporter'>;
  /** What this queue handed to its exporter: acks.json entries beyond it are refused (handed.ts). */
  private readonly handed: HandedRecord;

  constructor(
    readonly dir: string,
    private readonly opts: QueueOptions,
    private readonly exporterName: string,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    /** The exporter's payload codec: frames then hold its payload (codec.ts). */
    private readonly codec?: PayloadCodec,
    /** The exporter's chain: the writer seals each frame's records as it fixes the frame's place in the file. */
    private readonly sealer?: Sealer,
  ) {
    this.cacheLimit = Math.min(CACHE_BYTES, opts.maxBytes);
    this.handed = new HandedRecord(dir);
    this.corruptBytes = counter(
      metrics,
      'kata_otel_queue_corrupt_bytes_total',
      'Bytes of damaged disk-queue frames skipped (torn writes, bit flips); the records in them are lost',
    );
    this.corruptRegions = counter(
      metrics,
      'kata_otel_queue_corrupt_regions_total',
      'Damaged stretches of disk-queue segments skipped (each is one or more frames)',
    );
  }

  // ---- QueueStore -----------------------------------------------------------------------------------------------

  prepare(records: KataLogRecord[]): DiskPrepared {
    // Admission takes an estimate: the frame is made by the writer, where its order is fixed (seal()).
    if (this.sealer) return { count: records.length, bytes: estimateBatchBytes(records), records };
    const payload = this.codec ? encodeOrUndefined(this.codec, records) : undefined;
    if (payload) return this.preparePayload(payload, records.length);
    const { frame, count, cached } = this.recordFrame(records, false);
    return { frame: [frame], count, bytes: frame.length, records: cached };
  }

  preparePayload(payload: Uint8Array, count: number): DiskPrepared {
    const frame = payloadFrameParts(payload, count);
    return { frame, count, bytes: frame[0].length + frame[1].length, payload };
  }

  commit(p: DiskPrepared): Promise<DiskEntry> {
    if (this.closing) return Promise.reject(new Error(`disk queue ${this.dir} is closing; records not queued`));
    return new Promise((resolve, reject) => {
      this.writeQueue.push({ p, resolve, reject });
      this.kickWriter();
    });
  }

  async load(entries: DiskEntry[]): Promise<(StoredBatch | null)[]> {
    for (const e of entries) this.handed.note(e.seg.name, e.offset + e.bytes);
    const out: (StoredBatch | null)[] = new Array<StoredBatch | null>(entries.length).fill(null);
    let i = 0;
    while (i < entries.length) {
      const e = entries[i] as DiskEntry;
      const cached = e.payload ?? e.records;
      if (cached) {
        out[i] = cached;
        this.uncache(e);
        i++;
        continue;
      }
      // Adjacent frames of one segment: one read.
      let j = i + 1;
      let end = e.offset + e.bytes;
      for (let n = entries[j]; n && !n.records && !n.payload && n.seg === e.seg && n.offset === end; n = entries[j]) {
        end += n.bytes;
        j++;
      }
      const fh = await this.readHandle(e.seg);
      const buf = Buffer.allocUnsafe(end - e.offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, e.offset);
      const got = buf.subarray(0, bytesRead);
      for (let k = i; k < j; k++) {
        const ek = entries[k] as DiskEntry;
        const rel = ek.offset - e.offset;
        const batch = frameLengthAt(got, rel) === ek.bytes ? readFrame(got.subarray(rel, rel + ek.bytes)) : null;
        if (!batch) this.countDamage(ek.seg, ek.offset, ek.bytes, 'a queued frame was damaged on disk; skipped');
        out[k] = batch;
      }
      i = j;
    }
    return out;
  }

  release(entries: DiskEntry[]): void {
    if (this.closed) return;
    for (const e of entries) {
      this.uncache(e);
      this.handed.note(e.seg.name, e.offset + e.bytes);
      this.markDone(e.seg, e.index);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.closeAbort.abort();
    while (this.writer) await this.writer;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    while (this.syncing) await this.syncing;
    if (this.syncWaiters.length > 0) await this.runSync();
    // A sync that failed during close re-queued its frames, and closing forbids new attempts.
    this.failAll('the disk queue closed after a write error');
    const active = this.active;
    if (active) {
      active.active = false;
      this.active = undefined;
      if (active.live === 0) this.deleteSegment(active);
    }
    await Promise.allSettled([...this.background]);
    while (this.ackWriting) await this.ackWriting;
    await this.writeAcks();
    this.closed = true;
    for (const s of this.segments.values()) {
      const fh = s.fh ?? (await s.opening?.catch(() => undefined));
      s.fh = undefined;
      await fh?.close().catch(() => {});
    }
    await releaseLock(this.dir);
  }

  /** A records frame; records that cannot be serialized are dropped and counted. `cached`: the records when the
   *  frame holds them all (only an exact copy of what is on disk is cached). */
  private recordFrame(
    records: KataLogRecord[],
    sealed: boolean,
  ): { frame: Buffer; count: number; cached: KataLogRecord[] | undefined } {
    const { frame, count, skipped } = encodeFrame(records, sealed);
    if (skipped > 0) {
      this.metrics.dropped.labels(this.exporterName, 'unserializable').inc(skipped);
      this.log.error('records could not be serialized (cyclic attribute value?); dropped', { records: skipped });
    }
    return { frame, count, cached: skipped === 0 ? records : undefined };
  }

  /**
   * Numbers and encodes the records of a waiting append: called by the writer in the order frames go to the file,
   * so chain order = file order = delivery order. A frame sealed once keeps its bytes (rewritten after a failed
   * write or fsync: the same numbers).
   */
  private seal(p: DiskPrepared): void {
    const s = (this.sealer as Sealer).seal(p.records ?? []);
    // `count` stays the records appended (queued/exported metrics); the frame holds the checkpoints chained in too.
    p.sealed = s;
    if (s.payload) {
      const [head, body] = payloadFrameParts(s.payload, s.count, true);
      p.frame = [head, body];
      p.payload = s.payload;
      p.records = undefined;
      p.bytes = head.length + body.length;
      return;
    }
    const { frame, cached } = this.recordFrame(s.records ?? [], true);
    p.frame = [frame];
    p.records = cached;
    p.bytes = frame.length;
  }

  /**
   * The frames of an older run that were never sealed (written before the exporter sealed, or with integrity off)
   * are sealed now, before anything new: read, written again as sealed frames at the end of the queue, and the old
   * ones released. Returns the queue's entries in delivery order.
   */
  async resealOld(entries: DiskEntry[]): Promise<DiskEntry[]> {
    if (!this.sealer || !entries.some((e) => e.unsealed)) return entries;
    const out: DiskEntry[] = [];
    const again: Promise<DiskEntry>[] = [];
    let n = 0;
    for (const e of entries) {
      if (!e.unsealed) {
        out.push(e);
        continue;
      }
      const [batch] = await this.load([e]);
      this.release([e]);
      if (!batch) continue; // damaged: counted by load
      const records = batch instanceof Uint8Array ? decodeLogsProto(batch) : batch;
      n += records.length;
      const p = this.prepare(records);
      // Not awaited one by one: the writer groups them (commits resolve in call order).
      again.push(this.commit(p));
    }
    out.push(...(await Promise.all(again)));
    this.log.info('queued records of an older run sealed into the integrity chain', { records: n });
    return out;
  }

  // ---- recovery -------------------------------------------------------------------------------------------------

  async recover(): Promise<DiskEntry[]> {
    const names = (await readdir(this.dir))
      .filter((n) => SEGMENT_RE.test(n))
      .map((n) => ({ n, seq: Number.parseInt(n, 10) }))
      .sort((a, b) => a.seq - b.seq);
    const acks = await this.readAcks();
    await this.handed.load(this.log);
    this.handed.check(acks, this.log, join(this.dir, ACK_FILE));
    const entries: DiskEntry[] = [];
    const finished: Segment[] = [];
    // The last sealed frame in file order (done or not): the chain resumes from it.
    let lastSealed: Buffer | undefined;
    for (const { n: name, seq } of names) {
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
      const path = join(this.dir, name);
      let buf: Buffer;
      try {
        buf = await readFile(path);
      } catch (err) {
        this.log.error('cannot read a queue segment; left on disk, not sent', { file: path, err });
        continue;
      }
      const known = acks.get(name);
      const isDone = (off: number) => (known ? off < known.upTo || known.done.has(off) : false);
      const seg = this.newSegment(name, seq, false);
      seg.size = buf.length;
      const { frames, damaged } = scanFrames(buf);
      for (let k = frames.length - 1; k >= 0; k--) {
        const f = frames[k]!;
        if (!f.sealed) continue;
        lastSealed = buf.subarray(f.offset, f.offset + f.length);
        break;
      }
      type Item = { offset: number; length: number; count?: number; tail?: boolean; sealed?: boolean };
      const items: Item[] = [...frames, ...damaged].sort((a, b) => a.offset - b.offset);
      for (const it of items) {
        const damage = it.count === undefined;
        if (damage && it.tail) {
          // A write cut short (crash, power loss, disk full): never acknowledged to a source, so nothing promised
          // is lost. Cut it off so it is not counted again at the next start.
          try {
            await truncate(path, it.offset);
            seg.size = it.offset;
            this.countDamage(seg, it.offset, it.length, 'torn write at the end of a queue segment; truncated');
            continue;
          } catch (err) {
            this.log.warn('could not truncate a torn segment tail; skipping it instead', { file: path, err });
          }
        }
        const index = seg.offsets.length;
        seg.offsets.push(it.offset);
        if (damage || isDone(it.offset)) this.handed.note(name, it.offset + it.length); // carried to the next acks
        if (damage) {
          // Marked done, and so remembered in acks.json: counted once, not at every start.
          seg.done.push(true);
          if (!isDone(it.offset))
            this.countDamage(seg, it.offset, it.length, 'damaged frames in a queue segment; skipped');
          continue;
        }
        const done = isDone(it.offset);
        seg.done.push(done);
        if (done) continue;
        seg.live++;
        const e: DiskEntry = { seg, index, offset: it.offset, count: it.count ?? 0, bytes: it.length };
        if (this.sealer && !it.sealed) e.unsealed = true;
        entries.push(e);
      }
      while (seg.firstUndone < seg.done.length && seg.done[seg.firstUndone]) seg.firstUndone++;
      this.segments.set(name, seg);
      if (seg.live === 0) finished.push(seg);
    }
    if (this.sealer) {
      const last = lastSealed ? readFrame(lastSealed) : undefined;
      await this.sealer.resume(last instanceof Uint8Array ? decodeLogsProto(last) : (last ?? undefined));
    }
    for (const seg of finished) this.deleteSegment(seg);
    if (names.length > 0 || acks.size > 0) this.scheduleAckWrite();
    if (entries.length > 0) {
      let records = 0;
      for (const e of entries) records += e.count;
      this.log.info('queued records from the previous run will be sent (some may be duplicates)', {
        records,
        batches: entries.length,
        segments: this.segments.size,
      });
    }
    return entries;
  }

  private async readAcks(): Promise<Map<string, { upTo: number; done: Set<number> }>> {
    const acks = new Map<string, { upTo: number; done: Set<number> }>();
    const path = join(this.dir, ACK_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn('cannot read the acknowledgement file; every queued batch will be sent again', {
          file: path,
          err,
        });
      return acks;
    }
    try {
      const doc = JSON.parse(text) as { version?: unknown; segments?: unknown };
      if (doc.version !== 1 || typeof doc.segments !== 'object' || doc.segments === null) throw new Error('bad shape');
      for (const [name, v] of Object.entries(doc.segments as Record<string, { upTo?: unknown; done?: unknown }>)) {
        const ok =
          Number.isSafeInteger(v?.upTo) &&
          Array.isArray(v.done) &&
          v.done.every((o: unknown) => Number.isSafeInteger(o));
        if (!ok) throw new Error(`bad entry for ${name}`);
        acks.set(name, { upTo: v.upTo as number, done: new Set(v.done as number[]) });
      }
    } catch (err) {
      // Safe direction: forgetting acknowledgements only means sending again.
      this.log.warn('the acknowledgement file is damaged; every queued batch will be sent again (duplicates)', {
        file: path,
        err,
      });
      acks.clear();
    }
    return acks;
  }

  // ---- writing --------------------------------------------------------------------------------------------------

  private kickWriter(): void {
    if (this.writer) return;
    this.writer = this.runWriter()
      .catch((err: unknown) => this.log.error('disk queue writer failed unexpectedly', { err }))
      .finally(() => {
        this.writer = undefined;
        if (this.writeQueue.length > 0 && !this.closing) this.kickWriter();
      });
  }

  private async runWriter(): Promise<void> {
    while (this.writeQueue.length > 0) {
      if (this.failures > 0) {
        if (this.closing) return this.failAll('the disk queue closed after a write error');
        await sleep(backoffDelay(this.failures, this.opts.retry), this.closeAbort.signal);
      }
      let bytes = 0;
      let n = 0;
      for (const w of this.writeQueue) {
        if (!w.p.frame) this.seal(w.p);
        if (n > 0 && (bytes + w.p.bytes > WRITE_GROUP_BYTES || n >= WRITE_GROUP_FRAMES)) break;
        bytes += w.p.bytes;
        n++;
      }
      await this.writeGroup(this.writeQueue.splice(0, n), bytes);
    }
  }

  private failAll(reason: string): void {
    const failed = this.writeQueue.splice(0);
    // Nothing after them was written: their numbers are taken back (the records were not queued).
    const first = failed.find((w) => w.p.sealed);
    if (first) this.sealer?.rewind(first.p.sealed as SealedBatch);
    for (const w of failed) w.reject(new Error(`${reason}; records not queued`));
  }

  private async writeGroup(group: PendingWrite[], bytes: number): Promise<void> {
    let seg: Segment;
    try {
      seg = await this.segmentFor(bytes);
    } catch (err) {
      return this.writeFailed(group, err, 'could not create a queue segment file');
    }
    const fh = seg.fh as FileHandle;
    const start = seg.size;
    const first = seg.offsets.length;
    for (const w of group) {
      w.seg = seg;
      w.index = seg.offsets.length;
      w.offset = seg.size;
      seg.offsets.push(seg.size);
      seg.done.push(false);
      seg.live++;
      seg.size += w.p.bytes;
    }
    try {
      const { bytesWritten } = await fh.writev(group.flatMap((w) => w.p.frame as Buffer[]));
      if (bytesWritten !== bytes) throw new Error(`short write: ${bytesWritten} of ${bytes} bytes`);
    } catch (err) {
      seg.offsets.length = first;
      seg.done.length = first;
      seg.live -= group.length;
      seg.size = start;
      // Cut the partial frame off; if that fails too, leave the segment (the scan at start skips the damage).
      await fh.truncate(start).catch(() => (seg.broken = true));
      return this.writeFailed(group, err, `could not write to ${seg.path}`);
    }
    if (this.opts.fsync === 'always') {
      try {
        await fh.datasync();
      } catch (err) {
        return this.syncFailed(group, err);
      }
    } else if (this.opts.fsync === 'interval') {
      for (const w of group) this.syncWaiters.push(w);
      return this.scheduleSync();
    }
    this.failures = 0;
    for (const w of group) this.resolveWrite(w);
  }

  /** The appends wait (sources pause) and are written again after a backoff: disk full is an outage too. */
  private writeFailed(group: PendingWrite[], err: unknown, what: string): void {
    this.failures++;
    this.log.error(`${what}; appends wait and will be retried`, { err, attempt: this.failures });
    for (const w of group) w.seg = w.index = w.offset = undefined;
    this.writeQueue.unshift(...group);
  }

  /**
   * After a failed fsync Linux may have dropped the dirty pages, and a second fsync can succeed without them
   * ("fsyncgate"), so retrying the fsync proves nothing: write the frames again into a new segment. The first
   * copies are marked done so that they are not sent twice from here.
   */
  private syncFailed(group: PendingWrite[], err: unknown): void {
    for (const w of group) {
      const seg = w.seg as Segment;
      seg.broken = true;
      this.markDone(seg, w.index as number);
    }
    this.writeFailed(group, err, 'fsync of a queue segment failed');
    this.kickWriter();
  }

  private resolveWrite(w: PendingWrite): void {
    if (w.p.sealed) this.sealer?.stored(w.p.sealed);
    const e: DiskEntry = {
      seg: w.seg as Segment,
      index: w.index as number,
      offset: w.offset as number,
      count: w.p.count,
      bytes: w.p.bytes,
    };
    if ((w.p.payload || w.p.records) && this.cachedBytes + e.bytes <= this.cacheLimit) {
      if (w.p.payload) e.payload = w.p.payload;
      else e.records = w.p.records;
      this.cachedBytes += e.bytes;
    }
    w.resolve(e);
  }

  private scheduleSync(): void {
    // While closing, close() runs the last sync itself.
    if (this.syncTimer || this.syncing || this.closing || this.syncWaiters.length === 0) return;
    const wait = Math.max(0, this.lastSyncAt + this.opts.fsyncIntervalMs - Date.now());
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      void this.runSync();
    }, wait);
  }

  /** Group commit: one fsync per segment covers every append written before it. */
  private runSync(): Promise<void> {
    const run = async () => {
      const waiters = this.syncWaiters.splice(0);
      const failed = new Map<Segment, unknown>();
      const segs = new Set(waiters.map((w) => w.seg as Segment));
      await Promise.all(
        [...segs].map((s) =>
          (s.fh as FileHandle).datasync().catch((err: unknown) => {
            failed.set(s, err);
          }),
        ),
      );
      this.lastSyncAt = Date.now();
      const bad = waiters.filter((w) => failed.has(w.seg as Segment));
      for (const w of waiters) if (!failed.has(w.seg as Segment)) this.resolveWrite(w);
      if (bad.length > 0) this.syncFailed(bad, failed.values().next().value);
      else this.failures = 0;
    };
    this.syncing = run().finally(() => {
      this.syncing = undefined;
      this.scheduleSync();
    });
    return this.syncing;
  }

  private async segmentFor(bytes: number): Promise<Segment> {
    const cur = this.active;
    if (cur && !cur.broken && (cur.size === 0 || cur.size + bytes <= this.opts.segmentBytes)) return cur;
    if (cur) {
      cur.active = false;
      this.active = undefined;
      if (cur.live === 0) this.deleteSegment(cur);
    }
    const seq = this.nextSeq++;
    const name = `${String(seq).padStart(12, '0')}-${randomBytes(4).toString('hex')}.seg`;
    const seg = this.newSegment(name, seq, true);
    // a+: appends go to the end whatever the position; reads (load) use the same handle.
    seg.fh = await open(seg.path, 'a+', 0o600);
    if (this.opts.fsync !== 'never') {
      // The new file's directory entry must be durable too, or a power loss can lose the whole file.
      try {
        const d = await open(this.dir, 'r');
        await d.sync().finally(() => d.close());
      } catch (err) {
        this.log.warn('could not fsync the queue directory', { dir: this.dir, err });
      }
    }
    this.segments.set(name, seg);
    this.active = seg;
    return seg;
  }

  private newSegment(name: string, seq: number, active: boolean): Segment {
    return {
      name,
      seq,
      path: join(this.dir, name),
      size: 0,
      offsets: [],
      done: [],
      firstUndone: 0,
      live: 0,
      active,
      broken: false,
      deleted: false,
    };
  }

  // ---- acknowledgement ------------------------------------------------------------------------------------------

  private markDone(seg: Segment, index: number): void {
    if (seg.done[index] !== false) return;
    seg.done[index] = true;
    seg.live--;
    while (seg.firstUndone < seg.done.length && seg.done[seg.firstUndone]) seg.firstUndone++;
    if (seg.live === 0 && !seg.active) this.deleteSegment(seg);
    this.scheduleAckWrite();
  }

  private deleteSegment(seg: Segment): void {
    if (seg.deleted) return;
    seg.deleted = true;
    this.segments.delete(seg.name);
    const job = (async () => {
      // The head the deleted frames held must be saved first, or a restart would take their numbers again.
      if (this.sealer)
        try {
          await this.sealer.persist();
        } catch (err) {
          // Kept: its frames (all done) give the head back at the next start.
          this.log.warn('could not save the integrity head; a finished queue segment is kept', { file: seg.path, err });
          return;
        }
      const fh = seg.fh ?? (await seg.opening?.catch(() => undefined));
      seg.fh = undefined;
      await fh?.close().catch(() => {});
      await unlink(seg.path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') this.log.warn('could not delete a finished queue segment', { file: seg.path, err });
      });
    })();
    this.background.add(job);
    void job.finally(() => this.background.delete(job));
    this.scheduleAckWrite();
  }

  private scheduleAckWrite(): void {
    this.ackDirty = true;
    if (this.ackWriting || this.closing) return;
    this.ackWriting = (async () => {
      const wait = this.lastAckAt + this.opts.fsyncIntervalMs - Date.now();
      if (wait > 0) await sleep(wait, this.closeAbort.signal);
      await this.writeAcks();
    })().finally(() => {
      this.ackWriting = undefined;
      if (this.ackDirty) this.scheduleAckWrite();
    });
  }

  private ackText(): string {
    const segments: Record<string, { upTo: number; done: number[] }> = {};
    for (const s of this.segments.values()) {
      const upTo = s.firstUndone < s.offsets.length ? (s.offsets[s.firstUndone] as number) : s.size;
      const done: number[] = [];
      for (let k = s.firstUndone + 1; k < s.offsets.length; k++) if (s.done[k]) done.push(s.offsets[k] as number);
      if (upTo > 0 || done.length > 0) segments[s.name] = { upTo, done };
    }
    return JSON.stringify({ version: 1, segments });
  }

  private async writeAcks(): Promise<void> {
    this.ackDirty = false;
    this.lastAckAt = Date.now();
    const text = this.ackText();
    if (text === this.lastAckText) return;
    try {
      await this.handed.save(this.segments.keys(), this.opts.fsync !== 'never');
    } catch (err) {
      // Without the export record the acknowledgements would be refused at the next start: keep the old ones.
      this.log.warn('could not save the queue export record; acknowledgements not saved this time', { err });
      return;
    }
    try {
      await writeFileAtomic(join(this.dir, ACK_FILE), text, { sync: this.opts.fsync === 'never' ? 'none' : 'data' });
      this.lastAckText = text;
    } catch (err) {
      this.log.warn('could not save acknowledgements; batches already sent may be sent again after a restart', {
        err,
      });
    }
  }

  // ---- helpers --------------------------------------------------------------------------------------------------

  private uncache(e: DiskEntry): void {
    if (!e.records && !e.payload) return;
    e.records = undefined;
    e.payload = undefined;
    this.cachedBytes -= e.bytes;
  }

  private readHandle(seg: Segment): Promise<FileHandle> {
    if (seg.fh) return Promise.resolve(seg.fh);
    seg.opening ??= open(seg.path, 'r').then((fh) => {
      seg.fh = fh;
      seg.opening = undefined;
      return fh;
    });
    return seg.opening;
  }

  private countDamage(seg: Segment, offset: number, bytes: number, msg: string): void {
    this.corruptBytes.labels(this.exporterName).inc(bytes);
    this.corruptRegions.labels(this.exporterName).inc();
    this.log.error(msg, { file: seg.path, offset, bytes });
  }
}

export class DiskQueue extends QueueCore<DiskPrepared, DiskEntry> {
  private constructor(
    opts: QueueOptions,
    exporter: Exporter,
    deps: QueueDeps,
    store: DiskStore,
    recovered: DiskEntry[],
    /** `<dataDir>/queue/<exporter name>` */
    readonly dir: string,
  ) {
    super(opts, exporter, deps, store, recovered);
  }

  /** Opens (creating if needed) the exporter's queue directory and takes back whatever was not acknowledged. */
  static async open(input: QueueOptionsInput, exporter: Exporter, deps: QueueDeps): Promise<DiskQueue> {
    const opts = resolveQueueOptions({ ...input, kind: 'disk' });
    // Created level by level, each directory checked (ours, 0700, not a link) before anything is made in it.
    const dir = await ensurePrivateDir(deps.dataDir, join('queue', queueDirName(exporter.name)));
    await acquireLock(dir);
    const log = deps.logger.child({ component: 'queue', exporter: exporter.name });
    const store = new DiskStore(dir, opts, exporter.name, log, deps.metrics, exporter.payload, exporter.seal);
    try {
      const recovered = await store.resealOld(await store.recover());
      return new DiskQueue(opts, exporter, deps, store, recovered, dir);
    } catch (err) {
      await releaseLock(dir);
      throw err;
    }
  }
}
