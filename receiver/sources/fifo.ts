// Firecracker's logger and metrics FIFOs. Kata's Go runtime (`virtcontainers/fc.go fcListenToFifo`) creates
// `logs.fifo` and `metrics.fifo` in the sandbox's VM directory `/run/vc/firecracker/<id>/` and bind-mounts each
// into the jail as `<id>/root/<name>`; Firecracker writes log lines to logs.fifo and one JSON object per metrics
// flush (every 60 s) to metrics.fifo. The shim reads both FIFOs too: with two readers each line goes to one of
// them (docs/sources.md).
//
// Opening: O_RDWR | O_NONBLOCK, read through a net.Socket on the fd (libuv polls it; no thread-pool thread blocks
// on the pipe). Holding a write end ourselves means a writer closing and reopening the FIFO is never seen as
// end-of-file (Linux allows O_RDWR on a FIFO; POSIX leaves it undefined). The FIFO is read until the sandbox
// directory goes away. In once mode only what is in the pipe buffer right now is read.
//
// No checkpoint: a FIFO cannot be replayed.
import { constants } from 'node:fs';
import { open as openCb } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { nowUnixNano, type Attributes } from '../model/record.js';
import { sleep } from '../queue/backoff.js';
import {
  EVENT_KATA_FIRECRACKER_METRICS,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_ORIGIN,
  ATTR_KATA_SANDBOX_ID,
  ATTR_LOG_FILE_NAME,
  ATTR_LOG_FILE_PATH,
  KATA_COMPONENT_VALUE_HYPERVISOR,
  KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER,
  KATA_LOG_ORIGIN_VALUE_FIFO,
} from '../semconv/generated.js';
import type { Logger } from '../telemetry/log.js';
import { Batcher, pumpLines, textEntry } from './batcher.js';
import { LineSplitter, type Line } from './lines.js';
import { SandboxRateLimit, type GuestRateLimitOptions } from './ratelimit.js';
import { listSandboxes, watchSandboxes, type SandboxDir } from './sandboxes.js';
import type { RawEntry, Source, SourceContext } from './types.js';
import type { FifoInstanceConfig } from './fifo-config.js';

export const DEFAULT_FIFO_ROOTS: readonly string[] = ['/run/vc/firecracker'];
export const FIRECRACKER_LOG_FIFO = 'logs.fifo';
export const FIRECRACKER_METRICS_FIFO = 'metrics.fifo';

export interface FifoSourceOptions {
  /** Source name. Default `fifo`. */
  name?: string;
  /** Run-directory roots holding one directory per sandbox. Default ['/run/vc/firecracker']. */
  roots?: string[];
  /** FIFO names to read in each sandbox directory (then in its `root/` jail). Default ['logs.fifo']: the Go shim
   *  reads both FIFOs itself and a second reader takes lines from it; metrics.fifo is opt-in (see docs/sources.md). */
  fifos?: string[];
  /** kata.hypervisor.name of what is read. Default firecracker. */
  hypervisor?: string;
  /** Directory scan interval (also how soon a FIFO created after its sandbox directory is found). Default 1000 ms. */
  pollMs?: number;
  /** Per-sandbox rate limit of each FIFO (ratelimit.ts). */
  rateLimit?: GuestRateLimitOptions;
  maxLineBytes?: number;
  maxEntries?: number;
  flushMs?: number;
}

/** A metrics.fifo line is one Firecracker metrics flush (JSON): exported as a `kata.firecracker.metrics` event. */
function fifoEntry(line: Line, fifo: string): RawEntry {
  const entry = textEntry(line);
  if (fifo === FIRECRACKER_METRICS_FIFO) entry.eventName = EVENT_KATA_FIRECRACKER_METRICS;
  return entry;
}

export class FifoSource implements Source {
  readonly name: string;
  private readonly pollMs: number;

  constructor(private readonly opts: FifoSourceOptions = {}) {
    this.name = opts.name ?? 'fifo';
    this.pollMs = opts.pollMs ?? 1000;
  }

  async run(ctx: SourceContext): Promise<void> {
    const log = ctx.logger.child({ source: this.name });
    const roots = this.opts.roots ?? DEFAULT_FIFO_ROOTS;
    const fifos = this.opts.fifos ?? [FIRECRACKER_LOG_FIFO];
    if (ctx.once) {
      // Read what the pipes hold now, sandbox by sandbox.
      for (const s of await listSandboxes(roots)) {
        for (const f of fifos) {
          const path = await findFifo(s, f);
          if (path) await this.drainNow(ctx, log.child({ [ATTR_KATA_SANDBOX_ID]: s.id }), s, f, path);
        }
      }
      return;
    }
    await watchSandboxes({
      roots,
      pollMs: this.pollMs,
      signal: ctx.signal,
      probe: async () => true,
      start: (s, _found, gone) =>
        Promise.all(fifos.map((f) => this.follow(ctx, log.child({ [ATTR_KATA_SANDBOX_ID]: s.id }), s, f, gone))).then(
          () => undefined,
        ),
    });
  }

  private batcher(ctx: SourceContext, s: SandboxDir, fifo: string, path: string): Batcher {
    const attributes: Attributes = {
      [ATTR_KATA_SANDBOX_ID]: s.id,
      [ATTR_KATA_LOG_CARRIER]: 'fifo',
      [ATTR_KATA_HYPERVISOR_NAME]: this.opts.hypervisor ?? KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER,
      [ATTR_KATA_COMPONENT]: KATA_COMPONENT_VALUE_HYPERVISOR,
      [ATTR_LOG_FILE_PATH]: path,
      [ATTR_LOG_FILE_NAME]: fifo,
      [ATTR_KATA_LOG_ORIGIN]: KATA_LOG_ORIGIN_VALUE_FIFO,
    };
    return new Batcher(
      (entries) => ctx.emit({ source: this.name, entries, observedTimeUnixNano: nowUnixNano(), attributes }),
      { maxEntries: this.opts.maxEntries, flushMs: this.opts.flushMs },
    );
  }

  private limit(ctx: SourceContext, log: Logger, s: SandboxDir): SandboxRateLimit {
    return new SandboxRateLimit(this.opts.rateLimit ?? {}, {
      source: this.name,
      sandbox: s.id,
      metrics: ctx.metrics,
      log,
    });
  }

  /** Follow one FIFO of one sandbox until the sandbox goes away. */
  private async follow(ctx: SourceContext, log: Logger, s: SandboxDir, fifo: string, gone: AbortSignal): Promise<void> {
    let path: string | undefined;
    while (!gone.aborted && !(path = await findFifo(s, fifo))) await sleep(this.pollMs, gone);
    if (!path || gone.aborted) return;
    let stream: Socket;
    try {
      // A raw fd (not a FileHandle, which would close it on GC): the Socket owns and closes it.
      const fd = await openFd(path, constants.O_RDWR | constants.O_NONBLOCK);
      stream = new Socket({ fd, readable: true, writable: false });
    } catch (err) {
      ctx.metrics.sourceErrors.inc({ source: this.name });
      log.error(`cannot open FIFO ${path}: ${(err as Error).message}; check that kata-otel runs as root on the host`);
      return;
    }
    stream.on('error', () => undefined);
    const onGone = () => stream.destroy();
    gone.addEventListener('abort', onGone, { once: true });
    const batcher = this.batcher(ctx, s, fifo, path);
    const limit = this.limit(ctx, log, s);
    log.debug('reading FIFO', { path });
    try {
      await pumpLines(stream, new LineSplitter(this.opts.maxLineBytes), batcher, (line) =>
        limit.admit(fifoEntry(line, fifo), line.text.length),
      ).catch((err: unknown) => {
        if (!gone.aborted) throw err;
        return 0;
      });
      await batcher.flush();
    } catch (err) {
      batcher.close();
      if (!ctx.signal.aborted) log.error('FIFO source stopped for this sandbox', { path, error: err });
      if (!ctx.signal.aborted) ctx.metrics.sourceErrors.inc({ source: this.name });
    } finally {
      limit.report();
      gone.removeEventListener('abort', onGone);
      stream.destroy();
    }
  }

  /** Once mode: read what the pipe holds now (non-blocking reads until EAGAIN or no writer), then return. */
  private async drainNow(ctx: SourceContext, log: Logger, s: SandboxDir, fifo: string, path: string): Promise<void> {
    const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((err: Error) => {
      ctx.metrics.sourceErrors.inc({ source: this.name });
      log.error(`cannot open FIFO ${path}: ${err.message}`);
      return undefined;
    });
    if (!fh) return;
    const splitter = new LineSplitter(this.opts.maxLineBytes);
    const batcher = this.batcher(ctx, s, fifo, path);
    const limit = this.limit(ctx, log, s);
    const take = (line: Line) => {
      const entry = line.text.length > 0 ? limit.admit(fifoEntry(line, fifo), line.text.length) : undefined;
      return entry && batcher.push(entry);
    };
    const buf = Buffer.alloc(64 * 1024);
    try {
      for (;;) {
        let n: number;
        try {
          ({ bytesRead: n } = await fh.read(buf, 0, buf.length, null));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw err;
        }
        if (n === 0) break;
        for (const line of splitter.push(Buffer.from(buf.subarray(0, n)))) await take(line);
      }
      const tail = splitter.flush();
      if (tail) await take(tail);
      await batcher.flush();
      limit.report();
    } catch (err) {
      batcher.close();
      if (!ctx.signal.aborted) log.error('FIFO read failed', { path, error: err });
      if (!ctx.signal.aborted) ctx.metrics.sourceErrors.inc({ source: this.name });
    } finally {
      await fh.close();
    }
  }
}

/** The FIFO `name` of a sandbox: `<dir>/<name>` (where Kata creates it), else its jail bind mount `<dir>/root/<name>`. */
async function findFifo(s: SandboxDir, name: string): Promise<string | undefined> {
  for (const path of [join(s.dir, name), join(s.dir, 'root', name)]) {
    try {
      if ((await stat(path)).isFIFO()) return path;
    } catch {
      // not there (yet)
    }
  }
  return undefined;
}

function openFd(path: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => openCb(path, flags, (err, fd) => (err ? reject(err) : resolve(fd))));
}

/** The registry's factory (fifo-config.ts). */
export function createFifoSource(f: FifoInstanceConfig): FifoSource {
  const fifos = f.metrics === 'log' ? [FIRECRACKER_LOG_FIFO, FIRECRACKER_METRICS_FIFO] : [FIRECRACKER_LOG_FIFO];
  return new FifoSource({ roots: f.roots, fifos, rateLimit: f.fairShare });
}
