// The parse budget (receiver/pipeline/budget.ts, pipeline.ts): a large batch is parsed in slices, with the event loop
// running in between, and two batches waiting take turns. Checked by order of events, not by timing.
import { describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { TurnBudget } from '../../receiver/pipeline/budget.js';
import { Pipeline } from '../../receiver/pipeline/pipeline.js';
import type { Stage } from '../../receiver/pipeline/types.js';
import type { SourceBatch } from '../../receiver/sources/types.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';

const LINE = (i: number, sandbox: string) =>
  `time="2025-11-20T16:25:32.996810781Z" level=info msg="line ${i}" name=containerd-shim-v2 pid=3426175 sandbox=${sandbox} source=virtcontainers subsystem=sandbox`;
const batch = (sandbox: string, n: number): SourceBatch => ({
  source: sandbox,
  observedTimeUnixNano: 1n,
  entries: Array.from({ length: n }, (_, i) => ({ kind: 'text' as const, text: LINE(i, sandbox) })),
});

function pipeline(parseBudgetMs: number) {
  const delivered: KataLogRecord[][] = [];
  const p = new Pipeline({
    stages: [],
    sinks: [{ name: 'sink', append: async (r) => void delivered.push(r) }],
    metrics: new Metrics(),
    logger: silentLogger,
    parseBudgetMs,
  });
  return { p, delivered };
}

describe('parse budget', () => {
  it('lets timers and I/O callbacks run while a large batch is parsed', async () => {
    const { p, delivered } = pipeline(1);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    let immediate = false;
    setImmediate(() => (immediate = true));
    const done = p.process(batch('a', 30_000));
    // Nothing waits when nobody holds the turn: the first slice runs inside process(), synchronously.
    expect(immediate).toBe(false);
    await done;
    clearInterval(timer);
    expect(immediate).toBe(true);
    expect(ticks).toBeGreaterThan(0);
    expect(delivered.flat()).toHaveLength(30_000);
    expect(delivered.flat().map((r) => r.body)).toEqual(Array.from({ length: 30_000 }, (_, i) => `line ${i}`));
  });

  it('without a budget, parses the whole batch in one go', async () => {
    const { p } = pipeline(0);
    let immediate = false;
    setImmediate(() => (immediate = true));
    const done = p.process(batch('a', 5_000));
    await Promise.resolve();
    await done;
    expect(immediate).toBe(false);
  });

  it('gives two large batches turns instead of one after the other', async () => {
    const seen: string[] = [];
    const trace: Stage = {
      name: 'trace',
      process: (records) => {
        if (records.length) seen.push(String(records[0]?.attributes['kata.sandbox.id']));
        return records;
      },
    };
    const delivered: KataLogRecord[][] = [];
    const p = new Pipeline({
      stages: [trace],
      sinks: [{ name: 'sink', append: async (r) => void delivered.push(r) }],
      metrics: new Metrics(),
      logger: silentLogger,
      parseBudgetMs: 1,
    });
    await Promise.all([p.process(batch('a', 20_000)), p.process(batch('b', 20_000))]);
    // The stages see each batch slice by slice, and the slices of a and b alternate.
    const runs = seen.join('').match(/a+|b+/g) ?? [];
    expect(runs.length, seen.join('')).toBeGreaterThan(4);
    for (const recs of delivered) expect(recs).toHaveLength(20_000);
  });

  it('TurnBudget hands the turn round-robin to the waiting workers', async () => {
    const budget = new TurnBudget(1);
    const trace: string[] = [];
    const worker = async (name: string, units: number) => {
      const w = budget.acquire();
      if (w) await w;
      try {
        for (let i = 0; i < units; i++) {
          const start = performance.now();
          while (performance.now() - start < 0.6); // a unit of synchronous work
          trace.push(name);
          const wait = budget.pace();
          if (wait) await wait;
        }
      } finally {
        budget.release();
      }
    };
    await Promise.all([worker('a', 12), worker('b', 12)]);
    // Runs of one worker are bounded by the budget (two 0.6 ms units per 1 ms turn), then the other gets a turn.
    const runs = trace.join('').match(/a+|b+/g) ?? [];
    expect(runs.length).toBeGreaterThan(6);
    // (Not the first run: the first worker may take two turns before the second has queued up behind it; nor the
    // last: the worker left alone keeps the turn.)
    expect(Math.max(...runs.slice(1, -1).map((r) => r.length)), trace.join('')).toBeLessThanOrEqual(3);
  });
});
