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
