// `kata-otel run --once` over recorded lifecycles into the real OTLP test server (official protos): spans arrive
// over gRPC, HTTP/protobuf and HTTP/JSON, every sandbox record carries the trace and a span that arrived, and an
// alert leads through its span to the sandbox root and to the records that raised it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { otlpExporterCases, startOtlpServer, type OtlpTestServer, type RecordedSpan } from '../support/otlp-server.js';
import { FIXTURES } from '../lifecycle/helpers.js';

function writeConfig(dir: string, exporter: string): string {
  const path = join(dir, 'kata-otel.yaml');
  writeFileSync(
    path,
    `data_dir: ${join(dir, 'data')}\ntelemetry: { listen: null }\nexporters:\n${exporter}\nqueue:\n  retry:\n    initial_ms: 200\n    max_ms: 1000\n`,
  );
  return path;
}

describe('lifecycle traces → real OTLP server', () => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  const cases = otlpExporterCases(() => server);

  for (const [transport, exporter] of cases) {
    it(`spans, logs and alerts line up over ${transport}`, async () => {
      await server.reset();
      const dir = mkdtempSync(join(tmpdir(), 'kata-otel-traces-'));
      const res = await runCli(['run', '--once', '--config', writeConfig(dir, exporter()), FIXTURES + 'vm-died.log']);
      expect(res.stderr).not.toMatch(/"level":"error"/);
      expect(res.code).toBe(0);
      const spans = await server.spans();
      const logs = await server.records();
      expect(spans.every((s) => s.transport === transport)).toBe(true);
      const names = spans.map((s) => s.name).sort();
      expect(names).toEqual(
        [
          'kata.sandbox',
          'kata.sandbox.create',
          'kata.vm.start',
          'kata.agent.connect',
          'kata.container.create',
          'kata.container',
          'kata.container.create',
          'kata.sandbox.stop',
          'kata.agent.destroy_sandbox',
          'kata.vm.stop',
        ].sort(),
      );
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      expect(byId.size).toBe(spans.length);
      const root = spans.find((s) => s.name === 'kata.sandbox') as RecordedSpan;
      expect(root.parentSpanId).toBe('');
      expect(root.status.code).toBe(2);
      expect(root.attributes['error.type']).toBe('sandbox_stopped_unexpectedly');
      expect(root.resource['service.name']).toBe('kata-runtime');
      expect(root.resource['kata.sandbox.id']).toBe('5f1c0a7e9b2d4c3a8e6f1d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a');
      // Every sandbox record is in the trace, on a span the backend has.
      const sandboxLogs = logs.filter((r) => r.resource['kata.sandbox.id'] !== undefined);
      expect(sandboxLogs.length).toBeGreaterThan(30);
      for (const r of sandboxLogs) {
        expect(r.traceId).toBe(root.traceId);
        expect(byId.has(r.spanId ?? '')).toBe(true);
      }
      // An alert → its span → up to the root; its trigger uids → the records that raised it, in the same trace.
      const alert = logs.find(
        (r) => r.eventName === 'kata.alert' && r.attributes['kata.alert.rule.id'] === 'kata-hypervisor-crashed',
      );
      expect(alert?.traceId).toBe(root.traceId);
      let span = byId.get(alert?.spanId ?? '');
      const path: string[] = [];
      while (span) {
        path.push(span.name);
        span = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
      }
      expect(path[path.length - 1]).toBe('kata.sandbox');
      const uids = alert?.attributes['kata.alert.trigger.uids'] as string[];
      const triggers = logs.filter((r) => uids.includes(String(r.attributes['log.record.uid'])));
      expect(triggers.length).toBe(uids.length);
      expect(triggers.map((t) => t.body)).toContain('QEMU exited with an error');
      for (const t of triggers) {
        expect(t.traceId).toBe(root.traceId);
        expect(t.spanId).toBe(alert?.spanId);
      }
    }, 60_000);
  }

  it('derived lifecycle metrics arrive as cumulative histograms and counters', async () => {
    await server.reset();
    const dir = mkdtempSync(join(tmpdir(), 'kata-otel-metrics-'));
    // A second sandbox lifetime (another shim pid) whose agent never answers.
    const failed = join(dir, 'agent-timeout.log');
    writeFileSync(
      failed,
      readFileSync(FIXTURES + 'fail-agent-timeout.log', 'utf8')
        .replace(/4242/g, '4343')
        .replace(/10:00:/g, '10:30:'),
    );
    const exporter = `  - type: otlp\n    protocol: grpc\n    endpoint: ${server.grpcEndpoint}`;
    const res = await runCli([
      'run',
      '--once',
      '--config',
      writeConfig(dir, exporter),
      FIXTURES + 'qemu-success.log',
      failed,
    ]);
    expect(res.code, res.stderr).toBe(0);
    const points = await server.metrics();
    const one = (name: string, attrs: Record<string, unknown> = {}) => {
      const got = points.filter(
        (p) => p.name === name && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v),
      );
      expect(got, name).toHaveLength(1);
      return got[0]!;
    };
    const vm = one('kata.vm.start.duration', { 'kata.hypervisor.name': 'qemu', 'kata.runtime': 'go' });
    expect([vm.type, vm.unit, vm.temporality, vm.count]).toEqual(['histogram', 's', 'cumulative', 2]);
    expect(vm.sum).toBeCloseTo(0.14, 6);
    // 0.899 s falls in the (0.5, 1] bucket.
    const agent = one('kata.agent.connect.duration');
    expect(agent.count).toBe(1);
    expect(agent.bucketCounts?.[(agent.explicitBounds ?? []).indexOf(1)]).toBe(1);
    expect(one('kata.sandbox.startup.duration').sum).toBeCloseTo(1.51, 6);
    expect(one('kata.sandbox.teardown.duration').sum).toBeCloseTo(0.05, 6);
    expect(one('kata.container.create.duration').count).toBe(2);
    const failures = one('kata.lifecycle.failures', { 'error.type': 'agent_connect_timeout' });
    expect([failures.type, failures.isMonotonic, failures.value]).toEqual(['sum', true, 1]);
    const records = points.filter((p) => p.name === 'kata.log.records');
    const total = records.reduce((n, p) => n + Number(p.value), 0);
    expect(total).toBe((await server.records()).filter((r) => r.eventName !== 'kata.alert').length);
    expect(records.some((p) => p.attributes['kata.component'] === 'containerd')).toBe(true);
    expect(vm.resource['service.name']).toBe('kata-runtime');
  }, 60_000);
});
