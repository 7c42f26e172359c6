// `tsx bench/seal.ts [FILE] [LINES]`: CPU µs per record of the seal path alone (integrity stamp → canonical JSON →
// SHA-256 → OTLP protobuf encode) as the queue's writer runs it for an OTLP exporter, on records made by `run`'s
// default stages from a bench workload (default /tmp/kata-otel-bench-versus-100000/kata-agent.json, first 20k
// lines), 1,024-record batches, minimum of 7 rounds; the payload bytes per record as a check that builds compare
// like with like. Copy it into another checkout and run both in turns to compare builds (bench/README.md, "The
// seal path"; with `--trace-gc` for allocation).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as chain from '../receiver/integrity/chain.js';
import type { KataLogRecord } from '../receiver/model/record.js';
import { encodeLogsProto } from '../receiver/otlp/index.js';
import { parseText } from '../receiver/parse/index.js';
import { buildStages } from '../receiver/run/receiver.js';
import { loadConfig } from '../receiver/config/index.js';
import { Metrics } from '../receiver/telemetry/metrics.js';
import { createLogger } from '../receiver/telemetry/log.js';

const file = process.argv[2] ?? '/tmp/kata-otel-bench-versus-100000/kata-agent.json';
const LINES = Number(process.argv[3] ?? 20_000);
const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, LINES);
const config = loadConfig(undefined, {
  data_dir: mkdtempSync(join(tmpdir(), 'kata-otel-bench-seal-')),
  telemetry: { listen: null },
});
const { stages } = await buildStages(config, new Metrics(), createLogger({ level: 'error' }));
const batches: KataLogRecord[][] = [];
for (let i = 0; i < lines.length; i += 1024) {
  let b: KataLogRecord[] = [];
  for (const l of lines.slice(i, i + 1024))
    b.push(...parseText(l, { observedTimeUnixNano: BigInt(Date.now()) * 1_000_000n, keepOriginal: false }));
  for (const s of stages) b = s.process(b);
  batches.push(b);
}
const n = batches.reduce((a, b) => a + b.length, 0);
// The seal as the integrity exporter runs it for an OTLP codec (extra attributes when this build has them).
const light = 'stampRecordExtra' in chain; // older builds: a copy per record
const opts = { checkpointIntervalMs: 60_000, checkpointEveryRecords: 10_000 };
function encodeBatch(b: KataLogRecord[], state: chain.ChainState): Uint8Array {
  const extra = light ? new Map() : undefined;
  return encodeLogsProto(chain.stampBatch(b, state, opts, [], extra).records, { extra } as never);
}
const cpu = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
let best = Infinity;
let bytes = 0;
for (let round = 0; round < 7; round++) {
  const state = chain.newState('bench');
  const t = cpu();
  for (const b of batches) bytes += encodeBatch(b, state).length;
  best = Math.min(best, (cpu() - t) / n);
}
console.log(`${n} records: seal + encode ${best.toFixed(2)} µs/record (${(bytes / 7 / n).toFixed(0)} bytes/record)`);
