// Export a rule set as a Loki ruler rule group (Prometheus rule format with LogQL expressions), for sites that
// alert from Loki rather than from kata-otel. Streams are selected by the labels Loki indexes for OTLP logs
// (service_namespace, service_name); every other attribute (kata.sandbox.id, container.id, …) is structured
// metadata, filtered with label filter expressions placed before any other stage.
import { stringify } from 'yaml';
import { ATTR_KATA_COMPONENT } from '../semconv/generated.js';
import { fieldsOf, requiredValue, toNnf, type Cond, type StringOp, type Value } from './condition.js';
import { withTrust } from './trust.js';
import { formatDuration, type Rule, type RuleSet } from './types.js';

/** Loki's OTLP ingestion turns attribute names into label names: every character outside [a-zA-Z0-9_] becomes `_`. */
export function lokiLabel(field: string): string {
  return field.replace(/[^a-zA-Z0-9_]/g, '_');
}

const quote = (s: string) => JSON.stringify(s); // LogQL strings use Go escapes; JSON's are a compatible subset
const reQuote = (s: string) => s.replace(/[\\.+*?()|[\]{}^$]/g, (c) => `\\${c}`);

/** One comparison as an RE2 pattern over the whole value (unanchored). */
function leafRegex(op: StringOp | 'eq', values: Value[]): string {
  const alts = values.map((v) => {
    const s = String(v);
    switch (op) {
      case 'contains':
      case 'icontains':
        return reQuote(s);
      case 'startswith':
      case 'istartswith':
        return `^${reQuote(s)}`;
      case 'endswith':
      case 'iendswith':
        return `${reQuote(s)}$`;
      case 'eq':
        return `^${reQuote(s)}$`;
      default:
        return `(?:${s})`;
    }
  });
  const ci = op === 'icontains' || op === 'istartswith' || op === 'iendswith' || op === 'iregex';
  return `${ci ? '(?i)' : ''}${alts.length === 1 ? (alts[0] as string) : `(?:${alts.join('|')})`}`;
}

const isBodyOnly = (c: Cond) => {
  const f = fieldsOf(c);
  return f.size === 1 && f.has('body');
};

/** Line filters for a body-only conjunct (NNF), or undefined when it needs the label_format fallback. */
function lineFilter(c: Cond): string | undefined {
  const neg = c.kind === 'not';
  const leaf = c.kind === 'not' ? c.item : c;
  if (leaf.kind === 'cmp') {
    if (leaf.op === 'contains' && leaf.values.length === 1)
      return `${neg ? '!=' : '|='} ${quote(String(leaf.values[0]))}`;
    if (leaf.op === 'lt' || leaf.op === 'le' || leaf.op === 'gt' || leaf.op === 'ge') return undefined;
    const op = leaf.op === 'ne' ? 'eq' : leaf.op;
    const negate = neg !== (leaf.op === 'ne');
    return `${negate ? '!~' : '|~'} ${quote(leafRegex(op, leaf.values))}`;
  }
  if (
    c.kind === 'or' &&
    c.items.every(
      (i) => i.kind === 'cmp' && i.op !== 'ne' && i.op !== 'lt' && i.op !== 'le' && i.op !== 'gt' && i.op !== 'ge',
    )
  ) {
    const alts = c.items.map((i) => {
      const l = i as Extract<Cond, { kind: 'cmp' }>;
      const r = leafRegex(l.op as StringOp | 'eq', l.values);
      return r.startsWith('(?i)') ? `(?i:${r.slice(4)})` : r;
    });
    return `|~ ${quote(alts.join('|'))}`;
  }
  return undefined;
}

/** A LogQL label filter expression for a condition (NNF); `body` reads the `kata_body` label of the fallback. */
function labelExpr(c: Cond, top = true): string {
  switch (c.kind) {
    case 'and':
    case 'or': {
      const s = c.items.map((i) => labelExpr(i, false)).join(` ${c.kind} `);
      return top || c.items.length === 1 ? s : `(${s})`;
    }
    case 'exists':
      return `${label(c.field)}!=""`;
    case 'not': {
      const leaf = c.item;
      if (leaf.kind === 'exists') return `${label(leaf.field)}=""`;
      if (leaf.kind !== 'cmp') return labelExpr(toNnf(leaf, true), top);
      return cmpExpr(leaf, true);
    }
    case 'cmp':
      return cmpExpr(c, false);
  }
}

function label(field: string): string {
  return field === 'body' ? 'kata_body' : lokiLabel(field);
}

function cmpExpr(c: Extract<Cond, { kind: 'cmp' }>, negate: boolean): string {
  const l = label(c.field);
  const numeric: Record<string, [string, string]> = {
    lt: ['<', '>='],
    le: ['<=', '>'],
    gt: ['>', '<='],
    ge: ['>=', '<'],
  };
  const num = numeric[c.op];
  if (num) return `${l} ${negate ? num[1] : num[0]} ${c.values[0]}`;
  if ((c.op === 'eq' || c.op === 'ne') && c.values.length === 1) {
    const eq = (c.op === 'eq') !== negate;
    return typeof c.values[0] === 'number'
      ? `${l} ${eq ? '==' : '!='} ${c.values[0]}`
      : `${l}${eq ? '=' : '!='}${quote(String(c.values[0]))}`;
  }
  // Label regexes must match the whole value, so "contains" becomes `.*x.*` ((?s) lets `.` cross newlines).
  const positive = c.op === 'ne' ? negate : !negate;
  const alts = c.values.map((v) => (c.op === 'regex' || c.op === 'iregex' ? `(?:${v})` : reQuote(String(v))));
  const any = alts.length === 1 ? (alts[0] as string) : `(?:${alts.join('|')})`;
  const shape: Record<string, string> = {
    eq: any,
    ne: any,
    contains: `.*${any}.*`,
    icontains: `.*${any}.*`,
    regex: `.*${any}.*`,
    iregex: `.*${any}.*`,
    startswith: `${any}.*`,
    istartswith: `${any}.*`,
    endswith: `.*${any}`,
    iendswith: `.*${any}`,
  };
  const ci = c.op === 'icontains' || c.op === 'istartswith' || c.op === 'iendswith' || c.op === 'iregex';
  const flags = c.op === 'eq' || c.op === 'ne' ? (ci ? '(?i)' : '') : `(?s${ci ? 'i' : ''})`;
  return `${l}${positive ? '=~' : '!~'}${quote(flags + shape[c.op])}`;
}

/** `{service_namespace="kata-containers", …} | filters`: a LogQL log query for a condition. */
export function toLogQL(cond: Cond): string {
  const comp = requiredValue(cond, ATTR_KATA_COMPONENT);
  const selector = `{service_namespace="kata-containers"${comp ? `, service_name=${quote(`kata-${comp}`)}` : ''}}`;
  const nnf = toNnf(cond);
  const conjuncts = nnf.kind === 'and' ? nnf.items : [nnf];
  const lines: string[] = [];
  const labels: string[] = [];
  const fallback: Cond[] = [];
  for (const c of conjuncts) {
    if (isBodyOnly(c)) {
      const f = lineFilter(c);
      if (f) lines.push(f);
      else fallback.push(c);
    } else if (!fieldsOf(c).has('body')) labels.push(`| ${labelExpr(c)}`);
    else fallback.push(c);
  }
  // Line filters first (cheapest), then structured-metadata filters, the line copy for mixed cases last.
  const stages = [...lines, ...labels];
  if (fallback.length > 0) {
    stages.push('| label_format kata_body=`{{ __line__ }}`');
    stages.push(`| ${labelExpr(fallback.length === 1 ? (fallback[0] as Cond) : { kind: 'and', items: fallback })}`);
  }
  return [selector, ...stages].join(' ');
}

const alertName = (id: string) =>
  id
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join('');

function countBy(rule: Rule, query: string, range: bigint): string {
  const by = rule.groupBy.map(lokiLabel).join(', ');
  return `sum by (${by}) (count_over_time(${query} [${formatDuration(range)}]))`;
}

export interface LokiExport {
  file: string;
  yaml: string;
  notes: { rule: string; note: string }[];
}

/** The rule set as one Loki ruler file (`groups:` → one group named after the ruleset). */
export function toLoki(ruleSet: RuleSet, opts: { includeDisabled?: boolean; matchRange?: bigint } = {}): LokiExport {
  const matchRange = opts.matchRange ?? 300_000_000_000n;
  const notes: LokiExport['notes'] = [];
  const rules: Record<string, unknown>[] = [];
  for (const rule of ruleSet.rules) {
    if (!rule.enabled && !opts.includeDisabled) continue;
    let expr: string;
    switch (rule.kind) {
      case 'match':
        expr = `${countBy(rule, toLogQL(withTrust(rule.condition.ast, rule.trust)), matchRange)} > 0`;
        break;
      case 'threshold':
        expr = `${countBy(rule, toLogQL(withTrust(rule.condition.ast, rule.trust)), rule.windowNs)} >= ${rule.count}`;
        break;
      case 'sequence':
        expr = rule.steps
          .map((s) => `(${countBy(rule, toLogQL(withTrust(s.ast, rule.trust)), rule.windowNs)} > 0)`)
          .join(' and ');
        notes.push({
          rule: rule.id,
          note: 'LogQL cannot check the order of the steps: this fires when all steps occur within the window in any order',
        });
        break;
      case 'absence': {
        const lookback = rule.timeoutNs * 6n;
        expr = [
          countBy(rule, toLogQL(withTrust(rule.start.ast, rule.trust)), lookback),
          `unless ${countBy(rule, toLogQL(withTrust(rule.condition.ast, rule.trust)), rule.timeoutNs)}`,
          `unless ${countBy(rule, toLogQL(withTrust(rule.stop.ast, rule.trust)), lookback)}`,
        ].join(' ');
        notes.push({
          rule: rule.id,
          note: `approximation: armed by a start record within the last ${formatDuration(lookback)}`,
        });
        break;
      }
    }
    const note = notes.find((n) => n.rule === rule.id)?.note;
    rules.push({
      alert: alertName(rule.id),
      expr,
      labels: { severity: rule.severity, kata_rule_id: rule.id },
      annotations: {
        summary: rule.name,
        description: rule.desc,
        ...(rule.references[0] ? { reference: rule.references[0] } : {}),
        ...(note ? { kata_otel_note: note } : {}),
      },
    });
  }
  const doc = { groups: [{ name: ruleSet.meta.name, interval: '1m', rules }] };
  const header = `# Generated by kata-otel rules export --format loki from the ${ruleSet.meta.name} rules. Do not edit.\n# Load into the Loki ruler (ruler.storage); labels follow Loki's OTLP ingestion (service_name, service_namespace).\n`;
  return {
    file: `${ruleSet.meta.name}.rules.yaml`,
    yaml: header + stringify(doc, { lineWidth: 0, singleQuote: true }),
    notes,
  };
}
