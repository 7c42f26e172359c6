// The file source's linger (receiver/sources/file/linger.ts): following a slow trickle, a poll's entries wait for
// later polls' so one hand-off (stages, queue append + fsync, checkpoint write) carries a second's worth, while
// the checkpoint still moves only past what was handed off and a closed file hands its entries off at once.
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointPath } from '../../receiver/sources/checkpoint.js';
import type { FileCheckpoint } from '../../receiver/sources/file.js';
import { delay, expectExactlyOnce, follow, line, scratch } from './file-helpers.js';
import { harness } from './source-harness.js';

/** Append one numbered line every `everyMs` for `n` lines (a trickle). */
async function trickle(path: string, n: number, everyMs: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    appendFileSync(path, line(i) + '\n');
    await delay(everyMs);
  }
}

const committed = (cpDir: string): number => {
  const p = checkpointPath(cpDir, 'file');
  if (!existsSync(p)) return 0;
  return Object.values((JSON.parse(readFileSync(p, 'utf8')) as FileCheckpoint).files)[0]?.offset ?? 0;
};

describe('FileSource: linger', () => {
  // The same trickle with and without a linger: the batch count is what changes (an upper bound, so a slow machine
  // that polls less often cannot fail it).
  it('hands a trickle off about once per linger instead of once per poll', async () => {
    const runs: Record<string, number> = {};
    for (const lingerMs of [0, 400]) {
      const dir = scratch();
      const f = join(dir, 'app.log');
      writeFileSync(f, '');
      const r = follow({ include: [f], startAt: 'beginning', pollIntervalMs: 20, lingerMs });
      const started = Date.now();
      await trickle(f, 60, 20);
      await r.h.waitFor(() => r.h.texts().length === 60, 'every line');
      const elapsed = Date.now() - started;
      await r.stop();
      expectExactlyOnce(r.h.texts(), 60);
      runs[lingerMs] = r.h.batches.length;
      if (lingerMs > 0) expect(r.h.batches.length).toBeLessThanOrEqual(Math.ceil(elapsed / lingerMs) + 1);
    }
    // Without a linger each poll that found a line hands it off: many more batches.
    expect(runs[0]).toBeGreaterThan(2 * (runs[400] as number));
  });

  it('commits no offset for lines still lingering; a stop hands them off and commits them', async () => {
    const dir = scratch();
    const f = join(dir, 'app.log');
    const cpDir = join(dir, 'cp');
    writeFileSync(f, '');
    const h = harness({ checkpointDir: cpDir });
    const r = follow({ include: [f], startAt: 'beginning', pollIntervalMs: 20, lingerMs: 60_000 }, h);
    await delay(200); // the first poll saw the empty file
    appendFileSync(f, line(0) + '\n' + line(1) + '\n');
    await delay(300); // read by several polls, lingering
    expect(h.batches.length).toBe(0);
    expect(committed(cpDir)).toBe(0);
    await r.stop();
    expectExactlyOnce(h.texts(), 2);
    expect(committed(cpDir)).toBe(readFileSync(f).length);
  });

  it('a file deleted while its lines linger: they are handed off when it is closed, not held for the linger', async () => {
    const dir = scratch();
    const f = join(dir, 'app.log');
    writeFileSync(f, '');
    const r = follow({ include: [f], startAt: 'beginning', pollIntervalMs: 20, lingerMs: 60_000 });
    await delay(200);
    appendFileSync(f, line(0) + '\n');
    await r.h.waitFor(() => r.source.stats().bytesLeft === 0 && r.source.stats().openFiles === 1, 'the line read');
    await delay(100);
    expect(r.h.batches.length).toBe(0);
    rmSync(f);
    // An orphan is closed after it stayed idle for max(1 s, 5 polls, flush timeout): well before the 60 s linger.
    await r.h.waitFor(() => r.h.texts().length === 1, 'the line handed off at the close', 10_000);
    await r.stop();
    expectExactlyOnce(r.h.texts(), 1);
  });
});
