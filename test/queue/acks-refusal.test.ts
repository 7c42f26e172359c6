// The queue refuses acknowledgements it did not write: an acks.json edited to mark frames done that were never
// handed to the exporter (which would drop queued records unsent) is refused, logged, and those records are sent.
// The queue's own acknowledgements, across restarts, are still honoured (no duplicates).
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskQueue, type QueueOptionsInput } from '../../receiver/queue/index.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { captureLogger, makeRecords, ScriptedExporter, tempDir, until, type Script } from './helpers.js';

const FAST_RETRY = { initialMs: 2, maxMs: 5, multiplier: 2 };
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

async function open(dir: string, script?: Script, opts: QueueOptionsInput = {}) {
  const { logger, lines } = captureLogger();
  const exporter = new ScriptedExporter('otlp', script);
  const queue = await DiskQueue.open(
    { retry: FAST_RETRY, fsync: 'always', maxBatchRecords: 100, maxInFlight: 1, ...opts },
    exporter,
    {
      dataDir: dir,
      logger,
      metrics: new Metrics(),
    },
  );
  return { queue, exporter, lines };
}
const bodies = (n: number, start = 0) => makeRecords(n, start).map((r) => r.body);

/** 500 records queued, the first 200 exported and acknowledged, the rest waiting (backend down). */
async function halfExported(): Promise<{ dir: string; qdir: string }> {
  const { dir, cleanup } = await tempDir();
  cleanups.push(cleanup);
  const { queue } = await open(dir, (call) => (call < 2 ? { code: 'success' } : { code: 'retryable', error: 'down' }));
  await queue.append(makeRecords(500));
  queue.start();
  await until(() => queue.depth().records === 300);
  await queue.close();
  return { dir, qdir: queue.dir };
}

async function reopenAndDeliver(dir: string) {
  const { queue, exporter, lines } = await open(dir);
  queue.start();
  expect(await queue.drain(20_000)).toBe(true);
  await queue.close();
  return { accepted: exporter.accepted, lines };
}

const refusals = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => String(l.msg).startsWith('acks.json acknowledges queued frames that were never exported'));

describe('acks.json is checked against what the queue handed to its exporter', () => {
  it("honours the queue's own acknowledgements: only the unsent records go", async () => {
    const { dir } = await halfExported();
    const { accepted, lines } = await reopenAndDeliver(dir);
    expect(accepted).toEqual(bodies(300, 200));
    expect(refusals(lines)).toEqual([]);
  });

  it('refuses an acknowledgement beyond the frames handed to the exporter, logs it, and sends those records', async () => {
    const { dir, qdir } = await halfExported();
    const acks = JSON.parse(await readFile(join(qdir, 'acks.json'), 'utf8')) as {
      segments: Record<string, { upTo: number; done: number[] }>;
    };
    const [seg] = Object.keys(acks.segments);
    acks.segments[seg!]!.upTo = 10_000_000; // "everything is done"
    await writeFile(join(qdir, 'acks.json'), JSON.stringify(acks));
    const { accepted, lines } = await reopenAndDeliver(dir);
    // The whole entry is refused: the 200 sent records go again (duplicates), and none of the 300 is lost.
    expect(accepted).toEqual(bodies(500));
    const [line] = refusals(lines);
    expect(line).toMatchObject({ level: 'error' });
    expect(JSON.stringify(line)).toContain(seg);
    expect(JSON.stringify(line)).toMatch(/only frames up to byte \d+ were handed to the exporter/);
  });

  it('refuses acknowledgements for frames listed as done but never handed, and segments with no export record', async () => {
    const { dir, qdir } = await halfExported();
    const seg = (await readdir(qdir)).find((n) => n.endsWith('.seg'))!;
    const acks = JSON.parse(await readFile(join(qdir, 'acks.json'), 'utf8')) as {
      segments: Record<string, { upTo: number; done: number[] }>;
    };
    acks.segments[seg]!.done.push(9_999_999);
    acks.segments['000000000099-deadbeef.seg'] = { upTo: 100, done: [] };
    await writeFile(join(qdir, 'acks.json'), JSON.stringify(acks));
    const { accepted, lines } = await reopenAndDeliver(dir);
    expect(accepted).toEqual(bodies(500));
    const text = JSON.stringify(refusals(lines));
    expect(text).toContain('never handed to the exporter');
    expect(text).toContain('no export record for this segment');
  });

  it('refuses acks.json altogether when the export record was deleted', async () => {
    const { dir, qdir } = await halfExported();
    await writeFile(join(qdir, 'handed.json'), '{"version":1,"segments":{}}');
    const { accepted, lines } = await reopenAndDeliver(dir);
    expect(accepted).toEqual(bodies(500));
    expect(refusals(lines)).toHaveLength(1);
  });
});
