// The watcher: tells the poller when a watched directory changed, so that a quiet node is not polled five times a
// second (each poll lists the directories and stats every matched file: ~100 stat calls per poll with 100
// sandboxes, the largest fixed cost of `run` at 1 line/s, bench/README.md "Wakeups").
//
// Linux inotify through `fs.watch` on each include pattern's base directory (one level: a directory watch reports
// appends, creations, renames, truncations and deletions of the files in it). It only says *when* to poll; what
// changed is still found by the poll (listing, fingerprints, descriptors), so rotation handling, the planted-link
// checks and the loss windows stay those of polling. The poller keeps a slow safety poll because inotify is not
// trusted alone: its queue can overflow (libuv drops IN_Q_OVERFLOW silently), a watched directory can be deleted
// and created again (the watch dies with the old inode), network and some overlay file systems report no remote
// or lower-layer writes, and a renamed-out or deleted file (an orphan still being read) is in no watched directory.
//
// Watching covers a pattern only when it needs no more than its base directory: `**` or a glob in a directory
// part, and followed symbolic links (their targets live elsewhere), are not covered, and then the poller polls
// every pollIntervalMs as before. So does a watch that cannot be set up (missing directory, inotify limits): it is
// tried again at each poll.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CompiledPattern } from './glob.js';

/** Watching, a poll still runs at least this often (the reasons are in the header). */
export const SAFETY_POLL_MS = 2000;

interface Watch {
  dir: string;
  /** The directory's inode when the watch was set up: a directory replaced since needs a new watch. */
  ino: number;
  w: FSWatcher;
}

export class DirWatcher {
  /** Directories to watch; undefined when some pattern cannot be covered by watching (poll every interval). */
  private readonly dirs: string[] | undefined;
  private readonly watches = new Map<string, Watch>();
  /** An event arrived since the last `take()`. */
  private dirty = true;
  private wake: (() => void) | undefined;
  private closed = false;
  /** The last setup failure, for the caller to log once. */
  lastError: string | undefined;

  constructor(patterns: readonly CompiledPattern[], followsLinks: boolean) {
    const dirs = new Set<string>();
    let covered = !followsLinks;
    for (const p of patterns) {
      if (p.literal) dirs.add(dirname(p.absolute));
      else if (p.depth === 1) dirs.add(p.base);
      else covered = false;
    }
    this.dirs = covered ? [...dirs] : undefined;
  }

  /** Watching can cover the configured patterns at all. */
  get possible(): boolean {
    return this.dirs !== undefined;
  }

  /**
   * Make sure every directory is watched (set up what is missing, replace a watch whose directory was replaced).
   * Returns true when all are: only then may the poller wait for events.
   */
  async refresh(): Promise<boolean> {
    if (!this.dirs || this.closed) return false;
    let all = true;
    for (const dir of this.dirs) {
      const st = await stat(dir).catch((err: Error) => err);
      const have = this.watches.get(dir);
      if (st instanceof Error || !st.isDirectory()) {
        this.lastError = st instanceof Error ? st.message : `${dir} is not a directory`;
        if (have) this.drop(have);
        all = false;
        continue;
      }
      if (have && have.ino === st.ino) continue;
      if (have) this.drop(have);
      try {
        const w = watch(dir, { persistent: false }, () => this.poke());
        const entry = { dir, ino: st.ino, w };
        // A watch that fails later (directory gone, inotify error) is dropped: polling until it is set up again.
        w.on('error', (err) => {
          this.lastError = `${dir}: ${err.message}`;
          this.drop(entry);
        });
        this.watches.set(dir, entry);
        // Whatever happened before the watch existed has not been seen by an event.
        this.dirty = true;
      } catch (err) {
        this.lastError = `${dir}: ${(err as Error).message}`;
        all = false;
      }
    }
    return all && this.watches.size === this.dirs.length;
  }

  /** True when something changed since the last call (and clears it). */
  take(): boolean {
    const d = this.dirty;
    this.dirty = false;
    return d;
  }

  /** Resolves at the next event (or at once if one arrived since `take`), after `ms`, or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.dirty || signal.aborted || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  close(): void {
    this.closed = true;
    for (const w of [...this.watches.values()]) this.drop(w);
    this.wake?.();
  }

  private poke(): void {
    this.dirty = true;
    this.wake?.();
  }

  private drop(w: Watch): void {
    w.w.close();
    if (this.watches.get(w.dir) === w) this.watches.delete(w.dir);
    this.dirty = true;
    this.wake?.();
  }
}
