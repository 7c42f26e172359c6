// The trace and metric encoders (receiver/otlp/encode-traces.ts, encode-metrics.ts) against the official
// generated protobuf code: the protobuf bytes decode to the spans / points we gave, and the OTLP/JSON form decodes
// to exactly the same message.
import { describe, expect, it } from 'vitest';
import { LifecycleMetrics } from '../../receiver/lifecycle/metrics.js';
import { encodeMetricsJson, encodeMetricsProto } from '../../receiver/otlp/encode-metrics.js';
import { encodeTracesJson, encodeTracesProto } from '../../receiver/otlp/encode-traces.js';
import { replay } from '../lifecycle/helpers.js';
import {
  officialDecodeMetrics,
  officialDecodeTraces,
  officialMetricsFromJson,
  officialTracesFromJson,
} from '../support/otlp-proto.js';

const hex = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('hex');

describe('trace and metric encoders', () => {
  it('spans: protobuf and OTLP/JSON carry the same spans, ids, times, status and events', () => {
    const spans = replay('vm-died.log').spans;
    const proto = officialDecodeTraces(encodeTracesProto(spans, { resource: { fill: { 'host.name': 'n1' } } }));
    const json = officialTracesFromJson(encodeTracesJson(spans, { resource: { fill: { 'host.name': 'n1' } } }));
    expect(json).toEqual(proto);
    const got = proto.resourceSpans!.flatMap((rs) => rs.scopeSpans!.flatMap((ss) => ss.spans!));
    expect(got).toHaveLength(spans.length);
    const res = proto.resourceSpans![0]!.resource!.attributes!.map((kv) => kv.key);
    expect(res).toEqual(expect.arrayContaining(['kata.sandbox.id', 'kata.component', 'host.name']));
    for (const s of spans) {
      const o = got.find((g) => hex(g.spanId) === s.spanId)!;
      expect(hex(o.traceId)).toBe(s.traceId);
      expect(hex(o.parentSpanId)).toBe(s.parentSpanId);
      expect([o.name, o.startTimeUnixNano, o.endTimeUnixNano]).toEqual([
        s.name,
        String(s.startTimeUnixNano),
        String(s.endTimeUnixNano),
      ]);
      expect(o.status?.code ?? 0).toBe(s.status.code);
      expect((o.events ?? []).map((e) => e.name)).toEqual(s.events.map((e) => e.name));
      // Resource attributes are not repeated on the span.
      expect((o.attributes ?? []).some((kv) => kv.key === 'kata.sandbox.id')).toBe(false);
    }
    const root = got.find((g) => g.name === 'kata.sandbox')!;
    expect(root.status).toEqual({ code: 2, message: expect.stringContaining('failed to ping hypervisor process') });
  });

  it('metrics: a cumulative histogram and a monotonic sum, the same in both forms', () => {
    const m = new LifecycleMetrics(1_000n);
    for (const s of replay('qemu-success.log').spans) m.span(s);
    m.startup({ hypervisor: 'qemu', runtime: 'go' }, 1.51);
    for (const s of replay('fail-vm-start.log').spans) m.span(s);
    const data = m.collect(2_000n);
    const resource = { 'service.name': 'kata-runtime' };
    const proto = officialDecodeMetrics(encodeMetricsProto(data, resource));
    expect(officialMetricsFromJson(encodeMetricsJson(data, resource))).toEqual(proto);
    const metrics = proto.resourceMetrics![0]!.scopeMetrics![0]!.metrics!;
    const vm = metrics.find((x) => x.name === 'kata.vm.start.duration')!;
    expect(vm.histogram?.aggregationTemporality).toBe(2);
    const p = vm.histogram!.dataPoints![0]!;
    expect([p.count, p.startTimeUnixNano, p.timeUnixNano]).toEqual(['1', '1000', '2000']);
    expect(p.sum).toBeCloseTo(0.07, 9);
    expect(p.bucketCounts?.length).toBe((p.explicitBounds?.length ?? 0) + 1);
    const failures = metrics.find((x) => x.name === 'kata.lifecycle.failures')!;
    expect(failures.sum).toMatchObject({ aggregationTemporality: 2, isMonotonic: true });
    expect(failures.sum!.dataPoints![0]!.asDouble).toBe(1);
    expect(failures.sum!.dataPoints![0]!.attributes!.find((kv) => kv.key === 'error.type')?.value?.stringValue).toBe(
      'vm_start_failed',
    );
  });
});
