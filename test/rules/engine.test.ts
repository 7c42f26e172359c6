import { describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { RuleEngine } from '../../receiver/rules/engine.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_ALERT_SEVERITY,
  ATTR_KATA_ALERT_SUPPRESSED_COUNT,
  ATTR_KATA_ALERT_TRIGGER_UIDS,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_SANDBOX_ID,
  ATTR_LOG_RECORD_UID,
  ATTR_SECURITY_RULE_CATEGORY,
  ATTR_SECURITY_RULE_DESCRIPTION,
  ATTR_SECURITY_RULE_NAME,
  ATTR_SECURITY_RULE_REFERENCE,
  ATTR_SECURITY_RULE_RULESET_NAME,
  ATTR_SERVICE_NAME,
  EVENT_KATA_ALERT,
} from '../../receiver/semconv/generated.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { SEC, T0, rec, rules, sandbox } from './helpers.js';

const MIN = 60n * SEC;
const CLOCK = 42n;

function engine(yaml: string, extra: Partial<ConstructorParameters<typeof RuleEngine>[0]> = {}) {
  return new RuleEngine({ rules: rules(yaml), clock: () => CLOCK, ...extra });
}
const alertsOf = (out: KataLogRecord[]) => out.filter((r) => r.eventName === EVENT_KATA_ALERT);

const MATCH = `
- ruleset: tests
- rule: panic
  name: Guest panic
  desc: The guest kernel panicked.
  condition: body contains "Kernel panic"
  output: 'panic in %{kata.sandbox.id}: %body'
  priority: critical
  category: integrity
  references: [https://example.com/panic]
  tags: [T1499]
`;

describe('match rules and the alert record', () => {
  it('passes records through and appends an OTel event with the rule, severity and sandbox', () => {
    const e = engine(MATCH);
    const trigger = rec(
      'Kernel panic - not syncing',
      { ...sandbox('sb9', 'c1'), 'kata.field.extra': 'x' },
      { t: T0 + 5n },
    );
    trigger.traceId = '0af7651916cd43dd8448eb211c80319c';
    const quiet = rec('all fine');
    const out = e.process([quiet, trigger]);
    expect(out.slice(0, 2)).toEqual([quiet, trigger]);
    const [alert] = alertsOf(out);
    expect(alert).toMatchObject({
      eventName: EVENT_KATA_ALERT,
      timeUnixNano: T0 + 5n,
      observedTimeUnixNano: CLOCK,
      severityNumber: 21,
      severityText: 'critical',
      body: 'panic in sb9: Kernel panic - not syncing',
      traceId: '0af7651916cd43dd8448eb211c80319c',
    });
    expect(alert?.attributes).toEqual({
      [ATTR_SERVICE_NAME]: 'kata-agent',
      'service.namespace': 'kata-containers',
      [ATTR_KATA_COMPONENT]: 'agent',
      [ATTR_KATA_SANDBOX_ID]: 'sb9',
      'host.name': 'node1',
      [ATTR_CONTAINER_ID]: 'c1',
      [ATTR_KATA_ALERT_RULE_ID]: 'panic',
      [ATTR_KATA_ALERT_SEVERITY]: 'critical',
      [ATTR_SECURITY_RULE_NAME]: 'Guest panic',
      [ATTR_SECURITY_RULE_DESCRIPTION]: 'The guest kernel panicked.',
      [ATTR_SECURITY_RULE_CATEGORY]: 'integrity',
      [ATTR_SECURITY_RULE_REFERENCE]: 'https://example.com/panic',
      [ATTR_SECURITY_RULE_RULESET_NAME]: 'tests',
      [ATTR_KATA_ALERT_TRIGGER_UIDS]: [trigger.attributes[ATTR_LOG_RECORD_UID]],
    });
  });

  it('maps each severity to the SeverityNumber of the semconv registry', () => {
    const expected = { info: 9, low: 13, medium: 17, high: 18, critical: 21 };
    for (const [sev, num] of Object.entries(expected)) {
      const e = engine(MATCH.replace('priority: critical', `priority: ${sev}`));
      expect(alertsOf(e.process([rec('Kernel panic')]))[0]?.severityNumber).toBe(num);
    }
  });

  it('uses observed time when a record has no time of its own, and never alerts on alerts', () => {
    const e = engine(MATCH);
    const r = rec('Kernel panic', {}, { t: 0n });
    const [alert] = alertsOf(e.process([r]));
    expect(alert?.timeUnixNano).toBe(r.observedTimeUnixNano);
    const again = engine(MATCH.replace('Kernel panic', 'panic in'));
    expect(again.process([alert as KataLogRecord])).toEqual([alert]); // passed through, nothing added
  });

  it('skips disabled rules, counts alerts in the metrics, calls onAlert, survives a throwing hook', () => {
    const metrics = new Metrics();
    const seen: string[] = [];
    const e = engine(
      MATCH + MATCH.replace('- ruleset: tests', '').replace('rule: panic', 'rule: off').concat('  enabled: false\n'),
      {
        metrics,
        onAlert: (a) => {
          seen.push(a.body);
          throw new Error('hook broke');
        },
      },
    );
    expect(e.rules.map((r) => r.id)).toEqual(['panic']);
    expect(alertsOf(e.process([rec('Kernel panic', sandbox('a')), rec('Kernel panic', sandbox('b'))]))).toHaveLength(2);
    expect(seen).toEqual(['panic in a: Kernel panic', 'panic in b: Kernel panic']);
    return metrics.text().then((t) => expect(t).toMatch(/kata_otel_alerts_total\{rule="panic"\} 2/));
  });
});

describe('deduplication and suppression', () => {
  const DEDUP = MATCH.replace('  tags: [T1499]', '  dedup_window: 5m');

  it('raises one alert per key per window and reports the suppressed count when the window ends', () => {
    const e = engine(DEDUP);
    const first = alertsOf(e.process([rec('Kernel panic', sandbox('a'), { t: T0 })]));
    expect(first).toHaveLength(1);
    expect(first[0]?.attributes[ATTR_KATA_ALERT_SUPPRESSED_COUNT]).toBeUndefined();
    const dupes = [
      rec('Kernel panic 2', sandbox('a'), { t: T0 + MIN }),
      rec('Kernel panic 3', sandbox('a'), { t: T0 + 2n * MIN }),
    ];
    expect(alertsOf(e.process(dupes))).toEqual([]);
    // another sandbox is another key
    expect(alertsOf(e.process([rec('Kernel panic', sandbox('b'), { t: T0 + MIN })]))).toHaveLength(1);
    expect(e.flush(T0 + 5n * MIN - 1n)).toEqual([]); // window still open
    const summary = e.flush(T0 + 5n * MIN);
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({
      timeUnixNano: T0 + 2n * MIN,
      body: 'panic in a: Kernel panic 3 (+2 similar suppressed)',
    });
    expect(summary[0]?.attributes[ATTR_KATA_ALERT_SUPPRESSED_COUNT]).toBe(2);
    expect(summary[0]?.attributes[ATTR_KATA_ALERT_TRIGGER_UIDS]).toEqual(
      dupes.map((d) => d.attributes[ATTR_LOG_RECORD_UID]),
    );
    expect(e.flush(T0 + 60n * MIN)).toEqual([]); // reported once
    expect(alertsOf(e.process([rec('Kernel panic', sandbox('a'), { t: T0 + 6n * MIN })]))).toHaveLength(1);
  });

  it('hands the count of an unflushed window to the next alert', () => {
    const e = engine(DEDUP);
    e.process([rec('Kernel panic', sandbox('a'), { t: T0 }), rec('Kernel panic', sandbox('a'), { t: T0 + SEC })]);
    const [next] = alertsOf(e.process([rec('Kernel panic', sandbox('a'), { t: T0 + 10n * MIN })]));
    expect(next?.attributes[ATTR_KATA_ALERT_SUPPRESSED_COUNT]).toBe(1);
    expect(next?.body).toBe('panic in a: Kernel panic (+1 similar suppressed)');
  });

  it('alerts on every match with dedup_window: 0, and closeWindows() empties open windows', () => {
    const every = engine(MATCH.replace('  tags: [T1499]', '  dedup_window: 0'));
    expect(alertsOf(every.process([rec('Kernel panic'), rec('Kernel panic')]))).toHaveLength(2);
    const e = engine(DEDUP);
    e.process([rec('Kernel panic', sandbox('a')), rec('Kernel panic', sandbox('a'))]);
    const closed = e.closeWindows();
    expect(closed.map((a) => a.attributes[ATTR_KATA_ALERT_SUPPRESSED_COUNT])).toEqual([1]);
    expect(e.closeWindows()).toEqual([]);
  });
});

const THRESHOLD = `
- rule: create-failures
  desc: repeated failures
  kind: threshold
  condition: body = "Cannot start VM"
  count: 3
  window: 5m
  group_by: [host.name]
  output: '%{count} failures within %{window} on %{host.name}'
  priority: medium
`;

describe('threshold rules', () => {
  const fail = (min: bigint, host = 'node1', sec = 0n) =>
    rec('Cannot start VM', { 'host.name': host }, { t: T0 + min * MIN + sec * SEC });

  it('fires when count matches fall in one sliding window of one key', () => {
    const e = engine(THRESHOLD);
    expect(alertsOf(e.process([fail(0n), fail(2n), fail(0n, 'node2')]))).toEqual([]);
    const out = alertsOf(e.process([fail(4n, 'node1', 59n)]));
    expect(out).toHaveLength(1);
    expect(out[0]?.body).toBe('3 failures within 5m on node1');
    expect(out[0]?.attributes[ATTR_KATA_ALERT_TRIGGER_UIDS]).toHaveLength(3);
  });

  it('does not fire when the matches are spread wider than the window', () => {
    const e = engine(THRESHOLD);
    expect(alertsOf(e.process([fail(0n), fail(3n), fail(6n), fail(9n), fail(12n)]))).toEqual([]);
    // but three inside one 5m span anywhere in the stream do
    expect(alertsOf(e.process([fail(13n)]))).toHaveLength(1); // 9, 12, 13
  });

  it('handles records that arrive out of order', () => {
    const e = engine(THRESHOLD);
    expect(alertsOf(e.process([fail(10n), fail(6n)]))).toEqual([]);
    // 6, 8, 10: the late record completes a window that started before it
    expect(alertsOf(e.process([fail(8n)]))).toHaveLength(1);
  });

  it('after firing, further matches in the dedup window are suppressed and reported at its end', () => {
    const e = engine(THRESHOLD);
    expect(alertsOf(e.process([fail(0n), fail(1n), fail(2n)]))).toHaveLength(1);
    expect(alertsOf(e.process([fail(3n), fail(4n), fail(5n), fail(6n)]))).toEqual([]);
    const [summary] = e.flush(T0 + 7n * MIN);
    expect(summary?.attributes[ATTR_KATA_ALERT_SUPPRESSED_COUNT]).toBe(4);
    // a fresh window needs `count` new matches
    expect(alertsOf(e.process([fail(8n), fail(9n)]))).toEqual([]);
    expect(alertsOf(e.process([fail(10n)]))).toHaveLength(1);
  });
});

const ABSENCE = `
- rule: agent-silent
  desc: agent silent
  kind: absence
  start: kata.component = agent
  condition: kata.component = agent
  stop: body = "Stopping VM"
  timeout: 10m
  output: 'no agent record from %{kata.sandbox.id} for %{window}'
  priority: medium
`;

// Records of the absence tests: an agent record and a runtime record of a sandbox, `min` minutes after T0.
const agent = (min: bigint, sb = 'sb1') =>
  rec('rpc call from shim to agent: "stats_container"', sandbox(sb), { t: T0 + min * MIN });
const runtime = (body: string, min: bigint, sb = 'sb1') =>
  rec(
    body,
    { ...sandbox(sb), [ATTR_KATA_COMPONENT]: 'runtime', [ATTR_SERVICE_NAME]: 'kata-runtime' },
    { t: T0 + min * MIN },
  );

describe('absence rules', () => {
  it('fires when an armed key sees no expected record for the timeout, once, at the deadline', () => {
    const e = engine(ABSENCE);
    expect(alertsOf(e.process([agent(0n), agent(4n)]))).toEqual([]);
    expect(e.flush(T0 + 13n * MIN)).toEqual([]); // 9 minutes after the last agent record
    const out = e.flush(T0 + 14n * MIN);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ timeUnixNano: T0 + 14n * MIN, body: 'no agent record from sb1 for 10m' });
    expect(out[0]?.attributes[ATTR_KATA_SANDBOX_ID]).toBe('sb1');
    expect(e.flush(T0 + 30n * MIN)).toEqual([]); // not again while still silent
    // the agent speaks again: re-armed, and a new silence alerts again after the dedup window
    e.process([agent(31n)]);
    expect(e.flush(T0 + 41n * MIN)).toHaveLength(1);
  });

  it('is disarmed by the stop condition and ignores keys never armed or without a sandbox id', () => {
    const e = engine(ABSENCE);
    e.process([agent(0n, 'a'), agent(0n, 'b'), runtime('Stopping VM', 1n, 'a'), runtime('VM started', 0n, 'c')]);
    e.process([rec('no sandbox here', { [ATTR_KATA_SANDBOX_ID]: '' }, { t: T0 })]);
    const out = e.flush(T0 + 60n * MIN);
    expect(out.map((a) => a.attributes[ATTR_KATA_SANDBOX_ID])).toEqual(['b']);
  });
});

const ABSENCE_ARMED_BY_START = `
- rule: agent-silent-after-start
  desc: agent silent after the VM started
  kind: absence
  start: body = "VM started"
  condition: kata.component = agent
  stop: body = "Stopping VM"
  timeout: 10m
  output: 'no agent record from %{kata.sandbox.id} for %{window}'
  priority: medium
`;

describe('absence rules in context-free replays', () => {
  it('arm only once the sandbox showed the activity they watch', () => {
    const e = engine(ABSENCE_ARMED_BY_START);
    // the VM started but no agent record was ever seen: its silence is no news (a pasted start line, debug off)
    e.process([runtime('VM started', 0n)]);
    expect(e.flush(T0 + 60n * MIN)).toEqual([]);
    // once the agent spoke, its silence counts
    e.process([agent(61n)]);
    expect(e.flush(T0 + 70n * MIN)).toEqual([]);
    expect(e.flush(T0 + 71n * MIN)).toHaveLength(1);
  });

  it('do not fire because record time jumped (files from different days, pasted reports)', () => {
    const e = engine(ABSENCE);
    e.process([agent(0n, 'a')]);
    // the next record is a day later, from another sandbox: nothing was observed in between
    e.process([runtime('VM started', 1440n, 'b')]);
    expect(e.flush(T0 + 24n * 60n * MIN)).toEqual([]);
    // time that then passes in small steps is evidence: sandbox a stays silent while b keeps logging
    e.process([runtime('Stats() end', 1446n, 'b')]);
    expect(e.flush(T0 + 24n * 60n * MIN + 6n * MIN)).toEqual([]);
    e.process([runtime('Stats() end', 1451n, 'b')]);
    const out = e.flush(T0 + 24n * 60n * MIN + 11n * MIN);
    expect(out.map((a) => a.attributes[ATTR_KATA_SANDBOX_ID])).toEqual(['a']);
  });

  it('count a record older than the newest seen from its arrival (an earlier file read after a later one)', () => {
    const e = engine(ABSENCE);
    e.process([runtime('VM started', 60n, 'b')]);
    e.process([agent(0n, 'a')]); // an hour older than the newest record
    expect(e.flush(T0 + 60n * MIN)).toEqual([]);
    expect(e.flush(T0 + 69n * MIN)).toEqual([]);
    expect(e.flush(T0 + 70n * MIN).map((a) => a.attributes[ATTR_KATA_SANDBOX_ID])).toEqual(['a']);
  });

  it('still fire live: the timer flushes at wall-clock time within the timeout', () => {
    const e = engine(ABSENCE);
    e.process([agent(0n)]);
    for (let m = 1n; m < 10n; m++) expect(e.flush(T0 + m * MIN)).toEqual([]);
    expect(e.flush(T0 + 10n * MIN)).toHaveLength(1);
  });
});

const SEQUENCE = `
- rule: console-then-exec
  desc: console then exec
  kind: sequence
  sequence:
    - body = "get debug shell pid"
    - body = "exec_process"
    - body = "copy_file"
  window: 10m
  output: 'console, exec and copy in %{kata.sandbox.id} within %{window}'
  priority: critical
`;

describe('sequence rules', () => {
  const step = (body: string, min: bigint, sb = 'sb1') => rec(body, sandbox(sb), { t: T0 + min * MIN });

  it('fires when the steps happen in order within the window, in one key', () => {
    const e = engine(SEQUENCE);
    const a = step('get debug shell pid', 0n);
    const b = step('exec_process', 2n);
    expect(alertsOf(e.process([a, b, step('copy_file', 3n, 'other')]))).toEqual([]);
    const c = step('copy_file', 9n);
    const [alert] = alertsOf(e.process([c]));
    expect(alert?.body).toBe('console, exec and copy in sb1 within 10m');
    expect(alert?.attributes[ATTR_KATA_ALERT_TRIGGER_UIDS]).toEqual(
      [a, b, c].map((r) => r.attributes[ATTR_LOG_RECORD_UID]),
    );
  });

  it('does not fire out of order or beyond the window of the first step', () => {
    const e = engine(SEQUENCE);
    expect(
      alertsOf(e.process([step('exec_process', 0n), step('get debug shell pid', 1n), step('copy_file', 2n)])),
    ).toEqual([]);
    const late = engine(SEQUENCE);
    expect(
      alertsOf(late.process([step('get debug shell pid', 0n), step('exec_process', 5n), step('copy_file', 11n)])),
    ).toEqual([]);
    // a newer first step restarts the window
    expect(
      alertsOf(late.process([step('get debug shell pid', 12n), step('exec_process', 13n), step('copy_file', 14n)])),
    ).toHaveLength(1);
  });

  it('never uses one record for two steps', () => {
    const e = engine(`
- rule: twice
  desc: the same thing twice
  kind: sequence
  sequence: [body = x, body = x]
  window: 10m
  output: twice
  priority: low
`);
    expect(alertsOf(e.process([rec('x', {}, { t: T0 })]))).toEqual([]);
    expect(alertsOf(e.process([rec('x', {}, { t: T0 + MIN })]))).toHaveLength(1);
  });
});
