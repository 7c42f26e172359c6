// Self-telemetry: one prom-client registry per receiver, served as Prometheus text on /metrics. Every stage
// counts into the same named series so the figures can be checked against what a backend received.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  /** Raw entries read, per source. */
  readonly read = this.counter('kata_otel_records_read_total', 'Entries read from sources', ['source']);
  /** Records produced by the parsers, per source. */
  readonly parsed = this.counter('kata_otel_records_parsed_total', 'Records produced by the parsers', ['source']);
  /** Records whose text was not understood (kept with the raw text as body), per source. */
  readonly unparsed = this.counter('kata_otel_records_unparsed_total', 'Records not understood (raw body kept)', [
    'source',
  ]);
  readonly deduplicated = this.counter('kata_otel_records_deduplicated_total', 'Duplicate records suppressed', []);
  readonly alerts = this.counter('kata_otel_alerts_total', 'Alerts raised', ['rule']);
  readonly queued = this.counter('kata_otel_records_queued_total', 'Records appended to an exporter queue', [
    'exporter',
  ]);
  readonly exported = this.counter('kata_otel_records_exported_total', 'Records accepted by the backend', ['exporter']);
  readonly retried = this.counter('kata_otel_export_retries_total', 'Export attempts that will be retried', [
    'exporter',
  ]);
  readonly rejected = this.counter('kata_otel_records_rejected_total', 'Records the backend refused permanently', [
    'exporter',
  ]);
  readonly dropped = this.counter('kata_otel_records_dropped_total', 'Records dropped by kata-otel', [
    'exporter',
    'reason',
  ]);
  /** Records whose attributes were cut to pipeline.limits (receiver/pipeline/limits.ts), per limit. */
  readonly limited = this.counter('kata_otel_records_limited_total', 'Records cut to the attribute limits', ['limit']);
  /** Errors a source logged (permission denied, journalctl exited, vsock handshake failed, …), per source. */
  readonly sourceErrors = this.counter('kata_otel_source_errors_total', 'Errors logged by a source', ['source']);
  /** Guest-stream records dropped by the per-sandbox rate limit (pipeline.fair_share), per source and sandbox. */
  readonly guestDropped = this.counter(
    'kata_otel_guest_records_dropped_total',
    'Guest-stream records dropped by the per-sandbox rate limit',
    ['source', 'sandbox'],
  );
  /** Pushes of these metrics over OTLP (`telemetry.otlp_metrics`), by outcome (`success` / `failure`). */
  readonly otlpMetricsExports = this.counter('kata_otel_otlp_metrics_exports_total', 'Self-metrics exports over OTLP', [
    'outcome',
  ]);
  readonly queueRecords = this.gauge('kata_otel_queue_records', 'Records waiting in an exporter queue', ['exporter']);
  readonly queueBytes = this.gauge('kata_otel_queue_bytes', 'Bytes waiting in an exporter queue', ['exporter']);
  readonly exportLatency = new Histogram({
    name: 'kata_otel_export_duration_seconds',
    help: 'Duration of one export call',
    labelNames: ['exporter', 'outcome'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    registers: [this.registry],
  });

  private counter(name: string, help: string, labelNames: string[]) {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
  private gauge(name: string, help: string, labelNames: string[]) {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
