// The file source: tails files matched by globs, through rotation, with a checkpoint that only moves after
// `await ctx.emit(batch)` resolved (at-least-once). Design notes, rotation cases and loss windows: README.md here.
//
// FileSource composes one module per role and holds only the poll's order of steps and the batch being built:
//   glob.ts + tracker.ts   which files exist and who each one is (identity, renames, rotations, copies)
//   reader.ts              opening without following planted links, reading chunks into the framer
//   checkpointer.ts        hand-off of batches and offsets persisted only past what is durably queued
//   poller.ts              when to poll, discover, flush an idle line, close an orphan
//   watcher.ts             inotify on the patterns' directories: when a poll is worth running (poller.ts)
//
// Each poll lists the include patterns' base directories, stats what matched, and:
//  1. checks every open file through its own descriptor: still at a matched path (else "orphan": renamed out of
//     the patterns or deleted, read to its end through the descriptor, closed after it stays idle), shrunk below
//     the read offset or rewritten in place (copy-truncate: continue from the rotated copy when the patterns
//     match it, else the old content is finished),
//  2. fingerprints files not open (first `fingerprintBytes` bytes, read once per size/mtime change): a copy of an
//     open file is skipped, a known fingerprint resumes at its offset, anything else is a new file (read from its
//     beginning, or from `startAt` for what is there at the first poll),
//  3. reads appended bytes, frames entries, emits full batches (awaiting each: backpressure), flushes a last line
//     without newline after `flushTimeoutMs` without growth, and commits + persists offsets after each emit.
import { existsSync } from 'node:fs';
import { nowUnixNano, type Attributes } from '../../model/record.js';
import {
  ATTR_KATA_LOG_TRUNCATED,
  ATTR_LOG_FILE_NAME,
  ATTR_LOG_FILE_PATH,
  ATTR_LOG_RECORD_UID,
} from '../../semconv/generated.js';
import type { Logger } from '../../telemetry/log.js';
import { DEFAULT_MAX_LINE_BYTES } from '../lines.js';
import type { RawEntry, Source, SourceBatch, SourceContext } from '../types.js';
import { Checkpointer } from './checkpointer.js';
import { DEFAULT_LINGER_MS } from './linger.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, HandOffStopped } from './deliver.js';
import { recordUid } from './fingerprint.js';
import type { EntryFramer, FramedEntry } from './framer.js';
import { GlobSet } from './glob.js';
import { SourceInputError, type FileSourceOptions, type FileSourceStats } from './options.js';
import { Poller, sideBySide } from './poller.js';
import { Problems } from './problems.js';
import { DirWatcher } from './watcher.js';
import { FileReader } from './reader.js';
import { devIno, FileTracker, type Candidate, type Tracked } from './tracker.js';

export class FileSource implements Source {
  readonly name: string;
  private readonly globs: GlobSet;
  private readonly maxOpen: number;
  private readonly batchMaxEntries: number;
  private readonly batchMaxBytes: number;
  private readonly lingerMs: number;
  private readonly forgetAfterMs: number;
  private readonly maxCheckpoints: number;
  private readonly tracker: FileTracker;
  private readonly poller: Poller;

  // Built by run(): they need the context (logger, metrics, signal, checkpoint directory).
  private ctx!: SourceContext;
  private log!: Logger;
  private problems: Problems | undefined;
  private reader!: FileReader;
  private cp!: Checkpointer<Tracked>;

  private batch: RawEntry[] = [];
  private batchBytes = 0;
  private batchObserved = 0n;
  /** Date.now() when the batch being built got its first entry (the linger runs from there). */
  private batchStarted = 0;
  /** A file was closed, truncated or forgotten while the batch held its entries: hand off at the end of this poll. */
  private handOffNow = false;
  private polls = 0;
  /** The last poll left matched files unopened (maxOpenFiles): the next poll comes at the normal interval. */
  private deferredLeft = false;

  constructor(private readonly opts: FileSourceOptions) {
    if (!Array.isArray(opts.include) || opts.include.length === 0) {
      throw new TypeError('FileSource: `include` needs at least one path or glob, e.g. ["/var/log/kata/*.log"]');
    }
    this.name = opts.name ?? 'file';
    this.globs = new GlobSet(opts.include, opts.exclude ?? [], opts.followSymlinks ?? []);
    this.maxOpen = Math.max(1, opts.maxOpenFiles ?? 256);
    this.batchMaxEntries = Math.max(1, opts.batchMaxEntries ?? 1024);
    this.batchMaxBytes = Math.max(1, opts.batchMaxBytes ?? 1024 * 1024);
    this.lingerMs = Math.max(0, opts.lingerMs ?? DEFAULT_LINGER_MS);
    this.forgetAfterMs = opts.forgetAfterMs ?? 24 * 3600 * 1000;
    this.maxCheckpoints = Math.max(1, opts.maxCheckpoints ?? 4096);
    this.tracker = new FileTracker({
      fingerprintBytes: this.fingerprintBytes,
      startAt: opts.startAt ?? 'end',
    });
    this.poller = new Poller({
      pollIntervalMs: Math.max(1, opts.pollIntervalMs ?? 200),
      flushTimeoutMs: Math.max(0, opts.flushTimeoutMs ?? 500),
      safetyPollMs: opts.safetyPollMs,
    });
  }

  private get fingerprintBytes(): number {
    return Math.max(16, this.opts.fingerprintBytes ?? 1024);
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
    return {
      openFiles: this.tracker.open.size,
      trackedFiles: this.tracker.all.size,
      errors: this.problems?.count ?? 0,
      bytesLeft: this.tracker.bytesLeft(),
      polls: this.polls,
    };
  }

  async run(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.logger.child({ source: this.name });
    const problems = (this.problems = new Problems(this.name, this.log, ctx.metrics));
    this.reader = new FileReader({
      globs: this.globs,
      fingerprintBytes: this.fingerprintBytes,
      maxLineBytes: Math.max(1, this.opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES),
      assembler: this.opts.assembler,
      identity: this.tracker,
      problems,
      entries: (t, out) => this.addEntries(t, out),
      signal: ctx.signal,
    });
    this.cp = new Checkpointer<Tracked>({
      name: this.name,
      ctx,
      drainMs: Math.max(0, this.opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS),
      subject: this.tracker,
      problems,
    });
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
      this.cp.abandon(`source ${this.name} stopped`);
      for (const t of [...this.tracker.open]) await this.close(t);
      await this.cp.finish();
    }
  }

  private async loadCheckpoint(): Promise<void> {
    const r = await this.cp.load();
    if (!r.ok) {
      this.ctx.metrics.sourceErrors.inc({ source: this.name });
      this.log.error(`${r.error}; starting without it (files follow startAt)`, { path: this.cp.path });
      return;
    }
    if (r.files) this.tracker.restore(r.files);
  }

  // ── modes ───────────────────────────────────────────────────────────────────────────────────────────────

  private async follow(): Promise<void> {
    const watcher =
      this.opts.watch === false
        ? undefined
        : new DirWatcher(this.globs.includes, this.globs.followsLinks, (why) =>
            this.log.info('file source: cannot watch a directory; polling every interval until it can', { why }),
          );
    if (watcher && !watcher.possible)
      this.log.debug('file source: patterns need more than their base directory (** or followed links): polling only');
    try {
      await this.poller.follow(
        this.ctx.signal,
        () => this.pollOnce(),
        (signal) => this.discover(signal),
        watcher?.possible ? watcher : undefined,
        {
          mustPoll: () => this.deferredLeft || this.tracker.discovered.size > 0 || this.orphanOpen(),
          deadline: () => this.nextDeadline(),
        },
      );
    } finally {
      watcher?.close();
      for (const c of this.tracker.discovered.values()) await c.fh?.close().catch(() => undefined);
      this.tracker.discovered.clear();
    }
  }

  private orphanOpen(): boolean {
    for (const t of this.tracker.open) if (t.orphanSince !== undefined) return true;
    return false;
  }

  /** Date.now() when the lingering batch is due, or an idle last line is to be flushed (watching waits until then). */
  private nextDeadline(): number {
    let at = this.batch.length > 0 ? this.batchStarted + this.lingerMs : Infinity;
    for (const t of this.tracker.open)
      if (t.framer?.hasPending()) at = Math.min(at, t.lastGrowth + this.poller.flushMs);
    return at;
  }

  /**
   * While a poll is busy (a backlog, a slow emit), grab descriptors of new files: once a file is open, a rename or
   * deletion no longer matters, so a file created and rotated away during a long poll is not lost. The next poll
   * adopts what was found here.
   */
  private async discover(signal: AbortSignal): Promise<void> {
    const { files } = await this.globs.expand();
    const discovered = this.tracker.discovered;
    const claimed = new Set([...this.tracker.open].map((t) => devIno(t.dev, t.ino)));
    for (const [path, st] of files) {
      const di = devIno(st.dev, st.ino);
      if (st.size === 0 || claimed.has(di) || discovered.has(di)) continue;
      if (this.tracker.seenUnchanged(st)) continue;
      if (this.fdsInUse() >= this.maxOpen || signal.aborted) break;
      const c = await this.reader.fingerprint(path);
      if (!c) continue;
      const cdi = devIno(c.dev, c.ino);
      if (discovered.has(cdi) || this.tracker.isOpen(c)) await c.fh?.close().catch(() => undefined);
      else discovered.set(cdi, c);
    }
  }

  /** Read every matched file to its current end, flushing its last line and the assembler. */
  private async runOnce(): Promise<void> {
    const { files, problems } = await this.globs.expand();
    this.problems?.patterns(problems, true);
    this.tracker.noteFirstListing(files, false);
    const sorted = [...files].sort((a, b) => a[0].localeCompare(b[0]));
    for (let g = 0; g < sorted.length; g += this.maxOpen) {
      const group: Tracked[] = [];
      for (const [path, st] of sorted.slice(g, g + this.maxOpen)) {
        if (this.ctx.signal.aborted) return;
        if (st.size === 0) continue;
        const c = await this.reader.fingerprint(path);
        if (!c) continue;
        const t = await this.openCandidate(c);
        if (t) group.push(t);
      }
      await this.readSideBySide(group);
      if (this.ctx.signal.aborted) return;
    }
    this.tracker.prune(Date.now(), this.forgetAfterMs, this.maxCheckpoints);
  }

  /** Read a group of files to their end side by side (poller.ts sideBySide says why and how much per turn). */
  private async readSideBySide(group: Tracked[]): Promise<void> {
    const share = sideBySide(group);
    let live = group.map((_, i) => i);
    for (let turn = 1; live.length > 0; turn++) {
      const next: number[] = [];
      for (const i of live) {
        const t = group[i] as Tracked;
        let more = false;
        try {
          more = await this.reader.read(t, share(i, turn, t.pos));
          if (this.ctx.signal.aborted) return;
          if (!more) await this.reader.flush(t);
        } catch (err) {
          this.readFailed(t, err);
        }
        if (more) next.push(i);
        else await this.close(t);
      }
      live = next;
    }
  }

  /** One poll (the steps are in the header); returns true when a file still has bytes to read right away. */
  private async pollOnce(): Promise<boolean> {
    this.polls++;
    const now = Date.now();
    const tracker = this.tracker;
    const { files, problems } = await this.globs.expand();
    this.problems?.patterns(problems, false);
    const atPath = new Map<string, string>();
    for (const [path, st] of files) atPath.set(devIno(st.dev, st.ino), path);
    tracker.noteFirstListing(files, true);

    // 1. Open files, through their descriptors (concurrently: a poll must stay short with many files open, or a
    //    file created and rotated away between two polls is never seen).
    const opened = tracker.observeOpen(atPath, now);
    const intact = await Promise.all(
      opened.map((t) => this.reader.intact(t, t.orphanSince === undefined ? files.get(t.path) : undefined)),
    );
    const truncated = opened.filter((_, i) => !intact[i]);
    const claimed = new Set<string>();
    for (const t of tracker.open) if (!truncated.includes(t)) claimed.add(devIno(t.dev, t.ino));

    // 2. Files not open: fingerprint what changed since last time (or take what discovery already opened), as
    //    far as maxOpenFiles allows; the rest waits for step 4 to make room.
    const fresh: Candidate[] = [...tracker.discovered.values()];
    tracker.discovered.clear();
    const early = new Set(fresh.map((c) => devIno(c.dev, c.ino)));
    const known: Candidate[] = [];
    const deferred: string[] = [];
    for (const [path, st] of files) {
      const di = devIno(st.dev, st.ino);
      if (claimed.has(di) || early.has(di) || st.size === 0) continue;
      const fp = tracker.unchanged(st, now);
      if (fp) {
        known.push({
          path,
          dev: st.dev,
          ino: st.ino,
          size: st.size,
          mtimeMs: st.mtimeMs,
          birthMs: st.birthtimeMs,
          fp,
        });
        continue;
      }
      if (this.fdsInUse() + fresh.length >= this.maxOpen) {
        deferred.push(path);
        continue;
      }
      const c = await this.reader.fingerprint(path);
      if (c) fresh.push(c);
    }
    tracker.forgetUnlisted(atPath);
    this.deferredLeft = deferred.length > 0;

    // 3. Copy-truncate: the old content continues in the rotated copy when the patterns match it.
    for (const t of truncated) await this.onTruncated(t, fresh, known);

    // 4. New or known identities. Each fresh candidate holds a descriptor already counted against the cap.
    const adopt = async (c: Candidate) => {
      if (this.ctx.signal.aborted || claimed.has(devIno(c.dev, c.ino))) {
        await c.fh?.close().catch(() => undefined);
        return;
      }
      const of = tracker.copyOf(c);
      if (of) {
        this.log.debug('file is a copy of an open file: not read', { path: c.path, of: of.path });
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
      const c = await this.reader.fingerprint(path);
      if (c) await adopt(c);
      if (path === deferred.at(-1)) this.deferredLeft = false;
    }

    // 5. Read what grew (sizes from step 1; a file opened in step 4 has its size from its fingerprinting).
    //    Reading and emitting can take long: discovery keeps grabbing new files meanwhile (started only when there
    //    is something to read or hand off: a poll that finds nothing pays no discovery timer).
    if (this.batch.length > 0 || [...tracker.open].some((t) => t.size > t.pos)) this.poller.startedReading();
    let more = false;
    for (const t of [...tracker.open]) {
      if (this.ctx.signal.aborted) return false;
      if (t.size <= t.pos) continue;
      try {
        if (await this.reader.read(t)) more = true;
      } catch (err) {
        this.readFailed(t, err);
        await this.close(t);
      }
    }

    // 6. Idle files: flush a last line without newline; close orphans that stopped growing.
    const later = Date.now();
    for (const t of [...tracker.open]) {
      if (this.ctx.signal.aborted) return false;
      const action = this.poller.idle(t, later);
      if (action === 'close') {
        await this.reader.flush(t);
        await this.close(t);
        if (t.deleted) tracker.forget(t); // its identity is gone for good
      } else if (action === 'flush') {
        await this.reader.flush(t);
      }
    }

    tracker.prune(later, this.forgetAfterMs, this.maxCheckpoints);
    // Linger (options.ts): a small batch waits for the next polls, unless a file it came from was closed (its
    // identity could be reopened at its committed offset and read twice) or a file still has bytes to read.
    if (this.handOffNow || more || this.batch.length === 0 || later - this.batchStarted >= this.lingerMs) {
      this.handOffNow = false;
      if (this.batch.length > 0) this.poller.startedReading();
      await this.emitBatch();
    }
    return more;
  }

  // ── per file ────────────────────────────────────────────────────────────────────────────────────────────

  /** A read error is this file's problem (reported); a hand-off that stopped ends the source. */
  private readFailed(t: Tracked, err: unknown): void {
    if (err instanceof HandOffStopped) throw err;
    this.problems?.report(
      t.path,
      'read',
      `cannot read ${t.path}: ${(err as Error).message}`,
      'check the file and its disk',
    );
  }

  private async onTruncated(t: Tracked, fresh: Candidate[], known: Candidate[]): Promise<void> {
    const copy = this.tracker.rotatedCopy(t, fresh) ?? this.tracker.rotatedCopy(t, known);
    const opened = copy && (await this.reader.openCopy(copy));
    if (copy && opened) {
      await t.fh?.close().catch(() => undefined);
      t.fh = opened.fh;
      this.tracker.moveTo(t, opened.st, copy.path);
      const i = fresh.indexOf(copy);
      if (i >= 0) fresh.splice(i, 1);
      this.log.info('file truncated in place (copy-truncate): reading the rest from its rotated copy', {
        path: t.path,
        offset: t.pos,
      });
      return;
    }
    this.log.warn(
      'file truncated in place (copy-truncate) and no rotated copy matches the include patterns: lines written after the last read and before the truncation may be lost; include the rotated name (e.g. app.log*) to read them',
      { path: t.path, offset: t.pos },
    );
    await this.reader.flush(t);
    await this.close(t);
    this.tracker.forget(t);
  }

  /** Start reading a candidate: a known identity resumes at its offset, a new one starts per startAt / beginning. */
  private async openCandidate(c: Candidate): Promise<Tracked | undefined> {
    const now = Date.now();
    const fh = c.fh ?? (await this.reader.reopen(c));
    if (!fh) return undefined;
    const id = this.tracker.identify(c, now);
    const t = id.t;
    if (id.replaced)
      this.log.info(
        'file starts like a checkpointed file but is another file (device/inode differ): reading it from the beginning',
        { path: c.path, dev: c.dev, inode: c.ino, checkpointed: id.replaced },
      );
    else if (id.renamedFrom !== undefined)
      this.log.info('file renamed since its checkpoint (same device and inode): resuming at its offset', {
        path: c.path,
        from: id.renamedFrom,
        offset: t.offset,
      });
    if (id.shrunkFrom !== undefined)
      this.log.warn('file is shorter than its checkpoint: reading it from the beginning', {
        path: c.path,
        offset: id.shrunkFrom,
        size: c.size,
      });
    this.tracker.opened(t, fh, this.reader.framerAt(id.offset));
    this.log.debug('file opened', { path: t.path, inode: t.ino, offset: id.offset, resumed: id.resumed });
    return t;
  }

  /** Close the descriptor; the identity stays known (reopened by fingerprint at its durable offset). */
  private async close(t: Tracked): Promise<void> {
    if (this.batch.length > 0) this.handOffNow = true;
    const fh = this.tracker.release(t);
    this.log.debug('file closed', {
      path: t.path,
      inode: t.ino,
      offset: t.offset,
      orphan: t.orphanSince !== undefined,
    });
    await fh?.close().catch(() => undefined);
  }

  /** Make room under maxOpenFiles: close the tracker's eviction victim (tracker.ts says which). */
  private async evictOne(pollStart: number): Promise<boolean> {
    const victim = this.tracker.evictionVictim(pollStart);
    if (!victim) return false;
    const atEnd = victim.pos >= victim.size && !victim.framer?.hasPending();
    await this.close(victim);
    if (atEnd) this.tracker.rememberAtEnd(victim); // unchanged since: not reopened by the next poll
    return true;
  }

  /** Descriptors held: open files, files found by discovery, fingerprinting in progress. */
  private fdsInUse(): number {
    return this.tracker.open.size + this.tracker.discovered.size + this.reader.transientFds;
  }

  // ── the batch ───────────────────────────────────────────────────────────────────────────────────────────

  /** The reader's framed entries → the batch; a full batch is handed off (awaited: backpressure). */
  private async addEntries(t: Tracked, entries: FramedEntry[]): Promise<void> {
    for (const e of entries) {
      const attributes: Attributes = {
        [ATTR_LOG_FILE_PATH]: t.path,
        [ATTR_LOG_FILE_NAME]: t.name,
        [ATTR_LOG_RECORD_UID]: recordUid(this.tracker.uidPrefix(t, e.firstLineEnd), e.offset),
      };
      if (e.truncated) attributes[ATTR_KATA_LOG_TRUNCATED] = true;
      if (this.batch.length === 0) {
        this.batchObserved = nowUnixNano();
        this.batchStarted = Date.now();
      }
      this.batch.push({ kind: 'text', text: e.text, attributes });
      this.batchBytes += e.text.length;
      if (this.batch.length >= this.batchMaxEntries || this.batchBytes >= this.batchMaxBytes) {
        this.cp.mark(t, e.resume);
        await this.emitBatch(this.ctx.pipelined === true);
      }
    }
    this.cp.mark(t, (t.framer as EntryFramer).durableOffset());
  }

  /** Hand the batch (if any) to the checkpointer, which commits offsets once it is durable. */
  private async emitBatch(overlap = false): Promise<void> {
    let batch: SourceBatch | undefined;
    if (this.batch.length > 0) {
      batch = { source: this.name, entries: this.batch, observedTimeUnixNano: this.batchObserved };
      if (this.opts.attributes && Object.keys(this.opts.attributes).length > 0) batch.attributes = this.opts.attributes;
      this.batch = [];
      this.batchBytes = 0;
    }
    await this.cp.handOff(batch, overlap);
  }
}
