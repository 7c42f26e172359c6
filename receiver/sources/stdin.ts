// The stdin source (`kata-otel run -` / a pipe): the file source's line rules (LineSplitter + EntryFramer: '\n' and
// '\r\n', UTF-8 with U+FFFD, long lines cut and marked, multi-line assembler, a last line without newline emitted
// after `flushTimeoutMs` of silence) over a stream, batched by Batcher. Backpressure: the stream is pulled one chunk
// at a time and not at all while a full batch is being handed downstream, so a pipe writer blocks once the pipe
// buffer is full. Ends at EOF (or abort).
//
// No checkpoint: a pipe cannot be rewound, so entries read but not yet delivered when the receiver crashes are
// lost from this source, and a restart reads whatever the new stdin carries. On abort, what was read is flushed
// (the assembler and the partial last line too: nothing can resume them) and handed off before returning.
import type { Readable } from 'node:stream';
import { nowUnixNano, type Attributes } from '../model/record.js';
import { ATTR_KATA_LOG_ORIGIN, ATTR_KATA_LOG_TRUNCATED, KATA_LOG_ORIGIN_VALUE_STDIN } from '../semconv/generated.js';
import { Batcher } from './batcher.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, deliver, HandOffStopped } from './file/deliver.js';
import { EntryFramer, type AssemblerFactory, type FramedEntry } from './file/framer.js';
import { DEFAULT_MAX_LINE_BYTES } from './lines.js';
import type { RawEntry, Source, SourceContext } from './types.js';
import type { SourceEnv } from '../components/types.js';
import { LineAssembler } from '../parse/multiline.js';

export interface StdinSourceOptions {
  /** Default process.stdin. */
  stream?: Readable;
  /** Multi-line grouping; default: every line is one entry. */
  assembler?: AssemblerFactory;
  /** Default 'stdin'. */
  name?: string;
  maxLineBytes?: number;
  /** A last line without newline is emitted after this long without data. Default 500 ms. */
  flushTimeoutMs?: number;
  batchMaxEntries?: number;
  /** Longest time an entry waits for its batch to fill. Default 200 ms. */
  batchFlushMs?: number;
  /** Static attributes on every batch. */
  attributes?: Attributes;
  /** After shutdown began, how long a pending emit may take before the source stops waiting. Default 5 s. */
  drainTimeoutMs?: number;
}

type Next = IteratorResult<Buffer | string>;

export class StdinSource implements Source {
  readonly name: string;

  constructor(private readonly opts: StdinSourceOptions = {}) {
    this.name = opts.name ?? 'stdin';
  }

  async run(ctx: SourceContext): Promise<void> {
    const log = ctx.logger.child({ source: this.name });
    const stream = this.opts.stream ?? process.stdin;
    const flushMs = Math.max(0, this.opts.flushTimeoutMs ?? 500);
    const drainMs = Math.max(0, this.opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
    const attributes: Attributes = { [ATTR_KATA_LOG_ORIGIN]: KATA_LOG_ORIGIN_VALUE_STDIN, ...this.opts.attributes };
    const framer = new EntryFramer(
      Math.max(1, this.opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES),
      0,
      this.opts.assembler?.(),
    );
    const batcher = new Batcher(
      async (entries) => {
        const d = await deliver(
          ctx,
          { source: this.name, entries, observedTimeUnixNano: nowUnixNano(), attributes },
          drainMs,
        );
        if (!d.ok) throw new HandOffStopped(d);
      },
      { maxEntries: this.opts.batchMaxEntries ?? 1024, flushMs: this.opts.batchFlushMs },
    );
    const take = async (out: FramedEntry[]) => {
      for (const e of out) {
        const entry: RawEntry = e.truncated
          ? { kind: 'text', text: e.text, attributes: { [ATTR_KATA_LOG_TRUNCATED]: true } }
          : { kind: 'text', text: e.text };
        const full = batcher.push(entry);
        if (full) await full;
      }
    };

    const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    let next: Promise<Next> | undefined;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      if (ctx.signal.aborted) resolve('aborted');
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      for (;;) {
        // One pull at a time: while `take` awaits a full batch, nothing more is read (backpressure).
        next ??= it.next();
        const waits: Array<Promise<Next | 'aborted' | 'idle'>> = [next, aborted];
        if (framer.hasPending()) waits.push(new Promise((r) => (timer = setTimeout(() => r('idle'), flushMs))));
        const r = await Promise.race(waits);
        clearTimeout(timer);
        if (r === 'aborted') break;
        const out: FramedEntry[] = [];
        if (r === 'idle') {
          framer.flush(out);
          await take(out);
          continue;
        }
        next = undefined;
        if (r.done) break;
        framer.feed(typeof r.value === 'string' ? Buffer.from(r.value) : r.value, out);
        await take(out);
      }
      const out: FramedEntry[] = [];
      framer.flush(out);
      await take(out);
      await batcher.flush();
    } catch (err) {
      batcher.close();
      if (!(err instanceof HandOffStopped)) {
        log.error('stdin source stopped: cannot read stdin', { error: err });
      } else if (!ctx.signal.aborted) log.error('stdin source stopped: batch not delivered', { error: err.message });
      else log.warn('stdin source stopped with a batch not delivered (stdin cannot be re-read)');
    } finally {
      clearTimeout(timer);
      if (onAbort) ctx.signal.removeEventListener('abort', onAbort);
      // Stop reading on abort: close the stream (its iterator's pending read would otherwise wait for data forever).
      if (ctx.signal.aborted) {
        next?.catch(() => undefined);
        stream.destroy();
      }
    }
  }
}

/** The registry's factory (stdin-config.ts): the process's standard input, multi-line grouping on. */
export function createStdinSource(_on: true, _id: string, env: SourceEnv): StdinSource {
  return new StdinSource({ stream: env.stdin, assembler: () => new LineAssembler() });
}
