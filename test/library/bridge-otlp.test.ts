// The same user LoggerProvider, now with the OTel project's OTLP gRPC exporter (@opentelemetry/exporter-logs-otlp-grpc)
// behind a batch processor: bridged Kata records reach the OTLP test server (official protos) with every field.
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTR_SERVICE_NAME,
  KataLogBridge,
  SCOPE_NAME,
  SCOPE_VERSION,
  type KataLogRecord,
} from '../../receiver/api/index.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';

const SANDBOX = '0000000000000000000000000000000000000000000000000000000000c0ffee';
const LINES = [
  `Nov 20 16:20:02 demo-node kata[41001]: time="2025-11-20T16:20:02.481026977Z" level=info msg="VM started" name=containerd-shim-v2 pid=41001 sandbox=${SANDBOX} source=virtcontainers subsystem=sandbox`,
  `Nov 20 16:20:03 demo-node kata[41001]: time="2025-11-20T16:20:03.000000001Z" level=error msg="hypervisor failed" name=containerd-shim-v2 pid=41001 sandbox=${SANDBOX} source=virtcontainers subsystem=qemu`,
  '{"msg":"announce","level":"INFO","ts":"2021-07-14T14:56:42.558066805+08:00","source":"agent","pid":"88325","subsystem":"root","name":"kata-agent"}',
  'this is not a Kata log line at all',
];

describe('KataLogBridge → sdk-logs → exporter-logs-otlp-grpc → OTLP test server', () => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('delivers every bridged record with every field on the official protos', async () => {
    const loggerProvider = new LoggerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'kata-node-agent' }),
      processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: server.grpcEndpoint }) })],
    });
    const bridge = new KataLogBridge({ loggerProvider });
    const sent: KataLogRecord[] = [];
    const observed = 1_763_655_609_000_000_007n;
    for (const l of LINES) sent.push(...(await bridge.emitLine(l, { observedTimeUnixNano: observed })));
    // A record correlated to a trace (as the lifecycle span builder will link them).
    const linked = {
      ...(sent[0] as KataLogRecord),
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
    };
    sent.push(...bridge.emitRecords([linked]));
    await loggerProvider.forceFlush();
    await loggerProvider.shutdown();

    const got = await server.records();
    expect(got).toHaveLength(sent.length);
    got.forEach((g, i) => {
      const s = sent[i] as KataLogRecord;
      expect(g.transport).toBe('grpc');
      expect(g.resource[ATTR_SERVICE_NAME]).toBe('kata-node-agent');
      expect(g.scope).toEqual({ name: SCOPE_NAME, version: SCOPE_VERSION });
      expect(g.timeUnixNano).toBe(String(s.timeUnixNano > 0n ? s.timeUnixNano : s.observedTimeUnixNano));
      expect(g.observedTimeUnixNano).toBe(String(observed));
      expect(g.severityNumber).toBe(s.severityNumber);
      expect(g.severityText).toBe(s.severityText);
      expect(g.body).toBe(s.body);
      expect(g.attributes).toEqual(s.attributes);
      expect(g.eventName).toBe(s.eventName);
      expect(g.traceId).toBe(s.traceId);
      expect(g.spanId).toBe(s.spanId);
    });
    expect(got.map((g) => g.severityNumber)).toEqual([9, 17, 9, 0, 9]);
    expect(got[4]?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  }, 30_000);
});
