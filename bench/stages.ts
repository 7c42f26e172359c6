// `npm run bench:stages`: µs per record of the audit-trail stages, in one process, on the bench workloads'
// records (gen.ts, small: 20k lines each) and on lines that carry secrets (test/fixtures/redact): redaction (the
// pipeline stage `run` puts first) and the integrity chain (canonical form + SHA-256 or HMAC per record, at the
// exporter), plus the payload decode and re-encode the chain costs an OTLP protobuf exporter. Minimum of 7 rounds.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newState, stampBatch } from '../receiver/integrity/chain.js';
import type { KataLogRecord } from '../receiver/model/record.js';
import { decodeLogsProto, encodeLogsProto } from '../receiver/otlp/index.js';
import { parseText } from '../receiver/parse/index.js';
import { Redactor } from '../receiver/pipeline/redact/redactor.js';
import { generateWorkloads } from './gen.js';

const LINES = Number(process.env.BENCH_STAGE_LINES ?? 20_000);
const ROUNDS = 7;
const BATCH = 512;

function load(files: string[]): KataLogRecord[] {
  const out: KataLogRecord[] = [];
  for (const f of files)
    for (const line of readFileSync(f, 'utf8').split('\n'))
      if (line) out.push(...parseText(line, { observedTimeUnixNano: 1n, keepOriginal: false }));
  return out;
}

/** Minimum over rounds of the µs per record of `fn` on fresh copies (stages change records in place). */
function perRecord(records: KataLogRecord[], fn: (batch: KataLogRecord[]) => void): number {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const copies = records.map((r) => ({ ...r, attributes: { ...r.attributes } }));
    const t = process.hrtime.bigint();
    for (let i = 0; i < copies.length; i += BATCH) fn(copies.slice(i, i + BATCH));
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1000 / records.length);
  }
  return best;
}

const dir = mkdtempSync(join(tmpdir(), 'kata-otel-bench-stages-'));
const workloads = generateWorkloads(dir, { lines: LINES, only: ['logfmt', 'json'] });
const secretLines = readFileSync(new URL('../test/fixtures/redact/secret-lines.log', import.meta.url), 'utf8')
  .trimEnd()
  .split('\n');
const sets: [string, KataLogRecord[]][] = [
  ...workloads.filter((w) => w.name !== 'journald').map((w): [string, KataLogRecord[]] => [w.name, load(w.files)]),
  [
    'secret lines',
    Array.from({ length: 200 }, () => secretLines)
      .flat()
      .flatMap((l) => parseText(l, { observedTimeUnixNano: 1n, keepOriginal: true })),
  ],
];
const redactor = new Redactor();
const key = Buffer.from('bench-key-bench-key-bench-key-01');
const chain = { checkpointIntervalMs: 60_000, checkpointEveryRecords: 10_000 };
const rows: Record<string, string>[] = [];
for (const [name, recs] of sets) {
  const payloads = [] as Uint8Array[];
  for (let i = 0; i < recs.length; i += BATCH) payloads.push(encodeLogsProto(recs.slice(i, i + BATCH)));
  const sha = newState('bench');
  const hmac = newState('bench');
  rows.push({
    records: String(recs.length),
    workload: name,
    'redact µs': perRecord(recs, (b) => b.forEach((r) => redactor.redactRecord(r))).toFixed(2),
    'chain sha256 µs': perRecord(recs, (b) => stampBatch(b, sha, chain)).toFixed(2),
    'chain hmac µs': perRecord(recs, (b) => stampBatch(b, hmac, { ...chain, key })).toFixed(2),
    'payload decode+encode µs': perRecord(recs, (b) => encodeLogsProto(decodeLogsProto(encodeLogsProto(b)))).toFixed(2),
    'encode alone µs': perRecord(recs, (b) => encodeLogsProto(b)).toFixed(2),
  });
}
console.table(rows);

// ---- the stage budget (issue 20 item 4) -------------------------------------------------------------------------
// CPU µs per record of every stage of `run` with its default configuration (buildStages: redaction, limits, host,
// dedupe, k8s, lifecycle spans and trace context with its state file, rules), then the integrity chain, the OTLP
// encode and the disk queue (append, fsync, consumer, with an exporter that accepts at once), on 1,024-record
// batches as `run` makes them. One pass over fresh state (stages keep state: dedupe windows, rule counts,
// lifetimes), so this is what a backlog costs; read is the file read and line split alone (the file source also
// frames lines and writes checkpoints: path (a) in bench/README.md). Export over gRPC is what remains of `run`'s
// CPU (bench/versus.ts) after these.
const { buildStages } = await import('../receiver/run/receiver.js');
const { loadConfig } = await import('../receiver/config/index.js');
const { Metrics } = await import('../receiver/telemetry/metrics.js');
const { createLogger } = await import('../receiver/telemetry/log.js');
const { createQueue } = await import('../receiver/queue/index.js');
const SOURCE_BATCH = 1024;
// CPU time (user + system) of the process, in ns: wall time counted the other helpers' processes on a shared machine.
const cpuNow = (): bigint => {
  const c = process.cpuUsage();
  return BigInt(c.user + c.system) * 1000n;
};
const budget: Record<string, string>[] = [];
async function stageBudget(w: (typeof workloads)[number]): Promise<Record<string, string>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kata-otel-bench-budget-'));
  const config = loadConfig(undefined, { data_dir: dataDir, telemetry: { listen: null } });
  const logger = createLogger({ level: 'error' });
  const metrics = new Metrics();
  const { stages } = await buildStages(config, metrics, logger);
  const cost = new Map<string, number>();
  const add = (k: string, t: bigint) => cost.set(k, (cost.get(k) ?? 0) + Number(cpuNow() - t) / 1000);
  let t = cpuNow();
  // The files side by side, line by line, as `run --once` reads them (the containerd copies meet the shim's lines
  // inside the duplicate window).
  const perFile = w.files.map((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
  add('read', t);
  const lines: string[] = [];
  for (let i = 0; i < Math.max(...perFile.map((x) => x.length)); i++)
    for (const x of perFile) if (i < x.length) lines.push(x[i]!);
  const chainState = newState('budget');
  const payloads: Uint8Array[] = [];
  let records = 0;
  for (let i = 0; i < lines.length; i += SOURCE_BATCH) {
    t = cpuNow();
    let batch: KataLogRecord[] = [];
    for (const l of lines.slice(i, i + SOURCE_BATCH))
      batch.push(...parseText(l, { observedTimeUnixNano: BigInt(Date.now()) * 1_000_000n, keepOriginal: false }));
    add('parse', t);
    for (const s of stages) {
      t = cpuNow();
      batch = s.process(batch);
      s.drain?.().durable?.();
      add(s.name, t);
    }
    records += batch.length;
    t = cpuNow();
    const stamped = stampBatch(batch, chainState, chain).records;
    add('integrity', t);
    t = cpuNow();
    payloads.push(encodeLogsProto(stamped));
    add('encode', t);
  }
  // The disk queue as `run` builds it; its encode is handed the payloads made above, so this is the queue alone.
  let next = 0;
  const exporter = {
    name: 'budget',
    export: () => Promise.resolve({ code: 'success' as const }),
    shutdown: () => Promise.resolve(),
    payload: {
      type: 'application/x-protobuf' as const,
      encode: () => payloads[next++]!,
      export: () => Promise.resolve({ code: 'success' as const }),
    },
  };
  const queue = await createQueue({ ...config.queue, kind: 'disk' }, exporter, { dataDir, logger, metrics });
  queue.start();
  const c0 = process.cpuUsage();
  for (let i = 0; i < payloads.length; i++) await queue.append([{} as KataLogRecord]);
  await queue.drain(60_000);
  await queue.close();
  const c = process.cpuUsage(c0);
  cost.set('queue', c.user + c.system);
  const row: Record<string, string> = { workload: w.name, 'lines / records out': `${lines.length} / ${records}` };
  let total = 0;
  for (const [k, us] of cost) {
    const per = us / (k === 'read' || k === 'parse' ? lines.length : records);
    row[k] = per.toFixed(2);
    total += us;
  }
  row['total µs/record out'] = (total / records).toFixed(2);
  return row;
}
// The first pass warms the JIT up (its figures are 2–8× the second's); the second is reported.
for (const w of workloads) {
  await stageBudget(w);
  budget.push(await stageBudget(w));
}
console.log('\nStage budget, CPU µs per record (read, parse: per line; the rest: per record leaving dedupe):');
console.table(budget);
