// Self-tracing through @opentelemetry/api, off by default: given a TracerProvider, the bridge records a
// `kata-otel.batch` span per batch with `kata-otel.parse` and `kata-otel.emit` children, and the durable exporter a
// `kata-otel.queue.append` span per export() and a `kata-otel.export` span per attempt (outcome, error status).
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ATTR_KATA_OTEL_BATCH_ENTRIES,
  ATTR_KATA_OTEL_BATCH_RECORDS,
  ATTR_KATA_OTEL_EXPORT_OUTCOME,
  ATTR_KATA_OTEL_SOURCE_NAME,
  DurableLogRecordExporter,
  KataLogBridge,
} from '../../receiver/api/index.js';
import { seqText, tempDir } from '../e2e/delivery-helpers.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';

const LINE =
  'time="2025-11-20T16:20:02.481026977Z" level=info msg="VM started" name=containerd-shim-v2 pid=41001 sandbox=c0ffee source=virtcontainers subsystem=sandbox';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function tracing() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
  cleanups.push(() => tracerProvider.shutdown());
  return { spans, tracerProvider };
}
function logs() {
  const loggerProvider = new LoggerProvider({
    processors: [new SimpleLogRecordProcessor({ exporter: new InMemoryLogRecordExporter() })],
  });
  cleanups.push(() => loggerProvider.shutdown());
  return loggerProvider;
}

describe('self-tracing', () => {
  it('is off by default: no TracerProvider, no spans', async () => {
    const { spans } = tracing(); // exists, but is not given to the bridge
    await new KataLogBridge({ loggerProvider: logs() }).emitLine(LINE);
    expect(spans.getFinishedSpans()).toEqual([]);
  });

  it('bridge: a batch span with parse and emit children', async () => {
    const { spans, tracerProvider } = tracing();
    const bridge = new KataLogBridge({ loggerProvider: logs(), tracerProvider });
    await bridge.emitLine(LINE);
    const byName = new Map(spans.getFinishedSpans().map((s) => [s.name, s]));
    expect([...byName.keys()].sort()).toEqual(['kata-otel.batch', 'kata-otel.emit', 'kata-otel.parse']);
    const batch = byName.get('kata-otel.batch')!;
    expect(batch.attributes).toMatchObject({
      [ATTR_KATA_OTEL_SOURCE_NAME]: 'bridge',
      [ATTR_KATA_OTEL_BATCH_ENTRIES]: 1,
      [ATTR_KATA_OTEL_BATCH_RECORDS]: 1,
    });
    for (const child of ['kata-otel.parse', 'kata-otel.emit']) {
      expect(byName.get(child)!.parentSpanContext?.spanId).toBe(batch.spanContext().spanId);
      expect(byName.get(child)!.spanContext().traceId).toBe(batch.spanContext().traceId);
    }
  });

  it('durable exporter: append and export spans, a failed attempt marked as an error', async () => {
    const server: OtlpTestServer = await startOtlpServer({ failure: { kind: 'unavailable', requests: 1 } });
    cleanups.push(() => server.stop());
    const { spans, tracerProvider } = tracing();
    const exporter = new DurableLogRecordExporter({
      directory: tempDir('kata-otel-durable-trace-'),
      otlp: { endpoint: server.grpcEndpoint, protocol: 'grpc' },
      queue: { retry: { initialMs: 20, maxMs: 50 } },
      tracerProvider,
    });
    const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
    cleanups.push(() => loggerProvider.shutdown());
    const logger = loggerProvider.getLogger('app');
    for (let i = 0; i < 3; i++) logger.emit({ body: seqText(i) });
    await loggerProvider.forceFlush();
    await exporter.forceFlush();
    expect(await exporter.drain(20_000)).toBe(true);
    const finished = spans.getFinishedSpans();
    const appends = finished.filter((s) => s.name === 'kata-otel.queue.append');
    expect(appends.map((s) => s.attributes[ATTR_KATA_OTEL_BATCH_RECORDS])).toEqual([1, 1, 1]);
    const exports = finished.filter((s) => s.name === 'kata-otel.export');
    expect(exports[0]?.attributes[ATTR_KATA_OTEL_EXPORT_OUTCOME]).toBe('retryable');
    expect(exports[0]?.status.code).toBe(2); // ERROR
    expect(exports.at(-1)?.attributes[ATTR_KATA_OTEL_EXPORT_OUTCOME]).toBe('success');
    const sent = exports
      .filter((s) => s.attributes[ATTR_KATA_OTEL_EXPORT_OUTCOME] === 'success')
      .reduce((n, s) => n + Number(s.attributes[ATTR_KATA_OTEL_BATCH_RECORDS]), 0);
    expect(sent).toBe(3);
    expect((await server.stats()).records).toBe(3);
  }, 30_000);
});
