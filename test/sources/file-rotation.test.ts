// Rotation on real files: rename (move/create), copy-truncate, deletion, and a writer that keeps writing while
// the file is rotated logrotate-style every ~50 ms. Each asserts what the design promises (README in
// receiver/sources/file/): every line exactly once, except the documented copy-truncate window.
import {
  closeSync,
  copyFileSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointPath } from '../../receiver/sources/checkpoint.js';
import type { FileCheckpoint } from '../../receiver/sources/file.js';
import { delay, expectExactlyOnce, follow, lines, seqOf, scratch } from './file-helpers.js';

/** Wait until the source has read everything written so far (the writer's count). */
const caughtUp = (r: ReturnType<typeof follow>, n: number, what = `${n} lines`) =>
  r.h.waitFor(() => r.h.texts().length >= n, what, 30_000);

describe('FileSource: rotation', () => {
  it('rename out of the pattern: reads the old file to its end (writes after the rename too), then the new file', async () => {
    const dir = scratch();
    const live = join(dir, 'app.log');
    let fd = openSync(live, 'a');
    writeSync(fd, lines(0, 1000));
    const r = follow({ include: [live], startAt: 'beginning' });
    await caughtUp(r, 1000);
    // In one tick: more lines, the rename, lines the app writes before it reopens, the new file.
    writeSync(fd, lines(1000, 2000));
    renameSync(live, join(dir, 'app.log.1'));
    writeSync(fd, lines(2000, 2100));
    closeSync(fd);
    fd = openSync(live, 'a');
    writeSync(fd, lines(2100, 3000));
    await caughtUp(r, 3000);
    closeSync(fd);
    await delay(100);
    await r.stop();
    expectExactlyOnce(r.h.texts(), 3000);
  });

  it('copy-truncate with the copy inside the pattern: continues from the copy, then reads the truncated file from 0', async () => {
    const dir = scratch();
    const live = join(dir, 'app.log');
    const fd = openSync(live, 'a');
    writeSync(fd, lines(0, 1000));
    const r = follow({ include: [join(dir, 'app.log*')], startAt: 'beginning' });
    await caughtUp(r, 1000);
    writeSync(fd, lines(1000, 2000));
    copyFileSync(live, join(dir, 'app.log.1'));
    truncateSync(live, 0);
    writeSync(fd, lines(2000, 2500));
    await caughtUp(r, 2500);
    // Second rotation; this time the new content outgrows the old read offset before the next poll.
    copyFileSync(join(dir, 'app.log.1'), join(dir, 'app.log.2'));
    writeSync(fd, lines(2500, 2600));
    copyFileSync(live, join(dir, 'app.log.1'));
    truncateSync(live, 0);
    writeSync(fd, lines(2600, 6000));
    await caughtUp(r, 6000);
    closeSync(fd);
    await delay(200);
    await r.stop();
    expectExactlyOnce(r.h.texts(), 6000);
  });

  it('copy-truncate with only the live name included: no duplicates; only lines written just before the truncation can be lost', async () => {
    const dir = scratch();
    const live = join(dir, 'app.log');
    const fd = openSync(live, 'a');
    writeSync(fd, lines(0, 1000));
    const r = follow({ include: [live], startAt: 'beginning' });
    await caughtUp(r, 1000);
    // Everything read before the rotation: nothing to lose.
    copyFileSync(live, join(dir, 'rotated'));
    truncateSync(live, 0);
    writeSync(fd, lines(1000, 2000));
    await caughtUp(r, 2000);
    expectExactlyOnce(r.h.texts(), 2000);
    // Lines written right before the copy + truncate, in the same tick: the documented loss window.
    writeSync(fd, lines(2000, 2100));
    copyFileSync(live, join(dir, 'rotated'));
    truncateSync(live, 0);
    writeSync(fd, lines(2100, 3000));
    await r.h.waitFor(() => r.h.texts().some((t) => seqOf(t) === 2999), 'line 2999', 30_000);
    closeSync(fd);
    await delay(200);
    await r.stop();
    const seqs = r.h.texts().map(seqOf);
    expect(new Set(seqs).size).toBe(seqs.length); // no duplicates
    const got = new Set(seqs);
    const lost = [];
    for (let i = 0; i < 3000; i++) if (!got.has(i)) lost.push(i);
    expect(lost.every((i) => i >= 2000 && i < 2100)).toBe(true);
  });

  it('deletion: reads the open descriptor to its end, then a new file at the same path from its beginning', async () => {
    const dir = scratch();
    const live = join(dir, 'app.log');
    writeFileSync(live, lines(0, 100));
    const r = follow({ include: [live], startAt: 'beginning' });
    await caughtUp(r, 100);
    const fd = openSync(live, 'a');
    writeSync(fd, lines(100, 5000));
    unlinkSync(live);
    writeSync(fd, lines(5000, 5100)); // the writer still has it open
    closeSync(fd);
    writeFileSync(live, lines(5100, 5200));
    await caughtUp(r, 5200);
    // Once the deleted file is finished and closed, its identity leaves the checkpoint.
    const cp = checkpointPath(r.h.ctx.checkpointDir, 'file');
    const keys = () => Object.keys((JSON.parse(readFileSync(cp, 'utf8')) as FileCheckpoint).files);
    await r.h.waitFor(() => r.source.stats().openFiles === 1 && keys().length === 1, 'deleted file forgotten');
    await r.stop();
    expectExactlyOnce(r.h.texts(), 5200);
  });

  for (const pattern of ['live name only', 'all generations'] as const) {
    it(`a writer writing while the file is rotated every ~50 ms, 25 times (${pattern}): every line exactly once`, async () => {
      const dir = scratch();
      const live = join(dir, 'app.log');
      const gen = (i: number) => `${live}.${i}`;
      let fd = openSync(live, 'a');
      const r = follow({
        include: [pattern === 'live name only' ? live : `${live}*`],
        startAt: 'beginning',
        pollIntervalMs: 10,
      });
      let seq = 0;
      let stop = false;
      const write = (n: number) => {
        writeSync(fd, lines(seq, seq + n));
        seq += n;
      };
      // The writer: as fast as the shared event loop reasonably allows.
      const writer = (async () => {
        while (!stop) {
          write(40);
          await delay(1);
        }
      })();
      // logrotate-style: shift generations (the oldest is deleted), rename the live file, and the app writes a
      // few more lines into the renamed file before it reopens the live name. The promise holds for a file the source
      // had open before it was renamed out of the patterns or deleted (file/README.md: one created and rotated away
      // between two polls is never seen), so each rotation waits until a line of the current file was read: on a
      // loaded machine a 10 ms poll can stretch past the 50 ms between rotations.
      let rotations = 0;
      let firstOfFile = 0;
      while (rotations < 25) {
        await delay(50);
        if (pattern === 'live name only') {
          const first = firstOfFile;
          await r.h.waitFor(
            () => r.h.texts().some((t) => seqOf(t) >= first),
            `a line of generation ${rotations}`,
            30_000,
          );
        }
        if (existsSync(gen(3))) rmSync(gen(3));
        for (let g = 2; g >= 1; g--) if (existsSync(gen(g))) renameSync(gen(g), gen(g + 1));
        renameSync(live, gen(1));
        write(5);
        const old = fd;
        fd = openSync(live, 'a');
        closeSync(old);
        firstOfFile = seq;
        rotations++;
      }
      stop = true;
      await writer;
      closeSync(fd);
      await caughtUp(r, seq, `all ${seq} lines`);
      await delay(100);
      await r.stop();
      expect(seq).toBeGreaterThan(1000);
      expectExactlyOnce(r.h.texts(), seq);
    });
  }
});
