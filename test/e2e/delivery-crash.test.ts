// Never lose a record, end to end: `kata-otel run` (a real child process, follow mode) reads 200,000 Kata Go-shim
// records from four files — two written before the first start, two growing while it runs — into the OTLP test
// server (a real child process), and is killed with SIGKILL at random points ten times, restarted each time, then
// left to finish. Every record must reach the server at least once, and the duplicates stay within what the
// delivery guarantee allows (docs/delivery.md). Takes about 50–70 s on 2 cores.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import {
  appendLines,
  kataLines,
  MiB,
  sleep,
  startReceiver,
  tallyRecords,
  tempDir,
  waitFor,
  writeReceiverConfig,
} from './delivery-helpers.js';

const N = 200_000;
const KILLS = 10;
const PER_FILE = 50_000;
/** Files 2 and 3 start with this many lines; the rest is appended in KILLS chunks, one per run, while it runs. */
const GROWING_START = 10_000;
const CHUNK = (PER_FILE - GROWING_START) / KILLS;

// The duplicate bound. A SIGKILL can cause re-sends in three places, each bounded by configuration:
//  - the file source: a batch durable in the queue whose checkpoint was not written yet is read again:
//    at most one source batch (FileSource batchMaxEntries, 1024 entries; one file source, one emit at a time);
//  - the queue, batches in flight: the server may have accepted them, the ack never arrived:
//    max_in_flight × max_batch_records;
//  - the queue, the last ack window: acks.json is rewritten at most every fsync_interval_ms (20 ms here, plus
//    the write itself), so batches acknowledged since the last write are sent again: one more round of
//    max_in_flight × max_batch_records (an export round of 512 records takes longer than an acks.json write).
const SOURCE_BATCH = 1024;
const MAX_BATCH_RECORDS = 512;
const MAX_IN_FLIGHT = 2;
const PER_KILL_BOUND = SOURCE_BATCH + 2 * MAX_IN_FLIGHT * MAX_BATCH_RECORDS;

describe('SIGKILL at random points', () => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it(`delivers all ${N} records at least once across ${KILLS} kills, with few duplicates`, async () => {
    const dir = tempDir();
    const files = [0, 1, 2, 3].map((f) => join(dir, `containerd-shim-kata-v2-${f}.log`));
    writeFileSync(files[0] as string, kataLines(0, PER_FILE));
    writeFileSync(files[1] as string, kataLines(PER_FILE, 2 * PER_FILE));
    writeFileSync(files[2] as string, kataLines(2 * PER_FILE, 2 * PER_FILE + GROWING_START));
    writeFileSync(files[3] as string, kataLines(3 * PER_FILE, 3 * PER_FILE + GROWING_START));
    const config = writeReceiverConfig(dir, {
      dataDir: join(dir, 'data'),
      endpoint: server.grpcEndpoint,
      include: [join(dir, '*.log')],
      queue: {
        max_batch_records: MAX_BATCH_RECORDS,
        max_in_flight: MAX_IN_FLIGHT,
        fsync_interval_ms: 20,
        segment_bytes: 4 * MiB,
      },
    });

    const kills: { afterMs: number; serverRecords: number }[] = [];
    let maxRss = 0;
    for (let k = 0; k < KILLS; k++) {
      const before = (await server.stats()).records;
      const r = startReceiver(config);
      await r.telemetry(); // sources are starting
      for (const f of [2, 3]) {
        const from = f * PER_FILE + GROWING_START + k * CHUNK;
        appendLines(files[f] as string, from, from + CHUNK);
      }
      // A random point after it made progress (the queue holds batches, exports are in flight).
      await waitFor(
        'the receiver to deliver something',
        async () => (await server.stats()).records > before,
        30_000,
        20,
      );
      const afterMs = Math.floor(Math.random() * 1500);
      await sleep(afterMs);
      const res = await r.stop('SIGKILL');
      expect(res.signal, res.stderr.slice(-2000)).toBe('SIGKILL');
      maxRss = Math.max(maxRss, r.maxRss());
      kills.push({ afterMs, serverRecords: (await server.stats()).records });
    }

    // Let it finish: every number arrives.
    const last = startReceiver(config);
    await last.telemetry();
    await waitFor(
      'every record at the server',
      () => tallyRecords(server.recordsFile, N).missingCount === 0,
      90_000,
      500,
    );
    const res = await last.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    maxRss = Math.max(maxRss, last.maxRss());

    const tally = tallyRecords(server.recordsFile, N);
    const bound = KILLS * PER_KILL_BOUND;
    console.log(
      `SIGKILL x${KILLS}: ${tally.total} records received for ${N} written: ${tally.duplicates} duplicates ` +
        `(bound ${KILLS} × (${SOURCE_BATCH} + 2 × ${MAX_IN_FLIGHT} × ${MAX_BATCH_RECORDS}) = ${bound}); ` +
        `kills at +${kills.map((x) => x.afterMs).join('/')} ms after progress; max RSS ${(maxRss / MiB).toFixed(0)} MiB`,
    );
    expect({ missing: tally.missing, missingCount: tally.missingCount, otherSamples: tally.otherSamples }).toEqual({
      missing: [],
      missingCount: 0,
      otherSamples: [],
    });
    expect(tally.unique).toBe(N);
    expect(tally.duplicates).toBeLessThanOrEqual(bound);
  }, 150_000);
});
