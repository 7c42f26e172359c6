// Found by delivery-crash.test.ts (200k records): a line that straddles the file source's per-poll read budget
// (READ_BUDGET, 8 MiB) was cut in two records when the rest of that poll — reading the other files and waiting for
// their emits — took longer than flush_timeout_ms: step 6 of poll() saw the file "idle" since its last read and
// flushed the unfinished line as if it were a last line without a newline, although the budget, not the end of the
// file, had stopped the read (fixed: step 6 flushes only a file read up to its size). Here two files of ~9 MiB and
// an emit that takes 20 ms per batch make that poll last at least 40 batches × 20 ms = 800 ms > flushTimeoutMs
// (500 ms, the default): deterministic, no timing assertion. Takes about 3 s.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSource } from '../../receiver/sources/file.js';
import type { SourceBatch } from '../../receiver/sources/types.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { kataLines, seqText, sleep, tempDir, waitFor } from './delivery-helpers.js';

describe('file source read budget', () => {
  it('never cuts a line that straddles the 8 MiB per-poll read budget into two records', async () => {
    const dir = tempDir();
    // 45,000 lines of ~213 bytes = 9.1 MiB per file: line 39,383 of each file crosses byte 8 MiB.
    const perFile = 45_000;
    writeFileSync(join(dir, 'a.log'), kataLines(0, perFile));
    writeFileSync(join(dir, 'b.log'), kataLines(perFile, 2 * perFile));
    const texts: string[] = [];
    const abort = new AbortController();
    const source = new FileSource({ include: [join(dir, '*.log')], startAt: 'beginning', pollIntervalMs: 20 });
    const done = source.run({
      emit: async (batch: SourceBatch) => {
        for (const e of batch.entries) if (e.kind === 'text') texts.push(e.text);
        await sleep(20); // a queue that fsyncs each append: real emits take about this long on a busy disk
      },
      signal: abort.signal,
      checkpointDir: join(dir, 'checkpoints'),
      once: false,
      logger: silentLogger,
      metrics: new Metrics(),
    });
    await waitFor('both files read', () => texts.length >= 2 * perFile, 60_000, 100);
    await sleep(700); // a cut line would show up as one more entry
    abort.abort();
    await done;
    const bad = texts.filter((t) => !/msg="seq \d{7}" name=containerd-shim-v2 .* subsystem=sandbox$/.test(t));
    expect(bad.map((t) => (t.length > 60 ? `${t.slice(0, 30)}…${t.slice(-30)}` : t))).toEqual([]);
    expect(texts.length).toBe(2 * perFile);
    expect(texts.filter((t) => t.includes(`msg="${seqText(39_383)}"`))).toHaveLength(1);
  }, 90_000);
});
