// Self-tracing of the daemon (`telemetry.traces`): an OpenTelemetry SDK TracerProvider whose tracer the pipeline
// and the exporters use for kata-otel's own spans (./spans.ts: kata-otel.batch → kata-otel.parse and
// kata-otel.queue.append per source batch; kata-otel.export per export attempt), sent by the official OTLP/HTTP
// protobuf exporter under resource service.name=kata-otel. Imported only when enabled (run/receiver.ts), so a
// receiver without it loads nothing of the tracing SDK. No context manager is registered: parents are passed
// explicitly, and the global API is left alone (kata-otel is not the app's tracer).
import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { SCOPE_NAME, SCOPE_VERSION } from '../otlp/resource.js';
import type { Logger } from './log.js';
import { selfResource } from './self-resource.js';

export interface SelfTracingOptions {
  /** OTLP/HTTP traces URL; undefined: the exporter's OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT / default. */
  endpoint?: string;
  headers?: Record<string, string>;
  /** Bound of one export (with its retries): the exporter's pending request and retry timers keep the process
   *  alive, so it is the shutdown timeout, not the SDK's 10 s, that a `run --once` can wait at exit. */
  timeoutMs: number;
  logger: Logger;
}

export interface SelfTracing {
  readonly tracer: Tracer;
  /** Export the spans still buffered and stop, within `timeoutMs`. Idempotent. */
  shutdown(timeoutMs: number): Promise<void>;
}

export function startSelfTracing(opts: SelfTracingOptions): SelfTracing {
  const exporter = new OTLPTraceExporter({
    url: opts.endpoint,
    headers: Object.keys(opts.headers ?? {}).length ? opts.headers : undefined,
    timeoutMillis: opts.timeoutMs,
  });
  const provider = new TracerProvider({
    resource: selfResource(),
    spanProcessors: [new BatchSpanProcessor({ exporter, exportTimeoutMillis: opts.timeoutMs })],
  });
  opts.logger.info('self-tracing on', { endpoint: opts.endpoint ?? 'OTEL_EXPORTER_OTLP_TRACES_* / default' });
  let done: Promise<void> | undefined;
  return {
    tracer: provider.getTracer(SCOPE_NAME, SCOPE_VERSION),
    shutdown: (timeoutMs) =>
      (done ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
        try {
          const r = await Promise.race([provider.shutdown().then(() => 'ok' as const), late]);
          if (r === 'late')
            opts.logger.warn('self-tracing: spans not exported within the shutdown timeout', { timeoutMs });
        } catch (err) {
          opts.logger.warn('self-tracing: exporting the last spans failed', { err });
        } finally {
          clearTimeout(timer);
        }
      })()),
  };
}
