// The sealed chain survives SIGKILL on both streams at once: `kata-otel run` (a real child process, follow mode)
// writes a growing Kata log into the store and, over OTLP/gRPC, to the OTLP test server (a real child process), and
// is killed with SIGKILL at random points three times, restarted each time, then stopped with SIGTERM. Each
// stream's head resumes from its queue (the last sealed frame), the store or the head file, so `kata-otel verify`
// over the store and over what the server received (as a Collector's file exporter writes it) finds nothing: no
// number taken twice by two records, no gap, resends identical (counted as duplicates), and the store's anchors
// that the OTLP stream forwarded match the store.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPaths } from '../../receiver/integrity/verify.js';
import { integrityRunConfig, storeHolds } from './helpers.js';
import { ATTR_KATA_INTEGRITY_CHECKPOINT_STREAM } from '../../receiver/semconv/generated.js';
import { collectorFileLines } from '../support/collector-file.js';
import { runCli } from '../support/cli.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import { appendLines, kataLines, sleep, startReceiver, tempDir, waitFor } from '../e2e/delivery-helpers.js';

const N = 9000;
const KILLS = 3;

describe('integrity across SIGKILL, store and OTLP', () => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it(`both streams verify clean after ${KILLS} kills and restarts`, async () => {
    const dir = tempDir('kata-otel-integrity-crash-otlp-');
    const log = join(dir, 'containerd-shim-kata-v2.log');
    writeFileSync(log, kataLines(0, 1500));
    const config = integrityRunConfig(
      dir,
      log,
      [{ type: 'store' }, { type: 'otlp', name: 'backend', protocol: 'grpc', endpoint: server.grpcEndpoint }],
      { doctor: { enabled: false } },
    );
    const store = join(dir, 'data', 'store');
    const seen = async () => new Set((await server.records()).map((r) => String(r.body))).size;
    const per = (N - 1500) / KILLS;
    for (let k = 0; k < KILLS; k++) {
      const before = await seen();
      const r = startReceiver(config);
      await r.telemetry();
      appendLines(log, 1500 + k * per, 1500 + (k + 1) * per);
      await waitFor('records at the server', async () => (await seen()) > before + 200, 30_000, 20);
      await sleep(Math.floor(Math.random() * 300));
      const res = await r.stop('SIGKILL');
      expect(res.signal, res.stderr.slice(-2000)).toBe('SIGKILL');
    }
    const last = startReceiver(config);
    await last.telemetry();
    const lines = async () => (await server.records()).filter((r) => String(r.body).startsWith('seq '));
    await waitFor(
      'every line at the server',
      async () => new Set((await lines()).map((r) => r.body)).size === N,
      60_000,
      200,
    );
    await storeHolds(store, N);
    const res = await last.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(res.stderr).toContain('integrity chain resumed');

    // What the server got, as a Collector's file exporter writes it.
    const received = await server.records();
    const collector = join(dir, 'collector');
    mkdirSync(collector);
    writeFileSync(join(collector, 'logs.jsonl'), collectorFileLines(received).join('\n') + '\n');
    const result = await verifyPaths({ dataDir: join(dir, 'data'), paths: [collector] });
    expect(result.findings.filter((f) => f.tampering)).toEqual([]);
    expect(result.streams).toHaveLength(2); // the store's and the backend's, each resumed, not restarted
    for (const s of result.streams) {
      expect(s.first, s.stream).toBe(1);
      expect(s.last, s.stream).toBe(s.records); // no gaps
    }
    // The backend holds anchors of the store (checked against it by verify above).
    const storeStream = result.streams.find((s) => s.stream.startsWith('store'))!.stream;
    expect(received.some((r) => r.attributes[ATTR_KATA_INTEGRITY_CHECKPOINT_STREAM] === storeStream)).toBe(true);
    const cli = await runCli(['verify', '--data-dir', join(dir, 'data'), collector]);
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
  }, 180_000);
});
