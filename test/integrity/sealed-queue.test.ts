// The chain is sealed in the delivery queue's order (receiver/integrity/exporter.ts, queue/disk.ts, queue/memory.ts):
// real disk and memory queues in front of an IntegrityExporter whose inner exporter is a backend that keeps every
// request body it gets (the OTLP protobuf payload, as a gRPC or HTTP exporter would send it). What the backend got
// is turned into a Collector's file output and checked with `kata-otel verify`'s code.
import { readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStoreExporter } from '../../receiver/exporters/store.js';
import type { Exporter, ExportResult } from '../../receiver/exporters/types.js';
import { AnchorBoard, IntegrityExporter } from '../../receiver/integrity/exporter.js';
import { verifyPaths } from '../../receiver/integrity/verify.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { decodeLogsProto, encodeLogsJson, encodeLogsProto } from '../../receiver/otlp/index.js';
import { createQueue } from '../../receiver/queue/index.js';
import type { DeliveryQueue, QueueOptionsInput } from '../../receiver/queue/types.js';
import { ATTR_AUDIT_SEQUENCE_NUMBER, ATTR_KATA_SANDBOX_ID } from '../../receiver/semconv/generated.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { captureLogger, makeRecords, tempDir } from '../queue/helpers.js';

type Answer = (call: number, body: Uint8Array) => ExportResult | Promise<ExportResult>;

/** A backend reached through a payload codec: keeps each request body it got, with its answer. */
class Backend implements Exporter {
  readonly name = 'backend';
  readonly got: { body: Uint8Array; code: ExportResult['code'] }[] = [];
  constructor(private readonly answer: Answer = () => ({ code: 'success' })) {}
  readonly payload = {
    type: 'application/x-protobuf' as const,
    encode: (records: KataLogRecord[]) => encodeLogsProto(records),
    export: async (body: Uint8Array, _n: number): Promise<ExportResult> => {
      const res = await this.answer(this.got.length, body);
      this.got.push({ body: Buffer.from(body), code: res.code });
      return res;
    },
  };
  export(): Promise<ExportResult> {
    throw new Error('a payload exporter is sent payloads');
  }
  async shutdown(): Promise<void> {}
}

const seqs = (body: Uint8Array) => decodeLogsProto(body).map((r) => r.attributes[ATTR_AUDIT_SEQUENCE_NUMBER]);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(kind: 'disk' | 'memory', answer?: Answer, opts: QueueOptionsInput = {}, dir?: string) {
  if (!dir) {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    dir = t.dir;
  }
  const backend = new Backend(answer);
  const { logger, lines } = captureLogger();
  const chained = new IntegrityExporter(backend, {
    checkpointIntervalMs: 3_600_000,
    checkpointEveryRecords: 100,
    headDir: join(dir, 'integrity'),
    board: new AnchorBoard(),
    forwardAnchors: true,
    logger,
  });
  const queue = await createQueue(
    { kind, fsync: 'never', maxBatchRecords: 25, maxInFlight: 4, retry: { initialMs: 1, maxMs: 5 }, ...opts },
    chained,
    { dataDir: dir, logger, metrics: new Metrics() },
  );
  return { dir, backend, chained, queue, lines };
}

/** verify over what the backend stored (`which`: the bodies it kept), as a Collector's file exporter would write it. */
async function verifyBackend(dir: string, bodies: Uint8Array[]) {
  const file = join(dir, 'collector.jsonl');
  await writeFile(file, bodies.map((b) => encodeLogsJson(decodeLogsProto(b)) + '\n').join(''));
  return verifyPaths({ paths: [file] });
}

/** Two sources appending at once; each append waits for its own barrier (SourceBatch.after), released out of order. */
async function twoSources(queue: DeliveryQueue, batches: number): Promise<number> {
  const appends: Promise<void>[] = [];
  let n = 0;
  for (let i = 0; i < batches; i++)
    for (const src of ['a', 'b']) {
      const records = makeRecords(7 + ((i * 5) % 31), i * 100, `${src}${i}-`);
      n += records.length;
      // Source a's barriers resolve late and in reverse, source b's at once: commits finish in another order than
      // the appends were made.
      const after = new Promise<void>((r) => setTimeout(r, src === 'a' ? (batches - i) * 3 : 0));
      appends.push(queue.append(records, after));
    }
  await Promise.all(appends);
  return n;
}

describe.each(['disk', 'memory'] as const)('sealed chain, %s queue', (kind) => {
  it('numbers follow delivery order with two sources appending at once (exports may not overlap)', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    const { dir, backend, queue } = await setup(kind, async () => {
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      concurrent--;
      return { code: 'success' };
    });
    queue.start();
    const n = await twoSources(queue, 12);
    expect(await queue.drain(20_000)).toBe(true);
    await queue.close();
    const delivered = backend.got.flatMap((g) => seqs(g.body));
    // Every record plus the checkpoints (one per 100), numbered 1, 2, 3 … in the order the backend got them.
    expect(delivered.length).toBeGreaterThan(n);
    expect(delivered).toEqual(delivered.map((_, i) => i + 1));
    expect(maxConcurrent).toBe(1);
    const v = await verifyBackend(
      dir,
      backend.got.map((g) => g.body),
    );
    expect(v.findings).toEqual([]);
    expect(v.streams).toEqual([
      { stream: expect.any(String), records: delivered.length, first: 1, last: n + (delivered.length - n) },
    ]);
  });

  it('a retry resends the same bytes, so the same numbers: verify counts the copies as duplicates', async () => {
    // Calls 1 and 2 fail after the backend kept the body (a timeout after the write): it holds three copies.
    const { dir, backend, queue } = await setup(kind, (call) =>
      call === 1 || call === 2 ? { code: 'retryable', error: 'deadline exceeded' } : { code: 'success' },
    );
    queue.start();
    await queue.append(makeRecords(20, 0, 'x'));
    await queue.append(makeRecords(20, 100, 'y'));
    await queue.append(makeRecords(20, 200, 'z'));
    expect(await queue.drain(20_000)).toBe(true);
    await queue.close();
    expect(backend.got.map((g) => g.code).slice(0, 4)).toEqual(['success', 'retryable', 'retryable', 'success']);
    expect(Buffer.compare(backend.got[1]!.body, backend.got[2]!.body)).toBe(0);
    expect(Buffer.compare(backend.got[2]!.body, backend.got[3]!.body)).toBe(0);
    const v = await verifyBackend(
      dir,
      backend.got.map((g) => g.body),
    );
    expect(v.findings).toEqual([]);
    expect(v.duplicates).toBe(2 * seqs(backend.got[1]!.body).length);
  });

  it('a permanent refusal keeps its numbers: the backend copy has a gap that verify reports, and the log names it', async () => {
    const { dir, backend, queue, lines } = await setup(kind, (call) =>
      call === 1 ? { code: 'permanent', error: 'HTTP 400 bad request' } : { code: 'success' },
    );
    queue.start();
    for (let i = 0; i < 3; i++) await queue.append(makeRecords(20, i * 100, `p${i}-`));
    expect(await queue.drain(20_000)).toBe(true);
    await queue.close();
    const lost = seqs(backend.got[1]!.body) as number[];
    const kept = backend.got.filter((g) => g.code === 'success').map((g) => g.body);
    const v = await verifyBackend(dir, kept);
    expect(v.findings).toHaveLength(1);
    const f = v.findings[0]!;
    expect(f).toMatchObject({ kind: 'deleted', tampering: true, seq: lost[0] });
    expect(f.message).toContain(`(${lost[0]}–${lost[lost.length - 1]}) missing`);
    expect(f.message).toContain('refused permanently');
    const log = lines.find((l) => String(l.msg).includes('refused permanently are lost'));
    expect(log).toMatchObject({ first: lost[0], last: lost[lost.length - 1] });
  });
});

describe('sealed chain, disk queue across restarts', () => {
  it('resumes from the last sealed frame in the queue (no head file) and seals frames of an older run', async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    // 1. An older run (or integrity off): unsealed frames, never exported.
    const plain = new Backend();
    const { logger } = captureLogger();
    const q0 = await createQueue({ fsync: 'never', maxBatchRecords: 25 }, plain, {
      dataDir: t.dir,
      logger,
      metrics: new Metrics(),
    });
    await q0.append(makeRecords(30, 0, 'old-'));
    await q0.close();
    // 2. Sealed: the old frames first, then new ones; not exported, the process "dies" (close, head file removed).
    const one = await setup('disk', undefined, {}, t.dir);
    await one.queue.append(makeRecords(40, 1000, 'new-'));
    await one.queue.close();
    await rm(join(t.dir, 'integrity'), { recursive: true, force: true });
    // 3. Next start: the chain goes on after the queue's last frame; everything is delivered once, in order.
    const two = await setup('disk', undefined, {}, t.dir);
    await two.queue.append(makeRecords(10, 2000, 'later-'));
    two.queue.start();
    expect(await two.queue.drain(20_000)).toBe(true);
    await two.queue.close();
    const got = two.backend.got.flatMap((g) => decodeLogsProto(g.body));
    expect(got.map((r) => r.attributes[ATTR_AUDIT_SEQUENCE_NUMBER])).toEqual(got.map((_, i) => i + 1));
    const bodies = got.map((r) => r.body).filter((b) => !b.startsWith('integrity checkpoint'));
    expect(bodies).toEqual(
      [...makeRecords(30, 0, 'old-'), ...makeRecords(40, 1000, 'new-'), ...makeRecords(10, 2000, 'later-')].map(
        (r) => r.body,
      ),
    );
    const v = await verifyBackend(
      t.dir,
      two.backend.got.map((g) => g.body),
    );
    expect(v.findings).toEqual([]);
    expect(v.streams).toHaveLength(1);
  });

  it('saves the head before deleting delivered frames, so the next start goes on from it', async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const one = await setup('disk', undefined, { segmentBytes: 4096 }, t.dir);
    one.queue.start();
    for (let i = 0; i < 5; i++) await one.queue.append(makeRecords(20, i * 100));
    expect(await one.queue.drain(20_000)).toBe(true);
    await one.queue.close();
    const first = one.backend.got.flatMap((g) => seqs(g.body)) as number[];
    // The finished segments were deleted (close waits for that), so only the head file holds the head.
    expect(readdirSync(join(t.dir, 'queue', 'backend')).filter((f) => f.endsWith('.seg'))).toEqual([]);
    const head = JSON.parse(readFileSync(join(t.dir, 'integrity', 'backend.json'), 'utf8')) as { seq: number };
    expect(head.seq).toBe(first[first.length - 1]);
    const two = await setup('disk', undefined, {}, t.dir);
    two.queue.start();
    await two.queue.append(makeRecords(5, 900));
    expect(await two.queue.drain(20_000)).toBe(true);
    await two.queue.close();
    const next = two.backend.got.flatMap((g) => seqs(g.body));
    expect(next[0]).toBe(first[first.length - 1]! + 1);
    const v = await verifyBackend(
      t.dir,
      [...one.backend.got, ...two.backend.got].map((g) => g.body),
    );
    expect(v.findings).toEqual([]);
  });
});

describe('sealed chain, the store exporter', () => {
  it.each(['disk', 'memory'] as const)(
    '%s queue: records of several sandboxes in small appends stay in number order in the store',
    async (kind) => {
      const t = await tempDir();
      cleanups.push(t.cleanup);
      const dir = join(t.dir, 'store');
      const { logger } = captureLogger();
      const store = createStoreExporter(
        {
          directory: dir,
          maxFileBytes: 64 << 20,
          maxFileAgeMs: 3_600_000,
          maxAgeMs: 86_400_000,
          maxTotalBytes: 1 << 30,
        },
        { checkIntervalMs: 0 },
      );
      const chained = new IntegrityExporter(store, {
        checkpointIntervalMs: 3_600_000,
        checkpointEveryRecords: 50,
        headDir: join(t.dir, 'integrity'),
        storeDir: dir,
        board: new AnchorBoard(),
        forwardAnchors: false,
        logger,
      });
      const queue = await createQueue({ kind, fsync: 'never', maxBatchRecords: 64 }, chained, {
        dataDir: t.dir,
        logger,
        metrics: new Metrics(),
      });
      // Appended while the consumer is stopped: the queue could merge them into one export.
      for (let i = 0; i < 12; i++) {
        const recs = makeRecords(5, i * 10, `m${i}-`);
        recs.forEach((r, j) => (r.attributes[ATTR_KATA_SANDBOX_ID] = `sb-${(i + j) % 3}`));
        await queue.append(recs);
      }
      queue.start();
      expect(await queue.drain(20_000)).toBe(true);
      await queue.close();
      await store.shutdown();
      const v = await verifyPaths({ paths: [], storeDirs: [dir] });
      expect(v.findings).toEqual([]);
      expect(v.records).toBe(60 + 1); // and one checkpoint
    },
  );
});
