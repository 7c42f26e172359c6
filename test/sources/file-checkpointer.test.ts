// The file source's checkpointer (receiver/sources/file/checkpointer.ts) on its own, with a real checkpoint file:
// an offset reaches the disk only after `emit` resolved for the batch that carries it (the batch is durably
// queued), never before, never for a rejected batch; pipelined, a batch's barrier is the previous batch's
// checkpoint on disk; a failed checkpoint write is reported and retried.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointPath } from '../../receiver/sources/checkpoint.js';
import { Checkpointer, type FileCheckpoint } from '../../receiver/sources/file/checkpointer.js';
import { HandOffStopped } from '../../receiver/sources/file/deliver.js';
import { Problems } from '../../receiver/sources/file/problems.js';
import type { SourceBatch } from '../../receiver/sources/types.js';
import { createLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { tempDir } from './source-harness.js';

interface Pending {
  batch: SourceBatch;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** A checkpointer over one file identity whose emit the test settles by hand. */
function rig(checkpointDir = join(tempDir(), 'cp')) {
  const t = { committed: 0 };
  const pending: Pending[] = [];
  const controller = new AbortController();
  const problems = new Problems('file', createLogger({ level: 'error', write: () => undefined }), new Metrics());
  const cp = new Checkpointer<typeof t>({
    name: 'file',
    ctx: {
      checkpointDir,
      signal: controller.signal,
      emit: (batch) => new Promise<void>((resolve, reject) => pending.push({ batch, resolve, reject })),
    },
    drainMs: 100,
    subject: {
      snapshot: () => ({ k: { path: '/var/log/app.log', offset: t.committed, inode: 1, dev: 1, seen: 0 } }),
      takeChanged: () => false,
    },
    problems,
  });
  const onDisk = (): number | undefined => {
    const p = checkpointPath(checkpointDir, 'file');
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as FileCheckpoint).files.k?.offset : undefined;
  };
  const batch = (n: number): SourceBatch => ({
    source: 'file',
    entries: [{ kind: 'text', text: `entry ${n}` }],
    observedTimeUnixNano: 0n,
  });
  /** Let the event loop and the thread pool run (the checkpoint write is real file I/O). */
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
  };
  const handed = async (n: number) => {
    while (pending.length < n) await new Promise((r) => setTimeout(r, 1));
    return pending[n - 1] as Pending;
  };
  /** Batch 1 (offset 100) in flight and batch 2 (offset 200) handed off behind it, pipelined. */
  const twoInFlight = async () => {
    cp.mark(t, 100);
    await cp.handOff(batch(1), true);
    cp.mark(t, 200);
    const second = cp.handOff(batch(2), true); // waits for batch 1 to settle
    return { second, b2: (await handed(2)).batch };
  };
  return { t, cp, pending, onDisk, batch, settle, handed, problems, controller, checkpointDir, twoInFlight };
}

describe('file checkpointer: offsets persisted only past what is durably queued', () => {
  it('writes an offset only once emit resolved for the batch carrying it', async () => {
    const r = rig();
    r.cp.mark(r.t, 100);
    const done = r.cp.handOff(r.batch(1));
    const first = await r.handed(1);
    await r.settle();
    expect(r.t.committed).toBe(0);
    expect(r.onDisk()).toBeUndefined(); // read but not queued: nothing on disk says otherwise

    first.resolve();
    await done;
    expect(r.t.committed).toBe(100);
    expect(r.onDisk()).toBe(100);
  });

  it('a rejected batch moves nothing: the offset stays where the last durable batch left it', async () => {
    const r = rig();
    r.cp.mark(r.t, 100);
    const one = r.cp.handOff(r.batch(1));
    (await r.handed(1)).resolve();
    await one;

    r.cp.mark(r.t, 250);
    const two = r.cp.handOff(r.batch(2));
    (await r.handed(2)).reject(new Error('receiver shutting down'));
    await expect(two).rejects.toBeInstanceOf(HandOffStopped);
    await r.cp.finish();
    expect(r.t.committed).toBe(100);
    expect(r.onDisk()).toBe(100);
  });

  it('marks without a new batch ride on the batch still in flight, not past it', async () => {
    const r = rig();
    r.cp.mark(r.t, 100);
    await r.cp.handOff(r.batch(1), true); // pipelined: returns with the batch in flight
    r.cp.mark(r.t, 180); // a flushed line that belongs after that batch, with no entries of its own
    const end = r.cp.handOff(undefined);
    await r.settle();
    expect(r.onDisk()).toBeUndefined();
    (await r.handed(1)).resolve();
    await end;
    expect(r.onDisk()).toBe(180);
  });

  it('pipelined: the next batch is handed off early, but its barrier waits for the previous checkpoint on disk', async () => {
    const r = rig();
    const { second, b2 } = await r.twoInFlight();
    let barrier = false;
    void b2.after?.then(() => (barrier = true));
    await r.settle();
    expect(barrier).toBe(false); // batch 2 may not become durable: batch 1's checkpoint is not written

    (await r.handed(1)).resolve();
    await second;
    await b2.after;
    expect(r.onDisk()).toBe(100); // the barrier resolved with batch 1's offset on disk, not batch 2's
    (await r.handed(2)).resolve();
    await r.cp.handOff(undefined);
    expect(r.onDisk()).toBe(200);
  });

  it('pipelined: a rejected batch fails the barrier of the batch behind it, so that one is never queued', async () => {
    const r = rig();
    const { second, b2 } = await r.twoInFlight();
    (await r.handed(1)).reject(new Error('queue closed'));
    await expect(second).rejects.toBeInstanceOf(HandOffStopped);
    await expect(b2.after).rejects.toBeInstanceOf(HandOffStopped);
    expect(r.t.committed).toBe(0);
  });

  it('stopping abandons the batch in flight: even when its emit resolves later, its offset is not committed', async () => {
    const r = rig();
    r.cp.mark(r.t, 100);
    await r.cp.handOff(r.batch(1), true);
    r.cp.abandon('source file stopped'); // the source stops with batch 1 unconfirmed: it is read again after a restart
    (await r.handed(1)).resolve();
    await r.cp.finish();
    expect(r.t.committed).toBe(0);
    expect(r.onDisk()).toBeUndefined();
  });

  it('a checkpoint that cannot be written is reported once and written by a later persist', async () => {
    const dir = tempDir();
    const cpDir = join(dir, 'cp');
    writeFileSync(cpDir, 'not a directory');
    const r = rig(cpDir);
    r.cp.mark(r.t, 100);
    const one = r.cp.handOff(r.batch(1));
    (await r.handed(1)).resolve();
    await one;
    expect(r.t.committed).toBe(100);
    expect(r.problems.count).toBe(1);
    await r.cp.finish();
    expect(r.problems.count).toBe(1); // the same problem is not logged again

    rmSync(cpDir);
    mkdirSync(cpDir);
    await r.cp.finish(); // nothing new committed, but the failed write is still owed
    expect(r.onDisk()).toBe(100);
  });
});
