// SIGKILL at a random moment: a child process appends to a DiskQueue in a loop and prints each batch's sequence
// number once its append resolved; after the kill, the queue is reopened here and everything the child saw resolve
// must come out (at least once, counting what the child itself exported before it died).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskQueue } from '../../receiver/queue/index.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { ScriptedExporter, tempDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
const BATCH = 20; // = BATCH in fixtures/crash-writer.ts

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

/** Runs the writer until it has printed `target` sequence numbers (plus a random 0–15 ms), then SIGKILLs it. */
async function runAndKill(dataDir: string, fsync: string, mode: string, target: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir, fsync, mode], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let seen = 0;
  let killing = false;
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    seen += d.split('\n').length - 1;
    if (!killing && seen > target) {
      killing = true;
      setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 16));
    }
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  expect(signal, `writer ended on its own; stderr: ${err}`).toBe('SIGKILL');
  // Only complete lines: a line cut by the kill was not fully printed, so it says nothing.
  const lines = out
    .slice(0, out.lastIndexOf('\n'))
    .split('\n')
    .filter((l) => /^\d+$/.test(l));
  return Number(lines[lines.length - 1]);
}

async function recoverAll(dataDir: string): Promise<string[]> {
  const exporter = new ScriptedExporter('crash');
  const queue = await DiskQueue.open({ fsync: 'never' }, exporter, {
    dataDir,
    logger: silentLogger,
    metrics: new Metrics(),
  });
  queue.start();
  expect(await queue.drain(30_000)).toBe(true);
  await queue.close();
  return exporter.accepted;
}

describe('disk queue under SIGKILL', () => {
  for (const [fsync, mode] of [
    ['interval', 'export'],
    ['always', 'export'],
    ['never', 'hold'],
  ] as const) {
    it(`keeps every batch whose append resolved (fsync ${fsync}, consumer ${mode === 'export' ? 'running' : 'stopped'})`, async () => {
      const { dir, cleanup } = await tempDir();
      cleanups.push(cleanup);
      const target = 30 + Math.floor(Math.random() * 300);
      const lastSeq = await runAndKill(dir, fsync, mode, target);
      expect(lastSeq).toBeGreaterThanOrEqual(target - 1); // `seen` counted the "ready" line too

      const before =
        mode === 'export' ? (await readFile(`${dir}/delivered.log`, 'utf8')).split('\n').filter(Boolean) : [];
      const after = await recoverAll(dir);

      const all = new Set([...before, ...after]);
      const missing: string[] = [];
      for (let seq = 0; seq <= lastSeq; seq++)
        for (let i = 0; i < BATCH; i++)
          if (!all.has(`s${seq}:${seq * BATCH + i}`)) missing.push(`s${seq}:${seq * BATCH + i}`);
      expect(missing, `target ${target}, last resolved ${lastSeq}`).toEqual([]);

      // Duplicates only across the crash: neither run sends a record twice, so nothing arrives more than twice,
      // and a record sent again is one the child had exported but whose acknowledgement was not yet saved.
      expect(new Set(before).size).toBe(before.length);
      expect(new Set(after).size).toBe(after.length);
      const beforeSet = new Set(before);
      const duplicates = after.filter((b) => beforeSet.has(b));
      if (mode === 'hold') expect(duplicates).toEqual([]);
      // acks.json is saved every 10 ms in the writer, so what is resent is a short tail of what was exported
      // (observed: 0–300 records; the bound leaves room for a slow, shared disk).
      expect(duplicates.length).toBeLessThanOrEqual(2000);
    });
  }
});
