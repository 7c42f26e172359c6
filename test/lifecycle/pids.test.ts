// A sandbox's lifetime is (sandbox id, shim pid), but a pid change alone does not end it: the Go shim's `start`
// process forks the daemon and `delete` runs as its own process, both logging with the sandbox id, and any local
// journal writer can put a new pid on every line ("pid storm"). Only a shim starting up (`loaded configuration`,
// runtime-rs `start to run`) begins a new lifetime. Whatever the pids, lifetimes held and the state stay bounded,
// and a batch that only moves a sandbox's last-record time does not rewrite the state file.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { traceIdFor } from '../../receiver/lifecycle/ids.js';
import { LifecycleStage } from '../../receiver/lifecycle/stage.js';
import { renderWaterfall } from '../../receiver/lifecycle/waterfall.js';
import { parseText } from '../../receiver/parse/index.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { FIXTURES, replay } from './helpers.js';

const SID = '5f1c0a7e9b2d4c3a8e6f1d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a';
const lines = (name: string) =>
  readFileSync(FIXTURES + name, 'utf8')
    .split('\n')
    .filter(Boolean);
const parse = (ls: string[]) => ls.flatMap((l) => parseText(l, { observedTimeUnixNano: 1n }));
const withPid = (line: string, pid: number) =>
  line.replaceAll('[4242]', `[${pid}]`).replaceAll('pid=4242', `pid=${pid}`);
/** A runtime line of the sandbox that is no lifecycle step, at second `s` of the fixture's day. */
const plain = (pid: number, s: number) =>
  `Nov 30 10:00:${String(s).padStart(2, '0')} node1 kata[${pid}]: time="2026-11-30T10:00:${String(s).padStart(2, '0')}.500000000Z" level=info msg="Sandbox monitor got a ping" name=containerd-shim-v2 pid=${pid} sandbox=${SID} source=virtcontainers subsystem=sandbox`;

describe('shim pids', () => {
  it('a new pid on every line but the shim start changes no span and no record trace', () => {
    const original = replay('qemu-success.log');
    let pid = 7000;
    const stormy = parse(
      lines('qemu-success.log').map((l) => (l.includes('loaded configuration') ? l : withPid(l, pid++))),
    );
    const got = replay(stormy);
    expect(renderWaterfall(got.spans, { width: 0 })).toBe(renderWaterfall(original.spans, { width: 0 }));
    expect(got.spans.map((s) => s.spanId)).toEqual(original.spans.map((s) => s.spanId));
    expect(got.records.map((r) => [r.traceId, r.spanId])).toEqual(original.records.map((r) => [r.traceId, r.spanId]));
    expect(got.stage.machine.lifetimes.size).toBe(1);
  });

  it('a new shim starting for the same sandbox id (loaded configuration) is a new trace; the old one ends incomplete', () => {
    const first = lines('qemu-success.log');
    const cut = first.findIndex((l) => l.includes('Container is started'));
    // The same sandbox id run again by another shim a minute later (`ctr run` re-uses ids).
    const again = first.map((l) =>
      withPid(l, 5151)
        .replaceAll('T10:00:', 'T10:01:')
        .replace(/^Nov 30 10:00/, 'Nov 30 10:01'),
    );
    const { spans, records } = replay(parse([...first.slice(0, cut), ...again]));
    const traces = new Set(spans.map((s) => s.traceId));
    expect(traces).toEqual(new Set([traceIdFor(SID, 4242), traceIdFor(SID, 5151)]));
    const oldRoot = spans.find((s) => s.name === 'kata.sandbox' && s.traceId === traceIdFor(SID, 4242));
    expect(oldRoot?.attributes['kata.span.incomplete']).toBe(true);
    const fresh = spans.filter((s) => s.traceId === traceIdFor(SID, 5151));
    const whole = replay('qemu-success.log').spans;
    expect(fresh.map((s) => s.name).sort()).toEqual(whole.map((s) => s.name).sort());
    expect(
      records.slice(cut).every((r) => !r.attributes['kata.sandbox.id'] || r.traceId === traceIdFor(SID, 5151)),
    ).toBe(true);
  });

  it('a pid storm of plain lines keeps one lifetime and makes no span', () => {
    const recs = parse(Array.from({ length: 3000 }, (_, i) => plain(10_000 + i, 1 + Math.floor(i / 100))));
    const { spans, records, stage } = replay(recs);
    // The first line opens the lifetime (no earlier one known); every later pid joins it.
    expect(stage.machine.lifetimes.size).toBe(1);
    expect(spans).toEqual([]);
    expect(new Set(records.map((r) => r.traceId))).toEqual(new Set([traceIdFor(SID, 10_000)]));
  });

  it('a storm of shim starts (a hostile writer) holds a bounded number of lifetimes and state', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kata-otel-lc-storm-'));
    const start = (pid: number, i: number) =>
      withPid(lines('qemu-success.log')[0] as string, pid).replace(
        '00.000000000Z',
        `00.${String(i).padStart(9, '0')}Z`,
      );
    const recs = parse(Array.from({ length: 1200 }, (_, i) => start(20_000 + i, i)));
    const { spans, stage } = replay(recs, { dataDir });
    expect(stage.machine.lifetimes.size).toBeLessThanOrEqual(513);
    // Each replaced lifetime ends (root + create, incomplete); the open last one ends at idle.
    expect(spans.length).toBe(2 * 1199);
    expect(statSync(join(dataDir, 'lifecycle', 'state.json')).size).toBeLessThan(2_000_000);
  });

  it('rewrites the state after a lifecycle step or a new lifetime, not after batches of plain lines, and at shutdown', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kata-otel-lc-state-'));
    const stage = new LifecycleStage({
      execs: false,
      idleMs: 3_600_000,
      retainMs: 600_000,
      logger: silentLogger,
      dataDir,
    });
    const batch = (ls: string[]) => {
      stage.process(parse(ls));
      return stage.drain();
    };
    const path = join(dataDir, 'lifecycle', 'state.json');
    const opened = batch(lines('qemu-success.log').slice(0, 3));
    expect(opened.durable).toBeTypeOf('function');
    opened.durable?.();
    const saved = readFileSync(path, 'utf8');
    // Plain lines within the idle-clock interval: no snapshot to write.
    for (let s = 1; s < 5; s++) expect(batch([plain(4242, s), plain(4242, s)]).durable).toBeUndefined();
    // A lifecycle step: written.
    const step = batch([lines('qemu-success.log').find((l) => l.includes('msg="VM started"')) as string]);
    expect(step.durable).toBeTypeOf('function');
    step.durable?.();
    expect(readFileSync(path, 'utf8')).not.toBe(saved);
    // Plain lines then shutdown: the last snapshot carries their last-record time.
    expect(batch([plain(4242, 30)]).durable).toBeUndefined();
    stage.close();
    const last = stage.drain();
    expect(last.durable).toBeTypeOf('function');
    last.durable?.();
    const state = JSON.parse(readFileSync(path, 'utf8')) as { lifetimes: { lastNs: string }[] };
    expect(state.lifetimes[0]?.lastNs).toBe(String(Date.parse('2026-11-30T10:00:30.5Z') * 1_000_000));
  });
});
