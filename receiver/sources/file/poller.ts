// The poller: when the file source looks and reads. Polling finds what changed (the Collector and Vector poll
// too); watching (watcher.ts, Linux inotify) only says when to look. A poll runs right away when the last one
// left bytes unread (its per-file budget ran out); otherwise, while the watched directories are all watched, at
// the next directory event (no sooner than pollIntervalMs after the last poll ended), at the next time-based step
// (a lingering batch's hand-off, an idle last line's flush) or after SAFETY_POLL_MS, whichever comes first; and
// every pollIntervalMs when watching is off, not possible for the patterns, failing, or not enough (an orphan
// is open, or a discovered or deferred file waits for the next poll). While a poll reads and emits (a backlog, a
// slow downstream), a discovery step runs every pollIntervalMs beside it: holding a new file's descriptor early
// is what makes a later rename or deletion harmless. It also decides when an idle file's last line is flushed,
// when an orphan is closed, and how once mode shares reading between files.
import { sleep } from '../../queue/backoff.js';
import type { Tracked } from './tracker.js';
import { SAFETY_POLL_MS, type DirWatcher } from './watcher.js';

/** `--once`: bytes the largest file advances per turn when several files are read side by side. */
export const ONCE_TURN_BYTES = 1024 * 1024;

export interface PollerOptions {
  pollIntervalMs: number;
  /** A last line without newline is flushed after this long without growth. */
  flushTimeoutMs: number;
  /** Watching, poll at least this often. Default SAFETY_POLL_MS. */
  safetyPollMs?: number;
}

/** What the source tells the poller between polls (watching only). */
export interface PollPlan {
  /** Something only a poll at the normal interval notices (an orphan, a file waiting for a descriptor). */
  mustPoll(): boolean;
  /** Date.now() of the next time-based step (linger hand-off, idle flush); Infinity when there is none. */
  deadline(): number;
}

/** What to do with an open file after a poll read it. */
export type IdleAction = 'close' | 'flush' | undefined;

export class Poller {
  readonly pollMs: number;
  readonly flushMs: number;
  readonly safetyMs: number;
  /** An orphan (renamed out / deleted) is closed after it stayed this long without growth. */
  readonly orphanLingerMs: number;
  /** The poll in progress is reading and emitting (discovery runs meanwhile). */
  private reading = false;

  constructor(o: PollerOptions) {
    this.pollMs = o.pollIntervalMs;
    this.flushMs = o.flushTimeoutMs;
    this.safetyMs = Math.max(this.pollMs, o.safetyPollMs ?? SAFETY_POLL_MS);
    // Several polls, so a writer that still writes into the renamed file for a moment is read to its end.
    this.orphanLingerMs = Math.max(1000, 5 * this.pollMs, this.flushMs);
  }

  /** Called by a poll once it starts reading: from now until it returns, discovery runs beside it. */
  startedReading(): void {
    this.reading = true;
    this.onReading?.();
  }

  private onReading: (() => void) | undefined;

  /**
   * Poll until `signal` aborts: `poll` returns true when a file still has bytes to read right away (no sleep);
   * `discover` runs every pollIntervalMs while a poll is reading. With `watcher` (and `plan`), the wait between
   * polls is the one in the header. Returns once both stopped.
   */
  async follow(
    signal: AbortSignal,
    poll: () => Promise<boolean>,
    discover: (signal: AbortSignal) => Promise<void>,
    watcher?: DirWatcher,
    plan?: PollPlan,
  ): Promise<void> {
    while (!signal.aborted) {
      // Set up (or repair) the watches before the poll: whatever changes after this is reported by an event.
      const watching = watcher !== undefined && plan !== undefined && watcher.refresh();
      watcher?.take();
      const started = Date.now();
      // Discovery only while this poll reads (no timer at rest), stopped when the poll returns. Its controller is
      // made only then: an abort builds a DOMException with a stack, too dear for every poll; and it is not
      // AbortSignal.any, whose signals pile up on the long-lived `signal` in Node 20.
      let discovery: { done: Promise<void>; stop: AbortController; unlink: () => void } | undefined;
      this.onReading = () => {
        if (discovery) return;
        const stop = new AbortController();
        const abort = () => stop.abort();
        signal.addEventListener('abort', abort, { once: true });
        const unlink = () => signal.removeEventListener('abort', abort);
        discovery = { done: this.whileReading(stop.signal, discover), stop, unlink };
      };
      let more: boolean;
      try {
        more = await poll();
      } finally {
        this.reading = false;
        this.onReading = undefined;
        if (discovery) {
          discovery.unlink();
          discovery.stop.abort();
          await discovery.done;
        }
      }
      if (more || signal.aborted) continue;
      if (!watching || plan.mustPoll()) {
        await sleep(this.pollMs, signal);
        continue;
      }
      const ended = Date.now();
      const until = Math.min(started + this.safetyMs, plan.deadline());
      await watcher.wait(until - ended, signal);
      // Events come with every append: at least pollIntervalMs between the end of a poll and the next, as without
      // watching, so a busy node polls no more often than before.
      const gap = ended + this.pollMs - Date.now();
      if (gap > 0) await sleep(gap, signal);
    }
  }

  private async whileReading(signal: AbortSignal, step: (signal: AbortSignal) => Promise<void>): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.pollMs, signal);
      if (!this.reading || signal.aborted) continue;
      await step(signal);
    }
  }

  /**
   * After a poll read `t`: an orphan that has not grown for orphanLingerMs (since it grew or became an orphan,
   * whichever is later) is flushed and closed; a file at its end whose last line has no newline and that has not
   * grown for flushTimeoutMs gets that line flushed.
   */
  idle(t: Tracked, now: number): IdleAction {
    if (t.orphanSince !== undefined && now - Math.max(t.lastGrowth, t.orphanSince) >= this.orphanLingerMs)
      return 'close';
    if (now - t.lastGrowth >= this.flushMs && t.framer?.hasPending() && t.pos >= t.size) return 'flush';
    return undefined;
  }
}

/**
 * Once mode reads a group of files to their end side by side, each turn a share proportional to what each had
 * left, rather than one after the other: the shim's and containerd's copies of the same records are in different
 * files, and duplicate suppression only sees both copies when they are read close together (its window is
 * bounded). Returns the bytes file `i` (now at `pos`) may read in turn `turn` (1, 2, …).
 */
export function sideBySide(
  group: readonly Pick<Tracked, 'pos' | 'size'>[],
): (i: number, turn: number, pos: number) => number {
  const start = group.map((t) => t.pos);
  const left = group.map((t) => Math.max(0, t.size - t.pos));
  const largest = Math.max(1, ...left);
  return (i, turn, pos) => {
    const target = (start[i] as number) + ((left[i] as number) * turn * ONCE_TURN_BYTES) / largest;
    return Math.max(1, target - pos);
  };
}
