// SIGHUP applies a changed configuration in place (receiver/run/receiver-object.ts): under load from two files,
// the second file's source and the dedupe stage change while the first file's source and the OTLP exporter do
// not. The server must count every sequence number exactly once; the unchanged exporter is not built again (one
// "OTLP exporter configured" line) and the unchanged file source does not open its file again (one "file opened"
// line for it), while the changed source does (it resumes from its checkpoint).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import {
  appendLines,
  brief,
  exactlyOnce,
  sleep,
  startReceiver,
  tallyRecords,
  tempDir,
  waitFor,
  writeReceiverConfig,
} from './delivery-helpers.js';

const N = 6_000;
const HALF = N / 2;

type Doc = {
  log: { level: string };
  sources: { files: Record<string, unknown>[] };
  pipeline: Record<string, unknown>;
};

/** stderr lines (kata-otel's JSON log) whose msg is `msg`. */
const logLines = (stderr: string, msg: string) =>
  stderr
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('SIGHUP in place', () => {
  let srv: OtlpTestServer;
  beforeAll(async () => {
    srv = await startOtlpServer();
  });
  afterAll(async () => srv?.stop());

  /** A server of its own (its records file counts one test's records) and a receiver following an empty file. */
  async function followOnFreshServer() {
    await srv.stop();
    srv = await startOtlpServer();
    const dir = tempDir();
    const log = join(dir, 'shim.log');
    writeFileSync(log, '');
    const cfg = writeReceiverConfig(dir, { dataDir: join(dir, 'data'), endpoint: srv.grpcEndpoint, include: [log] });
    const receiver = startReceiver(cfg);
    await receiver.telemetry();
    return { log, cfg, receiver };
  }

  it('keeps unchanged sources and exporters running, swaps the changed ones, and loses nothing', async () => {
    const dir = tempDir();
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    writeFileSync(a, '');
    writeFileSync(b, '');
    const cfg = writeReceiverConfig(dir, { dataDir: join(dir, 'data'), endpoint: srv.grpcEndpoint, include: [a] });
    const doc = parse(readFileSync(cfg, 'utf8')) as Doc;
    doc.log.level = 'debug';
    doc.sources.files.push({ ...doc.sources.files[0], include: [b] });
    writeFileSync(cfg, stringify(doc));
    const receiver = startReceiver(cfg);
    await receiver.telemetry();

    const steps = 30;
    for (let i = 0; i < steps; i++) {
      // a.log carries 0..HALF-1, b.log HALF..N-1.
      appendLines(a, (i * HALF) / steps, ((i + 1) * HALF) / steps);
      appendLines(b, HALF + (i * HALF) / steps, HALF + ((i + 1) * HALF) / steps);
      if (i === steps / 2) {
        // file-1 gets an attribute, dedupe a shorter window; file-0 and the exporter stay as they are.
        doc.sources.files[1] = { ...doc.sources.files[1], attributes: { 'test.reloaded': 'yes' } };
        doc.pipeline.dedupe = { window_ms: 30_000 };
        writeFileSync(cfg, stringify(doc));
        receiver.child.kill('SIGHUP');
      }
      await sleep(50);
    }
    await waitFor('the reload', () => receiver.stderr().includes('"msg":"configuration reloaded"'), 30_000);
    await waitFor('every record at the server', async () => (await srv.stats()).records >= N, 60_000);
    const res = await receiver.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(brief(tallyRecords(srv.recordsFile, N))).toEqual(exactlyOnce(N));

    const [reloaded] = logLines(res.stderr, 'configuration reloaded');
    expect(reloaded).toMatchObject({
      inPlace: true,
      sources: { kept: ['file-0'], stopped: ['file-1'], started: ['file-1'] },
      exporters: { kept: ['backend'], stopped: [], started: [] },
      stages: { replaced: ['dedupe'] },
    });
    // The exporter (and so its connection and queue) was made once; file-0 opened a.log once, file-1 b.log twice.
    expect(logLines(res.stderr, 'OTLP exporter configured')).toHaveLength(1);
    const opened = logLines(res.stderr, 'file opened');
    expect(opened.filter((l) => l.path === a)).toHaveLength(1);
    expect(opened.filter((l) => l.path === b)).toHaveLength(2);
    // Records of b.log read after the reload carry the new attribute.
    const withAttr = (await srv.records()).filter((r) => r.attributes['test.reloaded'] === 'yes');
    expect(withAttr.length).toBeGreaterThan(0);
  }, 120_000);

  it('replaces a changed exporter: its queued records go to the new one, nothing lost or doubled', async () => {
    const { log, cfg, receiver } = await followOnFreshServer();
    // The backend is slow: records wait in the disk queue when the exporter changes.
    await srv.setRate(2000, 'delay');
    appendLines(log, 0, HALF);
    await sleep(300);
    writeFileSync(
      cfg,
      readFileSync(cfg, 'utf8').replace(
        /protocol: grpc\n(\s+)endpoint: .*/,
        `protocol: http/protobuf\n$1endpoint: ${srv.httpEndpoint}`,
      ),
    );
    receiver.child.kill('SIGHUP');
    appendLines(log, HALF, N);
    await waitFor('the reload', () => receiver.stderr().includes('"msg":"configuration reloaded"'), 30_000);
    await srv.setRate(null);
    await waitFor('every record at the server', async () => (await srv.stats()).records >= N, 60_000);
    const stats = await srv.stats();
    const res = await receiver.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(brief(tallyRecords(srv.recordsFile, N))).toEqual(exactlyOnce(N));
    const [reloaded] = logLines(res.stderr, 'configuration reloaded');
    expect(reloaded).toMatchObject({
      sources: { kept: ['file-0'], stopped: [], started: [] },
      exporters: { kept: [], stopped: ['backend'], started: ['backend'] },
    });
    expect(stats.byTransport['http/protobuf']).toBeGreaterThan(0);
  }, 120_000);

  it('restarts inside the process when a process-wide setting changes, and loses nothing', async () => {
    const { log, cfg, receiver } = await followOnFreshServer();
    const steps = 20;
    for (let i = 0; i < steps; i++) {
      appendLines(log, (i * N) / steps, ((i + 1) * N) / steps);
      if (i === steps / 2) {
        writeFileSync(cfg, `${readFileSync(cfg, 'utf8')}index:\n  interval_ms: 30000\n`);
        receiver.child.kill('SIGHUP');
      }
      await sleep(50);
    }
    await waitFor('the restart', () => receiver.stderr().includes('receiver started again'), 30_000);
    await waitFor('every record at the server', async () => (await srv.stats()).records >= N, 60_000);
    const res = await receiver.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(brief(tallyRecords(srv.recordsFile, N))).toEqual(exactlyOnce(N));
    expect(res.stderr).toContain('a process-wide setting changed');
    // A restart builds every component again (unlike an in-place reload).
    expect(logLines(res.stderr, 'OTLP exporter configured')).toHaveLength(2);
  }, 120_000);
});
