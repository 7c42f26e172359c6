// The checkpointer: a file's offset is persisted only past what is durably queued. Reading marks where each file
// will resume once the batch being built is delivered (`mark`); `handOff` sends the batch, and only after
// `ctx.emit` resolved for it (the batch is in the delivery queue) do its marks become the files' committed offsets
// and is the checkpoint rewritten (atomically: checkpoint.ts). A rejected or abandoned batch moves nothing, so a
// restart reads it again (at-least-once; the Collector's filelog commits on emit and loses data, see
// open-telemetry/opentelemetry-collector-contrib#31074).
//
// Pipelined (SourceContext.pipelined): a full batch in the middle of a read is handed off while the one before it
// is still being written downstream, at most two in flight. Each batch carries the previous batch's checkpoint
// write as its durability barrier (SourceBatch.after), so a crash still re-reads at most one batch; on a backlog
// those fsyncs were a third of the wall time (bench/README.md).
import { checkpointPath, readCheckpoint, writeCheckpoint } from '../checkpoint.js';
import type { SourceBatch, SourceContext } from '../types.js';
import { deliver, HandOffStopped, type Delivery } from './deliver.js';
import type { Problems } from './problems.js';
import type { CheckpointEntry, CheckpointFiles } from './tracker.js';

/** Checkpoint file content. `files` maps a fingerprint key to where reading resumes. */
export interface FileCheckpoint {
  version: 1;
  files: Record<string, CheckpointEntry>;
}

/** What the checkpointer moves: an identity's committed offset (FileTracker's Tracked). */
export interface Committable {
  committed: number;
}

/** What the checkpointer writes (FileTracker): the identities, and whether they changed besides their offsets. */
export interface CheckpointSubject {
  /** One entry per identity, `offset` its committed offset. */
  snapshot(): CheckpointFiles;
  /** True once after paths, fingerprints or the set of identities changed. */
  takeChanged(): boolean;
}

export interface CheckpointerOptions {
  /** Source name: checkpoint file name. */
  name: string;
  ctx: Pick<SourceContext, 'emit' | 'signal' | 'checkpointDir'>;
  /** After shutdown began, how long a pending emit may take before the batch is given up (deliver.ts). */
  drainMs: number;
  subject: CheckpointSubject;
  problems: Problems;
}

/** A batch handed off and not settled yet. */
interface InFlight<T> {
  handoff: Promise<Delivery>;
  /** Offsets that become durable with this batch. */
  marks: Map<T, number>;
  /** Resolves once the checkpoint covering this batch is on disk: the next batch's durability barrier. */
  persisted: Deferred;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A barrier nobody waits for (the last batch) must not surface as an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export class Checkpointer<T extends Committable> {
  readonly path: string;
  /** Offsets reached by the batch being built (they become durable with it). */
  private marks = new Map<T, number>();
  /** Batches handed off and not settled yet, oldest first (at most two). */
  private inflight: InFlight<T>[] = [];
  /** The checkpoint writes, chained (they never overlap each other); resolves when the last one is done. */
  private persisting: Promise<void> = Promise.resolve();
  private lastPersisted = '';
  /** A committed offset moved, or a write failed, since the last write. */
  private dirty = false;

  constructor(private readonly o: CheckpointerOptions) {
    this.path = checkpointPath(o.ctx.checkpointDir, o.name);
  }

  /** The checkpoint as last written; an unreadable one is an error message (the source starts without it). */
  async load(): Promise<{ ok: true; files: CheckpointFiles | undefined } | { ok: false; error: string }> {
    const r = await readCheckpoint<FileCheckpoint>(this.path);
    if (!r.ok) return r;
    const files = r.value?.files;
    if (!files || typeof files !== 'object') return { ok: true, files: undefined };
    this.lastPersisted = JSON.stringify(r.value);
    return { ok: true, files };
  }

  /** `t` resumes at `offset` once the batch being built (and everything before it) is delivered. */
  mark(t: T, offset: number): void {
    this.marks.set(t, offset);
  }

  /**
   * Hand `batch` downstream (undefined: nothing new, the marks ride on the last batch in flight or are durable
   * already); once it is durable, commit the offsets it covers and persist.
   *
   * `overlap` (a full batch in the middle of a read, and a pipelined context): up to two batches stay in flight and
   * this returns once the oldest settled; the checkpoint write is chained, not awaited. Without `overlap` (end of a
   * poll or of the input) everything is settled and the checkpoint is on disk when this returns. Throws
   * HandOffStopped when a batch was not delivered: nothing from it on is committed.
   */
  async handOff(batch: SourceBatch | undefined, overlap = false): Promise<void> {
    const marks = this.marks;
    this.marks = new Map();
    if (batch) {
      const prev = this.inflight[this.inflight.length - 1];
      batch.after = prev ? prev.persisted.promise : this.persisting;
      this.inflight.push({ handoff: deliver(this.o.ctx, batch, this.o.drainMs), marks, persisted: deferred() });
    } else {
      const last = this.inflight[this.inflight.length - 1];
      for (const [t, off] of marks) {
        if (last) last.marks.set(t, Math.max(last.marks.get(t) ?? 0, off));
        else this.commit(t, off);
      }
    }
    while (this.inflight.length > (overlap ? 1 : 0)) await this.settleOldest();
    if (!overlap) {
      this.persisting = this.persisting.then(() => this.persist());
      await this.persisting;
    }
  }

  /**
   * Stopping: batches still in flight were not confirmed, so their records are not queued (their barrier fails)
   * and their entries are read again after a restart. Call before closing the files, then `finish`.
   */
  abandon(why: string): void {
    for (const f of this.inflight.splice(0)) f.persisted.reject(new Error(why));
  }

  /** Wait for the chained writes and write what is still unwritten. */
  async finish(): Promise<void> {
    await this.persisting;
    await this.persist();
  }

  /** Wait for the oldest batch in flight; it is durable: commit its marks and write the checkpoint (not awaited). */
  private async settleOldest(): Promise<void> {
    const f = this.inflight.shift() as InFlight<T>;
    const d = await f.handoff;
    if (!d.ok) {
      const stop = new HandOffStopped(d);
      // The batches behind it must not become durable either: their barrier fails, so they are not queued.
      f.persisted.reject(stop);
      for (const g of this.inflight.splice(0)) g.persisted.reject(stop);
      throw stop;
    }
    for (const [t, off] of f.marks) this.commit(t, off);
    this.persisting = this.persisting.then(() => this.persist());
    this.persisting.then(f.persisted.resolve, f.persisted.reject);
  }

  private commit(t: T, off: number): void {
    if (off > t.committed) {
      t.committed = off;
      this.dirty = true;
    }
  }

  /** Write the checkpoint if it changed. A failed write is reported and retried later (more re-reading, no loss). */
  private async persist(): Promise<void> {
    const changed = this.o.subject.takeChanged();
    if (!this.dirty && !changed) return;
    this.dirty = false;
    const cp: FileCheckpoint = { version: 1, files: this.o.subject.snapshot() };
    const text = JSON.stringify(cp);
    if (text === this.lastPersisted) return;
    try {
      await writeCheckpoint(this.path, cp);
      this.lastPersisted = text;
      this.o.problems.clear(this.path);
    } catch (err) {
      this.dirty = true;
      this.o.problems.report(
        this.path,
        'checkpoint',
        `cannot write checkpoint ${this.path}: ${(err as Error).message}`,
        'check the data directory (space, permissions)',
      );
    }
  }
}
