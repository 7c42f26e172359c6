// The part of the delivery queue both implementations share, written once: admission (the size bound and the
// `block` / `drop_oldest` policies), the consumer loop (batching, up to `maxInFlight` exports at once, retry with
// backoff forever, ack / reject / drop accounting) and the self-metrics. Where the records live is a
// `QueueStore`: in memory (memory.ts) or in segment files (disk.ts).
import { performance } from 'node:perf_hooks';
import type { Exporter, ExportResult, PayloadCodec } from '../exporters/types.js';
import type { KataLogRecord } from '../model/record.js';
import { decodeLogsProto } from '../otlp/decode.js';
import type { Logger } from '../telemetry/log.js';
import { backoffDelay, sleep } from './backoff.js';
import type { DeliveryQueue, QueueDeps, QueueDepth, QueueOptions } from './types.js';

/** One stored batch (a frame on disk): at most `maxBatchRecords` records, never split. */
export interface StoredEntry {
  count: number;
  bytes: number;
}

/** A chunk of an append, sized (and for the disk queue serialized) before admission so the bound is exact. */
export type Prepared = StoredEntry;

/**
 * What a stored entry holds: its records, or the exporter's payload for them (`Exporter.payload`, encoded once
 * when the records were queued).
 */
export type StoredBatch = KataLogRecord[] | Uint8Array;

/** The payload for records, or undefined when the exporter's codec failed on them (they are then kept as records). */
export function encodeOrUndefined(codec: PayloadCodec, records: KataLogRecord[]): Uint8Array | undefined {
  try {
    return codec.encode(records);
  } catch {
    return undefined;
  }
}

export interface QueueStore<P extends Prepared, E extends StoredEntry> {
  /** Size (and serialize) one chunk. Synchronous; never throws on odd record contents. */
  prepare(records: KataLogRecord[]): P;
  /** A chunk that is already the exporter's payload (spans, metrics: codec.ts SIGNAL_BODY) holding `count` items. */
  preparePayload(payload: Uint8Array, count: number): P;
  /** Make the chunk durable; resolves in call order. Rejects only when the store is closing. */
  commit(prepared: P): Promise<E>;
  /** Each entry's records or payload, or null for an entry found unreadable (the store has counted and logged it). */
  load(entries: E[]): Promise<(StoredBatch | null)[]>;
  /** The entries are done for good: acknowledged, rejected permanently or dropped. */
  release(entries: E[]): void;
  /** Finish pending commits, persist state, close files. */
  close(): Promise<void>;
}

/** How long close() lets in-flight exports finish after aborting them, before closing the store regardless. */
const CLOSE_GRACE_MS = 5000;
/** Drops under `drop_oldest` are logged at most this often (with the total since the last line). */
const DROP_LOG_INTERVAL_MS = 5000;

export class QueueCore<P extends Prepared, E extends StoredEntry> implements DeliveryQueue {
  readonly name: string;
  protected readonly log: Logger;
  // Waiting entries, oldest first; `head` avoids O(n) shifts on a long queue.
  private pending: (E | undefined)[] = [];
  private head = 0;
  private records = 0;
  private bytes = 0;
  /** Bytes admitted whose commit has not resolved yet: they count against the bound. */
  private reservedBytes = 0;
  private inFlight = 0;
  private readonly tasks = new Set<Promise<void>>();
  private readonly spaceWaiters: { bytes: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  private readonly drainWaiters = new Set<() => void>();
  private started = false;
  private closed = false;
  private closing?: Promise<void>;
  private readonly abort = new AbortController();
  private dropNote = { records: 0, batches: 0, lastLogAt: 0 };
  private readonly m;
  /** One export at a time for a sealed stream: its batches must reach the backend in chain order. */
  private readonly maxInFlight: number;

  constructor(
    protected readonly opts: QueueOptions,
    protected readonly exporter: Exporter,
    deps: Omit<QueueDeps, 'dataDir'>,
    private readonly store: QueueStore<P, E>,
    recovered: E[] = [],
  ) {
    this.name = exporter.name;
    this.maxInFlight = exporter.seal ? 1 : opts.maxInFlight;
    this.log = deps.logger.child({ component: 'queue', exporter: exporter.name });
    const { metrics } = deps;
    const n = exporter.name;
    this.m = {
      queued: metrics.queued.labels(n),
      exported: metrics.exported.labels(n),
      retried: metrics.retried.labels(n),
      rejected: metrics.rejected.labels(n),
      droppedFull: metrics.dropped.labels(n, 'queue_full'),
      records: metrics.queueRecords.labels(n),
      bytes: metrics.queueBytes.labels(n),
      latency: metrics.exportLatency,
    };
    for (const e of recovered) this.push(e);
    this.gauges();
  }

  depth(): QueueDepth {
    return { records: this.records, bytes: this.bytes };
  }

  // Not async: the promise of admitAndCommit is returned as it is, so an append takes no extra microtask turns
  // (the FIFO order of appends waiting for space and acks is observable: test/queue/consumer.test.ts).
  append(records: KataLogRecord[], after?: Promise<void>): Promise<void> {
    if (this.closed)
      return Promise.reject(new Error(`delivery queue "${this.name}" is closed; ${records.length} records not queued`));
    if (records.length === 0) return Promise.resolve();
    const max = this.opts.maxBatchRecords;
    const chunks: P[] = [];
    let total = 0;
    for (let i = 0; i < records.length; i += max) {
      const p = this.store.prepare(records.length <= max ? records : records.slice(i, i + max));
      if (p.count === 0) continue;
      chunks.push(p);
      total += p.bytes;
    }
    if (chunks.length === 0) return Promise.resolve();
    return this.admitAndCommit(chunks, total, after);
  }

  /** Queues an encoded payload (spans or metric points, see codec.ts) exactly as records are queued. */
  appendPayload(payload: Uint8Array, count: number, after?: Promise<void>): Promise<void> {
    if (this.closed)
      return Promise.reject(new Error(`delivery queue "${this.name}" is closed; ${count} items not queued`));
    if (count === 0) return Promise.resolve();
    const p = this.store.preparePayload(payload, count);
    return this.admitAndCommit([p], p.bytes, after);
  }

  private async admitAndCommit(chunks: P[], total: number, after?: Promise<void>): Promise<void> {
    await this.admit(total);
    let entries: E[];
    try {
      if (after) await after;
      entries = await Promise.all(chunks.map((c) => this.store.commit(c)));
    } catch (err) {
      this.reservedBytes -= total;
      this.onFree();
      this.notifyIfEmpty();
      throw err;
    }
    this.reservedBytes -= total;
    let count = 0;
    for (const e of entries) {
      this.push(e);
      count += e.count;
    }
    this.m.queued.inc(count);
    this.gauges();
    this.pump();
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.pump();
  }

  drain(timeoutMs: number): Promise<boolean> {
    if (this.isEmpty()) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.drainWaiters.delete(onEmpty);
        resolve(ok);
      };
      const onEmpty = () => finish(true);
      const timer = setTimeout(() => finish(false), Math.max(0, timeoutMs));
      this.drainWaiters.add(onEmpty);
    });
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    for (const w of this.spaceWaiters.splice(0))
      w.reject(new Error(`delivery queue "${this.name}" closed while waiting for space; records not queued`));
    if (this.tasks.size > 0) {
      const grace = new AbortController();
      await Promise.race([Promise.allSettled([...this.tasks]), sleep(CLOSE_GRACE_MS, grace.signal)]);
      grace.abort();
      if (this.tasks.size > 0)
        this.log.warn('exports still running at close; their batches stay queued and are sent again on restart', {
          inFlight: this.tasks.size,
        });
    }
    await this.store.close();
    this.logDrops(true);
    for (const w of [...this.drainWaiters]) w();
  }

  private isEmpty(): boolean {
    return this.records === 0 && this.reservedBytes === 0;
  }

  private push(e: E): void {
    this.pending.push(e);
    this.records += e.count;
    this.bytes += e.bytes;
  }

  private get waiting(): number {
    return this.pending.length - this.head;
  }

  private shift(): E {
    const e = this.pending[this.head] as E;
    this.pending[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
    return e;
  }

  private gauges(): void {
    this.m.records.set(this.records);
    this.m.bytes.set(this.bytes);
  }

  // ---- admission ----------------------------------------------------------------------------------------------

  private fits(bytes: number): boolean {
    const used = this.bytes + this.reservedBytes;
    // An append larger than the whole bound is let in when the queue is empty, or it would wait forever.
    return used + bytes <= this.opts.maxBytes || used === 0;
  }

  private admit(bytes: number): Promise<void> | void {
    if (this.spaceWaiters.length === 0 && this.fits(bytes)) {
      this.reservedBytes += bytes;
      return;
    }
    if (this.opts.whenFull === 'drop_oldest') {
      this.dropOldest(bytes);
      // Batches already being exported cannot be dropped; if they alone hold the space, the bound is exceeded
      // by at most maxInFlight batches rather than refusing new records.
      this.reservedBytes += bytes;
      return;
    }
    // FIFO: a later small append never overtakes an earlier large one.
    return new Promise((resolve, reject) => this.spaceWaiters.push({ bytes, resolve, reject }));
  }

  private onFree(): void {
    for (let w = this.spaceWaiters[0]; w && this.fits(w.bytes); w = this.spaceWaiters[0]) {
      this.spaceWaiters.shift();
      this.reservedBytes += w.bytes;
      w.resolve();
    }
  }

  private dropOldest(bytes: number): void {
    let count = 0;
    let batches = 0;
    while (!this.fits(bytes) && this.waiting > 0) {
      const e = this.shift();
      this.finish([e]);
      count += e.count;
      batches++;
    }
    if (batches === 0) return;
    this.m.droppedFull.inc(count);
    this.dropNote.records += count;
    this.dropNote.batches += batches;
    this.logDrops(false);
  }

  private logDrops(force: boolean): void {
    const now = Date.now();
    if (this.dropNote.records === 0 || (!force && now - this.dropNote.lastLogAt < DROP_LOG_INTERVAL_MS)) return;
    this.log.warn('queue full: dropped the oldest batches (whenFull: drop_oldest)', {
      droppedRecords: this.dropNote.records,
      droppedBatches: this.dropNote.batches,
      maxBytes: this.opts.maxBytes,
    });
    this.dropNote = { records: 0, batches: 0, lastLogAt: now };
  }

  /** Entries leave the queue for good. */
  private finish(entries: E[]): void {
    if (entries.length === 0) return;
    this.store.release(entries);
    for (const e of entries) {
      this.records -= e.count;
      this.bytes -= e.bytes;
    }
    this.gauges();
    this.onFree();
    this.notifyIfEmpty();
  }

  private notifyIfEmpty(): void {
    if (this.isEmpty()) for (const w of [...this.drainWaiters]) w();
  }

  // ---- consumer -----------------------------------------------------------------------------------------------

  private pump(): void {
    if (!this.started || this.closed) return;
    while (this.inFlight < this.maxInFlight && this.waiting > 0) {
      const batch = this.take();
      this.inFlight++;
      const task: Promise<void> = this.deliver(batch)
        .catch((err: unknown) => this.log.error('delivery failed unexpectedly; batch stays queued', { err }))
        .finally(() => {
          this.inFlight--;
          this.tasks.delete(task);
          this.pump();
        });
      this.tasks.add(task);
    }
  }

  /** Oldest entries up to maxBatchRecords records; always at least one entry (a frame is never split). */
  private take(): E[] {
    const batch = [this.shift()];
    let count = batch[0]!.count;
    // A sealed stream sent as records (the store) gets one frame per export: the exporter groups a request's records
    // by resource, which would reorder the numbers of two frames; payloads are concatenated as they are.
    if (this.exporter.seal && !this.exporter.payload) return batch;
    while (this.waiting > 0) {
      const next = this.pending[this.head] as E;
      if (count + next.count > this.opts.maxBatchRecords) break;
      batch.push(this.shift());
      count += next.count;
    }
    return batch;
  }

  private async deliver(batch: E[]): Promise<void> {
    const signal = this.abort.signal;
    const loaded = await this.load(batch, signal);
    if (!loaded) return; // closing: the batch stays in the store
    const parts: StoredBatch[] = [];
    const unreadable: E[] = [];
    const readable: E[] = [];
    loaded.forEach((b, i) => {
      if (b) {
        parts.push(b);
        readable.push(batch[i] as E);
      } else unreadable.push(batch[i] as E);
    });
    this.finish(unreadable);
    if (parts.length === 0) return this.finish(readable);
    const call = this.exportCall(parts, readable);
    if (!call) return this.finish(readable);
    const n = call.records;
    if (n === 0) return this.finish(readable);

    for (let attempt = 0; ;) {
      if (signal.aborted) return;
      const t0 = performance.now();
      let res: ExportResult;
      try {
        res = await call.send(signal);
      } catch (err) {
        res = { code: 'retryable', error: `exporter threw: ${err instanceof Error ? err.message : String(err)}` };
      }
      if (!isExportResult(res))
        res = { code: 'retryable', error: `exporter returned an invalid result: ${safeJson(res)}` };
      this.m.latency.labels(this.name, res.code).observe((performance.now() - t0) / 1000);

      if (res.code === 'success') {
        const rejected = Math.min(n, Math.max(0, Math.floor(res.rejected ?? 0)));
        this.m.exported.inc(n - rejected);
        if (rejected > 0) {
          this.m.rejected.inc(rejected);
          this.log.warn('backend refused part of a batch (partial success)', {
            rejected,
            records: n,
            message: res.message ?? '',
          });
        }
        if (attempt > 0) this.log.info('export succeeded after retries', { retries: attempt, records: n });
        return this.finish(readable);
      }
      if (res.code === 'permanent') {
        this.m.rejected.inc(n);
        this.log.error('backend refused a batch permanently; dropped', { records: n, reason: res.error });
        return this.finish(readable);
      }
      if (signal.aborted) return;
      attempt++;
      this.m.retried.inc();
      const delayMs = backoffDelay(attempt, this.opts.retry, res.retryAfterMs);
      // First failure and every 10th: a backend that is down for an hour should not flood the log.
      const level = attempt === 1 || attempt % 10 === 0 ? 'warn' : 'debug';
      this.log[level]('export failed, will retry', {
        error: res.error,
        attempt,
        delayMs: Math.round(delayMs),
        records: n,
      });
      await sleep(delayMs, signal);
    }
  }

  /**
   * One export of the loaded entries, in the exporter's form: payloads concatenated (records queued by an older
   * run or for another exporter are encoded now), or records (payloads from an older run decoded back). Undefined,
   * with the records counted as rejected, when nothing can be sent.
   */
  private exportCall(
    parts: StoredBatch[],
    entries: E[],
  ): { records: number; send: (signal: AbortSignal) => Promise<ExportResult> } | undefined {
    const codec = this.exporter.payload;
    try {
      if (codec) {
        let count = 0;
        for (const e of entries) count += e.count;
        const bodies = parts.map((p) => (p instanceof Uint8Array ? p : codec.encode(p)));
        const body = bodies.length === 1 ? (bodies[0] as Uint8Array) : Buffer.concat(bodies);
        return { records: count, send: (signal) => codec.export(body, count, signal) };
      }
      const records: KataLogRecord[] = [];
      for (const p of parts) for (const r of p instanceof Uint8Array ? decodeLogsProto(p) : p) records.push(r);
      return { records: records.length, send: (signal) => this.exporter.export(records, signal) };
    } catch (err) {
      let count = 0;
      for (const e of entries) count += e.count;
      this.m.rejected.inc(count);
      this.log.error('a queued batch cannot be prepared for export; dropped', { records: count, err });
      return undefined;
    }
  }

  /** Reads the batch; a read error (not corruption: EIO, EMFILE) is retried with backoff, never dropped. */
  private async load(batch: E[], signal: AbortSignal): Promise<(StoredBatch | null)[] | undefined> {
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        return await this.store.load(batch);
      } catch (err) {
        if (signal.aborted) return undefined;
        this.log.error('could not read queued batch; will retry', { err, attempt });
        await sleep(backoffDelay(attempt, this.opts.retry), signal);
      }
    }
    return undefined;
  }
}

function isExportResult(r: unknown): r is ExportResult {
  if (typeof r !== 'object' || r === null) return false;
  const code = (r as { code?: unknown }).code;
  return code === 'success' || code === 'retryable' || code === 'permanent';
}

function safeJson(v: unknown): string {
  try {
    return String(JSON.stringify(v)).slice(0, 200);
  } catch {
    return String(v);
  }
}
