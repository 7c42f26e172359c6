// The embedded store: the default exporter when no endpoint is configured. Records are written as OTLP/JSON
// lines in the OpenTelemetry Collector file-exporter format (one ExportLogsServiceRequest per line), so the
// Collector's otlpjsonfile receiver, `jq`, or `readStore` can read them back. Files are
// `<dir>/logs-<UTC timestamp>-<seq>.jsonl`, so name order is write order; a file is closed and a new one
// started past `maxFileBytes` or `maxFileAgeMs`. Retention (files older than `maxAgeMs`, then oldest first
// while the store is over `maxTotalBytes`) runs at every rotation and on a timer. Directory 0700, files 0600.
// Hand-written rather than a rotating-file package: the queue in front needs each export to be durable before
// it reports success (datasync), and a crash may leave at most one torn last line, which readStore skips.
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { StoreExporterConfig } from '../config/types.js';
import type { KataLogRecord } from '../model/record.js';
import { decodeLogsJson } from '../otlp/index.js';
import { encodeLogsJsonLine } from '../otlp/encode-json.js';
import { createExclusive, ensurePrivateDir } from '../safefs/index.js';
import { silentLogger, type Logger } from '../telemetry/log.js';
import type { Exporter, ExportResult } from './types.js';
import type { BuiltExporter, ExporterEnv } from '../components/types.js';

/** `logs-…` files hold ExportLogsServiceRequests, `traces-…` / `metrics-…` the other signals (receiver/signals). */
export type StoreFileKind = 'logs' | 'traces' | 'metrics';
const FILES: Record<StoreFileKind, RegExp> = {
  logs: /^logs-(\d{8}T\d{9}Z)-(\d{6,})\.jsonl$/,
  traces: /^traces-(\d{8}T\d{9}Z)-(\d{6,})\.jsonl$/,
  metrics: /^metrics-(\d{8}T\d{9}Z)-(\d{6,})\.jsonl$/,
};

export interface StoreRuntimeOptions {
  /** Clock in ms since the epoch (tests inject one). Default Date.now. */
  now?: () => number;
  /** Period of the retention and age-rotation timer; 0 disables the timer. Default 60 s. */
  checkIntervalMs?: number;
  logger?: Logger;
}

export type StoreSettings = Pick<
  StoreExporterConfig,
  'directory' | 'maxFileBytes' | 'maxFileAgeMs' | 'maxAgeMs' | 'maxTotalBytes'
> & { name?: string; /** Which files this exporter writes and prunes (default logs). */ kind?: StoreFileKind };

/** `20260517T194330651Z`: ISO-8601 basic format, safe in file names, sorts as time. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:.]/g, '');
}

/** Store files in write order. */
export async function listStoreFiles(dir: string, kind: StoreFileKind = 'logs'): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.filter((n) => FILES[kind].test(n)).sort();
}

interface Current {
  path: string;
  fh: FileHandle;
  size: number;
  createdAt: number;
}

export class StoreExporter implements Exporter {
  readonly name: string;
  private readonly now: () => number;
  private readonly logger: Logger;
  private current: Current | undefined;
  private seq = -1;
  private ready: Promise<void> | undefined;
  /** Writes, rotations and retention run one at a time, in order. */
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly settings: StoreSettings,
    opts: StoreRuntimeOptions = {},
  ) {
    this.name = settings.name ?? 'store';
    this.now = opts.now ?? Date.now;
    this.logger = (opts.logger ?? silentLogger).child({ exporter: this.name });
    const every = opts.checkIntervalMs ?? 60_000;
    if (every > 0) {
      this.timer = setInterval(() => void this.serial(() => this.maintain()).catch(() => {}), every);
      this.timer.unref();
    }
  }

  get directory(): string {
    return this.settings.directory;
  }

  private get kind(): StoreFileKind {
    return this.settings.kind ?? 'logs';
  }

  async export(records: KataLogRecord[], signal?: AbortSignal): Promise<ExportResult> {
    if (this.closed) return { code: 'retryable', error: `store ${this.directory} is shut down` };
    if (records.length === 0) return { code: 'success' };
    if (signal?.aborted) return { code: 'retryable', error: 'export aborted' };
    return this.writeBytes(encodeLogsJsonLine(records));
  }

  /** Appends one OTLP/JSON request as a line, durably (the signal exporters write spans through this). */
  async writeLine(json: string, signal?: AbortSignal): Promise<ExportResult> {
    if (this.closed) return { code: 'retryable', error: `store ${this.directory} is shut down` };
    if (signal?.aborted) return { code: 'retryable', error: 'export aborted' };
    return this.writeBytes(Buffer.from(json + '\n', 'utf8'));
  }

  /** Appends one line already encoded as UTF-8 bytes, `\n` included (encodeLogsJsonLine). */
  private async writeBytes(line: Buffer): Promise<ExportResult> {
    try {
      await this.serial(() => this.append(line));
      return { code: 'success' };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      // Disk full, permissions changed, directory removed: all can recover, and the queue keeps the batch.
      return { code: 'retryable', error: `store ${this.directory}: ${e.code ?? ''} ${e.message}`.trim() };
    }
  }

  /** Close the current file (if it is due) and apply retention now; the timer calls this. */
  maintainNow(): Promise<void> {
    return this.serial(() => this.maintain());
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.serial(() => this.closeCurrent());
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      await ensurePrivateDir(this.directory, '', 'store directory');
      for (const f of await listStoreFiles(this.directory, this.kind))
        this.seq = Math.max(this.seq, Number(FILES[this.kind].exec(f)![2]));
    })().catch((err: unknown) => {
      this.ready = undefined; // try again on the next export
      throw err;
    });
    return this.ready;
  }

  private async append(line: Buffer): Promise<void> {
    await this.init();
    const cur = this.current;
    if (
      cur &&
      (this.now() - cur.createdAt >= this.settings.maxFileAgeMs ||
        (cur.size > 0 && cur.size + line.length > this.settings.maxFileBytes))
    ) {
      await this.rotate();
    }
    const target = this.current ?? (await this.openNext());
    try {
      let off = 0;
      // Positional: after a failed write is cut back (below), the descriptor's own position would be past the end.
      while (off < line.length)
        off += (await target.fh.write(line, off, line.length - off, target.size + off)).bytesWritten;
      await target.fh.datasync();
      target.size += line.length;
    } catch (err) {
      // A failed write (a full disk) may have left part of the line: cut it off and keep the file for the retry,
      // so retries leave neither a torn line nor a new empty file each. A file that cannot be cut is never
      // appended to again (readStore skips its torn last line), and removed if it holds nothing.
      try {
        await target.fh.truncate(target.size);
      } catch {
        await this.closeCurrent().catch(() => {});
        if (target.size === 0) await unlink(target.path).catch(() => {});
      }
      throw err;
    }
  }

  private async openNext(): Promise<Current> {
    const createdAt = this.now();
    this.seq += 1;
    const path = join(this.directory, `${this.kind}-${stamp(createdAt)}-${String(this.seq).padStart(6, '0')}.jsonl`);
    const fh = await createExclusive(path);
    this.current = { path, fh, size: 0, createdAt };
    this.logger.debug('store file opened', { file: path });
    return this.current;
  }

  private async closeCurrent(): Promise<void> {
    const cur = this.current;
    this.current = undefined;
    if (!cur) return;
    try {
      await cur.fh.datasync();
    } finally {
      await cur.fh.close();
    }
  }

  private async rotate(): Promise<void> {
    await this.closeCurrent();
    await this.retention();
  }

  private async maintain(): Promise<void> {
    if (this.closed || !this.ready) return;
    const cur = this.current;
    if (cur && this.now() - cur.createdAt >= this.settings.maxFileAgeMs) await this.closeCurrent();
    await this.retention();
  }

  /** Delete files past `maxAgeMs` (by last write), then the oldest while the store is over `maxTotalBytes`. */
  private async retention(): Promise<void> {
    const now = this.now();
    const files: { path: string; size: number; mtimeMs: number }[] = [];
    for (const name of await listStoreFiles(this.directory, this.kind)) {
      const path = join(this.directory, name);
      try {
        const s = await stat(path);
        files.push({ path, size: s.size, mtimeMs: s.mtimeMs });
      } catch {
        // removed meanwhile
      }
    }
    let total = files.reduce((n, f) => n + f.size, 0);
    for (const f of files) {
      if (f.path === this.current?.path) continue; // never the file being written
      const expired = now - f.mtimeMs > this.settings.maxAgeMs;
      if (!expired && total <= this.settings.maxTotalBytes) continue;
      try {
        await unlink(f.path);
        total -= f.size;
        this.logger.debug('store file deleted', { file: f.path, reason: expired ? 'max_age_ms' : 'max_total_bytes' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
          this.logger.warn('store file not deleted', { file: f.path, error: err });
      }
    }
  }
}

export function createStoreExporter(settings: StoreSettings, opts: StoreRuntimeOptions = {}): StoreExporter {
  return new StoreExporter(settings, opts);
}

export interface ReadStoreOptions {
  /** Told about each line that does not decode (a torn last line after a crash); the line is skipped. */
  onError?: (message: string) => void;
}

/** The records of a store directory, oldest file first, in the order they were written. */
export async function* readStore(dir: string, opts: ReadStoreOptions = {}): AsyncGenerator<KataLogRecord> {
  for (const name of await listStoreFiles(dir)) {
    const input = createReadStream(join(dir, name), { encoding: 'utf8' });
    const lines = createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    try {
      for await (const line of lines) {
        n++;
        if (!line.trim()) continue;
        const where = `${name}:${n}`;
        yield* decodeLogsJson(line, (m) => opts.onError?.(`${where}: ${m}`));
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // deleted by retention while reading
    } finally {
      lines.close();
      input.destroy();
      if (!input.closed) await once(input, 'close').catch(() => {});
    }
  }
}

/** The registry's factory (store-config.ts). */
export function storeExporterFactory(e: StoreExporterConfig, env: ExporterEnv): BuiltExporter {
  return { exporter: createStoreExporter(e, { logger: env.logger }) };
}
