// runBridgeSources: the daemon's file and journald sources feeding a KataLogBridge, with the daemon's checkpoints:
// a second run resumes after what the first one emitted (real files, real journal files read by journalctl), and
// a checkpoint is committed only after the provider flushed (a batch processor with a 60 s delay still delivers
// everything before runBridgeSources returns).
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BatchLogRecordProcessor,
  InMemoryLogRecordExporter,
  LoggerProvider,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import { describe, expect, it } from 'vitest';
import { ATTR_KATA_SANDBOX_ID, KataLogBridge, runBridgeSources } from '../../receiver/api/index.js';
import { SANDBOX, kataLines, kataLine, tempDir } from '../e2e/delivery-helpers.js';
import { JOURNAL_REMOTE, TEST_BOOT_ID, writeJournal, type JournalRecord } from '../support/journal.js';

function app() {
  const memory = new InMemoryLogRecordExporter();
  // A long delay: only forceFlush (before each checkpoint) gets the records out.
  const loggerProvider = new LoggerProvider({
    processors: [new BatchLogRecordProcessor({ exporter: memory, scheduledDelayMillis: 60_000, maxQueueSize: 10_000 })],
  });
  return { memory, loggerProvider, bridge: new KataLogBridge({ loggerProvider }) };
}
const bodies = (recs: ReadableLogRecord[]) => recs.map((r) => r.body);
const seqs = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `seq ${String(from + i).padStart(7, '0')}`);

describe('runBridgeSources', () => {
  it('tails files into the bridge and resumes from the checkpoint', async () => {
    const dir = tempDir('kata-otel-bridge-files-');
    const file = join(dir, 'containerd-shim-kata-v2.log');
    const checkpointDir = join(dir, 'checkpoints');
    writeFileSync(file, kataLines(0, 500));
    const files = { name: 'file-0', include: [join(dir, '*.log')], startAt: 'beginning' as const };

    const first = app();
    await runBridgeSources({ bridge: first.bridge, checkpointDir, files, once: true });
    expect(bodies(first.memory.getFinishedLogRecords())).toEqual(seqs(0, 500));
    expect(first.memory.getFinishedLogRecords()[0]?.attributes[ATTR_KATA_SANDBOX_ID]).toBe(SANDBOX);
    expect(existsSync(join(checkpointDir, 'file-0.json'))).toBe(true);
    await first.loggerProvider.shutdown();

    appendFileSync(file, kataLines(500, 800));
    const second = app();
    await runBridgeSources({ bridge: second.bridge, checkpointDir, files, once: true });
    expect(bodies(second.memory.getFinishedLogRecords())).toEqual(seqs(500, 800));
    await second.loggerProvider.shutdown();
  }, 30_000);

  it.skipIf(!JOURNAL_REMOTE)(
    'follows journal files through journalctl and resumes at the cursor',
    async () => {
      const dir = tempDir('kata-otel-bridge-journal-');
      const journalDir = join(dir, 'journal');
      const checkpointDir = join(dir, 'checkpoints');
      mkdirSync(journalDir);
      let t = 1_700_000_000_000_000n;
      const entries = (from: number, to: number): JournalRecord[] =>
        Array.from({ length: to - from }, (_, i) => ({
          __REALTIME_TIMESTAMP: (t += 1000n),
          __MONOTONIC_TIMESTAMP: t - 1_700_000_000_000_000n,
          _BOOT_ID: TEST_BOOT_ID,
          SYSLOG_IDENTIFIER: 'kata',
          _PID: 4242,
          PRIORITY: 6,
          _TRANSPORT: 'syslog',
          MESSAGE: kataLine(from + i),
        }));
      await writeJournal(join(journalDir, 'a.journal'), entries(0, 50));
      const journald = { directory: journalDir, units: [] };

      const first = app();
      await runBridgeSources({ bridge: first.bridge, checkpointDir, journald, once: true });
      expect(bodies(first.memory.getFinishedLogRecords())).toEqual(seqs(0, 50));
      await first.loggerProvider.shutdown();

      await writeJournal(join(journalDir, 'b.journal'), entries(50, 80));
      const second = app();
      await runBridgeSources({ bridge: second.bridge, checkpointDir, journald, once: true });
      expect(bodies(second.memory.getFinishedLogRecords())).toEqual(seqs(50, 80));
      await second.loggerProvider.shutdown();
    },
    60_000,
  );

  it('refuses to run without a source', async () => {
    const { bridge } = app();
    await expect(runBridgeSources({ bridge, checkpointDir: tempDir() })).rejects.toThrow(/journald, files or sources/);
  });
});
