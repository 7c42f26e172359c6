// The steady-state bench's parts on a short run (not the benchmark): the generated lines carry their tag through
// the parsers; the writer appends every line once, half to a real journal file (read back by the real journalctl)
// and half to per-sandbox files, spread over its schedule; the latency statistics; and a whole run — kata-otel
// `run` from source following both, exporting to the real counting receiver — delivers every line written with
// latencies computed from real timestamps that are non-negative and bounded; so does the naive SDK follower. Speed is the benchmark's business:
// nothing here asserts CPU or latency targets.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { steadyLines } from '../../bench/gen.js';
import { latencyStats, percentile, type LatencyStats } from '../../bench/latency.js';
import { JOURNAL_REMOTE, runSteady, type SteadySink } from '../../bench/steady.js';
import type { WriterResult } from '../../bench/steady-writer.js';
import { parseText } from '../../receiver/parse/index.js';
import { ATTR_KATA_LOG_PARSE_ERROR } from '../../receiver/semconv/generated.js';

const bench = (f: string) => fileURLToPath(new URL(`../../bench/${f}`, import.meta.url));
// By URL: kata-otel and the writer run in a temporary directory, where the bare name does not resolve.
const TSX = ['--import', new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href];
const dir = mkdtempSync(join(tmpdir(), 'kata-otel-steady-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TAG = /^kb#(\d+)@(\d+)$/;

describe('steady-state lines', () => {
  it('parse without errors and keep the tag as an attribute, both kinds', () => {
    const gen = steadyLines(7, 100);
    expect(gen.sandboxes).toHaveLength(100);
    const ctx = { observedTimeUnixNano: 1n };
    for (let i = 0; i < 200; i++) {
      const tag = `kb#${i}@${1_700_000_000_000_000 + i}`;
      for (const line of [gen.shim(Date.now(), tag), gen.agent(Date.now(), tag)]) {
        const [rec, ...rest] = parseText(line.text, ctx);
        expect(rest).toEqual([]);
        expect(rec!.attributes[ATTR_KATA_LOG_PARSE_ERROR], line.text).toBeUndefined();
        expect(rec!.attributes['kata.field.bench_tag'], line.text).toBe(tag);
        expect(line.priority).toBeGreaterThanOrEqual(3);
      }
    }
  });
});

describe('latency statistics', () => {
  it('nearest-rank percentiles over the tags that arrived; missing ones (NaN) are not counted', () => {
    const ms = Float64Array.from({ length: 200 }, (_, i) => (i % 2 ? NaN : 200 - i)); // 100 arrived: 2..200
    const s: LatencyStats = latencyStats(ms, 200, 3);
    expect(s).toEqual({ written: 200, received: 100, repeats: 3, p50: 100, p99: 198, min: 2, max: 200 });
    expect(percentile(Float64Array.of(5), 99)).toBe(5);
    expect(latencyStats(new Float64Array(0), 10, 0)).toMatchObject({ received: 0, p50: 0, p99: 0 });
  });
});

describe.skipIf(!JOURNAL_REMOTE)('steady writer', () => {
  it('writes every line once, half to the journal and half to the files, spread over its schedule', async () => {
    const files = join(dir, 'w-files');
    const journalDir = join(dir, 'w-journal');
    mkdirSync(files);
    mkdirSync(journalDir);
    const before = Date.now() * 1000;
    const child = spawn(
      process.execPath,
      [
        ...TSX,
        bench('steady-writer.ts'),
        ...['--files', files, '--journal', join(journalDir, 'w.journal'), '--journal-remote', JOURNAL_REMOTE!],
        ...['--rate', '500', '--seconds', '2'],
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const out = await new Promise<string>((res) => {
      let s = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (s += d));
      child.on('close', () => res(s));
    });
    const after = Date.now() * 1000;
    const w = JSON.parse(out) as WriterResult;
    expect(w).toMatchObject({ written: 1000, journal: 500, files: 500 });

    const tags: string[] = [];
    for (const f of readdirSync(files))
      for (const l of readFileSync(join(files, f), 'utf8').split('\n').filter(Boolean))
        tags.push((JSON.parse(l) as { bench_tag: string }).bench_tag);
    expect(readdirSync(files)).toHaveLength(100);
    const jc = spawnSync('journalctl', [`--directory=${journalDir}`, '--merge', '-o', 'json', '--no-pager'], {
      encoding: 'utf8',
    });
    const entries = jc.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { MESSAGE: string; SYSLOG_IDENTIFIER: string; _COMM: string });
    expect(entries).toHaveLength(500);
    for (const e of entries) {
      expect(e).toMatchObject({ SYSLOG_IDENTIFIER: 'kata', _COMM: 'containerd-shim' });
      tags.push(/ bench_tag=(\S+)$/.exec(e.MESSAGE)![1]!);
    }
    const bySeq = new Map(tags.map((t) => TAG.exec(t)!).map((m) => [Number(m[1]), Number(m[2])]));
    expect(bySeq.size).toBe(1000);
    expect([...bySeq.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const times = [...bySeq.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
    expect(times[0]!).toBeGreaterThanOrEqual(before);
    expect(times.at(-1)!).toBeLessThanOrEqual(after);
    // 2 s of schedule: a writer that wrote everything at once would span ~0 s (a loaded machine only makes it later).
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(1_000_000);
  }, 60_000);
});

/** The real counting receiver (bench/sink.ts) in its own process, for the length of `fn`. */
async function withSink<T>(fn: (sink: SteadySink) => Promise<T>): Promise<T> {
  const sinkProc = spawn(process.execPath, [...TSX, bench('sink.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: sinkProc.stdout });
  const next = () => new Promise<string>((res) => lines.once('line', res));
  const ask = async (cmd: string) => {
    const p = next();
    sinkProc.stdin.write(cmd + '\n');
    return p;
  };
  try {
    const { port } = JSON.parse(await next()) as { port: number };
    return await fn({
      port,
      reset: async () => void (await ask('reset')),
      latency: async (n) => JSON.parse(await ask(`latency ${n}`)) as LatencyStats,
    });
  } finally {
    sinkProc.stdin.end();
    await new Promise((res) => sinkProc.once('exit', res));
  }
}

/** 2 s at 500 lines/s from the sources (tsx), up to 30 s for the last records. */
const shortRun = (sink: SteadySink) => ({
  writer: bench('steady-writer.ts'),
  nodeArgs: TSX,
  sink,
  rate: 500,
  seconds: 2,
  env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
  drainS: 30,
});

describe.skipIf(!JOURNAL_REMOTE)('steady-state run', () => {
  it('kata-otel run delivers every line written to the receiver; latencies are non-negative and bounded', async () => {
    await withSink(async (sink) => {
      const t0 = Date.now();
      const r = await runSteady({
        ...shortRun(sink),
        cli: fileURLToPath(new URL('../support/cli-main.ts', import.meta.url)),
        warmupS: 8,
      });
      const wallMs = Date.now() - t0;
      expect(r.problems).toEqual([]);
      expect(r.exitCode).toBe(0);
      expect(r.writer).toMatchObject({ written: 1000, journal: 500, files: 500 });
      expect(r.latency).toMatchObject({ written: 1000, received: 1000, repeats: 0 });
      expect(r.latency.min).toBeGreaterThanOrEqual(0);
      expect(r.latency.min).toBeLessThanOrEqual(r.latency.p50);
      expect(r.latency.p50).toBeLessThanOrEqual(r.latency.p99);
      expect(r.latency.p99).toBeLessThanOrEqual(r.latency.max);
      // Bounded by the time the whole run took.
      expect(r.latency.max).toBeLessThan(wallMs);
      expect(r.samples.length).toBeGreaterThan(2);
      for (const s of r.samples) {
        expect(s.cpuPct).toBeGreaterThanOrEqual(0);
        expect(s.rssMB).toBeGreaterThan(10);
      }
      expect(r.samples.some((s) => s.t < 0) && r.samples.some((s) => s.t > 0)).toBe(true);
    });
  }, 120_000);

  it('the naive SDK follower (the floor beside kata-otel) follows both inputs and delivers every line', async () => {
    await withSink(async (sink) => {
      const r = await runSteady({ ...shortRun(sink), cli: '', follower: bench('baseline/follow.mjs'), warmupS: 3 });
      expect(r.problems).toEqual([]);
      expect(r.exitCode).toBe(0);
      expect(r.latency).toMatchObject({ written: 1000, received: 1000, repeats: 0 });
    });
  }, 120_000);
});
