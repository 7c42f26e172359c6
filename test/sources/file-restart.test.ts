// Checkpoints across restarts: a clean stop resumes exactly; a failed or hung hand-off does not move the
// checkpoint; a SIGKILLed process loses nothing and repeats at most the batch it was committing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkpointPath } from '../../receiver/sources/checkpoint.js';
import { FileSource, type FileCheckpoint } from '../../receiver/sources/file.js';
import { delay, expectExactlyOnce, follow, line, lines, seqOf, scratch } from './file-helpers.js';
import { harness } from './source-harness.js';

const resume = async (include: string, cpDir: string) => {
  const h = harness({ once: true, checkpointDir: cpDir });
  await new FileSource({ include: [include], startAt: 'beginning' }).run(h.ctx);
  return h;
};

const committedOffset = (cpDir: string): number | undefined => {
  const p = checkpointPath(cpDir, 'file');
  if (!existsSync(p)) return undefined;
  return Object.values((JSON.parse(readFileSync(p, 'utf8')) as FileCheckpoint).files)[0]?.offset;
};

describe('FileSource: restart', () => {
  it('stopped mid-stream (abort), a new instance on the same checkpoint resumes without loss or duplicates', async () => {
    const dir = scratch();
    const f = join(dir, 'app.log');
    const cpDir = join(dir, 'cp');
    writeFileSync(f, lines(0, 20_000));
    const h = harness({ checkpointDir: cpDir, emit: () => delay(2) });
    const r = follow({ include: [f], startAt: 'beginning', batchMaxEntries: 200 }, h);
    await h.waitFor(() => h.texts().length >= 3000, '3000 lines');
    await r.stop();
    const first = h.texts();
    expect(first.length).toBeLessThan(20_000);
    // The checkpoint is exactly the end of the last delivered line.
    expect(committedOffset(cpDir)).toBe(lines(0, first.length).length);
    const second = await resume(f, cpDir);
    expectExactlyOnce([...first, ...second.texts()], 20_000);
  });

  it('a rejected emit does not move the checkpoint: the restarted source re-reads that batch', async () => {
    const dir = scratch();
    const f = join(dir, 'app.log');
    const cpDir = join(dir, 'cp');
    writeFileSync(f, lines(0, 5000));
    let calls = 0;
    let failed: string[] = [];
    const h = harness({
      checkpointDir: cpDir,
      emit: async (b) => {
        if (++calls === 3) {
          failed = b.entries.map((e) => (e.kind === 'text' ? e.text : ''));
          throw new Error('receiver shutting down');
        }
      },
    });
    await new FileSource({ include: [f], startAt: 'beginning', batchMaxEntries: 100 }).run(h.ctx);
    expect(h.texts()).toHaveLength(200); // run() returned after the failure, two batches delivered
    expect(committedOffset(cpDir)).toBe(lines(0, 200).length);
    expect(h.logs.some((l) => l.level === 'error' && String(l.msg).includes('not delivered'))).toBe(true);
    const second = await resume(f, cpDir);
    expect(second.texts().slice(0, failed.length)).toEqual(failed);
    expectExactlyOnce([...h.texts(), ...second.texts()], 5000);
  });

  it('an emit that never resolves does not move the checkpoint; abort returns after the drain timeout', async () => {
    const dir = scratch();
    const f = join(dir, 'app.log');
    const cpDir = join(dir, 'cp');
    writeFileSync(f, lines(0, 5000));
    let calls = 0;
    let hung = false;
    const h = harness({
      checkpointDir: cpDir,
      emit: (b) => {
        if (++calls < 3) return Promise.resolve();
        hung = b.entries.length > 0;
        return new Promise<void>(() => undefined); // downstream stuck for good
      },
    });
    const src = new FileSource({
      include: [f],
      startAt: 'beginning',
      batchMaxEntries: 100,
      pollIntervalMs: 20,
      drainTimeoutMs: 100,
    });
    const done = src.run(h.ctx);
    await h.waitFor(() => hung, 'the hung emit');
    await delay(100);
    expect(committedOffset(cpDir)).toBe(lines(0, 200).length);
    h.controller.abort();
    await done;
    expect(committedOffset(cpDir)).toBe(lines(0, 200).length);
    const second = await resume(f, cpDir);
    expect(seqOf(second.texts()[0] ?? '')).toBe(200);
    expectExactlyOnce([...h.texts(), ...second.texts()], 5000);
  });

  it('a process SIGKILLed while reading, restarted twice: no line lost, duplicates bounded by one batch per kill', async () => {
    const dir = scratch();
    const f = join(dir, 'app.log');
    const out = join(dir, 'delivered.jsonl');
    const batch = 500;
    const total = 60_000;
    writeFileSync(f, lines(0, total));
    const script = fileURLToPath(new URL('./file-child.ts', import.meta.url));
    const start = (): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', script], {
        env: {
          ...process.env,
          CHILD_INCLUDE: f,
          CHILD_OUT: out,
          CHILD_CHECKPOINTS: join(dir, 'cp'),
          CHILD_BATCH: String(batch),
          CHILD_EMIT_DELAY_MS: '2',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
    const delivered = () =>
      existsSync(out)
        ? readFileSync(out, 'utf8')
            .split('\n')
            .flatMap((l) => {
              try {
                return [JSON.parse(l) as { text: string; uid: string }];
              } catch {
                return []; // empty, or torn by the kill (that batch's emit never resolved)
              }
            })
        : [];
    /** Resolves once the child reported `n` more batches. */
    const batches = (child: ChildProcess, n: number) =>
      new Promise<void>((resolve, reject) => {
        let seen = 0;
        child.stdout?.on('data', (d: Buffer) => {
          seen += d
            .toString()
            .split('\n')
            .filter((l) => l.startsWith('batch')).length;
          if (seen >= n) resolve();
        });
        child.on('exit', () => reject(new Error('child exited early')));
      });
    const exit = (child: ChildProcess) => new Promise((r) => child.on('exit', r));

    for (let kill = 0; kill < 2; kill++) {
      const child = start();
      await batches(child, 15);
      child.kill('SIGKILL');
      await exit(child);
    }
    expect(delivered().length).toBeLessThan(total);
    const last = start();
    const h = harness();
    await h.waitFor(() => delivered().length >= total, 'every line delivered', 60_000);
    last.kill('SIGTERM');
    await exit(last);

    const got = delivered();
    const seqs = got.map((e) => seqOf(e.text));
    const set = new Set(seqs);
    for (let i = 0; i < total; i++) if (!set.has(i)) expect.fail(`line ${i} lost`);
    expect(got.length - set.size).toBeLessThanOrEqual(2 * batch);
    // A repeated entry carries the same uid, so downstream can drop it.
    const uidBySeq = new Map<number, string>();
    for (const e of got) {
      const s = seqOf(e.text);
      expect(uidBySeq.get(s) ?? e.uid).toBe(e.uid);
      uidBySeq.set(s, e.uid);
    }
    expect(got.find((e) => seqOf(e.text) === 7)?.text).toBe(line(7));
  });
});
