// DedupeStage against a plain model of its contract (a FIFO of dedupeKey strings, bounded by maxKeys and by the
// record-time window): random streams with repeats, numbers vs their text, times that differ by 1 ns, tiny tables
// that wrap and evict constantly. The stage keeps hashes in a hand-written open-addressing table; this checks that
// the table (probing, backward-shift deletion, ring eviction) keeps exactly the records the model keeps.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { DedupeStage, dedupeKey } from '../../receiver/pipeline/dedupe.js';
import { ATTR_HOST_NAME, ATTR_KATA_SANDBOX_ID, ATTR_PROCESS_PID } from '../../receiver/semconv/generated.js';

class Model {
  private order: { key: string; t: bigint }[] = [];
  private newest = 0n;
  constructor(
    private readonly maxKeys: number,
    private readonly windowNs: bigint,
  ) {}
  process(records: KataLogRecord[]): KataLogRecord[] {
    const out: KataLogRecord[] = [];
    for (const r of records) {
      const k = dedupeKey(r);
      if (k === undefined) {
        out.push(r);
        continue;
      }
      if (this.order.some((e) => e.key === k)) continue;
      if (this.order.length === this.maxKeys) this.order.shift();
      this.order.push({ key: k, t: r.timeUnixNano });
      if (r.timeUnixNano > this.newest) this.newest = r.timeUnixNano;
      out.push(r);
    }
    const cutoff = this.newest - this.windowNs;
    while (this.order.length > 0 && (this.order[0] as { t: bigint }).t < cutoff) this.order.shift();
    return out;
  }
}

const BASE = 1_714_582_800_000_000_000n;

const recordArb = fc
  .record({
    t: fc.oneof(
      fc.constant(0n),
      fc.bigInt({ min: 0n, max: 40n }).map((x) => BASE + x * 1_000_000_000n),
    ),
    ns: fc.constantFrom(0n, 1n),
    body: fc.constantFrom('a', 'b', 'Starting VM'),
    sev: fc.constantFrom('info', 'debug'),
    sandbox: fc.constantFrom(undefined, 'sb1', 'sb2'),
    pid: fc.constantFrom(undefined, 1, '1', 42, -7),
    host: fc.constantFrom(undefined, 'h1', 'h2'),
    extra: fc.constantFrom(undefined, 0, '0', 1.5, true, 'true', ['x', 'y']),
  })
  .map(({ t, ns, body, sev, sandbox, pid, host, extra }): KataLogRecord => {
    const attributes: KataLogRecord['attributes'] = {};
    if (sandbox !== undefined) attributes[ATTR_KATA_SANDBOX_ID] = sandbox;
    // process.pid is a carrier attribute (ignored); `kata.field.n` is not, and mixes numbers with their text.
    if (pid !== undefined) attributes[ATTR_PROCESS_PID] = pid as number;
    if (pid !== undefined) attributes['kata.field.n'] = pid;
    if (host !== undefined) attributes[ATTR_HOST_NAME] = host;
    if (extra !== undefined) attributes['kata.field.extra'] = extra;
    return {
      timeUnixNano: t === 0n ? 0n : t + ns,
      observedTimeUnixNano: 1n,
      severityNumber: 9,
      severityText: sev,
      body,
      attributes,
    };
  });

describe('DedupeStage = its model', () => {
  it('keeps exactly the records the model keeps, batch by batch', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(recordArb, { maxLength: 40 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(5_000, 20_000, 60_000),
        (batches, maxKeys, windowMs) => {
          const stage = new DedupeStage({ maxKeys, windowMs });
          const model = new Model(maxKeys, BigInt(windowMs) * 1_000_000n);
          for (const b of batches) {
            expect(stage.process(b)).toEqual(model.process(b));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stays exact over a long stream that wraps the ring and the table many times', () => {
    const stage = new DedupeStage({ maxKeys: 100, windowMs: 3_600_000 });
    const model = new Model(100, 3_600_000n * 1_000_000n);
    let seed = 1;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let b = 0; b < 200; b++) {
      const batch: KataLogRecord[] = [];
      for (let i = 0; i < 50; i++) {
        const n = Math.floor(rnd() * 300);
        batch.push({
          timeUnixNano: BASE + BigInt(n),
          observedTimeUnixNano: 1n,
          severityNumber: 9,
          severityText: 'info',
          body: `m${n % 7}`,
          attributes: { [ATTR_KATA_SANDBOX_ID]: `sb${n % 3}` },
        });
      }
      expect(stage.process(batch)).toEqual(model.process(batch));
      expect(stage.size).toBeLessThanOrEqual(100);
    }
  });
});
