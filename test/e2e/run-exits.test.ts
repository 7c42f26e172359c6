// Honest exits and readiness (issue 15 item 5), against the real OTLP test server and real child processes:
// a backend that refuses (HTTP 404 on a wrong path, HTTP 400) makes `run --once` exit 1 and say so; /readyz goes
// unready while the exporter cannot deliver and ready again when it can, with summary lines while it fails;
// missing inputs exit 2; a rerun explains its checkpoints and --from-start re-reads.
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, runCli, spawnCli } from '../support/cli.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import { kataLines, startReceiver, tempDir, waitFor, writeReceiverConfig } from './delivery-helpers.js';

let srv: OtlpTestServer;
beforeAll(async () => {
  srv = await startOtlpServer();
});
afterAll(async () => srv?.stop());

const httpConfig = (dir: string, endpoint: string, log: string) =>
  writeReceiverConfig(dir, {
    dataDir: join(dir, 'data'),
    endpoint,
    protocol: 'http/protobuf',
    include: [log],
    telemetry: false,
  });

describe('permanent rejections', () => {
  it('run --once exits 1 when the backend answers 404 (wrong path), naming the exporter and the count', async () => {
    await srv.reset();
    const dir = tempDir();
    const log = join(dir, 'shim.log');
    writeFileSync(log, kataLines(0, 50));
    const cfg = httpConfig(dir, srv.httpEndpoint.replace('/v1/logs', '/v2/logs'), log);
    const r = await runCli(['run', '--once', '--once-timeout', '30s', '--config', cfg]);
    expect(r.stdout).toContain('50 rejected');
    expect(r.stderr).toMatch(/backends refused records permanently and they were dropped: 50 by backend/);
    expect(r.code).toBe(1);
    expect((await srv.stats()).records).toBe(0);
  }, 60_000);

  it('run --once exits 1 when the backend refuses with 400 (e.g. timestamps too old), 0 when it accepts', async () => {
    await srv.reset();
    const dir = tempDir();
    const log = join(dir, 'shim.log');
    writeFileSync(log, kataLines(0, 20));
    await srv.setFailure({ kind: 'invalid', message: 'entry too far behind' });
    const bad = await runCli(['run', '--once', '--config', httpConfig(dir, srv.httpEndpoint, log)]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('entry too far behind');
    await srv.setFailure(null);
    const dir2 = tempDir();
    const ok = await runCli(['run', '--once', '--config', httpConfig(dir2, srv.httpEndpoint, log)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await srv.stats()).records).toBe(20);
    // Records read from a plain file carry the node's name (semconv: the receiver's host name as a fallback).
    const recs = await srv.records();
    expect(new Set(recs.map((r) => r.resource['host.name']))).toEqual(new Set([hostname()]));
  }, 60_000);
});

describe('/readyz follows delivery', () => {
  it('is unready while the exporter fails and ready again once it delivers; the outage and the recovery are logged', async () => {
    await srv.reset();
    const dir = tempDir();
    const log = join(dir, 'shim.log');
    writeFileSync(log, kataLines(0, 10));
    await srv.setFailure({ kind: 'unavailable' });
    const receiver = startReceiver(
      writeReceiverConfig(dir, { dataDir: join(dir, 'data'), endpoint: srv.grpcEndpoint, include: [log] }),
    );
    const address = await receiver.telemetry();
    const status = async () => (await fetch(`http://${address}/readyz`)).status;
    await waitFor('/readyz 503 while the backend is down', async () => (await status()) === 503, 20_000);
    await srv.setFailure(null);
    await waitFor('the records at the server', async () => (await srv.stats()).records === 10, 20_000);
    await waitFor('/readyz 200 once delivering', async () => (await status()) === 200, 20_000);
    const res = await receiver.stop('SIGTERM');
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('exporter cannot deliver; records wait in its queue');
    expect(res.stderr).toContain('exporter delivering again');
  }, 60_000);
});

describe('missing inputs exit 2', () => {
  it('rules test on a missing file and on a glob that matches nothing; run with a missing --journal-dir', async () => {
    const dir = tempDir();
    const missing = await runCli(['rules', 'test', join(dir, 'nope.log')]);
    expect([missing.code, missing.stderr]).toEqual([
      2,
      `kata-otel rules test: ${join(dir, 'nope.log')}: no such file\n`,
    ]);
    const glob = await runCli(['rules', 'test', join(dir, '*.log')]);
    expect(glob.code).toBe(2);
    expect(glob.stderr).toContain('matches no file');
    const journal = await runCli([
      'run',
      '--once',
      '--data-dir',
      join(dir, 'd'),
      '--journal-dir',
      join(dir, 'nojournal'),
    ]);
    expect(journal.code).toBe(2);
    expect(journal.stderr).toContain('--journal-dir');
  }, 60_000);
});

describe('reruns', () => {
  it('a rerun that reads nothing says what the checkpoints hold; --from-start reads everything again', async () => {
    const dir = tempDir();
    const log = join(dir, 'shim.log');
    writeFileSync(log, kataLines(0, 5));
    const args = ['run', '--once', '--data-dir', join(dir, 'data'), log];
    expect((await runCli(args)).stdout).toContain('read 5 entries');
    const again = await runCli(args);
    expect(again.stdout).toContain('read 0 entries');
    expect(again.stdout).toContain(`already read these sources`);
    expect(again.stdout).toMatch(
      new RegExp(`${log.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} up to byte \\d+; use --from-start`),
    );
    const fresh = await runCli([...args.slice(0, 2), '--from-start', ...args.slice(2)]);
    expect(fresh.stdout).toContain('read 5 entries');
    expect(fresh.code).toBe(0);
  }, 60_000);
});

describe('run --once is observable', () => {
  it('logs its inventory and serves /metrics while the import runs', async () => {
    await srv.reset();
    const dir = tempDir();
    const log = join(dir, 'shim.log');
    writeFileSync(log, kataLines(0, 200));
    const queue = { max_batch_records: 20 };
    const cfg = writeReceiverConfig(dir, {
      dataDir: join(dir, 'data'),
      endpoint: srv.grpcEndpoint,
      include: [log],
      queue,
    });
    await srv.setRate(100, 'delay'); // ~2 s of export: time to scrape
    const child = spawnCli(['run', '--once', '--config', cfg]);
    const done = collect(child);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const address = await waitFor('the listening line', () => /"address":"([^"]+)"/.exec(err)?.[1], 20_000, 50);
    const metrics = await (await fetch(`http://${address}/metrics`)).text();
    expect(metrics).toContain('kata_otel_records_read_total');
    const r = await done;
    await srv.setRate(null);
    expect(r.code, r.stderr).toBe(0);
    const inventory = r.stderr.split('\n').find((l) => l.includes('"msg":"inventory"'));
    expect(JSON.parse(inventory!)).toMatchObject({
      sources: ['file-0'],
      exporters: [{ name: 'backend', type: 'otlp', to: srv.grpcEndpoint }],
      once: true,
    });
  }, 60_000);
});
