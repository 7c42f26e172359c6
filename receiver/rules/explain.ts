// `kata-otel rules test --explain`: which parts of a rule's condition matched a record, and why a rule did not
// match (or did not believe the writer), so a user can tune a rule from a missed or a false alert. Walks the
// expanded condition (macros and lists resolved at load) and evaluates each comparison on its own.
import type { KataLogRecord } from '../model/record.js';
import { compile, fieldValue, type Cond } from './condition.js';
import { recordTrustRank, TRUST_LEVELS, trustRank } from './trust.js';
import type { CompiledCondition, Rule } from './types.js';

const OP_TEXT: Record<string, string> = { eq: '=', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };
const MAX_SHOWN = 80;

const quote = (v: string | number) => (typeof v === 'number' ? String(v) : JSON.stringify(v));
const clip = (s: string) => (s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}…` : s);

/** A condition as text (lists shown expanded, as the engine evaluates them). */
export function conditionText(c: Cond): string {
  switch (c.kind) {
    case 'and':
    case 'or':
      return c.items
        .map((i) => (i.kind === 'and' || i.kind === 'or' ? `(${conditionText(i)})` : conditionText(i)))
        .join(` ${c.kind} `);
    case 'not':
      return `not ${c.item.kind === 'cmp' || c.item.kind === 'exists' ? conditionText(c.item) : `(${conditionText(c.item)})`}`;
    case 'exists':
      return `${c.field} exists`;
    case 'cmp': {
      const op = OP_TEXT[c.op] ?? c.op;
      const v = c.values.length === 1 ? quote(c.values[0] as string | number) : `(${c.values.map(quote).join(', ')})`;
      return `${c.field} ${op} ${v}`;
    }
  }
}

/** A leaf comparison with the value it saw; for a list operand, only the items that matched. */
function leafText(c: Cond, r: KataLogRecord, matched: boolean): string {
  if (c.kind === 'exists') return `${c.field} exists`;
  if (c.kind !== 'cmp') return conditionText(c);
  const seen = fieldValue(r, c.field);
  const shown = seen === undefined ? 'missing' : clip(String(seen));
  let values = c.values;
  if (matched && values.length > 1) values = values.filter((v) => compile({ ...c, values: [v] })(r));
  const op = OP_TEXT[c.op] ?? c.op;
  const v = values.length === 1 ? quote(values[0] as string | number) : `(${values.map(quote).join(', ')})`;
  return `${c.field} ${op} ${v} [${c.field}: ${shown}]`;
}

/**
 * The parts that decided the condition for this record: when it holds, the comparisons that made it hold
 * (each `and` part, the first `or` branch that holds); when it does not, the parts that failed (each failing
 * `and` part; every `or` branch, by its first failing part).
 */
export function explainCondition(c: Cond, r: KataLogRecord): { holds: boolean; parts: string[] } {
  const holds = compile(c)(r);
  return { holds, parts: why(c, r, holds) };
}

function why(c: Cond, r: KataLogRecord, holds: boolean): string[] {
  switch (c.kind) {
    case 'and':
      if (holds) return c.items.flatMap((i) => why(i, r, true));
      for (const i of c.items) if (!compile(i)(r)) return why(i, r, false);
      return [];
    case 'or':
      if (holds) {
        for (const i of c.items) if (compile(i)(r)) return why(i, r, true);
        return [];
      }
      return c.items.flatMap((i) => why(i, r, false));
    case 'not':
      return [
        holds
          ? `not (${conditionText(c.item)})`
          : `not (${conditionText(c.item)}) failed: ${why(c.item, r, true).join(', ')}`,
      ];
    default:
      return [leafText(c, r, holds)];
  }
}

const conditionsOf = (rule: Rule): [string, CompiledCondition][] =>
  rule.kind === 'absence'
    ? [
        ['start', rule.start],
        ['condition', rule.condition],
        ['stop', rule.stop],
      ]
    : rule.kind === 'sequence'
      ? rule.steps.map((s, i) => [`step ${i + 1}`, s] as [string, CompiledCondition])
      : [['condition', rule.condition]];

/**
 * Explanation lines for one record and one rule: every condition of the rule that holds (with its matching
 * parts), a note when the rule's trust level keeps the record out, and with `misses` also why conditions failed.
 */
export function explainRecord(rule: Rule, r: KataLogRecord, misses: boolean): string[] {
  const out: string[] = [];
  const believed = recordTrustRank(r) <= trustRank(rule.trust);
  for (const [name, cond] of conditionsOf(rule)) {
    const { holds, parts } = explainCondition(cond.ast, r);
    if (holds) {
      const writer = TRUST_LEVELS[recordTrustRank(r)] ?? 'any';
      const note = believed
        ? ''
        : ` — but trust ${rule.trust} does not believe this writer (${writer}), so the rule ignores it`;
      out.push(`${rule.id} ${name} matched: ${parts.join(' and ')}${note}`);
    } else if (misses) {
      out.push(`${rule.id} ${name} did not match: ${parts.join('; ')}`);
    }
  }
  return out;
}
