// Recorded lifecycles (test/fixtures/lifecycle, from the research message tables) replay into the expected span
// trees with their durations; ids are deterministic; both copies of a shim record make one span; every record
// of a sandbox carries the trace and span of the innermost lifecycle span it belongs to.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { traceIdFor } from '../../receiver/lifecycle/ids.js';
import { renderWaterfall } from '../../receiver/lifecycle/waterfall.js';
import { parseText } from '../../receiver/parse/index.js';
import { DedupeStage } from '../../receiver/pipeline/dedupe.js';
import { FIXTURES, parseFixture, replay } from './helpers.js';

const CASES = [
  'qemu-success',
  'clh-success',
  'firecracker-success',
  'runtime-rs-success',
  'qemu-debug',
  'fail-vm-start',
  'fail-agent-timeout',
  'fail-container-create',
  'fail-container-start',
  'vm-died',
];

describe('lifecycle replay', () => {
  it.each(CASES)('%s replays into the expected span tree', (name) => {
    const { spans } = replay(`${name}.log`, { execs: true });
    expect(renderWaterfall(spans, { width: 0 })).toBe(readFileSync(join(FIXTURES, `${name}.expected.txt`), 'utf8'));
    // One trace per sandbox lifetime, every parent present, no span twice.
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    const ids = spans.map((s) => s.spanId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const s of spans) if (s.parentSpanId) expect(ids).toContain(s.parentSpanId);
    for (const s of spans) expect(s.endTimeUnixNano >= s.startTimeUnixNano).toBe(true);
  });

  it('uses the trace id of research §3.1 (sandbox id + shim pid) and the same ids on a second replay', () => {
    const a = replay('qemu-success.log').spans;
    const b = replay('qemu-success.log').spans;
    expect(b.map((s) => [s.name, s.spanId, s.parentSpanId])).toEqual(a.map((s) => [s.name, s.spanId, s.parentSpanId]));
    const sid = '5f1c0a7e9b2d4c3a8e6f1d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a';
    expect(a[0]?.traceId).toBe(traceIdFor(sid, 4242));
    // A different shim pid (the id re-used by a later run) is a different trace.
    expect(traceIdFor(sid, 4243)).not.toBe(traceIdFor(sid, 4242));
  });

  it('execs are spans only when asked for (one per probe otherwise)', () => {
    expect(replay('qemu-debug.log').spans.some((s) => s.name === 'kata.exec')).toBe(false);
    const ex = replay('qemu-debug.log', { execs: true }).spans.find((s) => s.name === 'kata.exec');
    expect(ex?.attributes['kata.exec.id']).toBe('probe-1');
  });

  it('the two copies of each shim record (journal `kata` + containerd) make no second span, with or without dedupe', () => {
    const lines = readFileSync(join(FIXTURES, 'qemu-success.log'), 'utf8').split('\n').filter(Boolean);
    const both = lines.flatMap((l) =>
      l.includes(' kata[')
        ? [l, l.replace(/ kata\[\d+\]:/, ' containerd[900]:').replace(/\.(\d{3})0{6}Z/, '.$1Z')]
        : [l],
    );
    const records = both.flatMap((l) => parseText(l, { observedTimeUnixNano: 1n }));
    const single = replay('qemu-success.log').spans;
    const doubled = replay(records).spans;
    expect(doubled.map((s) => s.spanId).sort()).toEqual(single.map((s) => s.spanId).sort());
    const deduped = new DedupeStage({ windowMs: 5000, maxKeys: 1000 }).process(
      both.flatMap((l) => parseText(l, { observedTimeUnixNano: 1n })),
    );
    expect(
      replay(deduped)
        .spans.map((s) => s.spanId)
        .sort(),
    ).toEqual(single.map((s) => s.spanId).sort());
  });

  it('stamps every sandbox record with the innermost lifecycle span and the phase', () => {
    const { spans, records } = replay('qemu-success.log');
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const nameOf = (body: string, cid?: string) => {
      const r = records.find((x) => x.body === body && (cid === undefined || x.attributes['container.id'] === cid));
      return r?.spanId ? byId.get(r.spanId)?.name : undefined;
    };
    expect(nameOf('launching /usr/bin/qemu-system-x86_64 with: [-name sandbox]')).toBe('kata.vm.start');
    expect(nameOf('New client')).toBe('kata.agent.connect');
    expect(nameOf('Container is started')).toBe('kata.container');
    expect(nameOf('Stopping Sandbox')).toBe('kata.vm.stop');
    expect(nameOf('shim disconnected')).toBe('kata.sandbox');
    for (const r of records) {
      if (r.attributes['kata.sandbox.id'] === undefined) continue;
      expect(r.traceId).toBe(spans[0]?.traceId);
      expect(byId.has(r.spanId ?? '')).toBe(true);
    }
    const phase = (body: string) => records.find((x) => x.body === body)?.attributes['kata.lifecycle.phase'];
    expect(phase('Starting VM')).toBe('creating');
    expect(phase('Container is started')).toBe('running');
    expect(phase('QEMU exited with an error')).toBe('stopping');
    expect(phase('shim disconnected')).toBe('stopped');
    const died = replay('vm-died.log').records.find((x) => x.body === 'QEMU exited with an error');
    expect(died?.attributes['kata.lifecycle.phase']).toBe('running');
  });

  it('agent and guest text never moves a lifecycle (the guest is hostile)', () => {
    const recs = parseFixture('qemu-success.log').slice(0, 4);
    // A guest line claiming the sandbox stopped: kata.component agent, so it is stamped but changes nothing.
    const forged = parseText(
      '{"msg":"Cleanup agent","level":"INFO","ts":"2026-11-30T10:00:00.050Z","pid":"1","name":"kata-agent","source":"agent","subsystem":"sandbox"}',
      { observedTimeUnixNano: 1n, attributes: { 'kata.sandbox.id': recs[0]?.attributes['kata.sandbox.id'] as string } },
    );
    const { spans, stage } = replay([...recs, ...forged]);
    expect(spans).toEqual([]);
    expect(stage.machine.phaseOf(String(recs[0]?.attributes['kata.sandbox.id']))).toBe('creating');
  });

  it('closes a sandbox idle past idle_ms as incomplete and keeps its open spans across a restart', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kata-otel-lc-'));
    const recs = parseFixture('qemu-success.log');
    const half = recs.findIndex((r) => r.body === 'Container is started');
    const first = replay(recs.slice(0, half), { dataDir });
    const second = replay(recs.slice(half), { dataDir });
    const whole = replay('qemu-success.log');
    const ids = (s: typeof whole.spans) => s.map((x) => x.spanId).sort();
    expect(ids([...first.spans, ...second.spans])).toEqual(ids(whole.spans));
    // A lifetime with no end: closed at its last record, marked incomplete.
    const open = replay(recs.slice(0, half));
    open.stage.flush(recs[half]!.timeUnixNano + 3_600_000n * 1_000_000n);
    const closed = open.stage.drain().spans;
    expect(closed.find((s) => s.name === 'kata.sandbox')?.attributes['kata.span.incomplete']).toBe(true);
    expect(closed.find((s) => s.name === 'kata.sandbox')?.endTimeUnixNano).toBe(recs[half - 1]!.timeUnixNano);
  });

  it('measures idle time in record time when the records are old (an import in follow mode closes nothing early)', () => {
    const readAt = BigInt(Date.now()) * 1_000_000n;
    // Written days ago, read now.
    const recs = parseFixture('qemu-success.log').map((r) => ({ ...r, observedTimeUnixNano: readAt }));
    const half = recs.findIndex((r) => r.body === 'Container is started');
    const { stage } = replay(recs.slice(0, half));
    // A second of reading later: the wall clock is days past these records, their own clock one second.
    stage.flush(readAt + 1_000_000_000n);
    expect(stage.drain().spans).toEqual([]);
    expect(stage.machine.phaseOf(String(recs[0]!.attributes['kata.sandbox.id']))).toBe('running');
  });
});
