// Tamper evidence at the exporter boundary: every exporter (store, OTLP) is one integrity stream. Its records are
// chained (chain.ts) where the delivery queue fixes their order — the disk queue's single writer, as it writes each
// frame; the memory queue, as it takes a batch for export — and stored and sent as sealed (exporters/types.ts
// Sealer): chain order = file order = delivery order, and nothing is decoded or encoded again at export.
//
// - The queue exports a sealed stream one batch at a time, a failed batch first again: the backend gets the
//   numbers in order. A retry (or a resend after a crash) sends the same bytes: verify counts them as duplicates.
// - A batch refused permanently (400, auth) keeps its numbers: the backend's copy shows the gap, which is the truth
//   (the records are lost), and the receiver logs the range (docs/audit.md).
// - Restart: the head is the furthest of the last sealed frame still in the queue, the store's last record (the
//   store), and `<data_dir>/integrity/<exporter>.json`, saved (fsynced) before the queue deletes frames that hold
//   a head. A SIGKILL never makes two records share a number, and never skips the numbers of stored records.
//   The memory queue saves the head before a sealed batch is exported.
// - The store's checkpoints are posted on the AnchorBoard once written; every OTLP stream chains them into its
//   next sealed batch, so the remote backend holds anchors of the local store that a local attacker cannot reach.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExporterConfig } from '../config/types.js';
import { listStoreFiles } from '../exporters/store.js';
import type { Exporter, ExportResult, PayloadCodec, SealedBatch, Sealer } from '../exporters/types.js';
import type { KataLogRecord } from '../model/record.js';
import type { ExtraAttributes } from '../otlp/extra.js';
import { decodeLogsJson, decodeLogsProto } from '../otlp/index.js';
import type { DeliveryQueue } from '../queue/types.js';
import { groupByResource } from '../otlp/resource.js';
import { queueDirName } from '../queue/disk.js';
import {
  ATTR_AUDIT_INTEGRITY_VALUE,
  ATTR_AUDIT_SEQUENCE_NUMBER,
  ATTR_KATA_INTEGRITY_CHECKPOINT_HEAD,
  ATTR_KATA_INTEGRITY_CHECKPOINT_SEQUENCE,
  ATTR_KATA_INTEGRITY_CHECKPOINT_STREAM,
  ATTR_KATA_INTEGRITY_STREAM,
  EVENT_KATA_INTEGRITY_CHECKPOINT,
} from '../semconv/generated.js';
import { ensurePrivateDir, writeFileAtomic } from '../safefs/index.js';
import type { Logger } from '../telemetry/log.js';
import {
  checkpointRecord,
  newState,
  stampBatch,
  withChainAttributes,
  type ChainOptions,
  type ChainState,
} from './chain.js';

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
      const state = stateOf(recs);
      if (state) return state;
    }
  }
  return undefined;
}

/** The chain state after the highest-numbered of `records` (undefined: none is chained). */
export function stateOf(records: KataLogRecord[]): ChainState | undefined {
  let best: KataLogRecord | undefined;
  for (const r of records) {
    const s = r.attributes[ATTR_AUDIT_SEQUENCE_NUMBER];
    if (typeof s === 'number' && (!best || s > (best.attributes[ATTR_AUDIT_SEQUENCE_NUMBER] as number))) best = r;
  }
  if (!best) return undefined;
  return {
    stream: String(best.attributes[ATTR_KATA_INTEGRITY_STREAM]),
    seq: best.attributes[ATTR_AUDIT_SEQUENCE_NUMBER] as number,
    head: String(best.attributes[ATTR_AUDIT_INTEGRITY_VALUE]),
    checkpointAt: best.observedTimeUnixNano,
  };
}

export interface IntegrityExporterOptions extends ChainOptions {
  /** `<data_dir>/integrity`. */
  headDir: string;
  /** The store's directory, when the inner exporter is the store (its records are a head too). */
  storeDir?: string;
  /** Forward the board's anchors in this stream (OTLP streams); post this stream's checkpoints (the store). */
  board: AnchorBoard;
  forwardAnchors: boolean;
  logger: Logger;
}

export class IntegrityExporter implements Exporter {
  readonly name: string;
  /** The stream as sealed so far (ahead of what is stored while the queue writes). */
  private state: ChainState | undefined;
  /** The stream after the last batch the queue stored: what the head file saves. */
  private storedState: ChainState | undefined;
  private saving: Promise<void> = Promise.resolve();
  private readonly headFile: string;
  readonly payload: PayloadCodec | undefined;
  readonly seal: Sealer;

  constructor(
    readonly inner: Exporter,
    private readonly opts: IntegrityExporterOptions,
  ) {
    this.name = inner.name;
    this.headFile = join(opts.headDir, `${queueDirName(inner.name)}.json`);
    const codec = inner.payload;
    this.payload = codec && {
      type: codec.type,
      encode: (records) => codec.encode(records),
      export: async (payload, count, signal) =>
        this.outcome(await codec.export(payload, count, signal), () => decodeLogsProto(payload)),
    };
    this.seal = {
      seal: (records) => this.sealBatch(records),
      stored: (b) => (this.storedState = b.after as ChainState),
      rewind: (b) => (this.state = { ...(b.before as ChainState) }),
      persist: () => this.persist(),
      resume: (last) => this.resume(last),
    };
  }

  /** Records the queue sealed (stamped) already: sent as they are. */
  async export(records: KataLogRecord[], signal?: AbortSignal): Promise<ExportResult> {
    const res = this.outcome(await this.inner.export(records, signal), () => records);
    // The store's checkpoints, once written, go to the OTLP streams (the remote copy of the store's anchors).
    if (res.code === 'success' && !this.opts.forwardAnchors && this.state)
      for (const r of records)
        if (r.eventName === EVENT_KATA_INTEGRITY_CHECKPOINT) {
          const a = r.attributes;
          if (a[ATTR_KATA_INTEGRITY_CHECKPOINT_STREAM] !== this.state.stream) continue;
          this.opts.board.post({
            stream: this.state.stream,
            seq: a[ATTR_KATA_INTEGRITY_CHECKPOINT_SEQUENCE] as number,
            head: a[ATTR_KATA_INTEGRITY_CHECKPOINT_HEAD] as string,
            at: r.observedTimeUnixNano,
          });
        }
    return res;
  }

  /** A permanent refusal loses sealed numbers for good: say which, so the gap verify reports can be told. */
  private outcome(res: ExportResult, records: () => KataLogRecord[]): ExportResult {
    if (res.code !== 'permanent') return res;
    let lo = Infinity;
    let hi = 0;
    let stream = '';
    try {
      for (const r of records()) {
        const s = r.attributes[ATTR_AUDIT_SEQUENCE_NUMBER];
        if (typeof s !== 'number') continue;
        lo = Math.min(lo, s);
        hi = Math.max(hi, s);
        stream = String(r.attributes[ATTR_KATA_INTEGRITY_STREAM]);
      }
    } catch {
      /* the range is only for the log */
    }
    if (hi > 0)
      this.opts.logger.error('integrity: records refused permanently are lost; the backend will show this gap', {
        exporter: this.name,
        stream,
        first: lo,
        last: hi,
        reason: res.error,
      });
    return res;
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  /**
   * Queue the anchors this stream has not forwarded yet, and wait for them to be delivered. Anchors otherwise ride
   * in the next batch, and the store's last checkpoints have none when the store finishes after this stream (a
   * `--once` run, a shutdown): without this the backend would not hold them and a cut store tail would go unnoticed.
   */
  async flushAnchors(queue: DeliveryQueue, timeoutMs: number): Promise<boolean> {
    if (!this.opts.forwardAnchors) return true;
    const anchors = this.opts.board.pending(this.name);
    if (anchors.length === 0) return true;
    this.opts.board.delivered(this.name, anchors);
    await queue.append(anchors.map((a) => checkpointRecord(a.stream, a.seq, a.head, a.at)));
    return queue.drain(timeoutMs);
  }

  /** The chain state after the last sealed batch (tests, diagnostics). */
  async head(): Promise<ChainState> {
    await this.saving;
    return { ...(this.state ?? (await this.load(undefined))) };
  }

  private sealBatch(records: KataLogRecord[]): SealedBatch {
    // The queue resumes the stream before its first seal; a stream sealed without it would reuse numbers.
    if (!this.state) throw new Error(`integrity stream of ${this.name} sealed before it was resumed`);
    const state = this.state;
    const before = { ...state };
    const ordered = groupByResource(records).flatMap((g) => g.records);
    const anchors = this.opts.forwardAnchors ? this.opts.board.pending(this.name) : [];
    // Taken at once: a later batch must not chain them again (a rewind, at a failing close, loses them until the
    // store's next checkpoint).
    this.opts.board.delivered(this.name, anchors);
    const extra = anchors.map((a) => checkpointRecord(a.stream, a.seq, a.head, a.at));
    const codec = this.inner.payload;
    // An encoder that writes extra attributes gets the chain attributes beside each record (no attribute copy).
    const chainAttrs = codec?.extraAttributes === true ? new Map<KataLogRecord, ExtraAttributes>() : undefined;
    let { records: stamped } = stampBatch(ordered, state, this.opts, extra, chainAttrs);
    const after = { ...state };
    let payload: Uint8Array | undefined;
    if (codec)
      try {
        payload = codec.encode(stamped, chainAttrs);
      } catch {
        payload = undefined; // the queue keeps the stamped records (a JSON frame), encoded again at export
      }
    if (!payload && chainAttrs) stamped = stamped.map((r) => withChainAttributes(r, chainAttrs));
    return payload
      ? { payload, count: stamped.length, before, after }
      : { records: stamped, count: stamped.length, before, after };
  }

  private async resume(last: KataLogRecord[] | undefined): Promise<void> {
    this.state = await this.load(last);
    this.storedState = { ...this.state };
  }

  /** The furthest of: the queue's last sealed frame, the store's last record, the head file. */
  private async load(last: KataLogRecord[] | undefined): Promise<ChainState> {
    let saved: ChainState | undefined;
    try {
      const h = JSON.parse(await readFile(this.headFile, 'utf8')) as HeadFile;
      saved = { stream: h.stream, seq: h.seq, head: h.head, checkpointAt: BigInt(h.checkpointAt) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.opts.logger.warn(
          'integrity head file unreadable; recovering the chain from the queue and the store, or starting a new stream',
          { file: this.headFile, err },
        );
    }
    const fromQueue = last ? stateOf(last) : undefined;
    const fromStore = this.opts.storeDir ? await recoverFromStore(this.opts.storeDir) : undefined;
    let state: ChainState | undefined;
    // In this order on a tie; a store that lost its last records must not rewind the chain (verify reports them).
    for (const c of [fromQueue, fromStore, saved]) if (c && (!state || c.seq > state.seq)) state = c;
    if (!state) state = newState(`${this.name}/${randomBytes(8).toString('hex')}`);
    else
      this.opts.logger.info('integrity chain resumed', { exporter: this.name, stream: state.stream, seq: state.seq });
    return { ...state };
  }

  /** Temp file + rename, fsynced: the head file is always whole, and outlives the frames deleted after it. */
  private persist(): Promise<void> {
    const run = this.saving.then(async () => {
      const s = this.storedState;
      if (!s) return;
      const body: HeadFile = { stream: s.stream, seq: s.seq, head: s.head, checkpointAt: s.checkpointAt.toString() };
      await ensurePrivateDir(this.opts.headDir, '', 'integrity directory');
      await writeFileAtomic(this.headFile, JSON.stringify(body) + '\n', { sync: 'data' });
    });
    this.saving = run.catch(() => {});
    return run;
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
