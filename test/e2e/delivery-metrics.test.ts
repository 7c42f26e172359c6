// The self-metrics tell the truth: a receiver in follow mode (telemetry on 127.0.0.1:0, an ephemeral loopback
// port the kernel picks; the receiver logs the address) reads N records — half written before it starts, half
// appended while it runs — and once the OTLP test server has them, /metrics says exactly what happened:
// records read and parsed = written, exported = what the server received, queue gauges back to 0; /healthz and
// /readyz answer 200. Takes about 5–8 s.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import {
  appendLines,
  kataLines,
  metric,
  scrape,
  sleep,
  startReceiver,
  brief,
  exactlyOnce,
  tallyRecords,
  tempDir,
  waitFor,
  writeReceiverConfig,
} from './delivery-helpers.js';

const N = 10_000;

describe('/metrics against the server', () => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('reports read, parsed, exported and queue figures equal to what was written and received', async () => {
    const dir = tempDir();
    const log = join(dir, 'containerd-shim-kata-v2.log');
    writeFileSync(log, kataLines(0, N / 2));
    const receiver = startReceiver(
      writeReceiverConfig(dir, {
        dataDir: join(dir, 'data'),
        endpoint: server.grpcEndpoint,
        include: [log],
        integrity: true,
      }),
    );
    const address = await receiver.telemetry();
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(address).not.toMatch(/:0$/);
    // Appended while it runs, in ten steps.
    for (let i = 0; i < 10; i++) {
      appendLines(log, N / 2 + (i * N) / 20, N / 2 + ((i + 1) * N) / 20);
      await sleep(100);
    }
    await waitFor('every record at the server', async () => (await server.stats()).records >= N, 30_000);
    // Gauges and counters settle right after the acks; give the last ack a moment.
    const m = await waitFor(
      'the queue gauges back to 0',
      async () => {
        const s = await scrape(address);
        return metric(s, 'kata_otel_queue_records', { exporter: 'backend' }) === 0 ? s : undefined;
      },
      10_000,
    );
    const health = await fetch(`http://${address}/healthz`);
    const ready = await fetch(`http://${address}/readyz`);
    const stats = await server.stats();
    const res = await receiver.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);

    const tally = tallyRecords(server.recordsFile, N);
    expect(brief(tally)).toEqual(exactlyOnce(N));
    expect(stats.records).toBe(N + tally.checkpoints); // the stream's own integrity checkpoints ride along
    expect(metric(m, 'kata_otel_records_read_total', { source: 'file-0' })).toBe(N);
    expect(metric(m, 'kata_otel_records_parsed_total', { source: 'file-0' })).toBe(N);
    expect(metric(m, 'kata_otel_records_unparsed_total')).toBe(0);
    expect(metric(m, 'kata_otel_records_deduplicated_total')).toBe(0);
    expect(metric(m, 'kata_otel_records_queued_total', { exporter: 'backend' })).toBe(N);
    expect(metric(m, 'kata_otel_records_exported_total', { exporter: 'backend' })).toBe(
      stats.records - tally.checkpoints,
    );
    expect(metric(m, 'kata_otel_records_rejected_total', { exporter: 'backend' })).toBe(0);
    expect(metric(m, 'kata_otel_records_dropped_total')).toBe(0);
    expect(metric(m, 'kata_otel_queue_records', { exporter: 'backend' })).toBe(0);
    expect(metric(m, 'kata_otel_queue_bytes', { exporter: 'backend' })).toBe(0);
    expect(metric(m, 'kata_otel_export_duration_seconds_count', { exporter: 'backend', outcome: 'success' })).toBe(
      stats.requests,
    );
    expect(health.status).toBe(200);
    expect(ready.status).toBe(200);
    // The exit summary agrees.
    expect(res.stdout).toContain(`read ${N} entries → ${N} records`);
    expect(res.stdout).toContain(`backend (otlp) → ${N} records to ${server.grpcEndpoint}`);
  }, 60_000);
});
