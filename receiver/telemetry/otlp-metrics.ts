// kata-otel's own metrics over OTLP (`telemetry.otlp_metrics`): the prom-client registry of Metrics, bridged
// into the OpenTelemetry metrics SDK and pushed every `otlp_metrics_interval_ms` by the OTel JS OTLP exporters.
//
// One source of numbers: nothing records twice. Counters and gauges are observable instruments whose callback
// reads the registry (`getMetricsAsJSON()`) at each collection, so OTLP carries the figures /metrics shows, with
// the same names and labels (as attributes). Histograms (export latency) cannot be observable instruments (the
// OTel API has no asynchronous histogram), so the bridge is also a MetricProducer, the SDK's hook for metrics
// aggregated elsewhere: it turns prom-client's buckets, sum and count into an OTLP explicit-bucket histogram
// (cumulative, or delta when the exporter asks for it through OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE).
//
// Where to: the first otlp exporter's endpoint, protocol, headers, compression and TLS (HTTP: `/v1/metrics` in
// place of `/v1/logs`); an OTEL_EXPORTER_OTLP_METRICS_* variable replaces the matching borrowed setting; without
// an otlp exporter the OTEL_EXPORTER_OTLP_METRICS_* / OTEL_EXPORTER_OTLP_* variables and the defaults apply
// (resolveOtlpSettings with signal 'metrics'). A push never blocks the receiver (it runs on an unref'd timer)
// and a failure is logged and counted in kata_otel_otlp_metrics_exports_total{outcome="failure"}.
import * as grpc from '@grpc/grpc-js';
import {
  diag,
  DiagLogLevel,
  ValueType,
  type Attributes,
  type BatchObservableResult,
  type HrTime,
  type Meter,
  type Observable,
} from '@opentelemetry/api';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type AggregationOption,
  type CollectionResult,
  type DataPoint,
  type Histogram,
  type HistogramMetricData,
  type MetricProducer,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Registry } from 'prom-client';
import { resolveSignalSettings, type OtlpExporterConfig, type OtlpSettings } from '../exporters/otlp-config.js';
import { SCOPE_NAME, SCOPE_VERSION } from '../otlp/resource.js';
import { silentLogger, type Logger } from './log.js';
import { SELF_SERVICE_NAME, selfResource } from './self-resource.js';
import type { Metrics } from './metrics.js';

type Env = Record<string, string | undefined>;
type ExportResult = Parameters<Parameters<PushMetricExporter['export']>[1]>[0];
/** ExportResultCode.SUCCESS / FAILED of @opentelemetry/core (not a dependency of ours). */
const SUCCESS = 0;
const FAILED = 1;

export { SELF_SERVICE_NAME };

const hrTime = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

/** OTel unit from the Prometheus base-unit suffix. */
function unitOf(name: string): string {
  const base = name.replace(/_total$/, '');
  return base.endsWith('_seconds') ? 's' : base.endsWith('_bytes') ? 'By' : '';
}

function attributesOf(labels: Record<string, string | number | undefined>, skip?: string): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(labels)) if (k !== skip && v !== undefined) out[k] = v;
  return out;
}

export interface PromBridgeOptions {
  /** Temporality of the histograms (the exporter's choice for HISTOGRAM instruments); default cumulative. */
  histogramTemporality?: AggregationTemporality;
  logger?: Logger;
  /** Start of the cumulative histograms (ms since the epoch); default: when the bridge is made. */
  startTimeMs?: number;
}

interface HistogramState {
  timeMs: number;
  counts: number[];
  sum: number;
  count: number;
}

/**
 * Bridges a prom-client registry into an OTel Meter (`attach`: counters → observable counters, gauges →
 * observable gauges) and, as a MetricProducer for the reader, turns its histograms into OTLP histograms. A metric
 * registered after `attach` is picked up at the next collection and exported from the one after.
 */
export class PromBridge implements MetricProducer {
  private readonly instruments = new Map<string, Observable>();
  private readonly histograms = new Set<string>();
  /** Summaries: prom-client's quantiles have no OTLP equivalent here. */
  private readonly skipped = new Set<string>();
  private readonly previous = new Map<string, HistogramState>();
  private readonly temporality: AggregationTemporality;
  private readonly logger: Logger;
  private readonly startTimeMs: number;
  private meter: Meter | undefined;

  constructor(
    private readonly registry: Registry,
    opts: PromBridgeOptions = {},
  ) {
    this.temporality = opts.histogramTemporality ?? AggregationTemporality.CUMULATIVE;
    this.logger = opts.logger ?? silentLogger;
    this.startTimeMs = opts.startTimeMs ?? Date.now();
  }

  /** Creates the observable instruments on `meter` (the reader that uses this producer must be its provider's). */
  attach(meter: Meter): this {
    this.meter = meter;
    this.sync();
    return this;
  }

  /** One registry read per collection for every counter and gauge, so they form one consistent snapshot. */
  private readonly observe = async (result: BatchObservableResult): Promise<void> => {
    for (const m of await this.registry.getMetricsAsJSON()) {
      const instrument = this.instruments.get(m.name);
      if (!instrument) continue;
      for (const v of m.values)
        if (Number.isFinite(v.value)) result.observe(instrument, v.value, attributesOf(v.labels));
    }
  };

  /** Creates instruments for the metrics registered since the last call. */
  private sync(): void {
    const meter = this.meter;
    if (!meter) return;
    const before = [...this.instruments.values()];
    for (const m of this.registry.getMetricsAsArray()) {
      if (this.instruments.has(m.name) || this.histograms.has(m.name) || this.skipped.has(m.name)) continue;
      // prom-client's runtime type is a string ('counter', …), whatever its typings say.
      const type = String(m.type);
      const desc = { description: m.help, unit: unitOf(m.name), valueType: ValueType.DOUBLE };
      if (type === 'counter') this.instruments.set(m.name, meter.createObservableCounter(m.name, desc));
      else if (type === 'gauge') this.instruments.set(m.name, meter.createObservableGauge(m.name, desc));
      else if (type === 'histogram') this.histograms.add(m.name);
      else {
        this.skipped.add(m.name);
        this.logger.debug('self-metric not exported over OTLP: summaries have no OTLP equivalent here', {
          metric: m.name,
        });
      }
    }
    const after = [...this.instruments.values()];
    if (after.length === before.length) return;
    if (before.length) meter.removeBatchObservableCallback(this.observe, before);
    meter.addBatchObservableCallback(this.observe, after);
  }

  /** The histograms, for the reader (MetricProducer). Never rejects: a failure is returned in `errors`. */
  async collect(): Promise<CollectionResult> {
    const resourceMetrics: ResourceMetrics = {
      resource: emptyResource(), // the reader keeps the SDK's resource
      scopeMetrics: [],
    };
    try {
      this.sync();
      const nowMs = Date.now();
      const metrics: HistogramMetricData[] = [];
      for (const name of this.histograms) {
        const json = await this.registry.getSingleMetric(name)?.get();
        if (!json) continue; // removed from the registry
        const points = this.histogramPoints(name, json.values, nowMs);
        if (!points.length) continue;
        metrics.push({
          descriptor: { name, description: json.help, unit: unitOf(name), valueType: ValueType.DOUBLE },
          aggregationTemporality: this.temporality,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: points,
        });
      }
      if (metrics.length)
        resourceMetrics.scopeMetrics.push({ scope: { name: SCOPE_NAME, version: SCOPE_VERSION }, metrics });
      return { resourceMetrics, errors: [] };
    } catch (err) {
      return { resourceMetrics, errors: [err] };
    }
  }

  /** prom-client's `_bucket` (cumulative, `le`), `_sum` and `_count` values → one data point per label set. */
  private histogramPoints(
    name: string,
    values: { value: number; labels: Record<string, string | number | undefined>; metricName?: string }[],
    nowMs: number,
  ): DataPoint<Histogram>[] {
    const series = new Map<string, { attributes: Attributes; le: [number, number][]; sum: number; count: number }>();
    for (const v of values) {
      const attributes = attributesOf(v.labels, 'le');
      const key = JSON.stringify([
        name,
        ...Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      ]);
      let s = series.get(key);
      if (!s) series.set(key, (s = { attributes, le: [], sum: 0, count: 0 }));
      if (v.metricName === `${name}_bucket`) {
        const le = Number(v.labels.le); // '+Inf' → Infinity
        if (le !== Infinity && !Number.isNaN(le)) s.le.push([le, v.value]);
      } else if (v.metricName === `${name}_sum`) s.sum = v.value;
      else if (v.metricName === `${name}_count`) s.count = v.value;
    }
    const points: DataPoint<Histogram>[] = [];
    for (const [key, s] of series) {
      s.le.sort((a, b) => a[0] - b[0]);
      const counts: number[] = [];
      let below = 0;
      for (const [, cumulative] of s.le) {
        counts.push(cumulative - below);
        below = cumulative;
      }
      counts.push(s.count - below); // the +Inf bucket
      let start = this.startTimeMs;
      let point = { counts, sum: s.sum, count: s.count };
      if (this.temporality === AggregationTemporality.DELTA) {
        const prev = this.previous.get(key);
        this.previous.set(key, { timeMs: nowMs, ...point });
        // A count that went down means the registry was reset: the cumulative figures are the delta then.
        if (prev && prev.count <= s.count && prev.counts.length === counts.length) {
          start = prev.timeMs;
          point = {
            counts: counts.map((c, i) => c - (prev.counts[i] ?? 0)),
            sum: s.sum - prev.sum,
            count: s.count - prev.count,
          };
        }
      }
      points.push({
        attributes: s.attributes,
        startTime: hrTime(start),
        endTime: hrTime(nowMs),
        value: {
          buckets: { boundaries: s.le.map(([le]) => le), counts: point.counts },
          sum: point.sum,
          count: point.count,
        },
      });
    }
    return points;
  }
}

/**
 * Where the self-metrics go: the first otlp exporter's settings (if any), overridden by OTEL_EXPORTER_OTLP_METRICS_*
 * (resolveSignalSettings). Throws OtlpConfigError when the metrics URL cannot be told.
 */
export function resolveOtlpMetricsSettings(exporter: Partial<OtlpExporterConfig> | undefined, env: Env): OtlpSettings {
  // kata-otel's own service: OTEL_SERVICE_NAME is for the logs' services, never for this one.
  return resolveSignalSettings(exporter, env, 'metrics', 'telemetry.otlp_metrics', { serviceName: SELF_SERVICE_NAME });
}

const USER_AGENT = `kata-otel/${SCOPE_VERSION}`;

/** The OTel JS exporter for `s`, with every connection setting given explicitly (ours, already resolved). */
async function createMetricExporter(s: OtlpSettings, timeoutMillis: number): Promise<PushMetricExporter> {
  if (s.protocol === 'grpc') {
    const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-grpc');
    type Options = NonNullable<ConstructorParameters<typeof OTLPMetricExporter>[0]>;
    const { tls } = s;
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(s.headers)) metadata.add(k, k.endsWith('-bin') ? Buffer.from(v, 'base64') : v);
    return new OTLPMetricExporter({
      url: s.endpoint,
      metadata,
      credentials: s.secure
        ? grpc.credentials.createSsl(
            tls.ca ?? null,
            tls.key ?? null,
            tls.cert ?? null,
            tls.insecureSkipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {},
          )
        : grpc.credentials.createInsecure(),
      compression: s.compression as Options['compression'], // the enum's values are 'gzip' and 'none'
      timeoutMillis,
      userAgent: USER_AGENT,
    });
  }
  const { OTLPMetricExporter } =
    s.protocol === 'http/json'
      ? await import('@opentelemetry/exporter-metrics-otlp-http')
      : await import('@opentelemetry/exporter-metrics-otlp-proto');
  type Options = NonNullable<ConstructorParameters<typeof OTLPMetricExporter>[0]>;
  const { tls } = s;
  return new OTLPMetricExporter({
    url: s.endpoint,
    headers: s.headers,
    compression: s.compression as Options['compression'],
    timeoutMillis,
    userAgent: USER_AGENT,
    httpAgentOptions: s.secure
      ? { keepAlive: true, ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecureSkipVerify }
      : { keepAlive: true },
  });
}

/** Counts and logs every push: the SDK reports failures only to its diag logger. */
class CountingExporter implements PushMetricExporter {
  private failing = false;
  /** Set when shutdown has no time left: the SDK's last export is then answered here, not sent. */
  dropping = false;

  constructor(
    private readonly inner: PushMetricExporter,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly endpoint: string,
  ) {}

  export(resourceMetrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    const finish = (result: ExportResult) => {
      this.record(result);
      done(result);
    };
    if (this.dropping) {
      done({ code: FAILED, error: new Error('shut down: no time left for a last export') });
      return;
    }
    try {
      this.inner.export(resourceMetrics, finish);
    } catch (err) {
      finish({ code: FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  private record(result: ExportResult): void {
    const ok = result.code === SUCCESS;
    this.metrics.otlpMetricsExports.inc({ outcome: ok ? 'success' : 'failure' });
    if (ok) {
      if (this.failing) this.logger.info('self-metrics export over OTLP works again', { endpoint: this.endpoint });
      this.failing = false;
      return;
    }
    // One warning per outage; the counter tells how many pushes failed.
    const fields = { endpoint: this.endpoint, error: result.error?.message ?? 'unknown error' };
    if (this.failing) this.logger.debug('self-metrics export over OTLP failed', fields);
    else this.logger.warn('self-metrics export over OTLP failed; retrying at the next interval', fields);
    this.failing = true;
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  selectAggregationTemporality(type: InstrumentType): AggregationTemporality {
    return this.inner.selectAggregationTemporality?.(type) ?? AggregationTemporality.CUMULATIVE;
  }
  selectAggregation(type: InstrumentType): AggregationOption {
    return this.inner.selectAggregation?.(type) ?? { type: AggregationType.DEFAULT };
  }
}

export interface OtlpMetricsOptions {
  metrics: Metrics;
  logger: Logger;
  /** The first otlp exporter of the configuration, whose connection settings the push borrows; none: env only. */
  exporter?: Partial<OtlpExporterConfig>;
  /** Push interval (`telemetry.otlp_metrics_interval_ms`). */
  intervalMs: number;
  env?: Env;
}

export interface OtlpMetricsPusher {
  readonly settings: OtlpSettings;
  /** Pushes once more, then stops; gives up waiting after `timeoutMs` (≤ 0: no last push). Never rejects. */
  shutdown(timeoutMs: number): Promise<void>;
}

/**
 * Starts pushing `metrics` over OTLP every `intervalMs`. Returns undefined (after logging why) when the settings
 * cannot be used: the receiver runs on without the push.
 */
export async function startOtlpMetrics(opts: OtlpMetricsOptions): Promise<OtlpMetricsPusher | undefined> {
  const logger = opts.logger.child({ component: 'otlp-metrics' });
  let settings: OtlpSettings;
  let exporter: PushMetricExporter;
  try {
    settings = resolveOtlpMetricsSettings(opts.exporter, opts.env ?? process.env);
    // A push may take at most one interval (`timeout_ms: 0`, no limit, included).
    exporter = await createMetricExporter(settings, Math.min(settings.timeoutMs || opts.intervalMs, opts.intervalMs));
  } catch (err) {
    // Unusable settings (a bad OTEL_EXPORTER_OTLP_METRICS_* value, an unreadable PEM) never stop the receiver.
    logger.error(`self-metrics are not pushed over OTLP: ${(err as Error).message}`);
    return undefined;
  }
  for (const w of settings.warnings) logger.warn(w);
  // The SDK's own diagnostics (collection errors, timeouts) at debug level: failures are reported above.
  diag.setLogger(
    {
      error: (msg, ...args) => logger.debug(msg, { otel: args }),
      warn: (msg, ...args) => logger.debug(msg, { otel: args }),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );

  const counting = new CountingExporter(exporter, opts.metrics, logger, settings.endpoint);
  const bridge = new PromBridge(opts.metrics.registry, {
    histogramTemporality: counting.selectAggregationTemporality(InstrumentType.HISTOGRAM),
    logger,
  });
  const reader = new PeriodicExportingMetricReader({
    exporter: counting,
    exportIntervalMillis: opts.intervalMs,
    exportTimeoutMillis: opts.intervalMs,
    metricProducers: [bridge],
  });
  const provider = new MeterProvider({
    resource: selfResource(settings.resource.fill), // OTEL_RESOURCE_ATTRIBUTES, the exporter's resource_attributes
    readers: [reader],
  });
  bridge.attach(provider.getMeter(SCOPE_NAME, SCOPE_VERSION));
  logger.info('self-metrics pushed over OTLP', {
    protocol: settings.protocol,
    endpoint: settings.endpoint,
    intervalMs: opts.intervalMs,
    origin: settings.origin,
  });

  let stopped: Promise<void> | undefined;
  return {
    settings,
    shutdown: (ms) =>
      (stopped ??= (async () => {
        counting.dropping = ms <= 0;
        const done = provider.shutdown().catch((err: unknown) => {
          logger.warn('self-metrics: last export over OTLP failed', { error: err });
        });
        if (ms <= 0) return;
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), ms);
          timer.unref();
        });
        if ((await Promise.race([done, late])) === 'late')
          logger.warn('self-metrics: last export over OTLP did not finish before the shutdown deadline', {
            timeoutMs: ms,
          });
        clearTimeout(timer);
      })()),
  };
}
