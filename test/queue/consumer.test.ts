// The consumer loop and admission policies, shared by both queues; exercised through the memory queue.
import { describe, expect, it } from 'vitest';
import { backoffDelay, createQueue, MemoryQueue, resolveQueueOptions } from '../../receiver/queue/index.js';
import type { QueueOptionsInput } from '../../receiver/queue/index.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { captureLogger, makeRecords, metricValue, ScriptedExporter, settle, until, type Script } from './helpers.js';

const FAST_RETRY = { initialMs: 2, maxMs: 5, multiplier: 2 };

function memQueue(script: Script, opts: QueueOptionsInput = {}, name = 'test') {
  const metrics = new Metrics();
  const { logger, lines } = captureLogger();
  const exporter = new ScriptedExporter(name, script);
  const queue = new MemoryQueue({ retry: FAST_RETRY, ...opts }, exporter, { logger, metrics });
  return { queue, exporter, metrics, lines };
}

const bodies = (n: number, start = 0) => makeRecords(n, start).map((r) => r.body);

describe('delivery queue consumer', () => {
  it('loses nothing across retryable failures and counts the retries', async () => {
    const { queue, exporter, metrics } = memQueue((call) =>
      call < 5 ? { code: 'retryable', error: 'UNAVAILABLE' } : { code: 'success' },
    );
    await queue.append(makeRecords(1000, 0));
    await queue.append(makeRecords(1000, 1000));
    queue.start();
    await queue.append(makeRecords(1000, 2000));
    expect(await queue.drain(20_000)).toBe(true);
    expect([...exporter.accepted].sort()).toEqual(bodies(3000).sort());
    expect(await metricValue(metrics.retried, { exporter: 'test' })).toBe(5);
    expect(await metricValue(metrics.exported, { exporter: 'test' })).toBe(3000);
    expect(await metricValue(metrics.queued, { exporter: 'test' })).toBe(3000);
    expect(await metricValue(metrics.queueRecords, { exporter: 'test' })).toBe(0);
    expect(queue.depth()).toEqual({ records: 0, bytes: 0 });
    await queue.close();
  });

  it('treats an exporter that throws as a retryable failure', async () => {
    const { queue, exporter, lines } = memQueue((call) => {
      if (call === 0) throw new Error('socket hang up');
      return { code: 'success' };
    });
    queue.start();
    await queue.append(makeRecords(10));
    expect(await queue.drain(10_000)).toBe(true);
    expect(exporter.accepted).toEqual(bodies(10));
    expect(lines.some((l) => String(l.error).includes('socket hang up') && l.exporter === 'test')).toBe(true);
    await queue.close();
  });

  it('honours retryAfterMs when it is longer than the backoff', async () => {
    const { queue, exporter } = memQueue(
      (call) =>
        call === 0 ? { code: 'retryable', error: 'RESOURCE_EXHAUSTED', retryAfterMs: 150 } : { code: 'success' },
      { retry: { initialMs: 1, maxMs: 1, multiplier: 1 } },
    );
    queue.start();
    await queue.append(makeRecords(5));
    expect(await queue.drain(10_000)).toBe(true);
    expect(exporter.calls).toBe(2);
    // Lower bound only (the hint was honoured); a timer may fire a millisecond early by rounding.
    expect(exporter.callStarts[1]! - exporter.callEnds[0]!).toBeGreaterThanOrEqual(148);
    await queue.close();
  });

  it('drops a permanently refused batch, counts it and logs the exporter and reason', async () => {
    const { queue, exporter, metrics, lines } = memQueue(
      (_call, records) =>
        records.some((r) => r.body === 'r150')
          ? { code: 'permanent', error: 'INVALID_ARGUMENT: bad attribute' }
          : { code: 'success' },
      { maxBatchRecords: 100 },
      'otlp-a',
    );
    await queue.append(makeRecords(300));
    queue.start();
    expect(await queue.drain(10_000)).toBe(true);
    expect(exporter.accepted).toEqual([...bodies(100, 0), ...bodies(100, 200)]);
    expect(await metricValue(metrics.rejected, { exporter: 'otlp-a' })).toBe(100);
    expect(await metricValue(metrics.exported, { exporter: 'otlp-a' })).toBe(200);
    const err = lines.find((l) => l.level === 'error');
    expect(err).toMatchObject({ exporter: 'otlp-a', reason: 'INVALID_ARGUMENT: bad attribute', records: 100 });
    await queue.close();
  });

  it('counts a partial success: accepted as exported, refused as rejected, logged with the message', async () => {
    const { queue, metrics, lines } = memQueue(() => ({ code: 'success', rejected: 3, message: 'timestamp too old' }));
    queue.start();
    await queue.append(makeRecords(50));
    expect(await queue.drain(10_000)).toBe(true);
    expect(await metricValue(metrics.exported, { exporter: 'test' })).toBe(47);
    expect(await metricValue(metrics.rejected, { exporter: 'test' })).toBe(3);
    expect(lines.find((l) => l.level === 'warn')).toMatchObject({
      exporter: 'test',
      rejected: 3,
      message: 'timestamp too old',
    });
    await queue.close();
  });

  it('merges small appends into batches of at most maxBatchRecords and splits large ones, never a record', async () => {
    const { queue, exporter } = memQueue(() => ({ code: 'success' }), { maxBatchRecords: 100, maxInFlight: 1 });
    for (let i = 0; i < 30; i++) await queue.append(makeRecords(7, i * 7));
    await queue.append(makeRecords(250, 210));
    queue.start();
    expect(await queue.drain(10_000)).toBe(true);
    // 30 frames of 7: 14 fit in a batch (98), 14, then 2 (14 records); then the 250 split into 100 + 100 + 50.
    expect(exporter.batchSizes).toEqual([98, 98, 14, 100, 100, 50]);
    expect(exporter.accepted).toEqual(bodies(460));
  });

  it('runs at most maxInFlight exports at once', async () => {
    const { queue, exporter } = memQueue(
      async () => {
        await new Promise((r) => setTimeout(r, 2));
        return { code: 'success' };
      },
      { maxBatchRecords: 10, maxInFlight: 2 },
    );
    await queue.append(makeRecords(200));
    queue.start();
    expect(await queue.drain(10_000)).toBe(true);
    expect(exporter.maxConcurrent).toBe(2);
    expect(exporter.accepted.sort()).toEqual(bodies(200).sort());
  });

  it('drop_oldest drops the oldest waiting batches, counts and logs them, and keeps the newest', async () => {
    // Batches of equal size: the same sequence numbers, a different prefix per batch.
    const batch = (i: number) => makeRecords(100, 0, `b${i}-`);
    const probe = new MemoryQueue({}, new ScriptedExporter('probe'), { logger: silentLogger, metrics: new Metrics() });
    await probe.append(batch(0));
    const batchBytes = probe.depth().bytes;
    const { queue, exporter, metrics, lines } = memQueue(() => ({ code: 'success' }), {
      maxBytes: batchBytes * 3,
      whenFull: 'drop_oldest',
    });
    for (let i = 0; i < 10; i++) await queue.append(batch(i));
    expect(queue.depth()).toEqual({ records: 300, bytes: batchBytes * 3 });
    expect(await metricValue(metrics.dropped, { exporter: 'test', reason: 'queue_full' })).toBe(700);
    queue.start();
    expect(await queue.drain(10_000)).toBe(true);
    expect(exporter.accepted).toEqual([7, 8, 9].flatMap((i) => batch(i).map((r) => r.body)));
    await queue.close();
    // Logged (throttled: the first drop at once, the rest summed up by close).
    const logged = lines.filter((l) => l.level === 'warn').reduce((n, l) => n + Number(l.droppedRecords ?? 0), 0);
    expect(logged).toBe(700);
  });

  it('block makes append wait until an ack frees space, in FIFO order', async () => {
    const events: string[] = [];
    const batch = (p: string, n = 100) => makeRecords(n, 0, p);
    const probe = new MemoryQueue({}, new ScriptedExporter('probe'), { logger: silentLogger, metrics: new Metrics() });
    await probe.append(batch('A'));
    const one = probe.depth().bytes;
    const { queue } = memQueue(
      (_call, records) => {
        events.push(`exported ${records[0]!.body}`);
        return { code: 'success' };
      },
      { maxBatchRecords: 100, maxInFlight: 1, maxBytes: one * 2 },
    );
    const note = (label: string) => () => void events.push(label);
    await queue.append(batch('A')).then(note('appended A'));
    await queue.append(batch('B')).then(note('appended B'));
    const c = queue.append(batch('C')).then(note('appended C'));
    const d = queue.append(batch('D', 1)).then(note('appended D')); // small, but queued behind C
    await settle();
    expect(events).toEqual(['appended A', 'appended B']);
    queue.start();
    await Promise.all([c, d]);
    expect(events.slice(0, 5)).toEqual(['appended A', 'appended B', 'exported A0', 'appended C', 'exported B0']);
    expect(events.indexOf('appended D')).toBeGreaterThan(events.indexOf('exported B0'));
    expect(await queue.drain(10_000)).toBe(true);
    await queue.close();
  });

  it('lets one append larger than the whole bound in when the queue is empty', async () => {
    const { queue } = memQueue(() => ({ code: 'success' }), { maxBytes: 1000 });
    await queue.append(makeRecords(50));
    expect(queue.depth().records).toBe(50);
    await queue.close();
  });

  it('close aborts backoff sleeps, rejects waiting and later appends', async () => {
    const { queue, exporter } = memQueue(() => ({ code: 'retryable', error: 'down', retryAfterMs: 600_000 }), {
      maxBytes: 1000,
    });
    queue.start();
    await queue.append(makeRecords(50));
    const blocked = queue.append(makeRecords(50, 50));
    await until(() => exporter.calls === 1);
    expect(await queue.drain(20)).toBe(false);
    await queue.close();
    await expect(blocked).rejects.toThrow(/closed/);
    await expect(queue.append(makeRecords(1))).rejects.toThrow(/closed/);
    expect(exporter.calls).toBe(1);
  });

  it('createQueue builds a memory queue from options and rejects bad options by name', async () => {
    const exporter = new ScriptedExporter('x');
    const q = await createQueue({ kind: 'memory' }, exporter, {
      dataDir: '/nonexistent',
      logger: silentLogger,
      metrics: new Metrics(),
    });
    expect(q).toBeInstanceOf(MemoryQueue);
    expect(q.name).toBe('x');
    await q.close();
    expect(() => resolveQueueOptions({ maxInFlight: 0 })).toThrow(/maxInFlight: 0/);
    expect(() => resolveQueueOptions({ fsync: 'sometimes' as 'always' })).toThrow(/fsync: "sometimes"/);
    expect(() => resolveQueueOptions({ retry: { initialMs: 10, maxMs: 5 } })).toThrow(/retry.maxMs/);
    expect(resolveQueueOptions()).toMatchObject({
      kind: 'disk',
      maxBytes: 512 * 1024 * 1024,
      whenFull: 'block',
      fsync: 'always',
      fsyncIntervalMs: 200,
      segmentBytes: 16 * 1024 * 1024,
      maxBatchRecords: 2048,
      maxInFlight: 2,
      retry: { initialMs: 1000, maxMs: 30_000, multiplier: 2 },
    });
  });
});

describe('backoffDelay', () => {
  const retry = { initialMs: 1000, maxMs: 30_000, multiplier: 2 };
  it('grows the ceiling exponentially up to maxMs, with full jitter below it', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((a) => backoffDelay(a, retry, undefined, () => 1))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
    expect(backoffDelay(5, retry, undefined, () => 0)).toBe(0);
    expect(backoffDelay(3, retry, undefined, () => 0.5)).toBe(2000);
  });
  it('lets a longer server hint win, clamped to ten minutes', () => {
    expect(backoffDelay(1, retry, 5000, () => 1)).toBe(5000);
    expect(backoffDelay(6, retry, 5000, () => 1)).toBe(30000);
    expect(backoffDelay(1, retry, 1e12, () => 0)).toBe(600_000);
    expect(backoffDelay(1, retry, Number.NaN, () => 0)).toBe(0);
  });
});
