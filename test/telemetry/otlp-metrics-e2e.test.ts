// `kata-otel run` (a real child process, follow mode) with `telemetry.otlp_metrics` on: it reads a file of N
// records and sends them to the OTLP test server, and the server also receives kata-otel's own metrics, whose
// kata_otel_records_exported_total for the exporter is N — the figure /metrics shows. With a long interval, the
// only push is the one made at shutdown, after the queues drained. Takes about 3–5 s.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpServer, type OtlpTestServer, type RecordedMetricPoint } from '../support/otlp-server.js';
import {
  kataLines,
  metric,
  scrape,
  startReceiver,
  tempDir,
  waitFor,
  writeReceiverConfig,
} from '../e2e/delivery-helpers.js';

const N = 500;
const EXPORTED = 'kata_otel_records_exported_total';

/** The receiver config of the delivery tests (one otlp exporter `backend`, rules off, /metrics on port 0) with
 *  the OTLP push of the self-metrics on. */
function config(dir: string, endpoint: string, protocol: string, intervalMs: number): string {
  const log = join(dir, 'containerd-shim-kata-v2.log');
  writeFileSync(log, kataLines(0, N));
  const path = writeReceiverConfig(dir, { dataDir: join(dir, 'data'), endpoint, include: [log] });
  const doc = parse(readFileSync(path, 'utf8')) as {
    exporters: Record<string, unknown>[];
    telemetry: Record<string, unknown>;
  };
  doc.exporters[0]!.protocol = protocol;
  doc.telemetry.otlp_metrics = true;
  doc.telemetry.otlp_metrics_interval_ms = intervalMs;
  // Only kata-otel's own metrics here: the lifecycle's derived metrics (their own requests) are tested in
  // test/e2e/traces-otlp.test.ts.
  const d = doc as Record<string, unknown>;
  d.pipeline = { ...(d.pipeline as Record<string, unknown>), lifecycle: { enabled: false } };
  writeFileSync(path, stringify(doc));
  return path;
}

/** The newest point of `name` for exporter `backend`. */
const latest = (points: RecordedMetricPoint[], name: string): RecordedMetricPoint | undefined =>
  points.filter((p) => p.name === name && p.attributes.exporter === 'backend').at(-1);

describe('kata-otel run with telemetry.otlp_metrics', () => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('sends the logs and its own metrics; exported over OTLP = N = /metrics', async () => {
    await server.reset();
    const dir = tempDir('kata-otel-otlp-metrics-');
    const receiver = startReceiver(config(dir, server.httpEndpoint, 'http/protobuf', 500));
    const address = await receiver.telemetry();
    await waitFor('every record at the server', async () => (await server.stats()).records >= N, 30_000);
    const pushed = await waitFor(
      `a push with ${EXPORTED} = ${N} and the queue empty`,
      async () => {
        const points = await server.metrics();
        const done = latest(points, EXPORTED)?.value === N && latest(points, 'kata_otel_queue_records')?.value === 0;
        return done && points;
      },
      15_000,
    );
    const scraped = await scrape(address);
    const res = await receiver.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(res.stderr).not.toMatch(/"level":"(error|warn)"/);

    expect((await server.stats()).records).toBe(N);
    expect(metric(scraped, EXPORTED, { exporter: 'backend' })).toBe(N);
    expect(latest(pushed, EXPORTED)).toMatchObject({
      type: 'sum',
      isMonotonic: true,
      transport: 'http/protobuf',
      resource: { 'service.name': 'kata-otel', 'service.namespace': 'kata-containers' },
    });
    // The other figures agree with the scrape too (they no longer change once everything is exported).
    for (const name of ['kata_otel_records_queued_total', 'kata_otel_queue_records'])
      expect(latest(pushed, name)?.value, name).toBe(metric(scraped, name, { exporter: 'backend' }));
    const read = pushed.filter((p) => p.name === 'kata_otel_records_read_total').at(-1);
    expect(read?.attributes).toEqual({ source: 'file-0' });
    expect(read?.value).toBe(metric(scraped, 'kata_otel_records_read_total', { source: 'file-0' }));
    expect(read?.value).toBe(N);
  }, 60_000);

  it('pushes a last time at shutdown (gRPC, interval longer than the run)', async () => {
    await server.reset();
    const dir = tempDir('kata-otel-otlp-metrics-');
    const receiver = startReceiver(config(dir, server.grpcEndpoint, 'grpc', 600_000));
    await receiver.telemetry();
    await waitFor('every record at the server', async () => (await server.stats()).records >= N, 30_000);
    expect((await server.stats()).metricRequests).toBe(0);
    const res = await receiver.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    const stats = await server.stats();
    expect(stats.metricRequests).toBe(1);
    const points = await server.metrics();
    expect(latest(points, EXPORTED)).toMatchObject({ transport: 'grpc', value: N });
  }, 60_000);
});
