// A clean restart resumes every source where it stopped, without loss or duplicates (issue 4): a receiver with a
// file source and a journald source (a real journal directory written by systemd-journal-remote, read through the
// real journalctl) is stopped with SIGTERM (exit 0), more records are appended to the file and to the journal
// while it is down, and it is started again: every record reaches the server exactly once, because a clean
// shutdown commits each source's checkpoint (file offset, journal cursor) after the durable hand-off. Takes about
// 8–12 s.
import { writeFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOURNAL_REMOTE, TEST_BOOT_ID, writeJournal, type JournalRecord } from '../support/journal.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import {
  appendLines,
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

/** The Go shim's records as the journal holds them (logrus syslog hook: identifier `kata`). */
function journalRecords(from: number, to: number): JournalRecord[] {
  const out: JournalRecord[] = [];
  for (let i = from; i < to; i++) {
    out.push({
      __REALTIME_TIMESTAMP: 1_714_557_600_000_000n + BigInt(i) * 1000n,
      __MONOTONIC_TIMESTAMP: BigInt(i + 1) * 1000n,
      _BOOT_ID: TEST_BOOT_ID,
      SYSLOG_IDENTIFIER: 'kata',
      _PID: 4242,
      PRIORITY: 6,
      _TRANSPORT: 'syslog',
      _SYSTEMD_UNIT: 'containerd.service',
      MESSAGE: kataLine(i),
    });
  }
  return out;
}

// Sequence numbers: file [0, 3000) then [4000, 7000); journal [3000, 4000) then [7000, 8000).
const N = 8000;

describe.skipIf(!JOURNAL_REMOTE)('restart resumes each source', () => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('file and journald: SIGTERM, append to both, start again: every record exactly once', async () => {
    const dir = tempDir();
    const log = join(dir, 'containerd-shim-kata-v2.log');
    const journalDir = join(dir, 'journal');
    mkdirSync(journalDir);
    const journal = join(journalDir, 'system.journal');
    writeFileSync(log, kataLines(0, 3000));
    await writeJournal(journal, journalRecords(3000, 4000));
    const config = writeReceiverConfig(dir, {
      dataDir: join(dir, 'data'),
      endpoint: server.grpcEndpoint,
      include: [log],
      journalDir,
    });

    const first = startReceiver(config);
    const t1 = await first.telemetry();
    await waitFor('the first 4,000 records at the server', async () => (await server.stats()).records >= 4000, 30_000);
    const m1 = await scrape(t1);
    const r1 = await first.stop('SIGTERM');
    expect(r1.code, r1.stderr.slice(-2000)).toBe(0);
    expect(metric(m1, 'kata_otel_records_read_total', { source: 'journald' })).toBe(1000);
    expect(metric(m1, 'kata_otel_records_read_total', { source: 'file-0' })).toBe(3000);

    // While it is down, both grow.
    appendLines(log, 4000, 7000);
    await writeJournal(journal, journalRecords(7000, 8000));

    const second = startReceiver(config);
    const t2 = await second.telemetry();
    await waitFor('every record at the server', () => tallyRecords(server.recordsFile, N).unique === N, 30_000);
    // A re-read would arrive right behind: give it time to show (two poll intervals and a journalctl round).
    await sleep(1500);
    const m2 = await scrape(t2);
    const r2 = await second.stop('SIGTERM');
    expect(r2.code, r2.stderr.slice(-2000)).toBe(0);

    const tally = tallyRecords(server.recordsFile, N);
    expect(brief(tally)).toEqual(exactlyOnce(N));
    // The second run read only what was appended.
    expect(metric(m2, 'kata_otel_records_read_total', { source: 'journald' })).toBe(1000);
    expect(metric(m2, 'kata_otel_records_read_total', { source: 'file-0' })).toBe(3000);
    const bySource = new Map<string, number>();
    for (const r of await server.records()) {
      const from = r.attributes['log.file.path'] !== undefined ? 'file' : 'journal';
      bySource.set(from, (bySource.get(from) ?? 0) + 1);
    }
    expect(Object.fromEntries(bySource)).toEqual({ file: 6000, journal: 2000 });
  }, 90_000);
});
