// The backend goes away for 30 s in the middle of a stream: the OTLP test server process is stopped and a new one
// is started on the same port (what a Collector restart or a network outage looks like to the receiver). The
// receiver keeps reading into its disk queue, delivers everything once the server is back, and its memory stays
// bounded while the backlog grows (sampled from /proc/<pid>/status VmRSS every 500 ms). Takes about 55–70 s.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import {
  appendLines,
  metric,
  MiB,
  scrape,
  sleep,
  startReceiver,
  brief,
  exactlyOnce,
  tallyRecords,
  tempDir,
  waitFor,
  writeReceiverConfig,
} from './delivery-helpers.js';

/** The stream: RATE records/s in 100 ms steps, for 5 s before the outage, during it and 5 s after. */
const RATE = 3000;
const OUTAGE_MS = 30_000;
const STREAM_MS = 5_000 + OUTAGE_MS + 5_000;
const N = (RATE * STREAM_MS) / 1000;
/** RSS bound: the backlog (about 90,000 records, ~45 MiB of queue frames) lives in the disk queue, not in memory.
 *  Node with tsx idles near 140 MiB; measured peaks about 180 MiB. */
const RSS_BOUND = 250 * MiB;

describe('backend down for 30 s', () => {
  const servers: OtlpTestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it('loses nothing and keeps its memory bounded while the server process is stopped and restarted', async () => {
    const first = await startOtlpServer();
    servers.push(first);
    const dir = tempDir();
    const log = join(dir, 'containerd-shim-kata-v2.log');
    appendLines(log, 0, 1);
    const receiver = startReceiver(
      writeReceiverConfig(dir, { dataDir: join(dir, 'data'), endpoint: first.grpcEndpoint, include: [log] }),
    );
    const telemetry = await receiver.telemetry();

    // The writer: bounded by N, one step per 100 ms.
    let written = 1;
    const step = RATE / 10;
    const writer = (async () => {
      while (written < N) {
        const to = Math.min(N, written + step);
        appendLines(log, written, to);
        written = to;
        await sleep(100);
      }
    })();

    await sleep(5_000);
    expect((await first.stats()).records).toBeGreaterThan(0);
    await first.stop();
    const downAt = Date.now();
    // While it is down the backlog goes to the disk queue.
    const queued = await waitFor(
      'records to wait in the queue',
      async () => {
        const q = metric(await scrape(telemetry), 'kata_otel_queue_records', { exporter: 'backend' });
        return q > 10 * RATE ? q : undefined;
      },
      OUTAGE_MS - 5_000,
      500,
    );
    await sleep(Math.max(0, downAt + OUTAGE_MS - Date.now()));
    const backlog = metric(await scrape(telemetry), 'kata_otel_queue_records', { exporter: 'backend' });
    const second = await startOtlpServer({ grpcPort: first.grpcPort, recordsFile: first.recordsFile });
    servers.push(second);
    const upAt = Date.now();
    await waitFor('the first export after the restart', async () => (await second.stats()).records > 0, 60_000, 100);
    const firstMs = Date.now() - upAt;
    await writer;
    await waitFor(
      'every record at the server',
      () => tallyRecords(first.recordsFile, N).missingCount === 0,
      60_000,
      500,
    );
    const recoveredMs = Date.now() - upAt;
    const m = await scrape(telemetry);
    const res = await receiver.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);

    const tally = tallyRecords(first.recordsFile, N);
    const maxRss = receiver.maxRss();
    console.log(
      `outage ${OUTAGE_MS / 1000} s: ${N} records, backlog ${backlog} records at restart, first export ${(firstMs / 1000).toFixed(1)} s and all delivered ${(recoveredMs / 1000).toFixed(1)} s after it; ` +
        `${tally.duplicates} duplicates; max RSS ${(maxRss / MiB).toFixed(0)} MiB over ${receiver.rssSamples()} samples (bound ${RSS_BOUND / MiB} MiB)`,
    );
    expect(queued).toBeGreaterThan(10 * RATE);
    expect(metric(m, 'kata_otel_export_retries_total', { exporter: 'backend' })).toBeGreaterThan(0);
    // No crash, no kill: the outage itself makes no duplicates.
    expect(brief(tally)).toEqual(exactlyOnce(N));
    expect(receiver.rssSamples()).toBeGreaterThan(OUTAGE_MS / 500 / 2);
    expect(maxRss).toBeLessThan(RSS_BOUND);
  }, 150_000);
});
