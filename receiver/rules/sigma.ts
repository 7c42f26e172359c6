// Export a rule set as Sigma rules (Sigma specification v2: detection rules plus correlation rules), one YAML
// file per rule, so SIEMs can run the Kata library through pySigma (Splunk, Elastic, Loki…).
// Field names are kata-otel's attribute names (docs/semconv.md); `body` is the log message.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { ATTR_CONTAINER_ID, ATTR_KATA_COMPONENT, ATTR_KATA_SANDBOX_ID } from '../semconv/generated.js';
import { requiredValue, toNnf, type Cond, type Value } from './condition.js';
import { withTrust } from './trust.js';
import { formatDuration, type Rule, type RuleSet, type Severity } from './types.js';

/**
 * A UUID for a name that never changes between exports: SHA-256 of a namespace and the name, shaped as a
 * version-4 UUID (version and variant bits set). Name-based UUIDv5 would be the textbook choice, but Sigma
 * recommends v4 ids; a hash-derived v4-shaped id is indistinguishable from a random one and keeps the id of
 * each rule stable, so SIEMs can track a rule across releases.
 */
export function stableUuid(name: string): string {
  const b = createHash('sha256').update(`kata-otel/sigma/${name}`).digest();
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const LEVEL: Record<Severity, string> = {
  info: 'informational',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
};

/** `T1611` → `attack.t1611`, `mitre_privilege_escalation` → `attack.privilege-escalation`; other tags stay out. */
export function sigmaTags(tags: string[]): string[] {
  const out: string[] = [];
  for (const t of tags) {
    if (/^T\d{4}(\.\d{3})?$/i.test(t)) out.push(`attack.${t.toLowerCase()}`);
    else if (/^mitre_[a-z_]+$/.test(t)) out.push(`attack.${t.slice('mitre_'.length).replace(/_/g, '-')}`);
  }
  return [...new Set(out)];
}

/** Sigma plain values treat `*` and `?` as wildcards; escape them (and a backslash in front of them). */
function escapeValue(v: Value): Value {
  return typeof v === 'number' ? v : v.replace(/\\(?=[*?\\])/g, '\\\\').replace(/[*?]/g, (c) => `\\${c}`);
}

const MODIFIER: Partial<Record<string, string>> = {
  contains: '|contains',
  icontains: '|contains',
  startswith: '|startswith',
  istartswith: '|startswith',
  endswith: '|endswith',
  iendswith: '|endswith',
  regex: '|re',
  iregex: '|re|i',
  lt: '|lt',
  le: '|lte',
  gt: '|gt',
  ge: '|gte',
  eq: '',
};

type Selection = Record<string, Value | Value[] | boolean>;

/** Turn a condition into named selections and a Sigma condition expression over them. */
export function toSigmaDetection(cond: Cond, prefix = 'selection'): Record<string, unknown> {
  const selections: [string, Selection][] = [];
  const add = (sel: Selection) => {
    const name = `${prefix}_${selections.length + 1}`;
    selections.push([name, sel]);
    return name;
  };
  // A leaf as one selection entry: [key, value]. `ne` becomes `not (field: value)`, handled by the caller.
  const entry = (c: Cond): [string, Value | Value[] | boolean] | undefined => {
    if (c.kind === 'exists') return [`${c.field}|exists`, true];
    if (c.kind !== 'cmp' || c.op === 'ne') return undefined;
    const values = c.op === 'regex' || c.op === 'iregex' ? c.values : c.values.map(escapeValue);
    return [`${c.field}${MODIFIER[c.op] ?? ''}`, values.length === 1 ? (values[0] as Value) : values];
  };
  const emit = (c: Cond, top: boolean): string => {
    switch (c.kind) {
      case 'not': {
        const inner = c.item;
        return `not ${emit(inner, false)}`;
      }
      case 'cmp':
      case 'exists': {
        if (c.kind === 'cmp' && c.op === 'ne') return `not ${add({ [c.field]: c.values.map(escapeValue) as Value[] })}`;
        const [k, v] = entry(c) as [string, Value | Value[] | boolean];
        return add({ [k]: v });
      }
      case 'and': {
        // Leaves on distinct keys share one selection map (a map is an AND in Sigma).
        const merged: Selection = {};
        const rest: string[] = [];
        for (const item of c.items) {
          const e = entry(item);
          if (e && !(e[0] in merged)) merged[e[0]] = e[1];
          else rest.push(emit(item, false));
        }
        const parts = Object.keys(merged).length > 0 ? [add(merged), ...rest] : rest;
        const s = parts.join(' and ');
        return top || parts.length === 1 ? s : `(${s})`;
      }
      case 'or': {
        // Leaves with the same field and modifier become one value list (a list is an OR in Sigma).
        const groups = new Map<string, Value[]>();
        const rest: string[] = [];
        for (const item of c.items) {
          const e = entry(item);
          if (e && typeof e[1] !== 'boolean') {
            const list = groups.get(e[0]) ?? [];
            list.push(...(Array.isArray(e[1]) ? e[1] : [e[1]]));
            groups.set(e[0], list);
          } else rest.push(emit(item, false));
        }
        const parts = [...[...groups].map(([k, vs]) => add({ [k]: vs.length === 1 ? (vs[0] as Value) : vs })), ...rest];
        const s = parts.join(' or ');
        return top || parts.length === 1 ? s : `(${s})`;
      }
    }
  };
  const condition = emit(toNnf(cond), true);
  const detection: Record<string, unknown> = {};
  for (const [name, sel] of selections) detection[name] = sel;
  detection.condition = condition;
  return detection;
}

export interface SigmaFile {
  /** File name (Sigma convention: lowercase, a-z0-9_, .yml). */
  file: string;
  /** One YAML document, or several separated by `---` for correlation rules. */
  yaml: string;
}

export interface SigmaExport {
  files: SigmaFile[];
  /** Rules Sigma cannot express, with the reason. */
  skipped: { rule: string; reason: string }[];
}

function logsource(rule: Rule, conds: Cond[]): Record<string, string> {
  const comps = conds.map((c) => requiredValue(c, ATTR_KATA_COMPONENT));
  const service = comps.every((c) => c !== undefined && c === comps[0]) ? comps[0] : undefined;
  return {
    product: 'kata',
    ...(service ? { service } : {}),
    definition: `kata-otel records (${rule.ruleset}): fields are kata-otel attribute names (docs/semconv.md), body is the log message`,
  };
}

export function toSigma(ruleSet: RuleSet, opts: { includeDisabled?: boolean } = {}): SigmaExport {
  const files: SigmaFile[] = [];
  const skipped: SigmaExport['skipped'] = [];
  const meta = ruleSet.meta;
  for (const rule of ruleSet.rules) {
    if (!rule.enabled && !opts.includeDisabled) {
      skipped.push({ rule: rule.id, reason: 'disabled' });
      continue;
    }
    if (rule.kind === 'absence') {
      skipped.push({ rule: rule.id, reason: 'Sigma has no absence (missing events) correlation' });
      continue;
    }
    const header = {
      title: rule.name,
      id: stableUuid(rule.id),
      status: 'experimental',
      description: rule.desc,
      ...(rule.references.length ? { references: rule.references } : {}),
      ...(meta.author ? { author: meta.author } : {}),
      ...(meta.date ? { date: meta.date } : {}),
      ...(sigmaTags(rule.tags).length ? { tags: sigmaTags(rule.tags) } : {}),
    };
    const tail = {
      fields: [ATTR_KATA_SANDBOX_ID, ATTR_CONTAINER_ID, 'body'],
      ...(rule.falsePositives.length ? { falsepositives: rule.falsePositives } : {}),
      level: LEVEL[rule.severity],
    };
    const docs: Record<string, unknown>[] = [];
    if (rule.kind === 'match') {
      docs.push({
        ...header,
        logsource: logsource(rule, [rule.condition.ast]),
        detection: toSigmaDetection(withTrust(rule.condition.ast, rule.trust)),
        ...tail,
      });
    } else {
      const steps = rule.kind === 'threshold' ? [rule.condition] : rule.steps;
      const names = steps.map(
        (_, i) => `${rule.id.replace(/-/g, '_')}_${rule.kind === 'threshold' ? 'event' : `step${i + 1}`}`,
      );
      steps.forEach((s, i) => {
        const name = names[i] as string;
        docs.push({
          title: `${rule.name}: ${rule.kind === 'threshold' ? 'matching event' : `step ${i + 1}`}`,
          id: stableUuid(`${rule.id}#${name}`),
          name,
          status: 'experimental',
          logsource: logsource(rule, [s.ast]),
          detection: toSigmaDetection(withTrust(s.ast, rule.trust)),
        });
      });
      const correlation: Record<string, unknown> = {
        type: rule.kind === 'threshold' ? 'event_count' : 'temporal_ordered',
        rules: names,
        'group-by': rule.groupBy,
        timespan: formatDuration(rule.windowNs),
      };
      // The correlation schema requires a condition for every type; for temporal_ordered it counts the steps seen.
      correlation.condition = { gte: rule.kind === 'threshold' ? rule.count : steps.length };
      const { fields: _fields, ...correlationTail } = tail;
      docs.push({ ...header, correlation, ...correlationTail });
    }
    const yaml = docs.map((d) => stringify(d, { lineWidth: 0, singleQuote: true })).join('---\n');
    files.push({
      file: `${rule.id.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}.yml`,
      yaml: `# Generated by kata-otel rules export --format sigma from rule ${rule.id}. Do not edit.\n${yaml}`,
    });
  }
  return { files, skipped };
}
