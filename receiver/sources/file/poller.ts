// The poller: when the file source looks and reads. Poll, don't watch: fs.watch misses events across renames and
// on overlay filesystems; the Collector and Vector poll too. A poll runs every pollIntervalMs, or right away when
// the last one left bytes unread (its per-file budget ran out). While a poll reads and emits (a backlog, a slow
// downstream), a discovery step runs every pollIntervalMs beside it: holding a new file's descriptor early is what
// makes a later rename or deletion harmless. It also decides when an idle file's last line is flushed, when an
// orphan is closed, and how once mode shares reading between files.
import { sleep } from '../../queue/backoff.js';
import type { Tracked } from './tracker.js';

/** `--once`: bytes the largest file advances per turn when several files are read side by side. */
export const ONCE_TURN_BYTES = 1024 * 1024;

export interface PollerOptions {
  pollIntervalMs: number;
  /** A last line without newline is flushed after this long without growth. */
  flushTimeoutMs: number;
}

/** What to do with an open file after a poll read it. */
export type IdleAction = 'close' | 'flush' | undefined;

export class Poller {
  readonly pollMs: number;
  readonly flushMs: number;
  /** An orphan (renamed out / deleted) is closed after it stayed this long without growth. */
  readonly orphanLingerMs: number;
  /** The poll in progress is reading and emitting (discovery runs meanwhile). */
  private reading = false;

  constructor(o: PollerOptions) {
    this.pollMs = o.pollIntervalMs;
    this.flushMs = o.flushTimeoutMs;
    // Several polls, so a writer that still writes into the renamed file for a moment is read to its end.
    this.orphanLingerMs = Math.max(1000, 5 * this.pollMs, this.flushMs);
  }

  /** Called by a poll once it starts reading: from now until it returns, discovery runs beside it. */
  startedReading(): void {
    this.reading = true;
  }

  /**
   * Poll until `signal` aborts: `poll` returns true when a file still has bytes to read right away (no sleep);
   * `discover` runs every pollIntervalMs while a poll is reading. Returns once both stopped.
   */
  async follow(
    signal: AbortSignal,
    poll: () => Promise<boolean>,
    discover: (signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const stop = new AbortController();
    const discovery = this.whileReading(AbortSignal.any([stop.signal, signal]), discover);
    try {
      while (!signal.aborted) {
        let more: boolean;
        try {
          more = await poll();
        } finally {
          this.reading = false;
        }
        if (!more) await sleep(this.pollMs, signal);
      }
    } finally {
      stop.abort();
      await discovery;
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
