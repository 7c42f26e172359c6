// Shutdown on SIGTERM / SIGINT. With a live (slow) backend the records already read are flushed before the
// process exits 0, and a restart delivers the rest: exactly once overall. With a dead backend and a full queue
// (a file and a journald source both waiting for room) the process still exits 0 within shutdown_timeout_ms
// plus the queue's close grace, and the records stay in the disk queue until the next start delivers them, once.
// Takes about 15–25 s.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_BOOT_ID, writeJournal, type JournalRecord } from '../support/journal.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import {
  kataLine,
  kataLines,
  metric,
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

const FILE_N = 8000;
const N = 10_000;

/** The Go shim's records as the journal holds them (identifier `kata`), numbered [from, to). */
function journalRecords(from: number, to: number): JournalRecord[] {
  const out: JournalRecord[] = [];
  for (let i = from; i < to; i++)
    out.push({
      __REALTIME_TIMESTAMP: 1_714_557_600_000_000n + BigInt(i) * 1000n,
      __MONOTONIC_TIMESTAMP: BigInt(i + 1) * 1000n,
      _BOOT_ID: TEST_BOOT_ID,
      SYSLOG_IDENTIFIER: 'kata',
      _PID: 4242,
      PRIORITY: 6,
      MESSAGE: kataLine(i),
    });
  return out;
}

/** core.ts CLOSE_GRACE_MS: after the drain timeout, exports still running get this long to finish. */
const CLOSE_GRACE_MS = 5000;
/** Process start-up and exit around the bounded parts (tsx, module loading); generous for a loaded 2-core box. */
const SLACK_MS = 5000;

describe('shutdown', () => {
  const servers: OtlpTestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it('SIGTERM flushes what was read to a slow backend, exits 0, and a restart sends the rest exactly once', async () => {
    // Slow: 5,000 records/s, requests above the rate are held (delay mode), as a loaded Collector does.
    const server = await startOtlpServer({ rate: { recordsPerSecond: 5000, mode: 'delay' } });
    servers.push(server);
    const TOTAL = 30_000;
    const dir = tempDir();
    const log = join(dir, 'containerd-shim-kata-v2.log');
    writeFileSync(log, kataLines(0, TOTAL));
    const config = writeReceiverConfig(dir, {
      dataDir: join(dir, 'data'),
      endpoint: server.grpcEndpoint,
      include: [log],
      // A small queue keeps the source from reading the whole file before the signal.
      queue: { max_bytes: 4 * 1024 * 1024, segment_bytes: 1024 * 1024 },
      shutdownTimeoutMs: 15_000,
    });
    const first = startReceiver(config);
    const telemetry = await first.telemetry();
    await waitFor('some records at the server', async () => (await server.stats()).records >= 5000, 30_000);
    // Something to flush: records queued (waiting or held by the slow server) when the signal comes.
    const inQueue = await waitFor(
      'records in the queue',
      async () => {
        const q = metric(await scrape(telemetry), 'kata_otel_queue_records', { exporter: 'backend' });
        return q >= 1024 ? q : undefined;
      },
      30_000,
      50,
    );
    const res = await first.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    // Everything the source read was delivered before the exit: the summary's figures and the server's agree.
    const read = Number(/read (\d+) entries/.exec(res.stdout)?.[1]);
    // The server's count without the stream's own integrity checkpoints (docs/audit.md).
    const atExit = (await server.stats()).records - tallyRecords(server.recordsFile, TOTAL).checkpoints;
    expect(res.stdout).toContain(`backend (otlp) → ${read} records to`);
    expect(res.stdout).not.toContain('still queued');
    expect(atExit).toBe(read);
    expect(read).toBeLessThan(TOTAL); // and the source stopped reading at the signal

    const second = startReceiver(config);
    await second.telemetry();
    await waitFor('the rest at the server', async () => (await server.stats()).records >= TOTAL, 30_000);
    const res2 = await second.stop('SIGINT');
    expect(res2.code, res2.stderr.slice(-2000)).toBe(0);
    expect(brief(tallyRecords(server.recordsFile, TOTAL))).toEqual(exactlyOnce(TOTAL));
    console.log(
      `SIGTERM: ${inQueue} records queued at the signal, ${read} read and all ${read} delivered before exit 0`,
    );
  }, 90_000);

  it('SIGINT with a dead backend and a full queue exits 0 within shutdown_timeout_ms; the records wait on disk', async () => {
    const down = await startOtlpServer();
    servers.push(down);
    await down.stop(); // its port now refuses connections
    const SHUTDOWN_MS = 2000;
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const log = join(dir, 'containerd-shim-kata-v2.log');
    writeFileSync(log, kataLines(0, FILE_N));
    const journalDir = join(dir, 'journal');
    mkdirSync(journalDir);
    await writeJournal(join(journalDir, 'system.journal'), journalRecords(FILE_N, N));
    // 1 MiB holds about two source batches: both sources end up waiting for room (their emit does not resolve).
    const config = writeReceiverConfig(dir, {
      dataDir,
      endpoint: down.grpcEndpoint,
      include: [log],
      journalDir,
      queue: { max_bytes: 1024 * 1024, segment_bytes: 256 * 1024 },
      shutdownTimeoutMs: SHUTDOWN_MS,
    });
    const first = startReceiver(config);
    const telemetry = await first.telemetry();
    const blocked = await waitFor(
      'the queue full, exports failing and a source waiting for room',
      async () => {
        const m = await scrape(telemetry);
        const queued = metric(m, 'kata_otel_queue_records', { exporter: 'backend' });
        const read = metric(m, 'kata_otel_records_read_total');
        return queued > 0 && read > queued && metric(m, 'kata_otel_export_retries_total') > 0
          ? { queued, read }
          : undefined;
      },
      30_000,
    );
    const t0 = Date.now();
    const res = await first.stop('SIGINT');
    const tookMs = Date.now() - t0;
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    // Bounded: a source blocked on a full queue is released at the deadline (the queues close).
    expect(tookMs).toBeLessThan(SHUTDOWN_MS + CLOSE_GRACE_MS + SLACK_MS);
    expect(res.stderr).toMatch(/not drained before shutdown; the records stay queued/);
    expect(res.stdout).toMatch(/backend \(otlp\) → 0 records to .* \(\d+ still queued\)/);
    expect(readdirSync(join(dataDir, 'queue', 'backend')).some((n) => n.endsWith('.seg'))).toBe(true);

    // The backend is back: the next start sends what was queued and reads on from the checkpoints; the batches
    // that were waiting for room were never queued, so their checkpoints did not move and they are read again.
    const up = await startOtlpServer({ grpcPort: down.grpcPort });
    servers.push(up);
    const second = startReceiver(config);
    await second.telemetry();
    await waitFor('every record at the server', () => tallyRecords(up.recordsFile, N).unique === N, 30_000);
    await sleep(1000); // a duplicate would arrive right behind
    const res2 = await second.stop('SIGTERM');
    expect(res2.code, res2.stderr.slice(-2000)).toBe(0);
    expect(brief(tallyRecords(up.recordsFile, N))).toEqual(exactlyOnce(N));
    console.log(
      `SIGINT, backend down, queue full (${blocked.queued} queued, ${blocked.read} read): exit 0 after ${tookMs} ms ` +
        `(shutdown_timeout_ms ${SHUTDOWN_MS}); all ${N} records delivered once by the next start`,
    );
  }, 90_000);
});
