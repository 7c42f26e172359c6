// Did a change keep kata-otel's output the same? Runs `run --once` (defaults: disk queue, integrity on) of this
// build and of a saved one (bench/run.ts --save-build) on the same files into the test OTLP server (official
// protos, test/support/otlp-server.ts), and compares what the server received, record by record, without what
// differs between any two runs (and in any order): the observed time, the integrity stream's random id and the chain values that
// follow from it. Then checks this build's chain as `kata-otel verify` would (each value from its record and the
// previous value, numbers without gaps).
//
//   tsx bench/same-output.ts [--build DIR] --against node_modules/.cache/kata-otel-bench-before [--trace] FILE…
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { canonical, chainValue, GENESIS } from '../receiver/integrity/chain.js';
import type { KataLogRecord } from '../receiver/model/record.js';
import { startOtlpServer, type RecordedLog } from '../test/support/otlp-server.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CHAIN = /^(audit\.|kata\.integrity\.)/;
/** Lifecycle trace context: which lifetime a record joins depends on when idle lifetimes are closed (a timer), so
 *  two runs of the same build differ there (measured: 150–450 of 4,000 shim records); --trace compares it too. */
const TRACE = /^kata\.lifecycle\./;
let withTrace = false;

async function received(cli: string, files: string[]): Promise<RecordedLog[]> {
  const server = await startOtlpServer();
  const dir = mkdtempSync(join(tmpdir(), 'kata-otel-same-'));
  try {
    const config = join(dir, 'c.yaml');
    writeFileSync(
      config,
      `data_dir: ${JSON.stringify(join(dir, 'data'))}\nlog:\n  level: warn\ntelemetry:\n  listen: null\n` +
        `exporters:\n  - type: otlp\n    protocol: grpc\n    endpoint: ${server.grpcEndpoint}\n`,
    );
    const r = spawnSync(process.execPath, [cli, 'run', '--once', '--config', config, ...files], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cli}: exit ${r.status}: ${r.stderr}`);
    return await server.records();
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A record without what differs between two runs. */
function comparable(r: RecordedLog): string {
  const attributes = Object.fromEntries(
    Object.entries(r.attributes).filter(([k]) => !CHAIN.test(k) && (withTrace || !TRACE.test(k))),
  );
  const body = r.eventName === 'kata.integrity.checkpoint' ? '(checkpoint)' : r.body;
  const trace = withTrace ? {} : { traceId: undefined, spanId: undefined };
  return JSON.stringify({ ...r, observedTimeUnixNano: undefined, attributes, body, ...trace });
}

/** The chain over the received records, in arrival order, as verify checks it. */
function checkChain(got: RecordedLog[]): string[] {
  const problems: string[] = [];
  const streams = new Map<string, { seq: number; head: string }>();
  for (const r of got) {
    const stream = r.attributes['kata.integrity.stream'];
    if (typeof stream !== 'string') {
      problems.push(`unchained record: ${r.body as string}`);
      continue;
    }
    const s = streams.get(stream) ?? { seq: 0, head: GENESIS };
    const seq = Number(r.attributes['audit.sequence.number']);
    if (seq !== s.seq + 1) problems.push(`${stream}: ${seq} after ${s.seq}`);
    const rec = {
      ...r,
      timeUnixNano: BigInt(r.timeUnixNano),
      observedTimeUnixNano: BigInt(r.observedTimeUnixNano),
      attributes: { ...r.resource, ...r.attributes },
    } as unknown as KataLogRecord;
    const value = chainValue(s.head, canonical(rec));
    if (r.attributes['audit.sequence.prev_hash'] !== s.head || r.attributes['audit.integrity.value'] !== value)
      problems.push(`${stream} #${seq}: chain value does not match`);
    streams.set(stream, { seq, head: String(r.attributes['audit.integrity.value']) });
  }
  return problems;
}

async function main(): Promise<void> {
  const { values: a, positionals: files } = parseArgs({
    options: { against: { type: 'string' }, build: { type: 'string' }, trace: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (!a.against || files.length === 0) throw new Error('usage: same-output.ts --against DIR [--trace] FILE…');
  withTrace = a.trace === true;
  const build = resolve(a.build ?? join(ROOT, 'node_modules', '.cache', 'kata-otel-bench'));
  const mine = await received(join(build, 'kata-otel.mjs'), files);
  const theirs = await received(join(resolve(a.against), 'kata-otel.mjs'), files);
  // As sets: the order of records of different resources in one request is not part of the output (the chain
  // re-groups by resource the records of the queued batches one export takes, which depends on timing).
  const x = mine.map(comparable).sort();
  const y = theirs.map(comparable).sort();
  // Multiset difference: what one build sent and the other did not.
  const count = new Map<string, number>();
  for (const r of x) count.set(r, (count.get(r) ?? 0) + 1);
  for (const r of y) count.set(r, (count.get(r) ?? 0) - 1);
  let differ = 0;
  for (const [r, n] of count)
    if (n !== 0) {
      if (differ < 4) process.stdout.write(`${n > 0 ? 'only this build' : 'only against'} (${Math.abs(n)}×): ${r}\n`);
      differ += Math.abs(n);
    }
  const chain = checkChain(mine);
  process.stdout.write(
    `${mine.length} records (this build), ${theirs.length} (against): ${differ ? `${differ} differ` : 'identical'} ` +
      `without observed time and chain values; chain of this build: ${chain.length ? chain.slice(0, 5).join('; ') : 'intact'}\n`,
  );
  if (differ || chain.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`same-output: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
