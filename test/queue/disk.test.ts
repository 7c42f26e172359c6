// The disk queue on real files: persistence across close/reopen, acknowledgement, damage recovery, permissions.
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { scanFrames } from '../../receiver/queue/codec.js';
import { createQueue, DiskQueue, queueDirName, type QueueOptionsInput } from '../../receiver/queue/index.js';
import {
  ATTR_KATA_HYPERVISOR_PID,
  ATTR_KATA_SANDBOX_ID,
  ATTR_LOG_FILE_PATH,
} from '../../receiver/semconv/generated.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { captureLogger, makeRecords, metricValue, ScriptedExporter, tempDir, until, type Script } from './helpers.js';

const FAST_RETRY = { initialMs: 2, maxMs: 5, multiplier: 2 };
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

async function dataDir(): Promise<string> {
  const { dir, cleanup } = await tempDir();
  cleanups.push(cleanup);
  return dir;
}

async function open(dir: string, script?: Script, opts: QueueOptionsInput = {}, name = 'otlp') {
  const metrics = new Metrics();
  const { logger, lines } = captureLogger();
  const exporter = new ScriptedExporter(name, script);
  const queue = await DiskQueue.open({ retry: FAST_RETRY, fsync: 'never', ...opts }, exporter, {
    dataDir: dir,
    logger,
    metrics,
  });
  return { queue, exporter, metrics, lines };
}

/** Reopens the queue, delivers everything to a collecting exporter, closes; returns the bodies in order. */
async function deliverAll(dir: string, opts: QueueOptionsInput = {}): Promise<string[]> {
  const { queue, exporter } = await open(dir, undefined, opts);
  queue.start();
  expect(await queue.drain(20_000)).toBe(true);
  await queue.close();
  return exporter.accepted;
}

/** XOR one byte of `buf`. */
const flip = (buf: Buffer, at: number, mask: number) => buf.writeUInt8(buf.readUInt8(at) ^ mask, at);
const segFiles = async (qdir: string) => (await readdir(qdir)).filter((n) => n.endsWith('.seg')).sort();
const bodies = (n: number, start = 0, prefix = 'r') => makeRecords(n, start, prefix).map((r) => r.body);

describe('disk queue', () => {
  for (const fsync of ['always', 'interval', 'never'] as const) {
    it(`keeps records exactly across close and reopen (fsync ${fsync})`, async () => {
      const dir = await dataDir();
      const records: KataLogRecord[] = makeRecords(3000);
      // Every field the record model has, including the optional ones and a string[] attribute.
      records[7] = {
        ...records[7]!,
        eventName: 'kata.alert',
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        severityNumber: 17,
        severityText: 'error',
        body: 'multi\nline "quoted" ✓',
        attributes: { [ATTR_KATA_SANDBOX_ID]: 'sb', [ATTR_LOG_FILE_PATH]: ['a', 'b'], [ATTR_KATA_HYPERVISOR_PID]: 3 },
      };
      const { queue } = await open(dir, undefined, { fsync, fsyncIntervalMs: 20 });
      await queue.append(records.slice(0, 1000));
      await queue.append(records.slice(1000));
      expect(queue.depth().records).toBe(3000);
      await queue.close();

      const got: KataLogRecord[] = [];
      const again = await open(dir, (_c, recs) => {
        got.push(...recs);
        return { code: 'success' };
      });
      expect(again.queue.depth().records).toBe(3000);
      again.queue.start();
      expect(await again.queue.drain(20_000)).toBe(true);
      await again.queue.close();
      // Two batches in flight may arrive in either order.
      got.sort((a, b) => Number(a.timeUnixNano - b.timeUnixNano));
      expect(got).toEqual(records);
    });
  }

  it('does not send acknowledged batches again, and deletes finished segments', async () => {
    const dir = await dataDir();
    const { queue, exporter } = await open(dir, undefined, { segmentBytes: 4096, maxBatchRecords: 50 });
    queue.start();
    for (let i = 0; i < 10; i++) await queue.append(makeRecords(100, i * 100));
    expect(await queue.drain(20_000)).toBe(true);
    expect(exporter.accepted.length).toBe(1000);
    await queue.close();
    expect(await segFiles(queue.dir)).toEqual([]);
    expect(await deliverAll(dir)).toEqual([]);
  });

  it('sends the unacknowledged batches again after a reopen, and only those', async () => {
    const dir = await dataDir();
    // Backend accepts the first 4 batches, then goes down.
    const { queue, exporter } = await open(
      dir,
      (call) => (call < 4 ? { code: 'success' } : { code: 'retryable', error: 'UNAVAILABLE' }),
      { maxBatchRecords: 100, maxInFlight: 1 },
    );
    await queue.append(makeRecords(1000));
    queue.start();
    await until(() => exporter.calls > 5);
    await queue.close();
    expect(exporter.accepted).toEqual(bodies(400));
    expect(await deliverAll(dir)).toEqual(bodies(600, 400));
  });

  it('handles acks out of order: a later batch acked before an earlier one is not resent', async () => {
    const dir = await dataDir();
    let releaseFirst: (() => void) | undefined;
    const { queue, exporter, metrics } = await open(
      dir,
      (call, _recs, signal) =>
        call === 0
          ? new Promise((resolve) => {
              releaseFirst = () => resolve({ code: 'success' });
              signal?.addEventListener('abort', () => resolve({ code: 'retryable', error: 'aborted' }));
            })
          : { code: 'success' },
      { maxBatchRecords: 100, maxInFlight: 2 },
    );
    await queue.append(makeRecords(100, 0));
    await queue.append(makeRecords(100, 100));
    queue.start();
    await until(() => exporter.accepted.length === 100 && releaseFirst !== undefined);
    await until(() => queue.depth().records === 100);
    expect(await metricValue(metrics.exported)).toBe(100);
    expect(await segFiles(queue.dir)).toHaveLength(1); // the segment still holds the unacked first batch
    await queue.close(); // aborts the first export
    expect(await deliverAll(dir)).toEqual(bodies(100, 0));
  });

  it('persists drop_oldest drops: dropped batches are not sent after a reopen', async () => {
    const dir = await dataDir();
    const batch = (i: number) => makeRecords(100, 0, `b${i}-`);
    const probe = await open(await dataDir());
    await probe.queue.append(batch(0));
    const one = probe.queue.depth().bytes;
    await probe.queue.close();
    const { queue, metrics } = await open(dir, undefined, { maxBytes: one * 2, whenFull: 'drop_oldest' });
    for (let i = 0; i < 5; i++) await queue.append(batch(i));
    expect(await metricValue(metrics.dropped, { reason: 'queue_full' })).toBe(300);
    await queue.close();
    expect(await deliverAll(dir)).toEqual([3, 4].flatMap((i) => batch(i).map((r) => r.body)));
  });

  /** Five frames of 100 records each, closed; returns the segment path and frame offsets. */
  async function fiveFrames(dir: string, prefix = 'r') {
    const { queue } = await open(dir, undefined, { maxBatchRecords: 100 });
    for (let i = 0; i < 5; i++) await queue.append(makeRecords(100, i * 100, prefix));
    await queue.close();
    const [seg] = await segFiles(queue.dir);
    const path = join(queue.dir, seg!);
    const { frames } = scanFrames(await readFile(path));
    expect(frames).toHaveLength(5);
    return { path, frames, qdir: queue.dir };
  }

  for (const [what, cut] of [
    ['mid-payload', 500],
    ['mid-header', 5],
  ] as const) {
    it(`recovers from a segment truncated ${what}: frames before are delivered, the torn tail counted once`, async () => {
      const dir = await dataDir();
      const { path, frames } = await fiveFrames(dir);
      await truncate(path, frames[4]!.offset + cut);
      const first = await open(dir);
      expect(first.queue.depth().records).toBe(400);
      expect(await metricValue(first.metrics.registry.getSingleMetric('kata_otel_queue_corrupt_bytes_total'))).toBe(
        cut,
      );
      expect(first.lines.some((l) => l.level === 'error' && l.file === path && l.bytes === cut)).toBe(true);
      await first.queue.close();
      expect((await stat(path)).size).toBe(frames[4]!.offset); // the torn tail was cut off
      const second = await open(dir);
      expect(await metricValue(second.metrics.registry.getSingleMetric('kata_otel_queue_corrupt_bytes_total'))).toBe(0);
      await second.queue.close();
      expect(await deliverAll(dir)).toEqual(bodies(400));
    });
  }

  it('skips bit-flipped frames (payload, magic, length, crc) and delivers the good frames around them', async () => {
    const dir = await dataDir();
    const { queue } = await open(dir, undefined, { maxBatchRecords: 100 });
    for (let i = 0; i < 9; i++) await queue.append(makeRecords(100, i * 100));
    await queue.close();
    const [seg] = await segFiles(queue.dir);
    const path = join(queue.dir, seg!);
    const buf = await readFile(path);
    const { frames } = scanFrames(buf);
    const at = (i: number) => frames[i]!.offset;
    flip(buf, at(1) + 200, 0x01); // payload
    flip(buf, at(3) + 1, 0x40); // magic
    flip(buf, at(5) + 6, 0x10); // length
    flip(buf, at(7) + 9, 0x80); // crc
    await writeFile(path, buf);

    const first = await open(dir);
    expect(first.queue.depth().records).toBe(500);
    const regions = first.metrics.registry.getSingleMetric('kata_otel_queue_corrupt_regions_total');
    expect(await metricValue(regions, { exporter: 'otlp' })).toBe(4);
    await first.queue.close();
    // Counted once: the damage is remembered as done in acks.json.
    const second = await open(dir);
    expect(await metricValue(second.metrics.registry.getSingleMetric('kata_otel_queue_corrupt_regions_total'))).toBe(0);
    await second.queue.close();
    expect(await deliverAll(dir)).toEqual([0, 2, 4, 6, 8].flatMap((i) => bodies(100, i * 100)));
  });

  it('skips a frame damaged after recovery when it is read back for export', async () => {
    const dir = await dataDir();
    const { path, frames } = await fiveFrames(dir);
    const { queue, exporter, metrics } = await open(dir);
    const buf = await readFile(path);
    flip(buf, frames[2]!.offset + 300, 0x04);
    await writeFile(path, buf);
    queue.start();
    expect(await queue.drain(20_000)).toBe(true);
    await queue.close();
    expect(exporter.accepted).toEqual([...bodies(200), ...bodies(200, 300)]);
    expect(await metricValue(metrics.registry.getSingleMetric('kata_otel_queue_corrupt_regions_total'))).toBe(1);
  });

  it('forgets nothing when acks.json is damaged: everything is sent again', async () => {
    const dir = await dataDir();
    const { queue } = await open(
      dir,
      (call) => (call < 2 ? { code: 'success' } : { code: 'retryable', error: 'down' }),
      { maxBatchRecords: 100, maxInFlight: 1 },
    );
    await queue.append(makeRecords(500));
    queue.start();
    await until(() => queue.depth().records === 300);
    await queue.close();
    await writeFile(join(queue.dir, 'acks.json'), '{"version":1,"segm');
    expect(await deliverAll(dir)).toEqual(bodies(500));
  });

  it('creates its directory 0700 and its files 0600', async () => {
    const dir = await dataDir();
    const { queue } = await open(dir, undefined, { segmentBytes: 2048, fsync: 'interval', fsyncIntervalMs: 5 });
    for (let i = 0; i < 5; i++) await queue.append(makeRecords(50, i * 50));
    const mode = async (p: string) => (await stat(p)).mode & 0o777;
    expect(await mode(join(dir, 'queue'))).toBe(0o700);
    expect(await mode(queue.dir)).toBe(0o700);
    const files = (await readdir(queue.dir)).filter((f) => f.endsWith('.seg') || f === 'lock');
    expect(files.filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(1);
    expect(files).toContain('lock');
    for (const f of files) expect([f, await mode(join(queue.dir, f))]).toEqual([f, 0o600]);
    await queue.close();
    expect(await mode(join(queue.dir, 'acks.json'))).toBe(0o600);
  });

  it('refuses a second queue on the same directory, and names the exporter directory safely', async () => {
    const dir = await dataDir();
    const { queue } = await open(dir, undefined, {}, 'otlp/prod');
    expect(queue.dir).toBe(join(dir, 'queue', 'otlp%2Fprod'));
    await expect(open(dir, undefined, {}, 'otlp/prod')).rejects.toThrow(/already open in this process/);
    await queue.close();
    const again = await open(dir, undefined, {}, 'otlp/prod');
    await again.queue.close();
    expect(queueDirName('..')).toBe('%2E..');
    expect(queueDirName('a b')).toBe('a%20b');
  });

  it('createQueue opens a disk queue by default', async () => {
    const dir = await dataDir();
    const q = await createQueue({}, new ScriptedExporter('default'), {
      dataDir: dir,
      logger: silentLogger,
      metrics: new Metrics(),
    });
    expect(q).toBeInstanceOf(DiskQueue);
    await q.append(makeRecords(10));
    await q.close();
    expect((await segFiles(join(dir, 'queue', 'default'))).length).toBe(1);
  });
});
