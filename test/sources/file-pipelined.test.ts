// The file source with a pipelined context (SourceContext.pipelined, what the receiver's pipeline provides): it
// hands off its next batch before the previous one resolved, at most two in flight, and each batch carries the
// previous batch's checkpoint write as its durability barrier (SourceBatch.after). The emit below behaves like the
// pipeline: it does its work right away and only "makes the batch durable" once the barrier resolved.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointPath } from '../../receiver/sources/checkpoint.js';
import { FileSource, type FileCheckpoint } from '../../receiver/sources/file.js';
import type { SourceBatch } from '../../receiver/sources/types.js';
import { delay, expectExactlyOnce, lines, seqOf, scratch } from './file-helpers.js';
import { harness } from './source-harness.js';

const committedOffset = (cpDir: string): number => {
  const p = checkpointPath(cpDir, 'file');
  if (!existsSync(p)) return 0;
  return Object.values((JSON.parse(readFileSync(p, 'utf8')) as FileCheckpoint).files)[0]?.offset ?? 0;
};

/** Byte offset just past line `seq` in `lines(0, n)`. */
const endOf = (seq: number) => lines(0, seq + 1).length;

describe('FileSource: pipelined hand-off', () => {
  it('keeps at most two batches in flight, each durable only after the previous checkpoint is on disk', async () => {
    const dir = scratch();
    const f = join(dir, 'app.log');
    const cpDir = join(dir, 'cp');
    writeFileSync(f, lines(0, 3000));
    let inFlight = 0;
    let maxInFlight = 0;
    const durable: SourceBatch[] = [];
    const violations: string[] = [];
    const h = harness({
      once: true,
      checkpointDir: cpDir,
      emit: async (b) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          await b.after;
          // The barrier resolved: the previous durable batch is in the checkpoint on disk.
          const prev = durable[durable.length - 1];
          const last = prev?.entries[prev.entries.length - 1];
          if (last?.kind === 'text' && committedOffset(cpDir) < endOf(seqOf(last.text)))
            violations.push(`batch after seq ${seqOf(last.text)} became durable before its checkpoint`);
          await delay(3); // the queue's write and fsync
          durable.push(b);
        } finally {
          inFlight--;
        }
      },
    });
    h.ctx.pipelined = true;
    await new FileSource({ include: [f], startAt: 'beginning', batchMaxEntries: 100 }).run(h.ctx);
    expectExactlyOnce(h.texts(), 3000);
    expect(maxInFlight).toBe(2);
    expect(violations).toEqual([]);
    expect(committedOffset(cpDir)).toBe(lines(0, 3000).length);
  });

  it('a rejected hand-off stops the source; the batch behind it is never made durable; a restart re-reads from it', async () => {
    const dir = scratch();
    const f = join(dir, 'app.log');
    const cpDir = join(dir, 'cp');
    writeFileSync(f, lines(0, 2000));
    let calls = 0;
    const durable: string[] = [];
    const refused: string[][] = [];
    const h = harness({
      once: true,
      checkpointDir: cpDir,
      emit: async (b) => {
        const texts = b.entries.map((e) => (e.kind === 'text' ? e.text : ''));
        if (++calls === 4) {
          refused.push(texts);
          throw new Error('receiver shutting down');
        }
        try {
          await b.after;
        } catch (err) {
          refused.push(texts);
          throw err;
        }
        durable.push(...texts);
      },
    });
    h.ctx.pipelined = true;
    await new FileSource({ include: [f], startAt: 'beginning', batchMaxEntries: 100 }).run(h.ctx);
    expect(durable.length).toBe(300); // batches 1-3
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(committedOffset(cpDir)).toBe(lines(0, 300).length);
    expect(h.logs.some((l) => l.level === 'error' && String(l.msg).includes('not delivered'))).toBe(true);

    const again = harness({ once: true, checkpointDir: cpDir });
    again.ctx.pipelined = true;
    await new FileSource({ include: [f], startAt: 'beginning', batchMaxEntries: 100 }).run(again.ctx);
    expectExactlyOnce([...durable, ...again.texts()], 2000);
  });
});
