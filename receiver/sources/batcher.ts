// Collects a source's entries into batches: a batch goes out when it is full or `flushMs` after its first entry
// (so a slow trickle still leaves within `flushMs`). Hand-offs are serialised (one `send` at a time, in order), so a checkpoint written after each `send`
// only ever moves forward. `push` returns a promise when the batch is full: a reader awaits it before reading more,
// which is how a full delivery queue stops the source (backpressure).
import { ATTR_KATA_LOG_TRUNCATED } from '../semconv/generated.js';
import type { Line, LineSplitter } from './lines.js';
import type { RawEntry } from './types.js';

export const DEFAULT_BATCH_ENTRIES = 500;
export const DEFAULT_FLUSH_MS = 200;

export interface BatcherOptions {
  /** Entries per batch. Default 500. */
  maxEntries?: number;
  /** Longest time an entry waits for its batch to fill. Default 200 ms. */
  flushMs?: number;
}

export class Batcher {
  private entries: RawEntry[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly maxEntries: number;
  private readonly flushMs: number;

  /** `send` hands one batch downstream (and commits the checkpoint); a rejection stops every later hand-off. */
  constructor(
    private readonly send: (entries: RawEntry[]) => Promise<void>,
    opts: BatcherOptions = {},
  ) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_BATCH_ENTRIES);
    this.flushMs = Math.max(0, opts.flushMs ?? DEFAULT_FLUSH_MS);
  }

  /** Entries waiting for the next batch. */
  get size(): number {
    return this.entries.length;
  }

  /** Add one entry. Returns a promise (await it before reading more) when the batch became full and went out. */
  push(entry: RawEntry): Promise<void> | undefined {
    this.entries.push(entry);
    if (this.entries.length >= this.maxEntries) return this.flush();
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      // A failed hand-off stays in the chain and surfaces at the reader's next flush().
      this.flush().catch(() => undefined);
    }, this.flushMs);
    return undefined;
  }

  /** Send what is waiting; resolves when every batch handed so far is through. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.entries.length > 0) {
      const batch = this.entries;
      this.entries = [];
      this.chain = this.chain.then(() => this.send(batch));
    }
    return this.chain;
  }

  /** Stop the idle timer without sending (shutdown after a failed hand-off). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** A line as a text entry; a cut line carries `kata.log.truncated`. */
export function textEntry(line: Line): RawEntry {
  return line.truncated
    ? { kind: 'text', text: line.text, attributes: { [ATTR_KATA_LOG_TRUNCATED]: true } }
    : { kind: 'text', text: line.text };
}

/**
 * Read `stream` to its end as lines into `batcher`, awaiting each full batch before pulling the next chunk
 * (backpressure reaches the writer through the pipe or socket buffer). Empty lines are skipped; the unterminated
 * tail becomes a last line (a writer that stopped mid-line). Returns the number of entries pushed.
 */
export async function pumpLines(
  stream: AsyncIterable<Buffer>,
  splitter: LineSplitter,
  batcher: Batcher,
  toEntry: (line: Line) => RawEntry | undefined = textEntry,
): Promise<number> {
  let n = 0;
  // Synchronous: only a full batch's hand-off is awaited (an async `take` cost a promise and a microtask per line).
  const take = (line: Line): Promise<void> | undefined => {
    if (line.text.length === 0 && !line.truncated) return undefined;
    // undefined: the line is dropped (a guest stream over its rate limit, ratelimit.ts).
    const entry = toEntry(line);
    if (entry === undefined) return undefined;
    n++;
    return batcher.push(entry);
  };
  for await (const chunk of stream) {
    for (const line of splitter.push(chunk)) {
      const full = take(line);
      if (full) await full;
    }
  }
  const tail = splitter.flush();
  const full = tail && take(tail);
  if (full) await full;
  return n;
}
