// Self-tracing (`telemetry.traces`): a real receiver (`kata-otel run --once`, child process) over a log file of N
// Kata lines sends the records to the OTLP test server and its own spans to the same server's /v1/traces, decoded
// there with the official protos: per source batch a root kata-otel.batch with children kata-otel.parse and
// kata-otel.queue.append (same trace), and root kata-otel.export spans per export attempt, whose record counts add
// up to N, under resource service.name=kata-otel.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kataLines, tempDir, writeReceiverConfig } from '../e2e/delivery-helpers.js';
import { runCli } from '../support/cli.js';
import { startOtlpServer, type OtlpTestServer, type RecordedSpan } from '../support/otlp-server.js';
import {
  ATTR_KATA_OTEL_BATCH_ENTRIES,
  ATTR_KATA_OTEL_BATCH_RECORDS,
  ATTR_KATA_OTEL_EXPORT_OUTCOME,
  ATTR_KATA_OTEL_SOURCE_NAME,
  ATTR_SERVICE_NAME,
} from '../../receiver/semconv/generated.js';
import { SPAN_BATCH, SPAN_EXPORT, SPAN_PARSE, SPAN_QUEUE_APPEND } from '../../receiver/telemetry/spans.js';

const N = 3000; // several file batches
const SKEW = 1_000_000n; // 1 ms

function config(dir: string, server: OtlpTestServer, traces: boolean): { path: string; log: string } {
  const log = join(dir, 'containerd-shim-kata-v2.log');
  writeFileSync(log, kataLines(0, N));
  const path = writeReceiverConfig(dir, {
    dataDir: join(dir, 'data'),
    endpoint: server.grpcEndpoint,
    telemetry: false,
  });
  const doc = parse(readFileSync(path, 'utf8')) as { telemetry: Record<string, unknown> };
  doc.telemetry.traces = { enabled: traces, endpoint: `http://127.0.0.1:${server.httpPort}/v1/traces` };
  writeFileSync(path, stringify(doc));
  return { path, log };
}

const sum = (spans: RecordedSpan[], attr: string) => spans.reduce((a, s) => a + Number(s.attributes[attr]), 0);

describe('kata-otel run with telemetry.traces', () => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  /** `run --once` over the N lines: every record reaches the server; the spans it received. */
  async function runOnce(traces: boolean): Promise<RecordedSpan[]> {
    await server.reset();
    const { path, log } = config(tempDir('kata-otel-self-trace-'), server, traces);
    const r = await runCli(['run', '--once', '--config', path, log]);
    expect(r.code, r.stderr).toBe(0);
    expect((await server.stats()).records).toBe(N);
    return server.spans();
  }

  it('sends batch → parse / queue append spans and export spans with the record counts', async () => {
    const spans = await runOnce(true);
    expect(spans.length).toBeGreaterThan(0);
    for (const s of spans) {
      expect(s.resource[ATTR_SERVICE_NAME]).toBe('kata-otel');
      expect(s.scope.name).toBe('kata-otel');
      expect(BigInt(s.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(s.startTimeUnixNano));
    }
    const byName = (name: string) => spans.filter((s) => s.name === name);
    const batches = byName(SPAN_BATCH);
    expect(batches.length).toBeGreaterThan(1);
    expect(sum(batches, ATTR_KATA_OTEL_BATCH_ENTRIES)).toBe(N);
    expect(sum(batches, ATTR_KATA_OTEL_BATCH_RECORDS)).toBe(N);
    for (const b of batches) {
      expect(b.parentSpanId).toBe('');
      expect(b.attributes[ATTR_KATA_OTEL_SOURCE_NAME]).toBe('files');
      const children = spans.filter((s) => s.parentSpanId === b.spanId);
      expect(children.map((c) => c.name).sort()).toEqual([SPAN_PARSE, SPAN_QUEUE_APPEND].sort());
      for (const c of children) {
        expect(c.traceId).toBe(b.traceId);
        expect(c.attributes[ATTR_KATA_OTEL_BATCH_RECORDS]).toBe(b.attributes[ATTR_KATA_OTEL_BATCH_RECORDS]);
        // Within the batch span, give or take the SDK's clock anchoring (microseconds between spans).
        expect(BigInt(c.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(b.startTimeUnixNano) - SKEW);
        expect(BigInt(c.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(b.endTimeUnixNano) + SKEW);
      }
      const parse = children.find((c) => c.name === SPAN_PARSE)!;
      const append = children.find((c) => c.name === SPAN_QUEUE_APPEND)!;
      expect(BigInt(append.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(parse.endTimeUnixNano) - SKEW);
    }
    const exports = byName(SPAN_EXPORT);
    expect(exports.length).toBeGreaterThan(0);
    expect(sum(exports, ATTR_KATA_OTEL_BATCH_RECORDS)).toBe(N);
    for (const e of exports) {
      expect(e.parentSpanId).toBe('');
      expect(e.attributes[ATTR_KATA_OTEL_EXPORT_OUTCOME]).toBe('success');
    }
    expect(spans.length).toBe(3 * batches.length + exports.length);
  });

  it('sends no spans when off (the default)', async () => {
    expect(await runOnce(false)).toEqual([]);
  });
});
