// A receiver SIGKILLed in the middle of a sandbox lifecycle and started again completes the same trace: the
// spans of both runs, together, are exactly those of one uninterrupted replay (same ids, none twice), and every
// log record in the store points at one of them. Real child processes, a real file source and the real store.
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, replay } from '../lifecycle/helpers.js';
import { runCli } from '../support/cli.js';
import { startReceiver, tempDir, waitFor } from './delivery-helpers.js';

interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}

function storeSpans(dir: string): JsonSpan[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('traces-'))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    .flatMap((l) =>
      (JSON.parse(l) as { resourceSpans: { scopeSpans: { spans: JsonSpan[] }[] }[] }).resourceSpans.flatMap((rs) =>
        rs.scopeSpans.flatMap((ss) => ss.spans),
      ),
    );
}

function storeLogs(dir: string): { body: { stringValue: string }; traceId?: string; spanId?: string }[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('logs-'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    .flatMap((l) =>
      (
        JSON.parse(l) as {
          resourceLogs: { scopeLogs: { logRecords: { body: { stringValue: string }; traceId?: string }[] }[] }[];
        }
      ).resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords)),
    );
}

describe('SIGKILL in the middle of a lifecycle', () => {
  it('the restarted receiver completes the same trace with no span twice', async () => {
    const dir = tempDir('kata-otel-lc-kill-');
    const lines = readFileSync(FIXTURES + 'qemu-success.log', 'utf8')
      .split('\n')
      .filter(Boolean);
    const cut = lines.findIndex((l) => l.includes('msg="Container is started"'));
    const log = join(dir, 'kata.log');
    writeFileSync(log, lines.slice(0, cut).join('\n') + '\n');
    const config = join(dir, 'kata-otel.yaml');
    writeFileSync(
      config,
      [
        `data_dir: ${join(dir, 'data')}`,
        'telemetry: { listen: null }',
        'exporters: [{ type: store }]',
        // The node checks' findings are records of no sandbox (no span): this test counts sandbox records only.
        'doctor: { enabled: false }',
        `sources: { files: [{ include: [${JSON.stringify(log)}], start_at: beginning }] }`,
      ].join('\n'),
    );
    const store = join(dir, 'data', 'store');

    const first = startReceiver(config);
    // Mid-lifecycle: the sandbox is created (its create spans are stored), the app container is still open.
    await waitFor(
      'the first spans in the store',
      () => {
        try {
          return storeSpans(store).some((s) => s.name === 'kata.sandbox.create');
        } catch {
          return false;
        }
      },
      30_000,
    );
    const killed = await first.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const before = storeSpans(store);
    expect(before.some((s) => s.name === 'kata.sandbox')).toBe(false);

    appendFileSync(log, lines.slice(cut).join('\n') + '\n');
    const res = await runCli(['run', '--once', '--config', config]);
    expect(res.code, res.stderr).toBe(0);

    const got = storeSpans(store);
    const want = replay('qemu-success.log').spans;
    const ids = got.map((s) => s.spanId).sort();
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(want.map((s) => s.spanId).sort());
    expect(new Set(got.map((s) => s.traceId))).toEqual(new Set([want[0]?.traceId]));
    // Same parents and the same times: the root still starts at the first record of the first run (state file).
    for (const s of got) {
      const w = want.find((x) => x.spanId === s.spanId);
      expect(s.parentSpanId ?? '').toBe(w?.parentSpanId);
      expect([s.name, s.startTimeUnixNano, s.endTimeUnixNano]).toEqual([
        w?.name,
        String(w?.startTimeUnixNano),
        String(w?.endTimeUnixNano),
      ]);
    }
    const spanIds = new Set(ids);
    for (const r of storeLogs(store)) expect(spanIds.has(r.spanId ?? ''), r.body.stringValue).toBe(true);
  }, 90_000);
});
