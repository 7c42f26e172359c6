// CPU per journal entry of the journald path, this checkout against another (e.g. a `git worktree` of the base
// commit): journalctl's pipe → line split → fields → RawEntry (journald.ts) → the pipeline's parse of the entry
// into a record (parse/journal.ts journalRecord, provenance). Each round is a fresh child process per checkout,
// in turns (each goes first every other round), so neither inherits the other's hidden classes or garbage.
//
//   npx tsx bench/journal-path.ts --against /tmp/base-checkout --directory DIR [--this DIR] [--rounds 6]
//     [--passes 4] [--retain 2500] [--major-gc-every 5000]
//
// --against / --this: a checkout (its receiver/*.ts, run through tsx) or a build saved by `npm run bench --
// --save-build NAME` (its dist/*.js, what `kata-otel run` runs: compare two saved builds for the figures, tsx's
// output differs a little from tsc's). --this defaults to this checkout.
// DIR: a journal directory (e.g. the steady bench's writer: `steady-writer.mjs --journal DIR/bench.journal …`),
// read by the real `journalctl --output=json` through the checkout's JournaldSource in once mode. In each child the
// first pass warms up; the figure is the median of the other passes: process CPU (user + system, every thread:
// GC helpers and the compiler included) from the source's start to its end, divided by the entries read.
// The running receiver keeps each batch's entries and records ~0.5 s or more (linger, queue) and runs a major GC
// every few seconds, which is what drops the hidden classes of entries already delivered: `--retain` keeps the
// last N entries and their records alive, and `--major-gc-every` runs a full GC every N entries, its own CPU
// subtracted (0: never).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    against: { type: 'string' },
    this: { type: 'string' },
    directory: { type: 'string' },
    rounds: { type: 'string', default: '6' },
    passes: { type: 'string', default: '4' },
    retain: { type: 'string', default: '2500' },
    'major-gc-every': { type: 'string', default: '5000' },
    // internal: run one checkout's passes and print its figures as JSON
    child: { type: 'string' },
  },
});
const HERE = resolve(fileURLToPath(new URL('..', import.meta.url)));

interface Figures {
  entries: number;
  /** CPU µs per entry of the whole path, per measured pass. */
  total: number[];
  /** Of which the pipeline's parse of the entries into records (the rest: pipe, split, fields, batching). */
  parse: number[];
  records: number;
}

if (a.child) {
  process.stdout.write(JSON.stringify(await child(resolve(a.child))) + '\n');
} else {
  if (!a.against || !a.directory) {
    process.stderr.write('usage: tsx bench/journal-path.ts --against CHECKOUT --directory JOURNAL_DIR\n');
    process.exit(2);
  }
  parent(resolve(a.against), resolve(a.directory));
}

function parent(against: string, directory: string): void {
  const roots = [against, resolve(a.this ?? HERE)];
  const names = ['against', 'this checkout'];
  const all: number[][] = [[], []];
  const parse: number[][] = [[], []];
  let entries = 0;
  for (let round = 0; round < Number(a.rounds); round++) {
    for (const j of round % 2 ? [1, 0] : [0, 1]) {
      const r = spawnSync(
        process.execPath,
        [
          '--expose-gc',
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          '--child',
          roots[j] as string,
          '--directory',
          directory,
          '--passes',
          a.passes as string,
          '--retain',
          a.retain as string,
          '--major-gc-every',
          a['major-gc-every'] as string,
        ],
        { cwd: HERE, encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`child for ${roots[j]} failed: ${r.stderr}`);
      const f = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Figures;
      entries = f.entries;
      all[j]!.push(...f.total);
      parse[j]!.push(...f.parse);
      process.stderr.write(
        `round ${round} ${names[j]}: ${f.total.map((x) => x.toFixed(2)).join(' ')} µs/entry ` +
          `(parse to record ${f.parse.map((x) => x.toFixed(2)).join(' ')})\n`,
      );
    }
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
  const source = (j: number) => all[j]!.map((t, i) => t - (parse[j]![i] as number));
  const line = (j: number) =>
    `${names[j]}: ${med(all[j]!).toFixed(2)} µs/entry (min ${Math.min(...all[j]!).toFixed(2)}); ` +
    `parse to record ${med(parse[j]!).toFixed(2)}, the rest (pipe, split, fields, batching) ${med(source(j)).toFixed(2)}`;
  process.stdout.write(
    `journald path, ${entries} entries, ${a.rounds} rounds × ${Number(a.passes) - 1} passes, retain ${a.retain}, ` +
      `major GC every ${a['major-gc-every']} (median CPU µs per entry)\n${line(0)}\n${line(1)}\n` +
      `this checkout / against: ${((med(all[1]!) / med(all[0]!)) * 100).toFixed(0)}% ` +
      `(the rest: ${((med(source(1)) / med(source(0))) * 100).toFixed(0)}%)\n`,
  );
}

async function child(root: string): Promise<Figures> {
  const { existsSync } = await import('node:fs');
  const built = existsSync(`${root}/dist/sources/journald.js`);
  const m = (p: string) => import(built ? `${root}/dist/${p.replace(/\.ts$/, '.js')}` : `${root}/receiver/${p}`);
  const { JournaldSource } = await m('sources/journald.ts');
  const { Pipeline } = await m('pipeline/pipeline.ts');
  const { Metrics } = await m('telemetry/metrics.ts');
  const { createLogger } = await m('telemetry/log.ts');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const gc = (globalThis as { gc?: () => void }).gc;
  const retain = Number(a.retain);
  const gcEvery = Number(a['major-gc-every']);
  const logger = createLogger({ level: 'error' });
  const metrics = new Metrics();
  const pipeline = new Pipeline({ stages: [], sinks: [], metrics, logger });
  const kept: unknown[] = [];
  const figures: Figures = { entries: 0, total: [], parse: [], records: 0 };
  for (let pass = 0; pass < Number(a.passes); pass++) {
    const dir = mkdtempSync(join(tmpdir(), 'journal-path-'));
    let entries = 0;
    let records = 0;
    let parseUs = 0;
    let gcUs = 0;
    let sinceGc = 0;
    kept.length = 0;
    const cpu = (from: NodeJS.CpuUsage) => {
      const u = process.cpuUsage(from);
      return u.user + u.system;
    };
    const source = new JournaldSource({ directory: resolve(a.directory as string), identifiers: [], units: [] });
    const start = process.cpuUsage();
    await source.run({
      emit: async (batch: { entries: unknown[] }) => {
        const c = process.cpuUsage();
        const recs = pipeline.parse(batch) as unknown[];
        parseUs += cpu(c);
        entries += batch.entries.length;
        records += recs.length;
        kept.push(batch, recs);
        if (kept.length > (2 * retain) / 500) kept.splice(0, 2);
        sinceGc += batch.entries.length;
        if (gc && gcEvery > 0 && sinceGc >= gcEvery) {
          sinceGc = 0;
          const g = process.cpuUsage();
          gc();
          gcUs += cpu(g);
        }
      },
      signal: new AbortController().signal,
      checkpointDir: dir,
      once: true,
      logger,
      metrics,
    });
    const total = cpu(start) - gcUs;
    rmSync(dir, { recursive: true, force: true });
    if (pass === 0) continue;
    figures.entries = entries;
    figures.records = records;
    figures.total.push(total / entries);
    figures.parse.push(parseUs / entries);
  }
  return figures;
}
