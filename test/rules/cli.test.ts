// `kata-otel rules list|test|export` as functions, on real files in a temporary directory.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { rulesExport, rulesList, rulesTest } from '../../receiver/rules/cli.js';
import { loadBuiltinRules } from '../../receiver/rules/load.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const fixtureLines = (rule: string, kind: 'positive' | 'negative') =>
  (parse(readFileSync(new URL(`${rule}.yaml`, FIXTURES), 'utf8')) as Record<string, { line: string }[]>)[kind]?.map(
    (e) => e.line,
  ) ?? [];

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s) } };
}

describe('rules list', () => {
  it('lists id, severity, kind, enabled, tags and title of every rule', () => {
    const text = rulesList();
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+SEVERITY\s+KIND\s+ENABLED\s+TAGS\s+DESCRIPTION$/);
    expect(lines).toHaveLength(loadBuiltinRules().rules.length + 1);
    expect(text).toMatch(
      /kata-debug-console-used\s+critical\s+match\s+yes\s+T1059\.004,mitre_execution,T1609,debug-console\s+Kata debug console shell started/,
    );
  });
});

describe('rules test', () => {
  it('replays log files and writes each alert as one OTLP/JSON line, with a summary on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-rules-cli-'));
    const a = join(dir, 'shim.log');
    const b = join(dir, 'agent.log');
    writeFileSync(
      a,
      [
        fixtureLines('kata-agent-policy-denied', 'positive')[1],
        // The first two negatives silence the rule by their text; the later ones only by their provenance.
        ...fixtureLines('kata-hypervisor-crashed', 'negative').slice(0, 2),
        '',
      ].join('\n'),
    );
    const consoleLine = fixtureLines('kata-debug-console-used', 'positive')[0] as string;
    writeFileSync(b, `${consoleLine}\n${consoleLine}\n${consoleLine}\n`);
    const { out, io } = capture();
    const res = await rulesTest({ files: [a, b] }, io);
    expect(res).toEqual({
      records: 6,
      alerts: 3,
      byRule: { 'kata-agent-policy-denied': 1, 'kata-debug-console-used': 2 },
    });
    const alerts = out.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).resourceLogs[0].scopeLogs[0].logRecords[0]);
    expect(alerts).toHaveLength(3);
    const attr = (lr: { attributes: { key: string; value: Record<string, unknown> }[] }, key: string) =>
      lr.attributes.find((a) => a.key === key)?.value;
    expect(alerts.map((lr) => lr.eventName)).toEqual(['kata.alert', 'kata.alert', 'kata.alert']);
    expect(alerts[0].severityNumber).toBe(18);
    expect(attr(alerts[0], 'kata.alert.rule.id')).toEqual({ stringValue: 'kata-agent-policy-denied' });
    // the same debug-console record three times: one alert, and the two suppressed ones reported at the end
    expect(attr(alerts[1], 'kata.alert.rule.id')).toEqual({ stringValue: 'kata-debug-console-used' });
    expect(attr(alerts[1], 'kata.alert.suppressed_count')).toBeUndefined();
    expect(attr(alerts[2], 'kata.alert.suppressed_count')).toEqual({ intValue: '2' });
    expect(out.stderr).toBe(
      'records read: 6\nalerts: 3\n  kata-agent-policy-denied: 1\n  kata-debug-console-used: 2\n',
    );
  });

  it('reads stdin for "-", fires absence rules on record time, and reports unreadable files without stopping', async () => {
    const lines = fixtureLines('kata-agent-silent', 'positive');
    // later records from another sandbox move the replay clock 11 minutes on, in steps shorter than the timeout
    // (a single jump longer than the timeout is no evidence of silence: engine.test.ts)
    const later = (hhmm: string) => lines[0]?.replaceAll('38f55c4a', 'deadbeef').replaceAll('16:25:3', `${hhmm}:3`);
    const stdin = Readable.from([`${lines[0]}\n${later('16:31')}\n${later('16:36')}\n`]);
    const { out, io } = capture();
    const res = await rulesTest({ files: ['-', '/nonexistent/kata.log'] }, { ...io, stdin });
    expect(res.byRule).toEqual({ 'kata-agent-silent': 1 });
    expect(out.stderr).toMatch(/cannot read \/nonexistent\/kata\.log: ENOENT/);
  });

  it('uses a rules file given instead of the library', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-rules-cli-'));
    const rulesFile = join(dir, 'mine.yaml');
    writeFileSync(
      rulesFile,
      "- rule: vm-started\n  desc: a VM started\n  condition: body = 'VM started'\n  output: '%body'\n  priority: info\n",
    );
    const log = join(dir, 'x.log');
    writeFileSync(log, readFileSync(new URL('../fixtures/corpus/runtime-logfmt.log', import.meta.url)));
    const { io } = capture();
    expect((await rulesTest({ rules: rulesFile, files: [log] }, io)).byRule).toEqual({ 'vm-started': 1 });
  });
});

describe('rules export', () => {
  it('writes Sigma files and the Loki rule group into the directory given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-rules-export-'));
    const { out, io } = capture();
    const sigma = await rulesExport({ format: 'sigma', dir: join(dir, 'sigma') }, io);
    expect(sigma).toHaveLength(loadBuiltinRules().rules.length - 1);
    expect(readdirSync(join(dir, 'sigma'))).toContain('kata_agent_policy_denied.yml');
    expect(out.stderr).toMatch(/not exported to Sigma: kata-agent-silent/);
    const loki = await rulesExport({ format: 'loki', dir: join(dir, 'loki') }, io);
    expect(loki).toEqual([join(dir, 'loki', 'kata-otel-builtin.rules.yaml')]);
    expect(parse(readFileSync(loki[0] as string, 'utf8'))).toHaveProperty('groups');
    await expect(rulesExport({ format: 'splunk' as never, dir }, io)).rejects.toThrow(
      /unknown export format 'splunk'; use sigma or loki/,
    );
  });
});
