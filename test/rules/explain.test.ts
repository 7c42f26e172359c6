// `rules test --explain`: the condition parts that matched, why a rule did not match, and trust refusals.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { rulesTest } from '../../receiver/rules/cli.js';
import { explainCondition, explainRecord } from '../../receiver/rules/explain.js';
import { rec, rules } from './helpers.js';

const CANNOT_START =
  'time="2025-09-05T12:25:48.307993974Z" level=error msg="Cannot start VM" error="exiting QMP loop, command cancelled" name=containerd-shim-v2 pid=167139 sandbox=hello source=virtcontainers subsystem=sandbox';

async function explain(lines: string[], explainOpt: boolean | string[]) {
  let stderr = '';
  const stdin = Readable.from([lines.join('\n') + '\n']);
  await rulesTest({ files: ['-'], explain: explainOpt }, { stdout: () => {}, stderr: (s) => (stderr += s), stdin });
  return stderr.split('\n').filter((l) => l.startsWith('explain '));
}

describe('rules test --explain', () => {
  it('names the rule, the line and the parts of the condition that matched, with the values seen', async () => {
    const out = await explain([CANNOT_START], true);
    expect(out).toContain(
      'explain -:1: kata-sandbox-start-failed condition matched: body startswith "Cannot start VM" [body: Cannot start VM]',
    );
    expect(out.some((l) => l.includes('kata-agent-dead'))).toBe(false);
  });

  it('with rule ids, says why those rules did not match, part by part', async () => {
    const out = await explain([CANNOT_START], ['kata-agent-dead']);
    expect(out).toContain(
      'explain -:1: kata-agent-dead condition did not match: body = "mark agent dead" [body: Cannot start VM]; body = ("Wait for process failed", "failed waiting for process") [body: Cannot start VM]',
    );
  });

  it('refuses an unknown rule id', async () => {
    await expect(explain([CANNOT_START], ['no-such-rule'])).rejects.toThrow(/no rule 'no-such-rule'/);
  });
});

describe('explainCondition / explainRecord', () => {
  const rs = rules(`
- list: shells
  items: [bash, sh]
- rule: shell
  desc: shell
  condition: kata.component = agent and (body contains (shells) or body startswith "exec") and not body contains "probe"
  output: x
  priority: low
  trust: host
`);
  const rule = rs.rules[0]!;

  it('shows the list items that matched and each and-part', () => {
    const r = rec('started sh', {});
    const { holds, parts } = explainCondition(rule.kind === 'match' ? rule.condition.ast : (undefined as never), r);
    expect(holds).toBe(true);
    expect(parts).toEqual([
      'kata.component = "agent" [kata.component: agent]',
      'body contains "sh" [body: started sh]',
      'not (body contains "probe")',
    ]);
  });

  it('shows the failing part of each or-branch', () => {
    const { holds, parts } = explainCondition(
      rule.kind === 'match' ? rule.condition.ast : (undefined as never),
      rec('ls', {}),
    );
    expect(holds).toBe(false);
    expect(parts).toEqual(['body contains ("bash", "sh") [body: ls]', 'body startswith "exec" [body: ls]']);
  });

  it('notes when the rule does not believe the writer (guest text under trust host)', () => {
    const r = rec('started sh', { 'kata.log.guest_controlled': true });
    expect(explainRecord(rule, r, false)).toEqual([
      'shell condition matched: kata.component = "agent" [kata.component: agent] and body contains "sh" [body: started sh] and not (body contains "probe") — but trust host does not believe this writer (guest), so the rule ignores it',
    ]);
  });
});
