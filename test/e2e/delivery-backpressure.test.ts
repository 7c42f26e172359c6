// A backend that accepts only 1,000 records/s (the OTLP test server's rate limit: RESOURCE_EXHAUSTED with
// RetryInfo above it) in front of a file holding 20,000 records: the disk queue (max_bytes 2 MiB, about 4,500
// records here) fills, and then the file source stops reading — the pipeline holds no more than the queue plus
// the one source batch waiting to be admitted, and the file's checkpoint lags its size — instead of buffering the
// file in memory. Everything is delivered in the end. Takes about 25–35 s.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import {
  kataLines,
  metric,
  MiB,
  scrape,
  sleep,
  startReceiver,
  brief,
  exactlyOnce,
  tallyRecords,
  tempDir,
  writeReceiverConfig,
} from './delivery-helpers.js';

const N = 20_000;
const RATE = 1000;
const MAX_BYTES = 2 * MiB;
/** FileSource batchMaxEntries: the batch read and waiting for room in the queue. */
const SOURCE_BATCH = 1024;
/** Measured peaks about 175 MiB (Node with tsx idles near 140 MiB). */
const RSS_BOUND = 250 * MiB;

/** The committed offset of the (only) file in the file source's checkpoint, 0 before the first commit. */
function checkpointOffset(dataDir: string): number {
  try {
    const cp = JSON.parse(readFileSync(join(dataDir, 'checkpoints', 'file-0.json'), 'utf8')) as {
      files: Record<string, { offset: number }>;
    };
    return Math.max(0, ...Object.values(cp.files).map((f) => f.offset));
  } catch {
    return 0;
  }
}

describe('a slow backend (1,000 records/s)', () => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer({ rate: { recordsPerSecond: RATE } });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('pushes back on the file source: bounded queue, lagging checkpoint, bounded memory, nothing lost', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const log = join(dir, 'containerd-shim-kata-v2.log');
    writeFileSync(log, kataLines(0, N));
    const size = statSync(log).size;
    const receiver = startReceiver(
      writeReceiverConfig(dir, {
        dataDir,
        endpoint: server.grpcEndpoint,
        include: [log],
        queue: { max_bytes: MAX_BYTES, segment_bytes: MAX_BYTES / 4 },
      }),
    );
    const telemetry = await receiver.telemetry();

    interface Sample {
      read: number;
      exported: number;
      queueRecords: number;
      queueBytes: number;
      offset: number;
    }
    const samples: Sample[] = [];
    // Bounded: one sample per 250 ms, at most 240 (60 s).
    for (let i = 0; i < 240; i++) {
      const m = await scrape(telemetry);
      const s: Sample = {
        read: metric(m, 'kata_otel_records_read_total'),
        exported: metric(m, 'kata_otel_records_exported_total', { exporter: 'backend' }),
        queueRecords: metric(m, 'kata_otel_queue_records', { exporter: 'backend' }),
        queueBytes: metric(m, 'kata_otel_queue_bytes', { exporter: 'backend' }),
        offset: checkpointOffset(dataDir),
      };
      samples.push(s);
      if (s.exported >= N && s.queueRecords === 0) break;
      await sleep(250);
    }
    const last = samples[samples.length - 1] as Sample;
    const res = await receiver.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);

    // The queue filled up to its bound and never past it.
    const fullest = Math.max(...samples.map((s) => s.queueBytes));
    expect(fullest).toBeLessThanOrEqual(MAX_BYTES);
    expect(fullest).toBeGreaterThan(MAX_BYTES / 2);
    // While it was full the source waited: read − exported is what the queue holds plus at most the batches
    // waiting for admission (the file source keeps up to two in flight) — never the rest of the file.
    for (const s of samples) {
      const held = s.read - s.exported - s.queueRecords;
      expect(held, JSON.stringify(s)).toBeGreaterThanOrEqual(0);
      expect(held, JSON.stringify(s)).toBeLessThanOrEqual(2 * SOURCE_BATCH);
    }
    const lagging = samples.filter((s) => s.queueBytes > MAX_BYTES / 2 && s.read < N / 2 && s.offset < size / 2);
    expect(lagging.length, JSON.stringify(samples.slice(0, 8))).toBeGreaterThan(0);
    const mid = lagging[0] as Sample;

    // Everything arrived, once.
    const tally = tallyRecords(server.recordsFile, N);
    expect(brief(tally)).toEqual(exactlyOnce(N));
    expect(last.exported).toBe(N);
    expect(checkpointOffset(dataDir)).toBe(size);
    expect((await server.stats()).rejectedRequests).toBeGreaterThan(0);

    const maxRss = receiver.maxRss();
    console.log(
      `rate ${RATE}/s: queue peaked at ${(fullest / MiB).toFixed(2)} MiB (max_bytes ${MAX_BYTES / MiB} MiB); e.g. read ${mid.read} of ${N}, ` +
        `checkpoint at ${mid.offset} of ${size} bytes, ${mid.queueRecords} queued; ${samples.length} samples; ` +
        `max RSS ${(maxRss / MiB).toFixed(0)} MiB (bound ${RSS_BOUND / MiB} MiB)`,
    );
    expect(maxRss).toBeLessThan(RSS_BOUND);
  }, 120_000);
});
