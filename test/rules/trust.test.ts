// Rule trust (receiver/rules/trust.ts): which writers' records take part in a rule, in the engine and in the
// condition the Sigma/Loki exports carry.
import { describe, expect, it } from 'vitest';
import type { Attributes } from '../../receiver/model/record.js';
import { compile } from '../../receiver/rules/condition.js';
import { RuleEngine } from '../../receiver/rules/engine.js';
import { RuleLoadError } from '../../receiver/rules/load.js';
import { TRUST_LEVELS, recordTrustRank, trustRank, withTrust } from '../../receiver/rules/trust.js';
import {
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_LOG_GUEST_CONTROLLED,
  ATTR_KATA_LOG_TRUSTED,
  EVENT_KATA_ALERT,
} from '../../receiver/semconv/generated.js';
import { SEC, T0, rec, rules } from './helpers.js';

const guest = { [ATTR_KATA_LOG_GUEST_CONTROLLED]: true };
const untrusted = { [ATTR_KATA_LOG_TRUSTED]: false };
const rule = (id: string, trust: string, extra = '') => `
- rule: ${id}
  desc: d
  condition: body contains "QEMU exited"
  output: o
  priority: high
  dedup_window: 0
  trust: ${trust}
${extra}`;

const fired = (engine: RuleEngine, records: ReturnType<typeof rec>[]) =>
  engine
    .process(records)
    .filter((r) => r.eventName === EVENT_KATA_ALERT)
    .map((a) => a.attributes[ATTR_KATA_ALERT_RULE_ID]);

describe('rule trust', () => {
  it('rejects an unknown level, naming the field and the choices', () => {
    expect(() => rules(rule('r', 'sometimes'))).toThrow(RuleLoadError);
    expect(() => rules(rule('r', 'sometimes'))).toThrow(
      /field 'trust' \(value "sometimes"\): must be one of host, guest, channel, any/,
    );
  });

  it('defaults to guest', () => {
    const rs = rules(`
- rule: r
  desc: d
  condition: body contains x
  output: o
  priority: low`);
    expect(rs.rules[0]?.trust).toBe('guest');
  });

  it('host, guest, channel and any accept the writers the docs say', () => {
    const engine = new RuleEngine({
      rules: rules(['host', 'guest', 'channel', 'any'].map((t) => rule(t, t)).join('\n')),
    });
    const body = 'QEMU exited with an error';
    expect(fired(engine, [rec(body, { 'kata.component': 'runtime' })]).sort()).toEqual([
      'any',
      'channel',
      'guest',
      'host',
    ]);
    expect(fired(engine, [rec(body, { ...guest, 'kata.component': 'agent' })]).sort()).toEqual([
      'any',
      'channel',
      'guest',
    ]);
    expect(fired(engine, [rec(body, { ...guest, 'kata.component': 'runtime' })]).sort()).toEqual(['any', 'channel']);
    expect(fired(engine, [rec(body, { ...untrusted, 'kata.component': 'runtime' })])).toEqual(['any']);
  });

  it('records below the rule’s trust neither count towards a threshold nor disarm an absence rule', () => {
    const engine = new RuleEngine({
      rules: rules(`
- rule: many
  desc: d
  kind: threshold
  condition: body = boom
  count: 3
  window: 1m
  output: o
  priority: high
  trust: host
- rule: silent
  desc: d
  kind: absence
  start: body = start
  condition: body = beat
  stop: body = stop
  timeout: 1m
  output: o
  priority: high
  trust: host`),
    });
    const untrustedBooms = [1n, 2n, 3n, 4n].map((i) => rec('boom', untrusted, { t: T0 + i * SEC }));
    expect(fired(engine, untrustedBooms)).toEqual([]);
    expect(fired(engine, [rec('boom', {}, { t: T0 + 5n * SEC }), rec('boom', {}, { t: T0 + 6n * SEC })])).toEqual([]);
    expect(fired(engine, [rec('boom', {}, { t: T0 + 7n * SEC })])).toEqual(['many']);

    engine.process([
      rec('start', {}, { t: T0 }),
      rec('beat', {}, { t: T0 }), // the watched activity, so the key's silence counts (engine.ts)
      rec('stop', { ...guest, 'kata.component': 'runtime' }, { t: T0 + SEC }),
    ]);
    const late = engine.flush(T0 + 120n * SEC).map((a) => a.attributes[ATTR_KATA_ALERT_RULE_ID]);
    expect(late).toContain('silent');
  });

  it('the exported condition accepts exactly the records the engine lets through', () => {
    const variants: Attributes[] = [
      {},
      { 'kata.component': 'agent' },
      { ...guest, 'kata.component': 'agent' },
      { ...guest, 'kata.component': 'guest-kernel' },
      { ...guest, 'kata.component': 'runtime' },
      { ...guest },
      { ...untrusted },
      { ...untrusted, ...guest, 'kata.component': 'agent' },
      { [ATTR_KATA_LOG_TRUSTED]: true, ...guest, 'kata.component': 'hypervisor' },
    ];
    for (const t of TRUST_LEVELS) {
      const test = compile(withTrust({ kind: 'exists', field: 'body' }, t));
      for (const v of variants) {
        const r = rec('x', v);
        expect(test(r), `${t} ${JSON.stringify(v)}`).toBe(recordTrustRank(r) <= trustRank(t));
      }
    }
  });
});
