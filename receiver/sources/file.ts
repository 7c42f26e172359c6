// The file source: tails files matched by globs, through rotation, with a checkpoint that only moves after
// `await ctx.emit(batch)` resolved (at-least-once; the Collector's filelog commits on emit and loses data, see
// open-telemetry/opentelemetry-collector-contrib#31074). Design notes, rotation cases and loss windows:
// receiver/sources/file/README.md.
//
// Poll, don't watch: fs.watch misses events across renames and on overlay filesystems; the Collector and Vector
// poll too. Each poll lists the include patterns' base directories, stats what matched, and:
//  1. checks every open file through its own descriptor: still at a matched path (else "orphan": renamed out of
//     the patterns or deleted, read to its end through the descriptor, closed after it stays idle), shrunk below
//     the read offset or rewritten in place (copy-truncate: continue from the rotated copy when the patterns
//     match it, else the old content is finished),
//  2. fingerprints files not open (first `fingerprintBytes` bytes, read once per size/mtime change): a copy of an
//     open file is skipped, a known fingerprint resumes at its offset, anything else is a new file (read from its
//     beginning, or from `startAt` for what is there at the first poll),
//  3. reads appended bytes, frames entries, emits full batches (awaiting each: backpressure), flushes a last line
//     without newline after `flushTimeoutMs` without growth, and commits + persists offsets after each emit.
// While a poll reads and emits (which can take long), a discovery loop keeps opening new files every
// pollIntervalMs: holding the descriptor early is what makes a later rename or deletion harmless.
import type { Stats } from 'node:fs';
import { constants, existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { nowUnixNano, type Attributes } from '../model/record.js';
import { sleep } from '../queue/backoff.js';
import {
  ATTR_KATA_LOG_TRUNCATED,
  ATTR_LOG_FILE_NAME,
  ATTR_LOG_FILE_PATH,
  ATTR_LOG_RECORD_UID,
} from '../semconv/generated.js';
import type { Logger } from '../telemetry/log.js';
import { checkpointPath, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, deliver, HandOffStopped, type Delivery } from './file/deliver.js';
import {
  fingerprintId,
  fingerprintKey,
  isPrefixOf,
  keyLength,
  prefixMatch,
  readHead,
  recordUid,
} from './file/fingerprint.js';
import { EntryFramer, type AssemblerFactory, type FramedEntry } from './file/framer.js';
import { GlobSet, type PatternProblem } from './file/glob.js';
import { DEFAULT_MAX_LINE_BYTES } from './lines.js';
import type { RawEntry, Source, SourceBatch, SourceContext } from './types.js';

export type { AssemblerFactory, EntryAssembler } from './file/framer.js';

export interface FileSourceOptions {
  /** Glob patterns (picomatch) of files to read; relative patterns are resolved against the working directory. */
  include: string[];
  exclude?: string[];
  /** Where to start in a file present at the first poll that has no checkpoint. Default 'end'. */
  startAt?: 'beginning' | 'end';
  pollIntervalMs?: number;
  /** Bytes at the start of a file that identify it. Default 1024. */
  fingerprintBytes?: number;
  /** Longer lines are cut (kata.log.truncated). Default 1 MiB. */
  maxLineBytes?: number;
  /** A last line without newline is emitted after this long without growth. Default 500 ms. */
  flushTimeoutMs?: number;
  maxOpenFiles?: number;
  batchMaxEntries?: number;
  /** Approximate (UTF-16 code units of the entry texts). Default 1 MiB. */
  batchMaxBytes?: number;
  /** Static attributes on every batch. */
  attributes?: Attributes;
  /** Multi-line grouping; default: every line is one entry. */
  assembler?: AssemblerFactory;
  /** Source name: metrics label, log field, checkpoint file name. Default 'file'. */
  name?: string;
  /** After shutdown began, how long a pending emit may take before the source stops waiting (uncommitted). Default 5 s. */
  drainTimeoutMs?: number;
  /** Forget the checkpoint of a file not seen for this long. Default 24 h. */
  forgetAfterMs?: number;
  /** Most file checkpoints kept (the least recently seen go first). Default 4096. */
  maxCheckpoints?: number;
  /** Directories a symbolic link in a watched directory may point into; other links are not followed. Default none. */
  followSymlinks?: string[];
}

/** A literal input path (a file named on the command line) that does not exist. */
export class SourceInputError extends Error {
  constructor(readonly paths: string[]) {
    super(
      `input file${paths.length > 1 ? 's' : ''} not found: ${paths.join(', ')} (check the path, or quote a glob so the shell does not expand it)`,
    );
    this.name = 'SourceInputError';
  }
}

export interface FileSourceStats {
  /** Descriptors held now. */
  openFiles: number;
  /** Files with a known identity (open, closed, or loaded from the checkpoint). */
  trackedFiles: number;
  /** Errors logged (permission denied, directories, patterns without match, read errors). */
  errors: number;
  /** Bytes of the tracked files not read yet (size last seen − read position): progress and ETA of an import. */
  bytesLeft: number;
}

/** Checkpoint file content. `files` maps a fingerprint key to where reading resumes. */
export interface FileCheckpoint {
  version: 1;
  files: Record<string, { path: string; offset: number; inode: number; dev: number; birth?: number; seen: number }>;
}

const READ_CHUNK = 128 * 1024;
/** Bytes read from one file per poll before the others get their turn (a large backlog must not starve them). */
const READ_BUDGET = 8 * 1024 * 1024;
/** `--once`: bytes the largest file advances per turn when several files are read side by side. */
const ONCE_TURN_BYTES = 1024 * 1024;

/** One file identity (a fingerprint) and, while it is open, its reader. */
interface Tracked {
  key: string;
  /** Fingerprint bytes; undefined for a checkpoint loaded from disk and not matched to a file yet. */
  fp: Buffer | undefined;
  fpLen: number;
  path: string;
  name: string;
  dev: number;
  ino: number;
  /** Creation time (ms), 0 when unknown: tells a new file from a deleted one whose inode number it reuses. */
  birthMs: number;
  /** Where reading resumes when (re)opened: the durable offset at close time. */
  offset: number;
  /** Offset persisted in the checkpoint: every entry before it was delivered. */
  committed: number;
  /** Last time (ms) the file was seen at a matched path. */
  seen: number;
  /** 64-bit id of the whole current fingerprint (uid prefix of entries past it). */
  fullId?: string;
  // Open state
  fh?: FileHandle;
  framer?: EntryFramer;
  pos: number;
  size: number;
  mtimeMs: number;
  lastGrowth: number;
  lastActive: number;
  /** Not at any matched path any more (renamed out of the patterns, or deleted). */
  orphanSince?: number;
  deleted: boolean;
  /** The path this open file was renamed (or deleted) away from: a file appearing there is new, not a copy. */
  vacated?: string;
}

/** A matched file not open, with its fingerprint. */
interface Candidate {
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  /** Creation time (statx btime), 0 where the file system does not keep it. */
  birthMs?: number;
  fp: Buffer;
  /** Descriptor opened for fingerprinting (handed to the reader or closed). */
  fh?: FileHandle;
}

/** What was last learned about a file that is not open, so an unchanged file is not reopened every poll. */
interface Memo {
  size: number;
  mtimeMs: number;
  fp: Buffer;
  tracked?: Tracked;
  /** A copy of this open file: look again once it is closed. */
  dupOf?: Tracked;
}

const devIno = (dev: number, ino: number) => `${dev}:${ino}`;

/** A batch handed off and not settled yet (emitBatch). */
interface InFlight {
  handoff: Promise<Delivery>;
  /** Checkpoint marks that become durable with this batch. */
  marks: Map<Tracked, number>;
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

export class FileSource implements Source {
  readonly name: string;
  private readonly globs: GlobSet;
  private readonly startAt: 'beginning' | 'end';
  private readonly pollMs: number;
  private readonly fpBytes: number;
  private readonly maxLineBytes: number;
  private readonly flushMs: number;
  private readonly maxOpen: number;
  private readonly batchMaxEntries: number;
  private readonly batchMaxBytes: number;
  private readonly drainMs: number;
  private readonly forgetAfterMs: number;
  private readonly maxCheckpoints: number;
  /** An orphan (renamed out / deleted) is closed after it stayed this long without growth. */
  private readonly orphanLingerMs: number;

  private readonly trackers = new Set<Tracked>();
  private readonly byKey = new Map<string, Tracked>();
  /** Fingerprint lengths among keys, with counts (a shorter key matches a file that grew since). */
  private readonly keyLengths = new Map<number, number>();
  private readonly open = new Set<Tracked>();
  private readonly memo = new Map<string, Memo>();
  /** Files opened by discovery during a long poll, adopted by the next poll. */
  private readonly discovered = new Map<string, Candidate>();
  private polling = false;
  private transientFds = 0;
  /** Files present at the first poll (they follow startAt). */
  private initial: Set<string> | undefined;
  private readonly reported = new Map<string, string>();
  private errorCount = 0;
  private readonly buf = Buffer.allocUnsafe(READ_CHUNK);

  private batch: RawEntry[] = [];
  private batchBytes = 0;
  private batchObserved = 0n;
  private marks = new Map<Tracked, number>();
  private lastPersisted = '';
  /** The checkpoint writes, chained (they never overlap each other); resolves when the last one is done. */
  private persisting: Promise<void> = Promise.resolve();
  /** Batches handed off and not settled yet, oldest first (at most two: emitBatch). */
  private inflight: InFlight[] = [];
  private dirty = false;

  private ctx!: SourceContext;
  private log!: Logger;
  private cpPath = '';

  constructor(private readonly opts: FileSourceOptions) {
    if (!Array.isArray(opts.include) || opts.include.length === 0) {
      throw new TypeError('FileSource: `include` needs at least one path or glob, e.g. ["/var/log/kata/*.log"]');
    }
    this.name = opts.name ?? 'file';
    this.globs = new GlobSet(opts.include, opts.exclude ?? [], opts.followSymlinks ?? []);
    this.startAt = opts.startAt ?? 'end';
    this.pollMs = Math.max(1, opts.pollIntervalMs ?? 200);
    this.fpBytes = Math.max(16, opts.fingerprintBytes ?? 1024);
    this.maxLineBytes = Math.max(1, opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.flushMs = Math.max(0, opts.flushTimeoutMs ?? 500);
    this.maxOpen = Math.max(1, opts.maxOpenFiles ?? 256);
    this.batchMaxEntries = Math.max(1, opts.batchMaxEntries ?? 1024);
    this.batchMaxBytes = Math.max(1, opts.batchMaxBytes ?? 1024 * 1024);
    this.drainMs = Math.max(0, opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
    this.forgetAfterMs = opts.forgetAfterMs ?? 24 * 3600 * 1000;
    this.maxCheckpoints = Math.max(1, opts.maxCheckpoints ?? 4096);
    this.orphanLingerMs = Math.max(1000, 5 * this.pollMs, this.flushMs);
  }

  /** Literal include paths (no glob characters) that do not exist now. */
  missingInputs(): string[] {
    return this.globs.literalPaths().filter((p) => !existsSync(p));
  }

  /**
   * Call before `run` when the inputs come from the command line: throws SourceInputError naming every literal
   * path that does not exist (the CLI turns it into a non-zero exit). Globs without matches are not errors here.
   */
  validate(): void {
    const missing = this.missingInputs();
    if (missing.length > 0) throw new SourceInputError(missing);
  }

  stats(): FileSourceStats {
    let bytesLeft = 0;
    for (const t of this.trackers) bytesLeft += Math.max(0, t.size - t.pos);
    return { openFiles: this.open.size, trackedFiles: this.trackers.size, errors: this.errorCount, bytesLeft };
  }

  async run(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.logger.child({ source: this.name });
    this.cpPath = checkpointPath(ctx.checkpointDir, this.name);
    await this.loadCheckpoint();
    try {
      if (ctx.once) await this.runOnce();
      else await this.follow();
      await this.emitBatch();
    } catch (err) {
      if (!(err instanceof HandOffStopped)) throw err;
      if (!ctx.signal.aborted) ctx.metrics.sourceErrors.inc({ source: this.name });
      if (!ctx.signal.aborted) this.log.error('file source stopped: batch not delivered', { error: err.message });
      else this.log.info('file source stopped with a batch not delivered; it is read again after a restart');
    } finally {
      // Batches still in flight were not confirmed: their records are not queued (their barrier fails) and their
      // entries are read again after a restart.
      for (const f of this.inflight.splice(0)) f.persisted.reject(new Error(`source ${this.name} stopped`));
      for (const t of [...this.open]) await this.close(t);
      await this.persisting;
      await this.persist();
    }
  }

  // ── modes ───────────────────────────────────────────────────────────────────────────────────────────────

  private async follow(): Promise<void> {
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, this.ctx.signal]);
    const discovery = this.discover(signal);
    try {
      while (!this.ctx.signal.aborted) {
        const more = await this.poll();
        if (!more) await sleep(this.pollMs, this.ctx.signal);
      }
    } finally {
      stop.abort();
      await discovery;
      for (const c of this.discovered.values()) await c.fh?.close().catch(() => undefined);
      this.discovered.clear();
    }
  }

  /**
   * While a poll is busy (a backlog, a slow emit), keep grabbing descriptors of new files every pollIntervalMs:
   * once a file is open, a rename or deletion no longer matters, so a file created and rotated away during a
   * long poll is not lost. The next poll adopts what was found here.
   */
  private async discover(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.pollMs, signal);
      if (!this.polling || signal.aborted) continue;
      const { files } = await this.globs.expand();
      const claimed = new Set([...this.open].map((t) => devIno(t.dev, t.ino)));
      for (const [path, st] of files) {
        const di = devIno(st.dev, st.ino);
        if (st.size === 0 || claimed.has(di) || this.discovered.has(di)) continue;
        const m = this.memo.get(di);
        if (m && m.size === st.size && m.mtimeMs === st.mtimeMs) continue;
        if (this.fdsInUse() >= this.maxOpen || signal.aborted) break;
        const c = await this.fingerprint(path);
        if (!c) continue;
        const cdi = devIno(c.dev, c.ino);
        if (this.discovered.has(cdi) || [...this.open].some((t) => t.dev === c.dev && t.ino === c.ino))
          await c.fh?.close().catch(() => undefined);
        else this.discovered.set(cdi, c);
      }
    }
  }

  /** Read every matched file to its current end, one at a time, flushing its last line and the assembler. */
  private async runOnce(): Promise<void> {
    const { files, problems } = await this.globs.expand();
    this.reportProblems(problems, true);
    this.initial = new Set([...files.values()].map((st) => devIno(st.dev, st.ino)));
    const sorted = [...files].sort((a, b) => a[0].localeCompare(b[0]));
    for (let g = 0; g < sorted.length; g += this.maxOpen) {
      const group: Tracked[] = [];
      for (const [path, st] of sorted.slice(g, g + this.maxOpen)) {
        if (this.ctx.signal.aborted) return;
        if (st.size === 0) continue;
        const c = await this.fingerprint(path);
        if (!c) continue;
        const t = await this.openCandidate(c);
        if (t) group.push(t);
      }
      await this.readSideBySide(group);
      if (this.ctx.signal.aborted) return;
    }
    this.prune(Date.now());
  }

  /**
   * Read the files to their end side by side, each turn a share proportional to what each had left, rather than
   * one after the other: the shim's and containerd's copies of the same records are in different files, and
   * duplicate suppression only sees both copies when they are read close together (its window is bounded).
   */
  private async readSideBySide(group: Tracked[]): Promise<void> {
    const start = group.map((t) => t.pos);
    const left = group.map((t) => Math.max(0, t.size - t.pos));
    const largest = Math.max(1, ...left);
    let live = group.map((_, i) => i);
    for (let turn = 1; live.length > 0; turn++) {
      const next: number[] = [];
      for (const i of live) {
        const t = group[i] as Tracked;
        let more = false;
        try {
          const target = (start[i] as number) + ((left[i] as number) * turn * ONCE_TURN_BYTES) / largest;
          more = await this.readAvailable(t, Math.max(1, target - t.pos));
          if (this.ctx.signal.aborted) return;
          if (!more) await this.flushTracked(t);
        } catch (err) {
          if (err instanceof HandOffStopped) throw err;
          this.report(
            t.path,
            'read',
            `cannot read ${t.path}: ${(err as Error).message}`,
            'check the file and its disk',
          );
        }
        if (more) next.push(i);
        else await this.close(t);
      }
      live = next;
    }
  }

  /** One poll; returns true when a file still has bytes to read right away (skip the sleep). */
  private async poll(): Promise<boolean> {
    try {
      return await this.pollOnce();
    } finally {
      this.polling = false;
    }
  }

  private async pollOnce(): Promise<boolean> {
    const now = Date.now();
    const { files, problems } = await this.globs.expand();
    this.reportProblems(problems, false);
    const atPath = new Map<string, string>();
    for (const [path, st] of files) atPath.set(devIno(st.dev, st.ino), path);
    if (!this.initial) {
      this.initial = new Set();
      for (const st of files.values()) if (st.size > 0) this.initial.add(devIno(st.dev, st.ino));
    }

    // 1. Open files, through their descriptors (concurrently: a poll must stay short with many files open, or a
    //    file created and rotated away between two polls is never seen).
    const opened = [...this.open];
    for (const t of opened) {
      const p = atPath.get(devIno(t.dev, t.ino));
      if (p !== undefined) {
        if (p !== t.path) t.vacated = t.path;
        this.setPath(t, p);
        t.seen = now;
        t.orphanSince = undefined;
      } else if (t.orphanSince === undefined) {
        t.vacated = t.path;
        t.orphanSince = now;
      }
    }
    const intact = await Promise.all(opened.map((t) => this.checkOpen(t)));
    const truncated = opened.filter((_, i) => !intact[i]);
    const claimed = new Set<string>();
    for (const t of this.open) if (!truncated.includes(t)) claimed.add(devIno(t.dev, t.ino));

    // 2. Files not open: fingerprint what changed since last time (or take what discovery already opened), as
    //    far as maxOpenFiles allows; the rest waits for step 4 to make room.
    const fresh: Candidate[] = [...this.discovered.values()];
    this.discovered.clear();
    const early = new Set(fresh.map((c) => devIno(c.dev, c.ino)));
    const known: Candidate[] = [];
    const deferred: string[] = [];
    for (const [path, st] of files) {
      const di = devIno(st.dev, st.ino);
      if (claimed.has(di) || early.has(di) || st.size === 0) continue;
      const m = this.memo.get(di);
      if (m && m.size === st.size && m.mtimeMs === st.mtimeMs && (!m.dupOf || m.dupOf.fh)) {
        if (m.tracked) m.tracked.seen = now;
        known.push({
          path,
          dev: st.dev,
          ino: st.ino,
          size: st.size,
          mtimeMs: st.mtimeMs,
          birthMs: st.birthtimeMs,
          fp: m.fp,
        });
        continue;
      }
      if (this.fdsInUse() + fresh.length >= this.maxOpen) {
        deferred.push(path);
        continue;
      }
      const c = await this.fingerprint(path);
      if (c) fresh.push(c);
    }
    for (const di of this.memo.keys()) if (!atPath.has(di)) this.memo.delete(di);

    // 3. Copy-truncate: the old content continues in the rotated copy when the patterns match it.
    for (const t of truncated) await this.onTruncated(t, fresh, known);

    // 4. New or known identities. Each fresh candidate holds a descriptor already counted against the cap.
    const adopt = async (c: Candidate) => {
      if (this.ctx.signal.aborted || claimed.has(devIno(c.dev, c.ino))) {
        await c.fh?.close().catch(() => undefined);
        return;
      }
      // Not at the path an open file was renamed away from: that is the writer's new file (rotation), whatever its
      // first bytes (a banner), not a copy.
      const dupOf = [...this.open].find((t) => t.fp && t.vacated !== c.path && isPrefixOf(c.fp, t.fp));
      if (dupOf) {
        // A copy of an open file (logrotate copytruncate before the truncate, or cp): one identity, read once.
        this.log.debug('file is a copy of an open file: not read', { path: c.path, of: dupOf.path });
        this.memo.set(devIno(c.dev, c.ino), { size: c.size, mtimeMs: c.mtimeMs, fp: c.fp, dupOf });
        await c.fh?.close().catch(() => undefined);
        return;
      }
      const t = await this.openCandidate(c);
      if (t) claimed.add(devIno(t.dev, t.ino));
    };
    for (const c of fresh) await adopt(c);
    for (const path of deferred) {
      if (this.ctx.signal.aborted) break;
      if (this.fdsInUse() >= this.maxOpen && !(await this.evictOne(now))) break; // the next poll tries again
      const c = await this.fingerprint(path);
      if (c) await adopt(c);
    }

    // 5. Read what grew (sizes from step 1; a file opened in step 4 has its size from its fingerprinting).
    //    Reading and emitting can take long: discovery keeps grabbing new files meanwhile.
    this.polling = true;
    let more = false;
    for (const t of [...this.open]) {
      if (this.ctx.signal.aborted) return false;
      if (t.size <= t.pos) continue;
      try {
        if (await this.readAvailable(t)) more = true;
      } catch (err) {
        if (err instanceof HandOffStopped) throw err;
        this.report(t.path, 'read', `cannot read ${t.path}: ${(err as Error).message}`, 'check the file and its disk');
        await this.close(t);
      }
    }

    // 6. Idle files: flush a last line without newline; close orphans that stopped growing.
    const later = Date.now();
    for (const t of [...this.open]) {
      if (this.ctx.signal.aborted) return false;
      const idle = later - t.lastGrowth;
      if (t.orphanSince !== undefined && later - Math.max(t.lastGrowth, t.orphanSince) >= this.orphanLingerMs) {
        await this.flushTracked(t);
        await this.close(t);
        if (t.deleted) this.forget(t); // its identity is gone for good
      } else if (idle >= this.flushMs && t.framer?.hasPending() && t.pos >= t.size) {
        await this.flushTracked(t);
      }
    }

    this.prune(later);
    await this.emitBatch();
    return more;
  }

  // ── per file ────────────────────────────────────────────────────────────────────────────────────────────

  /** Stat an open file by descriptor; false when its content was truncated or rewritten (copy-truncate). */
  private async checkOpen(t: Tracked): Promise<boolean> {
    const fh = t.fh as FileHandle;
    let st: Stats;
    try {
      st = await fh.stat();
    } catch {
      return true;
    }
    t.deleted = st.nlink === 0;
    if (st.size < t.pos) return false;
    if (st.size === t.size && st.mtimeMs === t.mtimeMs) return true;
    t.size = st.size;
    t.mtimeMs = st.mtimeMs;
    // A file renamed out of the patterns or deleted is only read to its end, not checked for truncation.
    if (t.orphanSince !== undefined && t.fp && t.fp.length >= this.fpBytes) return true;
    const head = await readHead(fh, Math.min(this.fpBytes, st.size));
    const fp = t.fp as Buffer;
    if (head.length < fp.length || head.compare(fp, 0, fp.length, 0, fp.length) !== 0) return false;
    if (head.length > fp.length) this.setFingerprint(t, head);
    return true;
  }

  private async onTruncated(t: Tracked, fresh: Candidate[], known: Candidate[]): Promise<void> {
    const fp = t.fp as Buffer;
    const isCopy = (c: Candidate) => (c.dev !== t.dev || c.ino !== t.ino) && c.size >= t.pos && prefixMatch(c.fp, fp);
    const copy = fresh.find(isCopy) ?? known.find(isCopy);
    if (copy) {
      let fh = copy.fh;
      try {
        fh ??= await this.openChecked(copy.path);
        if (!fh) throw new Error('not readable');
        const st = await fh.stat();
        if (st.dev === copy.dev && st.ino === copy.ino) {
          await t.fh?.close().catch(() => undefined);
          t.fh = fh;
          t.dev = st.dev;
          t.ino = st.ino;
          t.birthMs = st.birthtimeMs;
          t.size = st.size;
          t.mtimeMs = st.mtimeMs;
          this.setPath(t, copy.path);
          const i = fresh.indexOf(copy);
          if (i >= 0) fresh.splice(i, 1);
          this.memo.delete(devIno(st.dev, st.ino));
          this.log.info('file truncated in place (copy-truncate): reading the rest from its rotated copy', {
            path: t.path,
            offset: t.pos,
          });
          return;
        }
        await fh.close().catch(() => undefined);
        copy.fh = undefined;
      } catch {
        // the copy went away: fall through, the old content ends here
      }
    }
    this.log.warn(
      'file truncated in place (copy-truncate) and no rotated copy matches the include patterns: lines written after the last read and before the truncation may be lost; include the rotated name (e.g. app.log*) to read them',
      { path: t.path, offset: t.pos },
    );
    await this.flushTracked(t);
    await this.close(t);
    this.forget(t);
  }

  /** Open a matched path and read its fingerprint. */
  private async fingerprint(path: string): Promise<Candidate | undefined> {
    this.transientFds++;
    try {
      return await this.fingerprintPath(path);
    } finally {
      this.transientFds--;
    }
  }

  private async fingerprintPath(path: string): Promise<Candidate | undefined> {
    let fh: FileHandle;
    try {
      const opened = await this.openChecked(path);
      if (!opened) return undefined;
      fh = opened;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined; // rotated away between the listing and the open
      this.report(
        path,
        code ?? 'open',
        `cannot open ${path}: ${(err as Error).message}`,
        code === 'EACCES' || code === 'EPERM'
          ? 'grant kata-otel read permission on the file (run as root, or add its user to the group owning the logs)'
          : 'check the path',
      );
      return undefined;
    }
    try {
      const st = await fh.stat();
      if (st.size === 0 || !st.isFile()) {
        await fh.close();
        return undefined;
      }
      const fp = await readHead(fh, Math.min(this.fpBytes, st.size));
      this.reported.delete(path);
      // The descriptor's stat is the truth (the path may have been rotated since the listing).
      return { path, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, birthMs: st.birthtimeMs, fp, fh };
    } catch (err) {
      await fh.close().catch(() => undefined);
      this.report(path, 'read', `cannot read ${path}: ${(err as Error).message}`, 'check the file and its disk');
      return undefined;
    }
  }

  /** Start reading a candidate: a known identity resumes at its offset, a new one starts per startAt / beginning. */
  private async openCandidate(c: Candidate): Promise<Tracked | undefined> {
    const now = Date.now();
    const fh = c.fh ?? (await this.reopen(c));
    if (!fh) return undefined;
    let t = this.lookupClosed(c.fp);
    if (t && !this.sameFile(t, c)) {
      // Same first bytes (a banner, a header) but another file: resuming at the old file's offset would skip the
      // new file's lines. Read it from the beginning; it takes over the identity (the checkpoint holds one entry
      // per fingerprint), so the old file, if it is still there and changes, is read again (duplicates, no loss).
      this.log.info(
        'file starts like a checkpointed file but is another file (device/inode differ): reading it from the beginning',
        {
          path: c.path,
          dev: c.dev,
          inode: c.ino,
          checkpointed: { path: t.path, dev: t.dev, inode: t.ino, offset: t.offset },
        },
      );
      this.forget(t);
      t = undefined;
    } else if (t && t.path !== c.path) {
      this.log.info('file renamed since its checkpoint (same device and inode): resuming at its offset', {
        path: c.path,
        from: t.path,
        offset: t.offset,
      });
    }
    const resumed = t !== undefined;
    let offset: number;
    if (t) {
      offset = t.offset;
      if (offset > c.size) {
        this.log.warn('file is shorter than its checkpoint: reading it from the beginning', {
          path: c.path,
          offset,
          size: c.size,
        });
        offset = 0;
      }
      this.setFingerprint(t, c.fp);
    } else {
      const startEnd = this.startAt === 'end' && this.initial?.has(devIno(c.dev, c.ino));
      offset = startEnd ? c.size : 0;
      t = {
        key: '',
        fp: undefined,
        fpLen: 0,
        path: c.path,
        name: basename(c.path),
        dev: c.dev,
        ino: c.ino,
        birthMs: c.birthMs ?? 0,
        offset,
        committed: offset,
        seen: now,
        pos: offset,
        size: c.size,
        mtimeMs: c.mtimeMs,
        lastGrowth: now,
        lastActive: now,
        deleted: false,
      };
      this.trackers.add(t);
      this.setFingerprint(t, c.fp);
      this.dirty = true;
    }
    this.initial?.delete(devIno(c.dev, c.ino));
    this.memo.delete(devIno(c.dev, c.ino));
    this.setPath(t, c.path);
    t.dev = c.dev;
    t.ino = c.ino;
    t.birthMs = c.birthMs ?? 0;
    t.fh = fh;
    t.framer = new EntryFramer(this.maxLineBytes, offset, this.opts.assembler?.());
    t.pos = offset;
    t.size = c.size;
    t.mtimeMs = c.mtimeMs;
    t.seen = now;
    t.lastGrowth = now;
    t.lastActive = now;
    t.orphanSince = undefined;
    t.deleted = false;
    this.open.add(t);
    this.log.debug('file opened', { path: t.path, inode: t.ino, offset, resumed });
    return t;
  }

  /** Descriptors held: open files, files found by discovery, fingerprinting in progress. */
  private fdsInUse(): number {
    return this.open.size + this.discovered.size + this.transientFds;
  }

  /**
   * Open a matched path for reading without following a link in its last component (O_NOFOLLOW), then check it is
   * the file the listing found, not reached through a link (GlobSet.checkOpened); undefined (reported) when not.
   */
  private async openChecked(path: string): Promise<FileHandle | undefined> {
    const follow = this.globs.followsLinks || this.globs.isLiteral(path);
    const fh = await open(path, follow ? 'r' : constants.O_RDONLY | constants.O_NOFOLLOW).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ELOOP') throw err;
        return undefined;
      },
    );
    const why = fh ? await this.globs.checkOpened(path, fh) : 'it is a symbolic link';
    if (why === undefined) return fh;
    await fh?.close().catch(() => undefined);
    this.reportSymlink(path, why);
    return undefined;
  }

  private reportSymlink(path: string, why: string): void {
    this.report(
      path,
      'symlink',
      `${path} not read: ${why}; links in watched directories are not followed (kata-otel reads as root)`,
      'list the directory the link points into in follow_symlinks, or include the target itself',
    );
  }

  /** Open a candidate's path again; undefined when it now holds another file (rotated meanwhile). */
  private async reopen(c: Candidate): Promise<FileHandle | undefined> {
    const fh = await this.openChecked(c.path).catch(() => undefined);
    if (!fh) return undefined;
    const st = await fh.stat().catch(() => undefined);
    if (st && st.dev === c.dev && st.ino === c.ino) return fh;
    await fh.close().catch(() => undefined);
    return undefined;
  }

  /**
   * A checkpointed identity is this file only when device and inode match (a rename keeps both), or, when the
   * device number changed (a reboot or remount can renumber it), the inode and the path both match; and, where
   * the file system records creation times, it was created at the same time.
   */
  private sameFile(t: Tracked, c: Candidate): boolean {
    const born = !t.birthMs || !c.birthMs || t.birthMs === c.birthMs; // inode numbers are reused after a deletion
    return t.ino === c.ino && (t.dev === c.dev || t.path === c.path) && born;
  }

  /** A closed identity whose fingerprint is `fp` or a prefix of it (the file grew while closed). */
  private lookupClosed(fp: Buffer): Tracked | undefined {
    const lengths = [...this.keyLengths.keys()].filter((l) => l <= fp.length).sort((a, b) => b - a);
    for (const l of lengths) {
      const t = this.byKey.get(fingerprintKey(l === fp.length ? fp : fp.subarray(0, l)));
      if (t && !t.fh) return t;
    }
    return undefined;
  }

  /** Read appended bytes (up to the per-poll budget); true when the budget ran out before the end. */
  private async readAvailable(t: Tracked, budget = READ_BUDGET): Promise<boolean> {
    const fh = t.fh as FileHandle;
    const framer = t.framer as EntryFramer;
    let total = 0;
    while (total < budget) {
      if (this.ctx.signal.aborted) return false;
      const { bytesRead } = await fh.read(this.buf, 0, READ_CHUNK, t.pos);
      if (bytesRead === 0) return false;
      const chunk = this.buf.subarray(0, bytesRead);
      this.extendFingerprint(t, chunk);
      const out: FramedEntry[] = [];
      framer.feed(chunk, out);
      t.pos += bytesRead;
      if (t.pos > t.size) t.size = t.pos;
      total += bytesRead;
      t.lastGrowth = t.lastActive = Date.now();
      await this.addEntries(t, out);
      if (bytesRead < READ_CHUNK) return false;
    }
    return true;
  }

  private async flushTracked(t: Tracked): Promise<void> {
    if (!t.framer?.hasPending()) return;
    const out: FramedEntry[] = [];
    t.framer.flush(out);
    await this.addEntries(t, out);
  }

  /** Close the descriptor; the identity stays known (reopened by fingerprint at its durable offset). */
  private async close(t: Tracked): Promise<void> {
    if (t.framer) t.offset = t.framer.durableOffset();
    t.framer = undefined;
    const fh = t.fh;
    t.fh = undefined;
    this.open.delete(t);
    this.log.debug('file closed', {
      path: t.path,
      inode: t.ino,
      offset: t.offset,
      orphan: t.orphanSince !== undefined,
    });
    await fh?.close().catch(() => undefined);
  }

  /** Make room under maxOpenFiles: close the least recently active file not read in this poll (never an orphan). */
  private async evictOne(pollStart: number): Promise<boolean> {
    let victim: Tracked | undefined;
    for (const t of this.open) {
      if (t.orphanSince !== undefined || t.lastActive >= pollStart) continue;
      const better =
        !victim ||
        (t.pos >= t.size && victim.pos < victim.size) ||
        (t.pos >= t.size === victim.pos >= victim.size && t.lastActive < victim.lastActive);
      if (better) victim = t;
    }
    if (!victim) return false;
    const atEnd = victim.pos >= victim.size && !victim.framer?.hasPending();
    await this.close(victim);
    // Unchanged since: not reopened by the next poll.
    if (atEnd && victim.fp)
      this.memo.set(devIno(victim.dev, victim.ino), {
        size: victim.size,
        mtimeMs: victim.mtimeMs,
        fp: victim.fp,
        tracked: victim,
      });
    return true;
  }

  // ── identity bookkeeping ────────────────────────────────────────────────────────────────────────────────

  private setPath(t: Tracked, path: string): void {
    if (t.path === path) return;
    t.path = path;
    t.name = basename(path);
    this.dirty = true;
  }

  private setFingerprint(t: Tracked, fp: Buffer): void {
    if (t.fp && t.fp.length >= fp.length) return;
    const key = fingerprintKey(fp);
    this.unindex(t);
    t.fp = Buffer.from(fp);
    t.fpLen = fp.length;
    t.key = key;
    t.fullId = undefined;
    // Two distinct files with the same first bytes share one identity (the Collector's known limit); keep the first.
    if (!this.byKey.has(key)) {
      this.byKey.set(key, t);
      this.keyLengths.set(t.fpLen, (this.keyLengths.get(t.fpLen) ?? 0) + 1);
    }
    this.dirty = true;
  }

  /** While the fingerprint is shorter than fingerprintBytes, it grows with the bytes read. */
  private extendFingerprint(t: Tracked, chunk: Buffer): void {
    const fp = t.fp as Buffer;
    if (fp.length >= this.fpBytes) return;
    const from = fp.length - t.pos;
    if (from < 0 || from >= chunk.length) return;
    const to = Math.min(chunk.length, this.fpBytes - t.pos);
    this.setFingerprint(t, Buffer.concat([fp, chunk.subarray(from, to)]));
  }

  private unindex(t: Tracked): void {
    if (t.key && this.byKey.get(t.key) === t) {
      this.byKey.delete(t.key);
      const n = (this.keyLengths.get(t.fpLen) ?? 1) - 1;
      if (n > 0) this.keyLengths.set(t.fpLen, n);
      else this.keyLengths.delete(t.fpLen);
    }
  }

  private forget(t: Tracked): void {
    this.unindex(t);
    this.trackers.delete(t);
    this.dirty = true;
  }

  /** Forget closed identities not seen for forgetAfterMs, and the least recently seen beyond maxCheckpoints. */
  private prune(now: number): void {
    const closed = [...this.trackers].filter((t) => !t.fh);
    for (const t of closed) if (now - t.seen > this.forgetAfterMs) this.forget(t);
    const excess = this.trackers.size - this.maxCheckpoints;
    if (excess > 0) {
      const oldest = [...this.trackers].filter((t) => !t.fh).sort((a, b) => a.seen - b.seen);
      for (const t of oldest.slice(0, excess)) this.forget(t);
    }
  }

  // ── batches and checkpoints ─────────────────────────────────────────────────────────────────────────────

  private uidPrefix(t: Tracked, e: FramedEntry): string {
    const fp = t.fp as Buffer;
    // The id covers the bytes up to the end of the entry's first line (at most fingerprintBytes): those exist
    // whenever the entry is read, so a re-read after a restart yields the same uid even if the file grew since.
    if (e.firstLineEnd >= this.fpBytes || e.firstLineEnd >= fp.length) return (t.fullId ??= fingerprintId(fp));
    return fingerprintId(fp.subarray(0, e.firstLineEnd));
  }

  private async addEntries(t: Tracked, entries: FramedEntry[]): Promise<void> {
    for (const e of entries) {
      const attributes: Attributes = {
        [ATTR_LOG_FILE_PATH]: t.path,
        [ATTR_LOG_FILE_NAME]: t.name,
        [ATTR_LOG_RECORD_UID]: recordUid(this.uidPrefix(t, e), e.offset),
      };
      if (e.truncated) attributes[ATTR_KATA_LOG_TRUNCATED] = true;
      if (this.batch.length === 0) this.batchObserved = nowUnixNano();
      this.batch.push({ kind: 'text', text: e.text, attributes });
      this.batchBytes += e.text.length;
      if (this.batch.length >= this.batchMaxEntries || this.batchBytes >= this.batchMaxBytes) {
        this.marks.set(t, e.resume);
        await this.emitBatch(this.ctx.pipelined === true);
      }
    }
    this.marks.set(t, (t.framer as EntryFramer).durableOffset());
  }

  /** Hand the batch downstream; after it resolved, move the checkpoint of every file it came from and persist. */
  /**
   * Hand the batch downstream; once it is durable, move the checkpoint of every file it came from and persist.
   *
   * `overlap` (a full batch in the middle of a read, and a context that accepts it: SourceContext.pipelined): up to
   * two batches are in flight. The batch is handed off
   * (parsing runs right away, inside `emit`) and reading goes on while it is written and fsynced downstream and the
   * previous batch's checkpoint is written: on a backlog those fsyncs were a third of the wall time (bench/README.md).
   * Each batch carries the previous batch's checkpoint write as its durability barrier (SourceBatch.after), so a
   * crash still re-reads at most one batch. Without `overlap` (end of a poll or of the input) everything is settled
   * and the checkpoint is on disk when this returns.
   */
  private async emitBatch(overlap = false): Promise<void> {
    const marks = this.marks;
    this.marks = new Map();
    if (this.batch.length > 0) {
      const prev = this.inflight[this.inflight.length - 1];
      const batch: SourceBatch = {
        source: this.name,
        entries: this.batch,
        observedTimeUnixNano: this.batchObserved,
        after: prev ? prev.persisted.promise : this.persisting,
      };
      if (this.opts.attributes && Object.keys(this.opts.attributes).length > 0) batch.attributes = this.opts.attributes;
      this.batch = [];
      this.batchBytes = 0;
      this.inflight.push({ handoff: deliver(this.ctx, batch, this.drainMs), marks, persisted: deferred() });
    } else {
      // No entries: the marks become durable with the last batch in flight, or are durable already.
      const last = this.inflight[this.inflight.length - 1];
      for (const [t, off] of marks) {
        if (last) last.marks.set(t, Math.max(last.marks.get(t) ?? 0, off));
        else this.commitMark(t, off);
      }
    }
    while (this.inflight.length > (overlap ? 1 : 0)) await this.settleOldest();
    if (!overlap) {
      this.persisting = this.persisting.then(() => this.persist());
      await this.persisting;
    }
  }

  /** Wait for the oldest batch in flight; it is durable: commit its marks and write the checkpoint (not awaited). */
  private async settleOldest(): Promise<void> {
    const f = this.inflight.shift() as InFlight;
    const d = await f.handoff;
    if (!d.ok) {
      const stop = new HandOffStopped(d);
      // The batches behind it must not become durable either: their barrier fails, so they are not queued.
      f.persisted.reject(stop);
      for (const g of this.inflight.splice(0)) g.persisted.reject(stop);
      throw stop;
    }
    for (const [t, off] of f.marks) this.commitMark(t, off);
    this.persisting = this.persisting.then(() => this.persist());
    this.persisting.then(f.persisted.resolve, f.persisted.reject);
  }

  private commitMark(t: Tracked, off: number): void {
    if (off > t.committed) {
      t.committed = off;
      this.dirty = true;
    }
  }

  /** Write the checkpoint if it changed. A failed write is logged and retried later (more re-reading, no loss). */
  private async persist(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const files: FileCheckpoint['files'] = {};
    for (const t of this.trackers) {
      if (!t.key || this.byKey.get(t.key) !== t) continue;
      files[t.key] = { path: t.path, offset: t.committed, inode: t.ino, dev: t.dev, birth: t.birthMs, seen: t.seen };
    }
    const cp: FileCheckpoint = { version: 1, files };
    const text = JSON.stringify(cp);
    if (text === this.lastPersisted) return;
    try {
      await writeCheckpoint(this.cpPath, cp);
      this.lastPersisted = text;
      this.reported.delete(this.cpPath);
    } catch (err) {
      this.dirty = true;
      this.report(
        this.cpPath,
        'checkpoint',
        `cannot write checkpoint ${this.cpPath}: ${(err as Error).message}`,
        'check the data directory (space, permissions)',
      );
    }
  }

  private async loadCheckpoint(): Promise<void> {
    const r = await readCheckpoint<FileCheckpoint>(this.cpPath);
    if (!r.ok) {
      this.ctx.metrics.sourceErrors.inc({ source: this.name });
      this.log.error(`${r.error}; starting without it (files follow startAt)`, { path: this.cpPath });
      return;
    }
    const files = r.value?.files;
    if (!files || typeof files !== 'object') return;
    for (const [key, v] of Object.entries(files)) {
      const len = keyLength(key);
      if (len === undefined || !v || typeof v.offset !== 'number' || !(v.offset >= 0)) continue;
      const t: Tracked = {
        key,
        fp: undefined,
        fpLen: len,
        path: String(v.path),
        name: basename(String(v.path)),
        dev: Number(v.dev) || 0,
        ino: Number(v.inode) || 0,
        birthMs: Number(v.birth) || 0,
        offset: v.offset,
        committed: v.offset,
        seen: Number(v.seen) || Date.now(),
        pos: v.offset,
        size: 0,
        mtimeMs: 0,
        lastGrowth: 0,
        lastActive: 0,
        deleted: false,
      };
      this.trackers.add(t);
      this.byKey.set(key, t);
      this.keyLengths.set(len, (this.keyLengths.get(len) ?? 0) + 1);
    }
    this.lastPersisted = JSON.stringify(r.value);
  }

  // ── errors ──────────────────────────────────────────────────────────────────────────────────────────────

  private reportProblems(problems: PatternProblem[], once: boolean): void {
    for (const p of problems) {
      if (p.problem === 'directory')
        this.report(p.path, 'EISDIR', `${p.path} is a directory`, `give the files in it, e.g. ${p.path}/*.log`);
      else if (p.problem === 'missing')
        this.report(p.path, 'ENOENT', `${p.path} does not exist`, 'check the path (it is read once it appears)');
      else if (p.problem === 'symlink') this.reportSymlink(p.path, `it is a symbolic link (to ${p.error ?? '?'})`);
      else if (p.problem === 'unreadable')
        this.report(p.path, 'EACCES', `cannot list ${p.path}: ${p.error ?? ''}`, 'grant kata-otel read access to it');
      else if (once)
        this.report(p.pattern, 'no-match', `no file matches ${p.pattern}`, 'check the pattern and the directory');
    }
  }

  /** Log a problem with a path once (until it changes), with the fix; count it. */
  private report(path: string, code: string, msg: string, fix: string): void {
    if (this.reported.get(path) === code) return;
    this.reported.set(path, code);
    this.errorCount++;
    this.ctx.metrics.sourceErrors.inc({ source: this.name });
    this.log.error(msg, { path, fix });
  }
}
