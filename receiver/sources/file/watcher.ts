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
import { statSync, watch, type FSWatcher } from 'node:fs';
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
  /** The last failure reported (each new one is reported once). */
  private lastError: string | undefined;

  /** `problem` hears why watching failed (a directory missing, an inotify limit): polling until it works again. */
  constructor(
    patterns: readonly CompiledPattern[],
    followsLinks: boolean,
    private readonly problem: (why: string) => void = () => undefined,
  ) {
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
  refresh(): boolean {
    if (!this.dirs || this.closed) return false;
    let all = true;
    for (const dir of this.dirs) {
      // Synchronous, like the listing's stats (glob.ts): one local stat per directory and poll.
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(dir);
      } catch (err) {
        st = undefined;
        this.report(`${dir}: ${(err as Error).message}`);
      }
      const have = this.watches.get(dir);
      if (!st?.isDirectory()) {
        if (st) this.report(`${dir} is not a directory`);
        if (have) this.drop(have);
        all = false;
        continue;
      }
      if (have && have.ino === st.ino) continue;
      if (have) this.drop(have);
      try {
        // One event is enough until the next poll: the watch is dropped at its first event and set up again by
        // the refresh before that poll. A live file appended to 1,000 times a second would otherwise cost a
        // callback per write (tens of µs each); setting a watch up again costs ~20 µs, once per poll.
        const entry: Watch = { dir, ino: st.ino, w: watch(dir, { persistent: false }, () => this.drop(entry)) };
        const w = entry.w;
        // A watch that fails later (directory gone, inotify error) is dropped: polling until it is set up again.
        w.on('error', (err) => {
          this.report(`${dir}: ${err.message}`);
          this.drop(entry);
        });
        this.watches.set(dir, entry);
        // Whatever happened before the watch existed has not been seen by an event.
        this.dirty = true;
      } catch (err) {
        this.report(`${dir}: ${(err as Error).message}`);
        all = false;
      }
    }
    return all && this.watches.size === this.dirs.length;
  }

  private report(why: string): void {
    if (why === this.lastError) return;
    this.lastError = why;
    this.problem(why);
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

  /** An event, or a watch that failed: the directory is no longer watched; the next poll looks and re-watches. */
  private drop(w: Watch): void {
    w.w.close();
    if (this.watches.get(w.dir) === w) this.watches.delete(w.dir);
    this.dirty = true;
    this.wake?.();
  }
}
