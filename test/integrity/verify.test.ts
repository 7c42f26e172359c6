// Tamper evidence end to end: `run --once` writes the store and exports to a real OTLP server (official protobuf
// decoding); the server's records are written out as a Collector file exporter would. Untouched, both verify
// clean; a record flipped, deleted, reordered or inserted in either is named with its position; the store's
// checkpoints, forwarded to the backend, catch a store whose tail was cut off.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../receiver/config/index.js';
import { verifyInputs, type VerifyInput, type VerifyResult } from '../../receiver/integrity/verify.js';
import { runReceiver } from '../../receiver/run/receiver.js';
import { EVENT_KATA_INTEGRITY_CHECKPOINT } from '../../receiver/semconv/generated.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { runCli } from '../support/cli.js';
import { collectorFileLines } from '../support/collector-file.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';

const SB = '38f55c4a058a0f7227e64edd75f2aed134bee7db4b211f071be84fb44d17b0bb';
const shimLine = (i: number) =>
  `time="2026-11-20T16:25:${String(10 + (i % 50)).padStart(2, '0')}.${String(100000 + i)}Z" level=info msg="container started ${i}" container=c${i % 3} name=containerd-shim-v2 pid=3426175 sandbox=${i % 2 ? SB : 'foo'} source=virtcontainers subsystem=container`;

let srv: OtlpTestServer;
let dir: string;
let storeFile: string;
let collectorFile: string;

async function runOnce(dataDir: string, logFile: string, extra: object = {}) {
  const config = loadConfig(undefined, {
    data_dir: dataDir,
    exporters: [{ type: 'store' }, { type: 'otlp', endpoint: srv.httpEndpoint, protocol: 'http/protobuf' }],
    queue: { max_batch_records: 9 },
    integrity: { checkpoint_every_records: 10 },
    telemetry: { listen: null },
    ...extra,
  });
  return runReceiver(
    config,
    { files: [logFile], once: true },
    { stdin: process.stdin, stdout: process.stdout, logger: silentLogger },
    new AbortController().signal,
  );
}

beforeAll(async () => {
  srv = await startOtlpServer();
  dir = mkdtempSync(join(tmpdir(), 'verify-'));
  const log = join(dir, 'shim.log');
  writeFileSync(log, Array.from({ length: 40 }, (_, i) => shimLine(i)).join('\n') + '\n');
  const summary = await runOnce(join(dir, 'data'), log);
  expect(summary.drained).toBe(true);
  const store = join(dir, 'data', 'store');
  storeFile = join(store, readdirSync(store)[0]!);
  collectorFile = join(dir, 'collector.json');
  writeFileSync(collectorFile, collectorFileLines(await srv.records()).join('\n') + '\n');
}, 60_000);
afterAll(async () => {
  await srv?.stop();
});

const verify = (files: [string, boolean][], key?: Buffer): Promise<VerifyResult> =>
  verifyInputs(
    files.map(([path, store]): VerifyInput => ({ path, store })),
    key,
  );

type Doc = { resourceLogs: { scopeLogs: { logRecords: { body: { stringValue: string } }[] }[] }[] };
/** Edit the records of one request line; returns where the edited record is (`line#n`). */
function editLine(src: string, lineNo: number, edit: (recs: unknown[]) => void): string {
  const lines = readFileSync(src, 'utf8').split('\n');
  const doc = JSON.parse(lines[lineNo - 1]!) as Doc;
  const recs = doc.resourceLogs[0]!.scopeLogs[0]!.logRecords as unknown[];
  edit(recs);
  lines[lineNo - 1] = JSON.stringify(doc);
  const out = join(
    mkdtempSync(join(tmpdir(), 'tampered-')),
    src.endsWith('.jsonl') ? 'logs-20261206T000000000Z-000000.jsonl' : 'c.json',
  );
  writeFileSync(out, lines.join('\n'));
  return out;
}

const kinds = (r: VerifyResult) =>
  r.findings.filter((f) => f.tampering).map((f) => `${f.kind} ${f.where.replace(/^.*\//, '')}`);

describe.each([
  ['store file', () => storeFile, true],
  ['Collector file-exporter output', () => collectorFile, false],
] as const)('%s', (_name, file, store) => {
  it('verifies clean untouched, with checkpoints in it', async () => {
    const res = await verify([[file(), store]]);
    expect(res.findings).toEqual([]);
    expect(res.records).toBeGreaterThanOrEqual(44); // 40 records plus checkpoints (and the store's anchors)
    expect(res.streams.length).toBeGreaterThan(0);
    expect(readFileSync(file(), 'utf8')).toContain(EVENT_KATA_INTEGRITY_CHECKPOINT);
  });

  it('names a flipped record', async () => {
    const f = editLine(file(), 2, (recs) => {
      const r = recs[1] as { body: { stringValue: string } };
      r.body.stringValue = r.body.stringValue.replace('started', 'stopped');
    });
    const res = await verify([[f, store]]);
    expect(kinds(res)).toEqual([expect.stringMatching(/^modified .*:2#2$/)]);
  });

  it('names a deleted record', async () => {
    const f = editLine(file(), 2, (recs) => recs.splice(2, 1));
    const res = await verify([[f, store]]);
    expect(kinds(res)).toEqual([expect.stringMatching(/^deleted .*:2#3$/)]); // reported at the record after the gap
    expect(res.findings[0]!.message).toMatch(/1 record \(\d+\) missing/);
  });

  it('names reordered records', async () => {
    const f = editLine(file(), 2, (recs) => recs.splice(1, 2, recs[2], recs[1]));
    const res = await verify([[f, store]]);
    expect(kinds(res)).toEqual([expect.stringMatching(/^reordered .*:2#3$/)]);
  });

  it('names inserted records: a forged copy under a taken number, and an unchained one', async () => {
    const f = editLine(file(), 2, (recs) => {
      const copy = JSON.parse(JSON.stringify(recs[0])) as { body: { stringValue: string } };
      copy.body.stringValue = 'container started 999';
      recs.splice(3, 0, copy);
      const bare = JSON.parse(JSON.stringify(recs[0])) as { attributes: { key: string }[] };
      bare.attributes = bare.attributes.filter((a) => !a.key.startsWith('audit.'));
      recs.push(bare);
    });
    const res = await verify([[f, store]]);
    const k = kinds(res);
    expect(k.filter((x) => x.startsWith('inserted'))).toEqual([
      expect.stringMatching(/:2#4$/), // the forged copy (the original, which links to its neighbours, is kept)
      expect.stringMatching(/:2#\d+$/), // the record without chain attributes, last in the line
    ]);
  });
});

describe('anchors and keys', () => {
  it("the backend's copy of the store's checkpoints catches records cut off the end of the store", async () => {
    const lines = readFileSync(storeFile, 'utf8').trimEnd().split('\n');
    const cut = join(mkdtempSync(join(tmpdir(), 'cut-')), 'logs-20261206T000000000Z-000000.jsonl');
    writeFileSync(cut, lines.slice(0, -2).join('\n') + '\n'); // the last two batches gone
    expect((await verify([[cut, true]])).tampered).toBe(false); // alone, a cut tail looks like a shorter store
    const both = await verify([
      [cut, true],
      [collectorFile, false],
    ]);
    expect(both.tampered).toBe(true);
    expect(both.findings.some((f) => f.kind === 'deleted' && /checkpoint .* covers \d+ records/.test(f.message))).toBe(
      true,
    );
  });

  it('a keyed chain needs the key, and the wrong key fails every record', async () => {
    const keyDir = mkdtempSync(join(tmpdir(), 'chain-key-'));
    const keyFile = join(keyDir, 'key');
    writeFileSync(keyFile, 'chain-key-chain-key-chain-key-0001\n', { mode: 0o600 });
    const log = join(keyDir, 'shim.log');
    writeFileSync(log, Array.from({ length: 12 }, (_, i) => shimLine(i)).join('\n') + '\n');
    await runOnce(join(keyDir, 'data'), log, { integrity: { hmac_key_file: keyFile }, exporters: [{ type: 'store' }] });
    const store = join(keyDir, 'data', 'store');
    const file = join(store, readdirSync(store)[0]!);
    await expect(verify([[file, true]])).rejects.toThrow(/--key-file/);
    expect((await verify([[file, true]], Buffer.from('chain-key-chain-key-chain-key-0001'))).findings).toEqual([]);
    const wrong = await verify([[file, true]], Buffer.from('chain-key-chain-key-chain-key-0002'));
    expect(wrong.findings.filter((f) => f.kind === 'modified')).toHaveLength(12);

    // The CLI: 0 clean, 1 tampered, 2 unreadable input or a missing key.
    const copy = join(keyDir, 'no-such-file.json');
    expect((await runCli(['verify', '--data-dir', join(keyDir, 'data'), '--key-file', keyFile])).code).toBe(0);
    expect((await runCli(['verify', '--data-dir', join(keyDir, 'data')])).code).toBe(2);
    expect((await runCli(['verify', copy])).code).toBe(2);
    expect((await runCli(['verify', '--no-such-option'])).code).toBe(2);
    const flipped = editLine(file, 1, (recs) => {
      (recs[0] as { severityText: string }).severityText = 'error';
    });
    const bad = await runCli(['verify', '--key-file', keyFile, flipped]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/TAMPERED modified .*:1#1 stream=store\/[0-9a-f]{16} seq=1/);
  }, 60_000);
});
