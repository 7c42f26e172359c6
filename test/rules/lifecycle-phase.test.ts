// Rules that know the lifecycle: the built-in hypervisor-crash rule reads `kata.lifecycle.phase` (set by the
// lifecycle stage), so the same hypervisor exit line alerts while the sandbox runs and stays quiet once a stop of
// the sandbox has begun.
import { describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { parseText } from '../../receiver/parse/index.js';
import { RuleEngine, loadRuleFiles } from '../../receiver/rules/index.js';
import { EVENT_KATA_ALERT } from '../../receiver/semconv/generated.js';
import { parseFixture, replay } from '../lifecycle/helpers.js';

const RULE = 'kata-hypervisor-crashed';

function alertsOf(records: KataLogRecord[]): KataLogRecord[] {
  const engine = new RuleEngine({ rules: loadRuleFiles('builtin') });
  return engine
    .process(records)
    .filter((r) => r.eventName === EVENT_KATA_ALERT && r.attributes['kata.alert.rule.id'] === RULE);
}

/** The same exit line, with its time set to `ms` after the fixture's start. */
function qemuExit(error: string, base: bigint, ms: number): KataLogRecord[] {
  const recs = parseText(
    `Nov 30 10:00:00 node1 kata[4242]: time="2026-11-30T10:00:00.000000000Z" level=warning msg="QEMU exited with an error" error="${error}" name=containerd-shim-v2 pid=4242 qemuPid=5151 sandbox=5f1c0a7e9b2d4c3a8e6f1d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a source=virtcontainers/hypervisor subsystem=qemu`,
    { observedTimeUnixNano: 1n },
  );
  for (const r of recs) r.timeUnixNano = base + BigInt(ms) * 1_000_000n;
  return recs;
}

/** qemu-success.log with the exit line moved to `at` (a record body the exit goes right after). */
function withExitAfter(at: string, error: string): KataLogRecord[] {
  const recs = parseFixture('qemu-success.log').filter((r) => r.body !== 'QEMU exited with an error');
  const i = recs.findIndex((r) => r.body === at);
  const exit = qemuExit(error, recs[i]!.timeUnixNano, 1);
  return [...recs.slice(0, i + 1), ...exit, ...recs.slice(i + 1)];
}

describe('hypervisor exit × lifecycle phase', () => {
  for (const error of ['signal: killed', 'signal: segmentation fault (core dumped)', 'exit status 1']) {
    it(`"${error}" while the sandbox runs is an incident`, () => {
      const { records } = replay(withExitAfter('Container is started', error));
      const exit = records.find((r) => r.body === 'QEMU exited with an error');
      expect(exit?.attributes['kata.lifecycle.phase']).toBe('running');
      const alerts = alertsOf(records);
      expect(alerts).toHaveLength(1);
      // The alert sits in the sandbox's trace, on the span of its triggering record.
      expect(alerts[0]?.traceId).toBe(exit?.traceId);
      expect(alerts[0]?.spanId).toBe(exit?.spanId);
    });

    it(`"${error}" inside the teardown is quiet`, () => {
      const { records } = replay(withExitAfter('Stopping VM', error));
      expect(records.find((r) => r.body === 'QEMU exited with an error')?.attributes['kata.lifecycle.phase']).toBe(
        'stopping',
      );
      expect(alertsOf(records)).toEqual([]);
    });
  }

  it('the recorded crash (vm-died) alerts, the recorded teardown (qemu-success) does not', () => {
    expect(alertsOf(replay('vm-died.log').records)).toHaveLength(1);
    expect(alertsOf(replay('qemu-success.log').records)).toEqual([]);
  });

  it('without lifecycle tracking it falls back to the message: `signal: killed` is taken for the teardown', () => {
    const bare = (error: string) => qemuExit(error, 1_796_032_800_000_000_000n, 0);
    expect(alertsOf(bare('signal: killed'))).toEqual([]);
    expect(alertsOf(bare('signal: segmentation fault (core dumped)'))).toHaveLength(1);
  });
});
