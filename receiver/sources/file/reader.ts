// The reader: every byte the file source takes from disk goes through here. It opens a matched path without
// following a planted link (O_NOFOLLOW, then GlobSet.checkOpened re-checks the real path and the inode: kata-otel
// reads as root, and anyone who can write in a watched directory could link a root-only file into it), reads a
// file's first bytes for the tracker, re-checks an open file through its descriptor (truncated? rewritten?), and
// reads appended bytes in chunks into the file's framer, handing the framed entries on (awaited: backpressure).
import type { Stats } from 'node:fs';
import { constants, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { readHead, readHeadSync } from './fingerprint.js';
import { EntryFramer, type AssemblerFactory, type FramedEntry } from './framer.js';
import type { GlobSet } from './glob.js';
import type { Problems } from './problems.js';
import type { Candidate, Tracked } from './tracker.js';

export const READ_CHUNK = 128 * 1024;
/** Bytes read from one file per poll before the others get their turn (a large backlog must not starve them). */
export const READ_BUDGET = 8 * 1024 * 1024;
/**
 * A file that grew by at most this much since the last stat is read synchronously: a just-appended tail is in the
 * page cache, and a `pread` costs ~2 µs of CPU where the thread pool's round trip and promise cost ~15 µs, once per
 * grown file and poll (bench/README.md "Wakeups"). A larger backlog is read through the thread pool, so a cold
 * read from disk never holds the event loop.
 */
export const SYNC_READ_MAX = 64 * 1024;

/** What the reader needs from the tracker (FileTracker) about the identity of the file it reads. */
export interface ReadIdentity {
  /** A fingerprint shorter than fingerprintBytes grows with the bytes read. */
  extendFingerprint(t: Tracked, chunk: Buffer): void;
  needsHeadCheck(t: Tracked): boolean;
  /** False when `head` no longer starts with the file's fingerprint (rewritten in place). */
  headMatches(t: Tracked, head: Buffer): boolean;
}

export interface ReaderOptions {
  /** The symlink policy: which paths may be followed, and the check after the open. */
  globs: GlobSet;
  fingerprintBytes: number;
  maxLineBytes: number;
  assembler?: AssemblerFactory;
  identity: ReadIdentity;
  problems: Problems;
  /** Where framed entries go (the batch); awaited before reading on. */
  entries: (t: Tracked, out: FramedEntry[]) => Promise<void>;
  signal: AbortSignal;
}

export class FileReader {
  /** Descriptors opened for fingerprinting right now (they count against maxOpenFiles). */
  transientFds = 0;
  private readonly buf = Buffer.allocUnsafe(READ_CHUNK);

  constructor(private readonly o: ReaderOptions) {}

  /** A framer for a file read from `offset` (multi-line grouping per the configured assembler). */
  framerAt(offset: number): EntryFramer {
    return new EntryFramer(this.o.maxLineBytes, offset, this.o.assembler?.());
  }

  /** Open a matched path and read its fingerprint; undefined (reported unless it went away) when it cannot be. */
  async fingerprint(path: string): Promise<Candidate | undefined> {
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
      this.o.problems.report(
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
      const fp = await readHead(fh, Math.min(this.o.fingerprintBytes, st.size));
      this.o.problems.clear(path);
      // The descriptor's stat is the truth (the path may have been rotated since the listing).
      return { path, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, birthMs: st.birthtimeMs, fp, fh };
    } catch (err) {
      await fh.close().catch(() => undefined);
      this.o.problems.report(
        path,
        'read',
        `cannot read ${path}: ${(err as Error).message}`,
        'check the file and its disk',
      );
      return undefined;
    }
  }

  /**
   * Open a matched path for reading without following a link in its last component (O_NOFOLLOW), then check it is
   * the file the listing found, not reached through a link (GlobSet.checkOpened); undefined (reported) when not.
   */
  async openChecked(path: string): Promise<FileHandle | undefined> {
    const globs = this.o.globs;
    const follow = globs.followsLinks || globs.isLiteral(path);
    const fh = await open(path, follow ? 'r' : constants.O_RDONLY | constants.O_NOFOLLOW).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ELOOP') throw err;
        return undefined;
      },
    );
    const why = fh ? await globs.checkOpened(path, fh) : 'it is a symbolic link';
    if (why === undefined) return fh;
    await fh?.close().catch(() => undefined);
    this.o.problems.symlink(path, why);
    return undefined;
  }

  /** Open a candidate's path again; undefined when it now holds another file (rotated meanwhile). */
  async reopen(c: Candidate): Promise<FileHandle | undefined> {
    const fh = await this.openChecked(c.path).catch(() => undefined);
    if (!fh) return undefined;
    const st = await fh.stat().catch(() => undefined);
    if (st && st.dev === c.dev && st.ino === c.ino) return fh;
    await fh.close().catch(() => undefined);
    return undefined;
  }

  /** Open the candidate `copy` as the continuation of a file truncated in place; undefined when it went away. */
  async openCopy(copy: Candidate): Promise<{ fh: FileHandle; st: Stats } | undefined> {
    let fh = copy.fh;
    try {
      fh ??= await this.openChecked(copy.path);
      if (!fh) throw new Error('not readable');
      const st = await fh.stat();
      if (st.dev === copy.dev && st.ino === copy.ino) return { fh, st };
      await fh.close().catch(() => undefined);
      copy.fh = undefined;
    } catch {
      // the copy went away: the old content ends here
    }
    return undefined;
  }

  /**
   * Stat an open file by descriptor, or take `listed` (size, mtime, deleted); false when its content was truncated or rewritten in
   * place (copy-truncate). A stat that fails counts as intact: the next read reports the error.
   */
  async intact(t: Tracked, listed?: Stats): Promise<boolean> {
    const fh = t.fh as FileHandle;
    let st: Stats;
    // The poll's listing stat of the path where the file still is (same device and inode) says the same as a stat
    // through the descriptor: one system call and thread-pool round trip less per open file and poll.
    if (listed && listed.dev === t.dev && listed.ino === t.ino) st = listed;
    else
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
    if (!this.o.identity.needsHeadCheck(t)) return true;
    const head = readHeadSync(fh.fd, Math.min(this.o.fingerprintBytes, st.size));
    return this.o.identity.headMatches(t, head);
  }

  /** Read appended bytes (up to `budget`); true when the budget ran out before the end. */
  async read(t: Tracked, budget = READ_BUDGET): Promise<boolean> {
    const fh = t.fh as FileHandle;
    const framer = t.framer as EntryFramer;
    let total = 0;
    while (total < budget) {
      if (this.o.signal.aborted) return false;
      const bytesRead =
        t.size - t.pos <= SYNC_READ_MAX
          ? readSync(fh.fd, this.buf, 0, READ_CHUNK, t.pos)
          : (await fh.read(this.buf, 0, READ_CHUNK, t.pos)).bytesRead;
      if (bytesRead === 0) return false;
      const chunk = this.buf.subarray(0, bytesRead);
      this.o.identity.extendFingerprint(t, chunk);
      const out: FramedEntry[] = [];
      framer.feed(chunk, out);
      t.pos += bytesRead;
      if (t.pos > t.size) t.size = t.pos;
      total += bytesRead;
      t.lastGrowth = t.lastActive = Date.now();
      await this.o.entries(t, out);
      if (bytesRead < READ_CHUNK) return false;
    }
    return true;
  }

  /** Hand on a last line without newline and whatever the assembler holds (idle, end of input, closing). */
  async flush(t: Tracked): Promise<void> {
    if (!t.framer?.hasPending()) return;
    const out: FramedEntry[] = [];
    t.framer.flush(out);
    await this.o.entries(t, out);
  }
}
