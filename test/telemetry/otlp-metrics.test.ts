// The prom-client → OpenTelemetry bridge and the OTLP push of the self-metrics: the bridge reports exactly the
// registry's values and labels (collected by a real SDK MeterProvider and reader), the push settings follow the
// first otlp exporter and the OTEL_EXPORTER_OTLP_METRICS_* variables, every transport reaches the real OTLP test
// server (decoding with the official generated code), and a backend that is not there is logged and counted.
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality, DataPointType, type Histogram } from '@opentelemetry/sdk-metrics';
import { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpConfigError } from '../../receiver/exporters/otlp-config.js';
import { SCOPE_VERSION } from '../../receiver/otlp/resource.js';
import {
  ATTR_HOST_NAME,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
  ATTR_SERVICE_VERSION,
} from '../../receiver/semconv/generated.js';
import { createLogger, type Logger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import {
  PromBridge,
  resolveOtlpMetricsSettings,
  startOtlpMetrics,
  type OtlpMetricsPusher,
} from '../../receiver/telemetry/otlp-metrics.js';
import { startOtlpServer, type OtlpTestServer, type RecordedMetricPoint } from '../support/otlp-server.js';

/** A reader that collects only when asked (the SDK's MetricReader with no export of its own). */
class ManualReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

function bridged(metrics: Metrics, temporality?: AggregationTemporality) {
  const bridge = new PromBridge(metrics.registry, { histogramTemporality: temporality });
  const reader = new ManualReader({ metricProducers: [bridge] });
  const provider = new MeterProvider({ readers: [reader] });
  bridge.attach(provider.getMeter('test'));
  return {
    provider,
    /** name → metric data of one collection. */
    collect: async (): Promise<Map<string, MetricData>> => {
      const { resourceMetrics, errors } = await reader.collect();
      expect(errors).toEqual([]);
      const out = new Map<string, MetricData>();
      for (const sm of resourceMetrics.scopeMetrics) for (const m of sm.metrics) out.set(m.descriptor.name, m);
      return out;
    },
  };
}

const sortKeys = (o: Record<string, unknown>) => JSON.stringify(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

/** Every counter and gauge series of the registry, as `name labels` → value. */
async function promSeries(metrics: Metrics): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    if (String(m.type) !== 'counter' && String(m.type) !== 'gauge') continue;
    for (const v of m.values) out.set(`${m.name} ${sortKeys(v.labels)}`, v.value);
  }
  return out;
}

/** The same from the OTel side, checking each instrument's kind against prom-client's type. */
function otelSeries(data: Map<string, MetricData>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, m] of data) {
    if (m.dataPointType === DataPointType.HISTOGRAM) continue;
    if (m.dataPointType === DataPointType.SUM) expect(m.isMonotonic, name).toBe(true);
    for (const p of m.dataPoints) out.set(`${name} ${sortKeys(p.attributes)}`, p.value as number);
  }
  return out;
}

function busyMetrics(): Metrics {
  const metrics = new Metrics();
  metrics.read.inc({ source: 'file-0' }, 7);
  metrics.read.inc({ source: 'journald' }, 3);
  metrics.parsed.inc({ source: 'file-0' }, 7);
  metrics.exported.inc({ exporter: 'otlp' }, 5);
  metrics.exported.inc({ exporter: 'store' }, 9);
  metrics.dropped.inc({ exporter: 'otlp', reason: 'queue_full' }, 2);
  metrics.deduplicated.inc(4);
  metrics.sourceErrors.inc({ source: 'vsock' });
  metrics.queueRecords.set({ exporter: 'otlp' }, 12);
  metrics.queueBytes.set({ exporter: 'otlp' }, 4096);
  for (const s of [0.007, 0.2, 100]) metrics.exportLatency.observe({ exporter: 'otlp', outcome: 'success' }, s);
  metrics.exportLatency.observe({ exporter: 'otlp', outcome: 'retryable' }, 0.05);
  return metrics;
}

describe('PromBridge', () => {
  it('reports every counter and gauge with the values and labels of the prom registry', async () => {
    const metrics = busyMetrics();
    const b = bridged(metrics);
    let data = await b.collect();
    expect(otelSeries(data)).toEqual(await promSeries(metrics));
    expect(data.get('kata_otel_records_exported_total')?.dataPointType).toBe(DataPointType.SUM);
    expect(data.get('kata_otel_queue_records')?.dataPointType).toBe(DataPointType.GAUGE);
    expect(data.get('kata_otel_queue_bytes')?.descriptor.unit).toBe('By');
    expect(data.get('kata_otel_records_read_total')?.descriptor.description).toBe('Entries read from sources');

    // Later values are read at the next collection: the callbacks read the registry, nothing is copied.
    metrics.exported.inc({ exporter: 'otlp' }, 10);
    metrics.queueRecords.set({ exporter: 'otlp' }, 0);
    data = await b.collect();
    const series = otelSeries(data);
    expect(series.get(`kata_otel_records_exported_total ${sortKeys({ exporter: 'otlp' })}`)).toBe(15);
    expect(series.get(`kata_otel_queue_records ${sortKeys({ exporter: 'otlp' })}`)).toBe(0);
    expect(series).toEqual(await promSeries(metrics));
    await b.provider.shutdown();
  });

  it("turns the export-latency histogram into an OTLP histogram with prom-client's buckets, sum and count", async () => {
    const metrics = busyMetrics();
    const b = bridged(metrics);
    const h = (await b.collect()).get('kata_otel_export_duration_seconds');
    expect(h?.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(h?.aggregationTemporality).toBe(AggregationTemporality.CUMULATIVE);
    expect(h?.descriptor.unit).toBe('s');
    const points = new Map(h!.dataPoints.map((p) => [sortKeys(p.attributes), p.value as Histogram]));
    expect(points.size).toBe(2);
    const ok = points.get(sortKeys({ exporter: 'otlp', outcome: 'success' }));
    // buckets 0.005 0.01 0.05 0.1 0.5 1 5 10 30 +Inf; observed 0.007, 0.2 and 100
    expect(ok?.buckets).toEqual({
      boundaries: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      counts: [0, 1, 0, 0, 1, 0, 0, 0, 0, 1],
    });
    expect(ok?.count).toBe(3);
    expect(ok?.sum).toBeCloseTo(100.207, 9);
    expect(points.get(sortKeys({ exporter: 'otlp', outcome: 'retryable' }))?.count).toBe(1);
    // The /metrics text says the same.
    const text = await metrics.text();
    expect(text).toContain('kata_otel_export_duration_seconds_count{exporter="otlp",outcome="success"} 3');
    expect(text).toContain('kata_otel_export_duration_seconds_bucket{le="0.5",exporter="otlp",outcome="success"} 2');
    await b.provider.shutdown();
  });

  it('gives delta histograms when the exporter asks for delta', async () => {
    const metrics = new Metrics();
    const b = bridged(metrics, AggregationTemporality.DELTA);
    metrics.exportLatency.observe({ exporter: 'x', outcome: 'success' }, 0.2);
    metrics.exportLatency.observe({ exporter: 'x', outcome: 'success' }, 0.3);
    const first = (await b.collect()).get('kata_otel_export_duration_seconds')!;
    expect(first.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    expect((first.dataPoints[0]?.value as Histogram).count).toBe(2);
    metrics.exportLatency.observe({ exporter: 'x', outcome: 'success' }, 20);
    const second = (await b.collect()).get('kata_otel_export_duration_seconds')!;
    const p = second.dataPoints[0]!;
    expect((p.value as Histogram).count).toBe(1);
    expect((p.value as Histogram).sum).toBeCloseTo(20, 9);
    expect((p.value as Histogram).buckets.counts).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    expect(p.startTime).toEqual(first.dataPoints[0]?.endTime);
    await b.provider.shutdown();
  });

  it('picks up a metric registered after it was attached', async () => {
    const metrics = new Metrics();
    const b = bridged(metrics);
    const late = new Counter({
      name: 'kata_otel_late_total',
      help: 'late',
      labelNames: ['k'],
      registers: [metrics.registry],
    });
    late.inc({ k: 'v' }, 2);
    await b.collect(); // sees it and makes its instrument
    const p = (await b.collect()).get('kata_otel_late_total')?.dataPoints[0];
    expect(p?.value).toBe(2);
    expect(p?.attributes).toEqual({ k: 'v' });
    await b.provider.shutdown();
  });
});

describe('resolveOtlpMetricsSettings', () => {
  it('defaults to OTLP/HTTP on localhost /v1/metrics', () => {
    const s = resolveOtlpMetricsSettings(undefined, {});
    expect(s.protocol).toBe('http/protobuf');
    expect(s.endpoint).toBe('http://localhost:4318/v1/metrics');
  });

  it("borrows the otlp exporter's endpoint, protocol, headers and compression, with /v1/metrics for /v1/logs", () => {
    const exporter = {
      endpoint: 'https://collector:4318/v1/logs',
      protocol: 'http/json' as const,
      headers: { authorization: 'Bearer t' },
      compression: 'gzip' as const,
    };
    const s = resolveOtlpMetricsSettings(exporter, {});
    expect(s).toMatchObject({
      protocol: 'http/json',
      endpoint: 'https://collector:4318/v1/metrics',
      headers: { authorization: 'Bearer t' },
      compression: 'gzip',
      secure: true,
    });
    expect(resolveOtlpMetricsSettings({ endpoint: 'http://c:4318' }, {}).endpoint).toBe('http://c:4318/v1/metrics');
    expect(resolveOtlpMetricsSettings({ endpoint: 'http://loki:3100/otlp/v1/logs' }, {}).endpoint).toBe(
      'http://loki:3100/otlp/v1/metrics',
    );
    const grpc = resolveOtlpMetricsSettings({ endpoint: 'http://c:4317', protocol: 'grpc' }, {});
    expect(grpc).toMatchObject({ protocol: 'grpc', grpcTarget: 'c:4317', secure: false });
  });

  it('lets OTEL_EXPORTER_OTLP_METRICS_* replace a borrowed setting, and OTEL_EXPORTER_OTLP_* fill the rest', () => {
    const exporter = { endpoint: 'http://logs:4318/v1/logs', headers: { a: '1' } };
    const s = resolveOtlpMetricsSettings(exporter, {
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://metrics:9090/otlp/v1/metrics',
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'b=2',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://generic:4318',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    });
    expect(s.endpoint).toBe('http://metrics:9090/otlp/v1/metrics');
    expect(s.origin.endpoint).toBe('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT');
    expect(s.headers).toEqual({ b: '2' });
    expect(s.compression).toBe('gzip');
    // The generic variable does not outrank the exporter's own endpoint (as for the logs).
    expect(resolveOtlpMetricsSettings(exporter, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://g:4318' }).endpoint).toBe(
      'http://logs:4318/v1/metrics',
    );
    // Without an otlp exporter the generic base URL gets v1/metrics.
    expect(resolveOtlpMetricsSettings(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://g:4318' }).endpoint).toBe(
      'http://g:4318/v1/metrics',
    );
    // The logs-specific variable is not for metrics.
    expect(
      resolveOtlpMetricsSettings(undefined, { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://l:4318/v1/logs' }).endpoint,
    ).toBe('http://localhost:4318/v1/metrics');
  });

  it('names itself kata-otel whatever OTEL_SERVICE_NAME says, without a warning', () => {
    const s = resolveOtlpMetricsSettings(undefined, {
      OTEL_SERVICE_NAME: 'other',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod',
    });
    expect(s.resource.override).toEqual({ [ATTR_SERVICE_NAME]: 'kata-otel' });
    expect(s.resource.fill).toEqual({ 'deployment.environment.name': 'prod' });
    expect(s.warnings).toEqual([]);
  });

  it('refuses an HTTP endpoint whose metrics URL cannot be told, naming the fix', () => {
    expect(() => resolveOtlpMetricsSettings({ endpoint: 'http://c:4318/custom/ingest' }, {})).toThrow(OtlpConfigError);
    expect(() => resolveOtlpMetricsSettings({ endpoint: 'http://c:4318/custom/ingest' }, {})).toThrow(
      /OTEL_EXPORTER_OTLP_METRICS_ENDPOINT/,
    );
    // …unless the variable says where.
    expect(
      resolveOtlpMetricsSettings(
        { endpoint: 'http://c:4318/custom/ingest' },
        { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c:4318/m' },
      ).endpoint,
    ).toBe('http://c:4318/m');
  });
});

function capture(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) }) };
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function counterValue(metrics: Metrics, labels: Record<string, string>): Promise<number> {
  const v = await metrics.otlpMetricsExports.get();
  return v.values
    .filter((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l))
    .reduce((a, x) => a + x.value, 0);
}

describe('startOtlpMetrics → the OTLP test server', () => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  const transports = ['grpc', 'http/protobuf', 'http/json'] as const;
  for (const protocol of transports) {
    it(`pushes the registry's figures over ${protocol}`, async () => {
      await server.reset();
      const metrics = busyMetrics();
      const { logger } = capture();
      const pusher = (await startOtlpMetrics({
        metrics,
        logger,
        exporter: { protocol, endpoint: protocol === 'grpc' ? server.grpcEndpoint : server.httpEndpoint },
        intervalMs: 200,
        env: {},
      })) as OtlpMetricsPusher;
      expect(pusher).toBeDefined();
      const points = await waitFor('an exported-records point', async () => {
        const got = await server.metrics();
        return got.some((p) => p.name === 'kata_otel_records_exported_total') ? got : undefined;
      });
      await pusher.shutdown(5000);
      const find = (name: string, attrs: Record<string, unknown>): RecordedMetricPoint | undefined =>
        points.find((p) => p.name === name && sortKeys(p.attributes) === sortKeys(attrs));
      expect(points.every((p) => p.transport === protocol)).toBe(true);
      const exported = find('kata_otel_records_exported_total', { exporter: 'otlp' });
      expect(exported).toMatchObject({ type: 'sum', isMonotonic: true, temporality: 'cumulative', value: 5 });
      expect(find('kata_otel_records_dropped_total', { exporter: 'otlp', reason: 'queue_full' })?.value).toBe(2);
      expect(find('kata_otel_queue_bytes', { exporter: 'otlp' })).toMatchObject({
        type: 'gauge',
        value: 4096,
        unit: 'By',
      });
      expect(find('kata_otel_export_duration_seconds', { exporter: 'otlp', outcome: 'success' })).toMatchObject({
        type: 'histogram',
        count: 3,
        bucketCounts: [0, 1, 0, 0, 1, 0, 0, 0, 0, 1],
        explicitBounds: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      });
      expect(exported?.resource).toMatchObject({
        [ATTR_SERVICE_NAME]: 'kata-otel',
        [ATTR_SERVICE_NAMESPACE]: 'kata-containers',
        [ATTR_SERVICE_VERSION]: SCOPE_VERSION,
        [ATTR_HOST_NAME]: hostname(),
      });
      expect(exported?.scope).toEqual({ name: 'kata-otel', version: SCOPE_VERSION });
      // The pushes are counted; the logs server saw no log request.
      expect(await counterValue(metrics, { outcome: 'success' })).toBeGreaterThanOrEqual(1);
      const stats = await server.stats();
      expect(stats.requests).toBe(0);
      expect(stats.metricRequests).toBeGreaterThanOrEqual(1);
    });
  }

  it('pushes once more on shutdown, with the final figures', async () => {
    await server.reset();
    const metrics = new Metrics();
    const pusher = await startOtlpMetrics({
      metrics,
      logger: capture().logger,
      exporter: { protocol: 'grpc', endpoint: server.grpcEndpoint },
      intervalMs: 60_000,
      env: {},
    });
    metrics.exported.inc({ exporter: 'otlp' }, 42);
    await pusher?.shutdown(5000);
    const points = await server.metrics();
    expect(points.find((p) => p.name === 'kata_otel_records_exported_total')?.value).toBe(42);
    expect((await server.stats()).metricRequests).toBe(1);
  });
});

describe('startOtlpMetrics without a backend', () => {
  it('logs and counts the failed pushes, and its shutdown is bounded and does not throw', async () => {
    // A loopback port nobody listens on: connections are refused at once.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const metrics = new Metrics();
    const { logger, lines } = capture();
    const pusher = await startOtlpMetrics({
      metrics,
      logger,
      exporter: { protocol: 'http/protobuf', endpoint: `http://127.0.0.1:${port}/v1/logs` },
      intervalMs: 200,
      env: {},
    });
    await waitFor('two failed pushes', async () =>
      (await counterValue(metrics, { outcome: 'failure' })) >= 2 ? true : undefined,
    );
    await pusher?.shutdown(1000);
    expect(await counterValue(metrics, { outcome: 'success' })).toBe(0);
    // One warning per outage (the later failures are at debug level), naming the endpoint.
    const warnings = lines.filter((l) => l.level === 'warn' && String(l.msg).includes('self-metrics export'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.endpoint).toBe(`http://127.0.0.1:${port}/v1/metrics`);
    // The failures are on /metrics too.
    expect(await metrics.text()).toMatch(/kata_otel_otlp_metrics_exports_total\{outcome="failure"\} [2-9]/);
  });

  it('does not start, and says why, when its settings cannot be used', async () => {
    const { logger, lines } = capture();
    const pusher = await startOtlpMetrics({
      metrics: new Metrics(),
      logger,
      exporter: { endpoint: 'http://c:4318/v1/logs' },
      intervalMs: 1000,
      env: { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'carrier-pigeon' },
    });
    expect(pusher).toBeUndefined();
    const err = lines.find((l) => l.level === 'error');
    expect(String(err?.msg)).toMatch(
      /self-metrics are not pushed over OTLP: OTEL_EXPORTER_OTLP_METRICS_PROTOCOL="carrier-pigeon"/,
    );
  });
});
