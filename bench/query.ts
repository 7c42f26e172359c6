// `npm run bench:query` (`-- --quick`): query latency over a large generated store and index build speed.
// See bench/README.md ("Query and index").
//
// Options:
//   --quick          200k records (default: 10M)
//   --records N      records in the store
//   --fresh          regenerate the store even if a cached copy exists
//   --no-scan        skip the brute-force full scan baseline (it reads and decodes every record)
//
// The store is generated once into $TMPDIR/kata-otel-bench-store-<N>/ (Collector file-exporter lines, 200 records
// a line, ~90k records a file: about the default 64 MiB file) and reused. Each measurement runs in this process,
// after the index is built: (1) index build from scratch, (2) an incremental refresh with nothing new, (3) one
// sandbox, all its records, (4) severity >= error within one hour, (5) the same two as a brute-force scan of
// every record (readStore + the same predicate), for comparison.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readStore } from '../receiver/exporters/store.js';
import { runQuery } from '../receiver/query/engine.js';
import { matches, parseFilter, type FilterFlags } from '../receiver/query/filter.js';
import { StoreIndex } from '../receiver/query/store-index.js';
import { generateRecords, planSandboxes, writeStoreDir, type GenOptions } from './store-gen.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    records: { type: 'string' },
    fresh: { type: 'boolean' },
    'no-scan': { type: 'boolean' },
  },
});
const N = Number(args.records ?? (args.quick ? 200_000 : 10_000_000));
if (!Number.isInteger(N) || N < 1000) throw new Error(`--records: ${String(args.records)} is not an integer >= 1000`);

const PER_SANDBOX = 1000;
const START = Date.parse('2026-05-10T00:00:00Z');
const GEN: GenOptions = {
  sandboxes: Math.max(1, Math.round(N / PER_SANDBOX)),
  perSandbox: PER_SANDBOX,
  startMs: START,
  spanMs: 7 * 86_400_000,
  seed: 42,
};
const dataDir = join(tmpdir(), `kata-otel-bench-store-${N}`);
const storeDir = join(dataDir, 'store');
const indexDir = join(dataDir, 'index');

const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const mb = (b: number) => (b / 1048576).toFixed(0);
const dirBytes = (d: string) => readdirSync(d).reduce((n, f) => n + statSync(join(d, f)).size, 0);

if (args.fresh || !existsSync(join(dataDir, 'complete'))) {
  rmSync(dataDir, { recursive: true, force: true });
  const t0 = process.hrtime.bigint();
  const w = writeStoreDir(storeDir, generateRecords(GEN), { batch: 200, fileRecords: 90_000 });
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dataDir, 'complete'), String(w.records));
  process.stderr.write(`generated ${w.records} records in ${w.files} files (${secs(t0).toFixed(0)} s)\n`);
}
const records = Number((await import('node:fs')).readFileSync(join(dataDir, 'complete'), 'utf8'));
const storeBytes = dirBytes(storeDir);
const rows: [string, string][] = [];
const row = (k: string, v: string) => {
  rows.push([k, v]);
  process.stderr.write(`${k}: ${v}\n`);
};
row('store', `${records.toLocaleString('en')} records, ${readdirSync(storeDir).length} files, ${mb(storeBytes)} MiB`);

// (1) index build from scratch
rmSync(indexDir, { recursive: true, force: true });
let t0 = process.hrtime.bigint();
await new StoreIndex(storeDir, indexDir).refresh();
const build = secs(t0);
row(
  'index build',
  `${build.toFixed(1)} s (${Math.round(records / build).toLocaleString('en')} records/s, ${(storeBytes / 1048576 / build).toFixed(0)} MiB/s), index ${mb(dirBytes(indexDir))} MiB`,
);
// (2) refresh with nothing new: what every query pays
t0 = process.hrtime.bigint();
await new StoreIndex(storeDir, indexDir).refresh();
row('index load + check (no new data)', `${(secs(t0) * 1000).toFixed(0)} ms`);

async function timeQuery(label: string, flags: FilterFlags): Promise<void> {
  const f = parseFilter(flags);
  const t = process.hrtime.bigint();
  let n = 0;
  for await (const h of runQuery({ dataDir }, f)) if (h) n++;
  const q = secs(t);
  let line = `${(q * 1000).toFixed(0)} ms, ${n.toLocaleString('en')} records`;
  if (!args['no-scan']) {
    const s = process.hrtime.bigint();
    let m = 0;
    for await (const r of readStore(storeDir)) if (matches(r, f)) m++;
    const scan = secs(s);
    if (m !== n) throw new Error(`${label}: the index query found ${n} records, the brute-force scan ${m}`);
    line += `; brute-force scan ${scan.toFixed(1)} s (${(scan / q).toFixed(0)}x)`;
  }
  row(label, line);
}

const sb = planSandboxes(GEN)[Math.floor(GEN.sandboxes / 2)]!;
await timeQuery('query one sandbox', { sandbox: sb.id });
const mid = START + 3.5 * 86_400_000;
await timeQuery('query severity >= error, 1 hour', {
  severity: '>=error',
  since: new Date(mid).toISOString(),
  until: new Date(mid + 3_600_000).toISOString(),
});
process.stdout.write(
  '\n| measure | result |\n| --- | --- |\n' + rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n') + '\n',
);
