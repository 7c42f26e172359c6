// The memory queue: records held as the exporter's payload (encoded once, when queued: far smaller than the
// objects, and nothing long-lived for the garbage collector to trace) or, for exporters without one, as objects
// bounded by an estimate of their size. Nothing survives the process: use it where losing the queue on exit is
// acceptable (tests, `--once` against a reachable backend).
import type { Exporter, PayloadCodec, Sealer } from '../exporters/types.js';
import type { KataLogRecord } from '../model/record.js';
import { encodeOrUndefined, QueueCore, type QueueStore, type StoredBatch, type StoredEntry } from './core.js';
import { resolveQueueOptions, type QueueDeps, type QueueOptionsInput } from './types.js';

export interface MemoryEntry extends StoredEntry {
  records?: KataLogRecord[];
  payload?: Uint8Array;
  /** Records still to be sealed (a sealing exporter): numbered when first taken for export. */
  unsealed?: boolean;
}

/**
 * A cheap estimate of a record's heap size: string lengths plus a fixed per-object overhead. Hot (once per record
 * appended), so no serialization; it only has to be proportional, the bound is not an exact memory limit.
 */
export function estimateRecordBytes(r: KataLogRecord): number {
  // `?.` and `?? 0`: a malformed record must not make append throw.
  let n = 120 + (r.body?.length ?? 0) + (r.severityText?.length ?? 0);
  if (r.eventName) n += r.eventName.length;
  if (r.traceId) n += 64;
  const attrs = r.attributes ?? {};
  for (const k in attrs) {
    const v = attrs[k];
    n += k.length + 24;
    if (typeof v === 'string') n += v.length;
    else if (Array.isArray(v)) for (const s of v) n += 16 + String(s).length;
    else n += 8;
  }
  return n;
}

export function estimateBatchBytes(records: KataLogRecord[]): number {
  let bytes = 0;
  for (const r of records) bytes += estimateRecordBytes(r);
  return bytes;
}

class MemoryStore implements QueueStore<MemoryEntry, MemoryEntry> {
  private resumed?: Promise<void>;

  constructor(
    private readonly codec: PayloadCodec | undefined,
    private readonly sealer: Sealer | undefined,
  ) {}

  prepare(records: KataLogRecord[]): MemoryEntry {
    // Sealed when taken: the take order is the delivery order (entries are held, then taken, first in first out).
    if (this.sealer) return { records, count: records.length, bytes: estimateBatchBytes(records), unsealed: true };
    if (this.codec) {
      const payload = encodeOrUndefined(this.codec, records);
      if (payload) return { payload, count: records.length, bytes: payload.length };
    }
    let bytes = 0;
    for (const r of records) bytes += estimateRecordBytes(r);
    return { records, count: records.length, bytes };
  }
  preparePayload(payload: Uint8Array, count: number): MemoryEntry {
    return { payload, count, bytes: payload.length };
  }
  commit(p: MemoryEntry): Promise<MemoryEntry> {
    return Promise.resolve(p);
  }
  async load(entries: MemoryEntry[]): Promise<StoredBatch[]> {
    const sealer = this.sealer;
    if (sealer && entries.some((e) => e.unsealed)) {
      await (this.resumed ??= sealer.resume(undefined));
      // Synchronous from here to the seals: two loads never interleave their numbers.
      for (const e of entries) {
        if (!e.unsealed) continue;
        const s = sealer.seal(e.records ?? []);
        e.unsealed = false;
        e.payload = s.payload;
        e.records = s.records;
        sealer.stored(s);
      }
      // Nothing survives this process but the head: saved before the numbers can reach a backend.
      await sealer.persist();
    }
    return entries.map((e) => e.payload ?? e.records ?? []);
  }
  release(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export class MemoryQueue extends QueueCore<MemoryEntry, MemoryEntry> {
  constructor(opts: QueueOptionsInput, exporter: Exporter, deps: Omit<QueueDeps, 'dataDir'>) {
    super(
      resolveQueueOptions({ ...opts, kind: 'memory' }),
      exporter,
      deps,
      new MemoryStore(exporter.payload, exporter.seal),
    );
  }
}
