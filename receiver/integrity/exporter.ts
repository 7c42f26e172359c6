// Tamper evidence at the exporter boundary: every exporter (store, OTLP) is one integrity stream, and this wrapper
// chains each batch (chain.ts) right before it is handed to the exporter, so the numbers follow what was really
// written or sent, in that order.
//
// - Exports run one at a time: two batches in flight could reach the store or backend in the other order.
// - A batch that fails (retryable or permanent) gives its sequence numbers back, so nothing a backend never got
//   shows up as a gap; the queue sends it again, chained anew.
// - The head is saved in `<data_dir>/integrity/<exporter>.json` after each success. The store's head is also in
//   the store itself: at start it is recovered from the last intact record of the newest file, so a SIGKILL
//   between the write and the head file costs nothing (and a store that lost records does not rewind the chain).
// - The store's checkpoints are posted on the AnchorBoard; every OTLP stream forwards them in its next batch, so
//   the remote backend holds anchors of the local store that a local attacker cannot reach.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExporterConfig } from '../config/types.js';
import { listStoreFiles } from '../exporters/store.js';
import type { Exporter, ExportResult, PayloadCodec } from '../exporters/types.js';
import type { KataLogRecord } from '../model/record.js';
import { decodeLogsJson, decodeLogsProto } from '../otlp/index.js';
import { groupByResource } from '../otlp/resource.js';
import { queueDirName } from '../queue/disk.js';
import {
  ATTR_AUDIT_INTEGRITY_VALUE,
  ATTR_AUDIT_SEQUENCE_NUMBER,
  ATTR_KATA_INTEGRITY_STREAM,
} from '../semconv/generated.js';
import { ensurePrivateDir, writeFileAtomic } from '../safefs/index.js';
import type { Logger } from '../telemetry/log.js';
import { checkpointRecord, newState, stampBatch, type ChainOptions, type ChainState } from './chain.js';

interface Anchor {
  stream: string;
  seq: number;
  head: string;
  at: bigint;
}

/** The latest checkpoint of each local stream, and what each forwarding stream has already sent. */
export class AnchorBoard {
  private readonly latest = new Map<string, Anchor>();
  private readonly sent = new Map<string, Map<string, number>>();

  post(a: Anchor): void {
    const cur = this.latest.get(a.stream);
    if (!cur || cur.seq < a.seq) this.latest.set(a.stream, a);
  }

  /** Anchors `consumer` has not sent yet. */
  pending(consumer: string): Anchor[] {
    const sent = this.sent.get(consumer);
    return [...this.latest.values()].filter((a) => (sent?.get(a.stream) ?? 0) < a.seq);
  }

  delivered(consumer: string, anchors: Anchor[]): void {
    let sent = this.sent.get(consumer);
    if (!sent) this.sent.set(consumer, (sent = new Map()));
    for (const a of anchors) sent.set(a.stream, Math.max(sent.get(a.stream) ?? 0, a.seq));
  }
}

interface HeadFile {
  stream: string;
  seq: number;
  head: string;
  checkpointAt: string;
}

/** The chain state at the last intact record of the newest store file that has one (undefined: none). */
export async function recoverFromStore(dir: string): Promise<ChainState | undefined> {
  const files = await listStoreFiles(dir);
  for (let f = files.length - 1; f >= 0; f--) {
    let text: string;
    try {
      text = await readFile(join(dir, files[f]!), 'utf8');
    } catch {
      continue; // removed by retention meanwhile
    }
    const lines = text.split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      if (!lines[i]!.trim()) continue;
      let bad = false;
      const recs = decodeLogsJson(lines[i]!, () => (bad = true));
      if (bad) continue; // a torn last line
      let best: KataLogRecord | undefined;
      for (const r of recs) {
        const s = r.attributes[ATTR_AUDIT_SEQUENCE_NUMBER];
        if (typeof s === 'number' && (!best || s > (best.attributes[ATTR_AUDIT_SEQUENCE_NUMBER] as number))) best = r;
      }
      if (!best) continue;
      return {
        stream: String(best.attributes[ATTR_KATA_INTEGRITY_STREAM]),
        seq: best.attributes[ATTR_AUDIT_SEQUENCE_NUMBER] as number,
        head: String(best.attributes[ATTR_AUDIT_INTEGRITY_VALUE]),
        checkpointAt: best.observedTimeUnixNano,
      };
    }
  }
  return undefined;
}

export interface IntegrityExporterOptions extends ChainOptions {
  /** `<data_dir>/integrity`. */
  headDir: string;
  /** The store's directory, when the inner exporter is the store (its records are the durable head). */
  storeDir?: string;
  /** Forward the board's anchors in this stream (OTLP streams); post this stream's checkpoints (the store). */
  board: AnchorBoard;
  forwardAnchors: boolean;
  logger: Logger;
}

export class IntegrityExporter implements Exporter {
  readonly name: string;
  private state: ChainState | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private readonly headFile: string;

  constructor(
    readonly inner: Exporter,
    private readonly opts: IntegrityExporterOptions,
  ) {
    this.name = inner.name;
    this.headFile = join(opts.headDir, `${queueDirName(inner.name)}.json`);
    this.payload = this.wrapCodec();
  }

  export(records: KataLogRecord[], signal?: AbortSignal): Promise<ExportResult> {
    return this.serial(() => this.sendStamped(records, (stamped) => this.inner.export(stamped, signal)));
  }

  /**
   * The inner exporter's payload codec, so the queue keeps holding encoded payloads (far smaller than records):
   * at export the payload is decoded, chained and encoded again (docs/audit.md has the cost).
   */
  readonly payload: PayloadCodec | undefined;

  private wrapCodec(): PayloadCodec | undefined {
    const codec = this.inner.payload;
    if (!codec) return undefined;
    return {
      type: codec.type,
      encode: (records) => codec.encode(records),
      export: (payload, _records, signal) =>
        this.serial(() =>
          this.sendStamped(decodeLogsProto(payload), (stamped) =>
            codec.export(codec.encode(stamped), stamped.length, signal),
          ),
        ),
    };
  }

  private serial(fn: () => Promise<ExportResult>): Promise<ExportResult> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => {});
    return run;
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  /**
   * Send the anchors this stream has not forwarded yet in a batch of their own. Anchors otherwise ride on the next
   * batch, and the store's last checkpoints have none when the store finishes after this stream (a `--once` run,
   * a shutdown): without this the backend would not hold them and a cut store tail would go unnoticed.
   */
  async flushAnchors(signal?: AbortSignal): Promise<ExportResult | undefined> {
    if (!this.opts.forwardAnchors || this.opts.board.pending(this.name).length === 0) return undefined;
    const codec = this.inner.payload;
    return this.serial(() =>
      this.sendStamped([], (stamped) =>
        codec ? codec.export(codec.encode(stamped), stamped.length, signal) : this.inner.export(stamped, signal),
      ),
    );
  }

  /** The chain state after the last successful export (tests, diagnostics). */
  async head(): Promise<ChainState> {
    await this.lock;
    return { ...(await this.load()) };
  }

  private async sendStamped(
    records: KataLogRecord[],
    send: (stamped: KataLogRecord[]) => Promise<ExportResult>,
  ): Promise<ExportResult> {
    const state = await this.load();
    const before = { ...state };
    const ordered = groupByResource(records).flatMap((g) => g.records);
    const anchors = this.opts.forwardAnchors ? this.opts.board.pending(this.name) : [];
    const extra = anchors.map((a) => checkpointRecord(a.stream, a.seq, a.head, a.at));
    const { records: stamped, checkpoint } = stampBatch(ordered, state, this.opts, extra);
    let res: ExportResult;
    try {
      res = await send(stamped);
    } catch (err) {
      Object.assign(state, before);
      throw err;
    }
    if (res.code !== 'success') {
      Object.assign(state, before); // not written, or refused: the numbers are given back
      return res;
    }
    this.opts.board.delivered(this.name, anchors);
    if (checkpoint && !this.opts.forwardAnchors)
      this.opts.board.post({ stream: state.stream, ...checkpoint, at: state.checkpointAt });
    await this.saveHead(state);
    return res;
  }

  private async load(): Promise<ChainState> {
    if (this.state) return this.state;
    let saved: ChainState | undefined;
    try {
      const h = JSON.parse(await readFile(this.headFile, 'utf8')) as HeadFile;
      saved = { stream: h.stream, seq: h.seq, head: h.head, checkpointAt: BigInt(h.checkpointAt) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.opts.logger.warn(
          'integrity head file unreadable; recovering the chain from the store or starting a new stream',
          {
            file: this.headFile,
            err,
          },
        );
    }
    const fromStore = this.opts.storeDir ? await recoverFromStore(this.opts.storeDir) : undefined;
    // The further of the two: a store that lost its last records must not rewind the chain (verify reports them).
    let state =
      fromStore && (!saved || saved.stream !== fromStore.stream || fromStore.seq >= saved.seq) ? fromStore : saved;
    if (!state) state = newState(`${this.name}/${randomBytes(8).toString('hex')}`);
    else
      this.opts.logger.info('integrity chain resumed', { exporter: this.name, stream: state.stream, seq: state.seq });
    this.state = state;
    return state;
  }

  /** Temp file + rename: the head file is always whole. Not fsynced: see the header (the store is its own head). */
  private async saveHead(s: ChainState): Promise<void> {
    const body: HeadFile = { stream: s.stream, seq: s.seq, head: s.head, checkpointAt: s.checkpointAt.toString() };
    try {
      await ensurePrivateDir(this.opts.headDir, '', 'integrity directory');
      await writeFileAtomic(this.headFile, JSON.stringify(body) + '\n', { sync: 'none' });
    } catch (err) {
      this.opts.logger.warn('could not save the integrity head; it is recovered from the store at the next start', {
        file: this.headFile,
        err,
      });
    }
  }
}

/** Wraps exporters for `config.integrity` (stdout is display, not a stream). */
export function integrityWrapper(
  opts: ChainOptions & { dataDir: string; logger: Logger },
): (exporter: Exporter, e: ExporterConfig) => Exporter {
  const board = new AnchorBoard();
  return (exporter, e) =>
    e.type === 'stdout'
      ? exporter
      : new IntegrityExporter(exporter, {
          ...opts,
          headDir: join(opts.dataDir, 'integrity'),
          storeDir: e.type === 'store' ? e.directory : undefined,
          board,
          forwardAnchors: e.type !== 'store',
          logger: opts.logger,
        });
}
