// The file source's watching (receiver/sources/file/watcher.ts + poller.ts): following with inotify on the
// patterns' directories, a poll runs when something changed rather than every pollIntervalMs. The safety poll is
// set to a minute here, so a line that arrives at all arrived through an event (or through polling where watching
// is not possible or failed: those cases are asserted by their poll counts).
import { appendFileSync, copyFileSync, mkdirSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileSourceOptions } from '../../receiver/sources/file.js';
import { delay, expectExactlyOnce, follow, line, lines, scratch, type Running } from './file-helpers.js';

const watching = (o: FileSourceOptions): Running =>
  follow({ startAt: 'beginning', pollIntervalMs: 20, lingerMs: 0, safetyPollMs: 60_000, ...o });

/** Polls run during `ms` of rest. */
async function pollsDuring(r: Running, ms: number): Promise<number> {
  const before = r.source.stats().polls;
  await delay(ms);
  return r.source.stats().polls - before;
}

describe('FileSource: watching', () => {
  it('at rest polls about never, where polling alone polls every interval', async () => {
    const counts: Record<string, number> = {};
    for (const watch of [true, false]) {
      const dir = scratch();
      writeFileSync(join(dir, 'app.log'), lines(0, 3));
      const r = watching({ include: [join(dir, '*.log')], watch });
      await r.h.waitFor(() => r.h.texts().length === 3, 'the first lines');
      await delay(200); // let the hand-off and its poll settle
      counts[String(watch)] = await pollsDuring(r, 1000);
      await r.stop();
      expectExactlyOnce(r.h.texts(), 3);
    }
    expect(counts.true).toBeLessThanOrEqual(2);
    expect(counts.false).toBeGreaterThan(10);
  });

  it('picks up appends and new files through events', async () => {
    const dir = scratch();
    const a = join(dir, 'a.log');
    writeFileSync(a, '');
    const r = watching({ include: [join(dir, '*.log')] });
    await delay(300);
    const rest = r.source.stats().polls;
    appendFileSync(a, line(0) + '\n');
    await r.h.waitFor(() => r.h.texts().length === 1, 'the appended line (an event woke a poll)');
    writeFileSync(join(dir, 'b.log'), line(1) + '\n');
    await r.h.waitFor(() => r.h.texts().length === 2, 'the new file (an event woke a poll)');
    appendFileSync(a, line(2) + '\n' + line(3) + '\n');
    await r.h.waitFor(() => r.h.texts().length === 4, 'more appended lines');
    // A few polls per change, not one per 20 ms interval.
    expect(r.source.stats().polls - rest).toBeLessThan(20);
    await r.stop();
    expectExactlyOnce(r.h.texts(), 4);
  });

  it('follows a rename rotation (move/create) with every line once', async () => {
    const dir = scratch();
    const f = join(dir, 'app.log');
    writeFileSync(f, lines(0, 50));
    const r = watching({ include: [join(dir, 'app.log*')] });
    await r.h.waitFor(() => r.h.texts().length === 50, 'the first generation');
    let n = 50;
    for (let gen = 1; gen <= 5; gen++) {
      renameSync(f, `${f}.${gen}`);
      appendFileSync(`${f}.${gen}`, lines(n, n + 10)); // the writer still writes into the renamed file
      n += 10;
      writeFileSync(f, lines(n, n + 40));
      n += 40;
      await r.h.waitFor(() => r.h.texts().length === n, `generation ${gen}`);
    }
    await r.stop();
    expectExactlyOnce(r.h.texts(), n);
  });

  it('follows copy-truncate (copy included) and a truncation of the live name only', async () => {
    const dir = scratch();
    const f = join(dir, 'app.log');
    writeFileSync(f, lines(0, 30));
    const r = watching({ include: [join(dir, 'app.log*')] });
    await r.h.waitFor(() => r.h.texts().length === 30, 'the first lines');
    appendFileSync(f, lines(30, 40));
    copyFileSync(f, `${f}.1`);
    truncateSync(f, 0);
    appendFileSync(f, lines(40, 60));
    await r.h.waitFor(() => r.h.texts().length === 60, 'the rest from the copy, then the truncated file from 0');
    await r.stop();
    expectExactlyOnce(r.h.texts(), 60);

    // Only the live name included: the truncated file is read again from its beginning.
    const dir2 = scratch();
    const g = join(dir2, 'app.log');
    writeFileSync(g, lines(100, 120));
    const r2 = watching({ include: [g] });
    await r2.h.waitFor(() => r2.h.texts().length === 20, 'the first lines');
    truncateSync(g, 0);
    appendFileSync(g, lines(120, 125));
    await r2.h.waitFor(() => r2.h.texts().length === 25, 'the truncated file read from 0');
    await r2.stop();
    expect(r2.h.texts().slice(20)).toEqual(lines(120, 125).trimEnd().split('\n'));
  });

  it('falls back to polling while the directory cannot be watched, and watches it once it exists', async () => {
    const root = scratch();
    const dir = join(root, 'later');
    const r = watching({ include: [join(dir, '*.log')] });
    await delay(100);
    // The base directory is missing: no watch can be set up, so it polls every interval.
    expect(await pollsDuring(r, 500)).toBeGreaterThan(5);
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.log'), line(0) + '\n');
    await r.h.waitFor(() => r.h.texts().length === 1, 'a file in the directory created later');
    await delay(300);
    // Now watched: rest again, and an append still arrives.
    expect(await pollsDuring(r, 1000)).toBeLessThanOrEqual(2);
    appendFileSync(join(dir, 'a.log'), line(1) + '\n');
    await r.h.waitFor(() => r.h.texts().length === 2, 'an append in the now watched directory');

    // The directory deleted and created again: the watch died with the old inode; a new one is set up.
    rmSync(dir, { recursive: true });
    await delay(200);
    mkdirSync(dir);
    writeFileSync(join(dir, 'b.log'), line(2) + '\n');
    await r.h.waitFor(() => r.h.texts().length === 3, 'a file in the re-created directory');
    await r.stop();
    expectExactlyOnce(r.h.texts(), 3);
  });

  it('polls every interval where watching cannot cover the patterns (**)', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'a.log'), line(0) + '\n');
    const r = watching({ include: [join(dir, '**', '*.log')] });
    await r.h.waitFor(() => r.h.texts().length === 1, 'the line in a subdirectory');
    expect(await pollsDuring(r, 500)).toBeGreaterThan(5);
    appendFileSync(join(dir, 'sub', 'a.log'), line(1) + '\n');
    await r.h.waitFor(() => r.h.texts().length === 2, 'an append in a subdirectory');
    await r.stop();
    expectExactlyOnce(r.h.texts(), 2);
  });
});
