// Conformance of every source in the registry (the Collector's generated lifecycle test): built from a
// configuration that enables it, following its inputs, it keeps running until its signal aborts, then returns
// within a bound. A source added to the registry without a fixture here fails the first test.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SOURCES } from '../../receiver/components/registry.js';
import { loadConfig, type ConfigInput } from '../../receiver/config/index.js';
import type { RunInputs } from '../../receiver/run/receiver.js';
import type { SourceBatch } from '../../receiver/sources/types.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';

const STOP_BOUND_MS = 5000;

/** Per source type: the configuration (and command line) that enables it, on empty or small local inputs. */
const FIXTURES: Record<string, (dir: string) => { config: ConfigInput; inputs?: Partial<RunInputs> }> = {
  file: (dir) => {
    writeFileSync(join(dir, 'a.log'), 'time="2026-01-01T00:00:00Z" level=info msg=hello\n');
    return { config: { sources: { files: [{ include: [join(dir, '*.log')], start_at: 'beginning' }] } } };
  },
  stdin: () => ({ config: { sources: { stdin: true } } }),
  journald: (dir) => ({ config: { sources: { journald: { enabled: true, directory: dir } } } }),
  vsock: (dir) => ({ config: { sources: { vsock: { enabled: true, roots: [dir] } } } }),
  fifo: (dir) => ({ config: { sources: { fifo: { enabled: true, roots: [dir] } } } }),
  'agent-spans': (dir) => ({
    config: { pipeline: { lifecycle: { agent_spans: true } }, sources: { vsock: { roots: [dir] } } },
  }),
};

describe('sources (conformance over the registry)', () => {
  it('every registered source has a fixture', () => {
    expect(SOURCES.map((d) => d.type).sort()).toEqual(Object.keys(FIXTURES).sort());
  });

  it.each(SOURCES.map((d) => [d.type, d] as const))('%s follows until aborted, then stops in time', async (_t, d) => {
    const dir = mkdtempSync(join(tmpdir(), `kata-otel-conf-${d.type}-`));
    const fx = FIXTURES[d.type]!(dir);
    const config = loadConfig(undefined, { data_dir: join(dir, 'data'), ...fx.config }, { env: {} });
    const inputs: RunInputs = { files: [], once: false, ...fx.inputs };
    const wanted = d.instances(config, inputs);
    expect(wanted.length, 'the fixture enables the source').toBeGreaterThan(0);
    const create = await d.load();
    const stdin = new PassThrough();
    const batches: SourceBatch[] = [];
    const abort = new AbortController();
    const runs = wanted.map(({ id, config: c }) =>
      create(c, id, { stdin, logger: silentLogger, lifecycle: { adoptAgentSpans: () => 0 } }).run({
        emit: async (b) => void batches.push(b),
        signal: abort.signal,
        checkpointDir: mkdtempSync(join(dir, 'ckpt-')),
        once: false,
        logger: silentLogger,
        metrics: new Metrics(),
      }),
    );
    let settled = false;
    const all = Promise.allSettled(runs).then((r) => ((settled = true), r));
    await new Promise((r) => setTimeout(r, 400));
    expect(settled, 'a following source runs until it is stopped').toBe(false);
    const t0 = Date.now();
    abort.abort();
    const bound = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_BOUND_MS));
    const results = await Promise.race([all, bound]);
    expect(results, `${d.type} stopped within ${STOP_BOUND_MS} ms`).not.toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(STOP_BOUND_MS);
    for (const r of results as PromiseSettledResult<void>[]) expect(r.status).toBe('fulfilled');
    if (d.type === 'file') expect(batches.flatMap((b) => b.entries)).toHaveLength(1);
  });
});
