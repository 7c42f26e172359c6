// Sigma and Loki exports of the built-in library, and the generated docs: shape (what the Sigma specification
// requires), meaning (the Sigma detections select the same fixture records as the engine), and that the
// checked-in copies under exporter-config/rules/ and docs/rules.md are up to date.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { parseText } from '../../receiver/parse/index.js';
import { fieldValue } from '../../receiver/rules/condition.js';
import { formatRulesDoc, renderRulesDoc } from '../../receiver/rules/docs.js';
import { loadBuiltinRules } from '../../receiver/rules/load.js';
import { toLoki } from '../../receiver/rules/loki.js';
import { stableUuid, toSigma } from '../../receiver/rules/sigma.js';
import { recordTrustRank, trustRank } from '../../receiver/rules/trust.js';

const library = loadBuiltinRules();
const ROOT = new URL('../../', import.meta.url);

// From the Sigma specification v2 (SigmaHQ/sigma-specification, specification/sigma-rules-specification.md,
// sigma-correlation-rules-specification.md, appendix tags, json-schema/*.json).
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'];
const STATUSES = ['stable', 'test', 'experimental', 'deprecated', 'unsupported'];
const TAG = /^[a-z0-9_-]+\.[a-z0-9._-]+$/;
const DATE = /^\d{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$/;
const CORRELATION_TYPES = ['event_count', 'value_count', 'temporal', 'temporal_ordered'];

type Doc = Record<string, unknown>;

/** A small Sigma evaluator (selections as maps or lists of maps, modifiers, and/or/not/parentheses). */
function sigmaMatches(detection: Doc, r: KataLogRecord): boolean {
  const matchValue = (actual: unknown, modifiers: string[], expected: unknown): boolean => {
    if (modifiers.includes('exists')) return (actual !== undefined && actual !== '') === expected;
    if (actual === undefined) return false;
    const a = String(actual);
    const e = String(expected).replace(/\\([*?\\])/g, '$1');
    if (modifiers.includes('re')) return new RegExp(String(expected), modifiers.includes('i') ? 'i' : '').test(a);
    const num = {
      lt: (x: number) => x < Number(e),
      lte: (x: number) => x <= Number(e),
      gt: (x: number) => x > Number(e),
      gte: (x: number) => x >= Number(e),
    };
    for (const [m, f] of Object.entries(num)) if (modifiers.includes(m)) return f(Number(a));
    const [al, el] = [a.toLowerCase(), e.toLowerCase()]; // Sigma matches case-insensitively
    if (modifiers.includes('contains')) return al.includes(el);
    if (modifiers.includes('startswith')) return al.startsWith(el);
    if (modifiers.includes('endswith')) return al.endsWith(el);
    return al === el;
  };
  const selection = (sel: unknown): boolean => {
    if (Array.isArray(sel)) return sel.some(selection);
    return Object.entries(sel as Doc).every(([key, expected]) => {
      const [field, ...mods] = key.split('|');
      const actual = fieldValue(r, field as string);
      const values = Array.isArray(expected) ? expected : [expected];
      return values.some((v) => matchValue(actual, mods, v));
    });
  };
  const toks = String(detection.condition).match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const or = (): boolean => {
    let v = and();
    while (toks[i] === 'or') {
      i++;
      v = and() || v;
    }
    return v;
  };
  const and = (): boolean => {
    let v = not();
    while (toks[i] === 'and') {
      i++;
      v = not() && v;
    }
    return v;
  };
  const not = (): boolean => {
    if (toks[i] === 'not') {
      i++;
      return !not();
    }
    const t = toks[i++] as string;
    if (t === '(') {
      const v = or();
      i++;
      return v;
    }
    if (!(t in detection)) throw new Error(`condition names unknown selection ${t}`);
    return selection(detection[t]);
  };
  return or();
}

const sigma = toSigma(library);

describe('Sigma export', () => {
  it('writes one file per rule Sigma can express, named by the SigmaHQ convention', () => {
    expect(sigma.skipped).toEqual([
      { rule: 'kata-agent-silent', reason: 'Sigma has no absence (missing events) correlation' },
    ]);
    expect(sigma.files).toHaveLength(library.rules.length - 1);
    for (const f of sigma.files) expect(f.file).toMatch(/^[a-z0-9_]{10,70}\.yml$/);
  });

  it('every document parses and carries the fields the specification requires', () => {
    const ids = new Set<string>();
    for (const f of sigma.files) {
      const docs = parseAllDocuments(f.yaml);
      const names = new Set<string>();
      for (const d of docs) {
        expect(d.errors, f.file).toEqual([]);
        const doc = d.toJSON() as Doc;
        expect(typeof doc.title, f.file).toBe('string');
        expect((doc.title as string).length).toBeLessThanOrEqual(256);
        expect(doc.id, f.file).toMatch(UUID_V4);
        expect(ids.has(doc.id as string), `duplicate id ${doc.id}`).toBe(false);
        ids.add(doc.id as string);
        if (doc.status !== undefined) expect(STATUSES).toContain(doc.status);
        if (doc.level !== undefined) expect(LEVELS).toContain(doc.level);
        if (doc.date !== undefined) expect(doc.date).toMatch(DATE);
        for (const t of (doc.tags as string[] | undefined) ?? []) expect(t).toMatch(TAG);
        if (doc.correlation) {
          const c = doc.correlation as Doc;
          expect(CORRELATION_TYPES).toContain(c.type);
          expect(c.timespan).toMatch(/^\d+[smhd]$/);
          expect(Array.isArray(c['group-by'])).toBe(true);
          expect(Object.keys(c.condition as Doc)).toEqual(['gte']);
          for (const ref of c.rules as string[])
            expect(names.has(ref), `${f.file}: ${ref} defined before the correlation`).toBe(true);
          expect(LEVELS).toContain(doc.level);
        } else {
          const ls = doc.logsource as Doc;
          expect(ls.product).toBe('kata');
          const det = doc.detection as Doc;
          expect(typeof det.condition).toBe('string');
          for (const tok of String(det.condition).match(/[A-Za-z0-9_]+/g) ?? []) {
            if (!['and', 'or', 'not'].includes(tok)) expect(det, `${f.file}: ${tok}`).toHaveProperty(tok);
          }
          if (doc.name) names.add(doc.name as string);
          else expect(LEVELS).toContain(doc.level);
        }
      }
    }
  });

  it('ids are stable: derived from the rule id, the same on every export', () => {
    expect(stableUuid('kata-agent-policy-denied')).toBe(stableUuid('kata-agent-policy-denied'));
    expect(stableUuid('a')).not.toBe(stableUuid('b'));
    expect(toSigma(library).files).toEqual(sigma.files);
    const denied = parse(sigma.files.find((f) => f.file === 'kata_agent_policy_denied.yml')?.yaml as string) as Doc;
    expect(denied.id).toBe(stableUuid('kata-agent-policy-denied'));
    expect(denied.tags).toEqual(['attack.t1609', 'attack.execution']);
    expect(denied.level).toBe('high');
  });

  it('selects the same fixture records as the engine does', () => {
    const fixtures = new URL('./fixtures/', import.meta.url);
    let compared = 0;
    for (const rule of library.rules) {
      if (rule.kind !== 'match') continue;
      const file = sigma.files.find((f) => f.file === `${rule.id.replace(/-/g, '_')}.yml`);
      const detection = (parse(file?.yaml as string) as Doc).detection as Doc;
      const fx = parse(readFileSync(new URL(`${rule.id}.yaml`, fixtures), 'utf8')) as {
        positive: { line: string }[];
        negative: { line: string }[];
      };
      for (const e of [...fx.positive, ...fx.negative]) {
        for (const r of parseText(e.line, { observedTimeUnixNano: 1n })) {
          // the engine's decision: the condition, on a record the rule's trust level accepts (the parser itself
          // marks some text guest-controlled, e.g. runtime-rs `vm console:` lines)
          const engine = rule.condition.test(r) && recordTrustRank(r) <= trustRank(rule.trust);
          expect(sigmaMatches(detection, r), `${rule.id}: ${e.line.slice(0, 80)}`).toBe(engine);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(40);
  });
});

describe('Loki export', () => {
  const loki = toLoki(library);
  const doc = parse(loki.yaml) as { groups: { name: string; interval: string; rules: Doc[] }[] };

  it('is one ruler group with one alerting rule per enabled rule', () => {
    expect(doc.groups).toHaveLength(1);
    expect(doc.groups[0]?.name).toBe('kata-otel-builtin');
    const rules = doc.groups[0]?.rules ?? [];
    expect(rules.map((r) => (r.labels as Doc).kata_rule_id)).toEqual(
      library.rules.filter((r) => r.enabled).map((r) => r.id),
    );
    for (const r of rules) {
      expect(r.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(['info', 'low', 'medium', 'high', 'critical']).toContain((r.labels as Doc).severity);
      expect((r.annotations as Doc).summary).toBeTruthy();
    }
  });

  it('selects streams by service labels only; sandbox ids stay structured metadata', () => {
    for (const r of doc.groups[0]?.rules ?? []) {
      const expr = r.expr as string;
      const selectors = expr.match(/\{[^}]*\}/g)?.filter((s) => !s.startsWith('{{')) ?? [];
      expect(selectors.length, expr).toBeGreaterThan(0);
      for (const s of selectors) {
        expect(s).toMatch(/^\{service_namespace="kata-containers"(, service_name="kata-[a-z-]+")?\}$/);
      }
      let depth = 0;
      for (const c of expr.replace(/"(?:[^"\\]|\\.)*"|`[^`]*`/g, '')) {
        if (c === '(') depth++;
        if (c === ')') depth--;
        expect(depth).toBeGreaterThanOrEqual(0);
      }
      expect(depth, expr).toBe(0);
    }
    const denied = doc.groups[0]?.rules.find(
      (r) => (r.labels as Doc).kata_rule_id === 'kata-agent-policy-allow-failing',
    );
    expect(denied?.expr).toBe(
      'sum by (kata_sandbox_id) (count_over_time({service_namespace="kata-containers"} |= "AllowRequestsFailingPolicy is enabled" | kata_log_trusted!="false" and (kata_log_guest_controlled!="true" or kata_component=~"(?:agent|guest-kernel)") [5m])) > 0',
    );
    const threshold = doc.groups[0]?.rules.find(
      (r) => (r.labels as Doc).kata_rule_id === 'kata-sandbox-create-failures',
    );
    expect(threshold?.expr).toBe(
      'sum by (host_name) (count_over_time({service_namespace="kata-containers"} |~ "^Cannot start VM$|^Create new sandbox failed$|^failed run shim" | kata_log_trusted!="false" and kata_log_guest_controlled!="true" [5m])) >= 3',
    );
  });
});

describe('checked-in outputs are up to date', () => {
  it('exporter-config/rules/sigma matches the library', () => {
    const dir = new URL('exporter-config/rules/sigma/', ROOT);
    const onDisk = readdirSync(dir)
      .filter((f) => f.endsWith('.yml'))
      .sort();
    expect(onDisk, 'regenerate with: kata-otel rules export --format sigma exporter-config/rules/sigma').toEqual(
      sigma.files.map((f) => f.file).sort(),
    );
    for (const f of sigma.files) expect(readFileSync(new URL(f.file, dir), 'utf8'), f.file).toBe(f.yaml);
  });

  it('exporter-config/rules/loki matches the library', () => {
    const loki = toLoki(library);
    expect(readFileSync(new URL(`exporter-config/rules/loki/${loki.file}`, ROOT), 'utf8')).toBe(loki.yaml);
  });

  it('docs/rules.md matches the library (regenerate: npx tsx receiver/rules/docs.ts)', async () => {
    expect(readFileSync(new URL('docs/rules.md', ROOT), 'utf8')).toBe(await formatRulesDoc(renderRulesDoc(library)));
  });
});
