// Load and validate rule files (a YAML list of `- rule:`, `- macro:`, `- list:` and `- ruleset:` items, as in
// Falco). All problems of all files are collected, so one run shows every mistake; each names the file, line,
// rule id, field and value, and says what to write instead.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, isMap, isSeq, parseDocument } from 'yaml';
import { ATTR_HOST_NAME, ATTR_KATA_SANDBOX_ID } from '../semconv/generated.js';
import { ConditionError, compile, isFieldName, parseCondition, type Cond, type Value } from './condition.js';
import { TemplateError, parseTemplate } from './template.js';
import { DEFAULT_TRUST, TRUST_LEVELS, type Trust } from './trust.js';
import {
  FALCO_PRIORITY_ALIASES,
  SEVERITIES,
  parseDuration,
  type CompiledCondition,
  type Rule,
  type RuleKind,
  type RuleSet,
  type Severity,
} from './types.js';

export interface RuleIssue {
  file: string;
  line?: number;
  rule?: string;
  field?: string;
  value?: unknown;
  message: string;
}

export function formatIssue(i: RuleIssue): string {
  const where = `${i.file}${i.line ? `:${i.line}` : ''}`;
  const rule = i.rule ? ` rule '${i.rule}':` : '';
  const field = i.field
    ? ` field '${i.field}'${i.value !== undefined ? ` (value ${JSON.stringify(i.value)})` : ''}:`
    : '';
  return `${where}:${rule}${field} ${i.message}`;
}

export class RuleLoadError extends Error {
  constructor(readonly issues: RuleIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'RuleLoadError';
  }
}

export interface RuleSource {
  /** Shown in errors and used as the default ruleset name. */
  file: string;
  text: string;
}

const RULE_KEYS = [
  'rule',
  'name',
  'desc',
  'condition',
  'output',
  'priority',
  'severity',
  'tags',
  'enabled',
  'category',
  'reference',
  'references',
  'group_by',
  'dedup_window',
  'kind',
  'count',
  'window',
  'timeout',
  'start',
  'stop',
  'sequence',
  'falsepositives',
  'source',
  'trust',
];
const UNSUPPORTED_FALCO_KEYS = [
  'exceptions',
  'append',
  'override',
  'warn_evttypes',
  'skip-if-unknown-filter',
  'required_engine_version',
  'required_plugin_versions',
];
const KINDS: RuleKind[] = ['match', 'threshold', 'absence', 'sequence'];
const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

interface Located<T> {
  value: T;
  file: string;
  line?: number;
}

/** Build a rule set from already-read sources (later sources may disable or replace earlier rules). */
export function loadRules(sources: RuleSource[]): RuleSet {
  const issues: RuleIssue[] = [];
  const listDefs = new Map<string, Located<unknown[]>>();
  const macroDefs = new Map<string, Located<string>>();
  const ruleItems: Located<Record<string, unknown>>[] = [];
  let meta: RuleSet['meta'] | undefined;
  const rulesetOf = new Map<string, string>();

  for (const src of sources) {
    const lc = new LineCounter();
    const doc = parseDocument(src.text, { lineCounter: lc });
    for (const e of doc.errors) {
      const msg = (e.message.split('\n')[0] as string).replace(/ at line \d+, column \d+:?$/, '');
      const hint = /compact mappings|implicit map keys/i.test(msg)
        ? "; a value that contains ': ' must be quoted or written as a block (condition: >- on its own line, the text indented below)"
        : '';
      issues.push({ file: src.file, line: e.linePos?.[0]?.line, message: `YAML syntax error: ${msg}${hint}` });
    }
    if (doc.errors.length > 0) continue;
    if (doc.contents === null) continue; // an empty file defines nothing
    if (!isSeq(doc.contents)) {
      issues.push({
        file: src.file,
        line: 1,
        message: 'a rules file is a YAML list of items (- rule: …, - macro: …, - list: …); found something else',
      });
      continue;
    }
    rulesetOf.set(src.file, basename(src.file, extname(src.file)));
    for (const node of doc.contents.items) {
      const start = (node as { range?: [number, number, number] | null }).range?.[0];
      const line = start !== undefined ? lc.linePos(start).line : undefined;
      if (!isMap(node)) {
        issues.push({
          file: src.file,
          line,
          message: 'each list item must be a mapping that starts with rule:, macro:, list: or ruleset:',
        });
        continue;
      }
      const item = node.toJSON() as Record<string, unknown>;
      const kinds = ['rule', 'macro', 'list', 'ruleset'].filter((k) => k in item);
      if (kinds.length !== 1) {
        issues.push({
          file: src.file,
          line,
          message: `an item needs exactly one of rule:, macro:, list:, ruleset: (found ${kinds.length ? kinds.join(', ') : 'none'})`,
        });
        continue;
      }
      const kind = kinds[0] as string;
      const name = item[kind];
      if (typeof name !== 'string' || name.trim() === '') {
        issues.push({ file: src.file, line, field: kind, value: name, message: `'${kind}:' needs a non-empty name` });
        continue;
      }
      if (kind === 'ruleset') {
        rulesetOf.set(src.file, name);
        const unknown = Object.keys(item).filter((k) => !['ruleset', 'author', 'date', 'desc'].includes(k));
        if (unknown.length)
          issues.push({
            file: src.file,
            line,
            field: unknown[0],
            message: 'a ruleset item takes only ruleset, author, date, desc',
          });
        if (item.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(String(item.date))) {
          issues.push({
            file: src.file,
            line,
            field: 'date',
            value: item.date,
            message: 'write the date as YYYY-MM-DD (quoted)',
          });
        }
        // The first ruleset named wins; its other files may fill in author/date/desc.
        meta ??= { name };
        if (meta.name === name) {
          if (typeof item.author === 'string') meta.author ??= item.author;
          if (item.date !== undefined) meta.date ??= String(item.date);
          if (typeof item.desc === 'string') meta.desc ??= item.desc;
        }
      } else if (kind === 'list') {
        const items = item.items;
        if (!Array.isArray(items) || items.some((x) => typeof x !== 'string' && typeof x !== 'number')) {
          issues.push({
            file: src.file,
            line,
            rule: undefined,
            field: 'items',
            value: items,
            message: `list '${name}' needs 'items:' as a list of strings or numbers`,
          });
          continue;
        }
        listDefs.set(name, { value: items, file: src.file, line });
      } else if (kind === 'macro') {
        if (typeof item.condition !== 'string') {
          issues.push({
            file: src.file,
            line,
            field: 'condition',
            value: item.condition,
            message: `macro '${name}' needs 'condition:' as a string`,
          });
          continue;
        }
        macroDefs.set(name, { value: item.condition, file: src.file, line });
      } else {
        ruleItems.push({ value: item, file: src.file, line });
      }
    }
  }

  // Lists may name other lists (Falco): expand, refusing cycles.
  const lists = new Map<string, Value[]>();
  const expandList = (name: string, stack: string[]): Value[] => {
    const done = lists.get(name);
    if (done) return done;
    const def = listDefs.get(name) as Located<unknown[]>;
    if (stack.includes(name)) {
      issues.push({
        file: def.file,
        line: def.line,
        message: `list '${name}' refers to itself through ${stack.join(' → ')}`,
      });
      return [];
    }
    const out: Value[] = [];
    for (const x of def.value) {
      if (typeof x === 'string' && listDefs.has(x)) out.push(...expandList(x, [...stack, name]));
      else out.push(x as Value);
    }
    lists.set(name, out);
    return out;
  };
  for (const name of listDefs.keys()) expandList(name, []);

  // Macros are parsed on first use, so their order in the files does not matter.
  const macros = new Map<string, Cond>();
  const macroStack: string[] = [];
  const ctx = {
    list: (name: string) => lists.get(name),
    macro: (name: string): Cond | undefined => {
      const done = macros.get(name);
      if (done) return done;
      const def = macroDefs.get(name);
      if (!def) return undefined;
      if (macroStack.includes(name))
        throw new ConditionError(`macro '${name}' refers to itself (${[...macroStack, name].join(' → ')})`, 1);
      macroStack.push(name);
      try {
        const cond = parseCondition(def.value, ctx);
        macros.set(name, cond);
        return cond;
      } catch (e) {
        if (e instanceof ConditionError && !e.message.startsWith('in macro')) {
          throw new ConditionError(
            `in macro '${name}' (${def.file}${def.line ? `:${def.line}` : ''}), column ${e.column}: ${e.message}`,
            1,
          );
        }
        throw e;
      } finally {
        macroStack.pop();
      }
    },
  };
  for (const [name, def] of macroDefs) {
    try {
      ctx.macro(name);
    } catch (e) {
      if (!(e instanceof ConditionError)) throw e;
      issues.push({ file: def.file, line: def.line, field: 'condition', value: def.value, message: e.message });
      macros.set(name, { kind: 'or', items: [] }); // parsed once; do not report again from every rule
    }
  }

  const rules: Rule[] = [];
  const byId = new Map<string, { rule: Rule; file: string; line?: number }>();
  for (const it of ruleItems) {
    const item = it.value;
    const id = String(item.rule);
    const keys = Object.keys(item);
    // `- rule: x` + `enabled: false` (nothing else) switches an already defined rule on or off.
    if (keys.every((k) => k === 'rule' || k === 'enabled') && keys.includes('enabled')) {
      const prev = byId.get(id);
      if (!prev) {
        issues.push({
          file: it.file,
          line: it.line,
          rule: id,
          field: 'enabled',
          message: `there is no earlier rule '${id}' to enable or disable; check the id (\`kata-otel rules list\`)`,
        });
      } else if (typeof item.enabled !== 'boolean') {
        issues.push({
          file: it.file,
          line: it.line,
          rule: id,
          field: 'enabled',
          value: item.enabled,
          message: 'write true or false',
        });
      } else prev.rule.enabled = item.enabled;
      continue;
    }
    const rule = buildRule(it, ctx, rulesetOf.get(it.file) ?? basename(it.file), issues);
    if (!rule) continue;
    const prev = byId.get(id);
    if (prev && prev.file === it.file) {
      issues.push({
        file: it.file,
        line: it.line,
        rule: id,
        message: `rule '${id}' is already defined at line ${prev.line ?? '?'} of this file; give one of them another id`,
      });
      continue;
    }
    if (prev)
      rules.splice(rules.indexOf(prev.rule), 1, rule); // a later file replaces an earlier rule
    else rules.push(rule);
    byId.set(id, { rule, file: it.file, line: it.line });
  }

  if (issues.length > 0) throw new RuleLoadError(issues);
  const first = sources[0];
  return {
    rules,
    meta: meta ?? { name: first ? basename(first.file, extname(first.file)) : 'rules' },
    macros: new Map([...macroDefs].map(([k, v]) => [k, v.value])),
    lists,
  };
}

function buildRule(
  it: Located<Record<string, unknown>>,
  ctx: Parameters<typeof parseCondition>[1],
  ruleset: string,
  issues: RuleIssue[],
): Rule | undefined {
  const item = it.value;
  const id = String(item.rule);
  const before = issues.length;
  const issue = (field: string | undefined, value: unknown, message: string) =>
    issues.push({ file: it.file, line: it.line, rule: id, field, value, message });

  if (!RULE_ID.test(id))
    issue('rule', id, 'rule ids use letters, digits, ".", "_" and "-" (e.g. kata-agent-policy-denied)');
  for (const k of Object.keys(item)) {
    if (UNSUPPORTED_FALCO_KEYS.includes(k))
      issue(
        k,
        undefined,
        `'${k}' (Falco) is not supported by kata-otel; express the exception inside the condition with 'and not …'`,
      );
    else if (!RULE_KEYS.includes(k)) issue(k, undefined, `unknown key; a rule takes ${RULE_KEYS.join(', ')}`);
  }
  const str = (field: string, required: boolean): string | undefined => {
    const v = item[field];
    if (v === undefined) {
      if (required) issue(field, undefined, `missing; every rule needs '${field}:'`);
      return undefined;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      issue(field, v, 'must be a non-empty string');
      return undefined;
    }
    return v;
  };
  const strList = (field: string): string[] => {
    const v = item[field];
    if (v === undefined) return [];
    if (typeof v === 'string') return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    issue(field, v, 'must be a string or a list of strings');
    return [];
  };
  const cond = (field: string, text: unknown): CompiledCondition | undefined => {
    if (typeof text !== 'string' || text.trim() === '') {
      issue(
        field,
        text,
        text === undefined ? `missing; this kind of rule needs '${field}:'` : 'must be a condition string',
      );
      return undefined;
    }
    try {
      const ast = parseCondition(text, ctx);
      return { text, ast, test: compile(ast) };
    } catch (e) {
      if (!(e instanceof ConditionError)) throw e;
      issue(field, text, e.message.startsWith('in macro') ? e.message : `column ${e.column}: ${e.message}`);
      return undefined;
    }
  };
  const duration = (field: string, required: boolean): bigint | undefined => {
    const v = item[field];
    if (v === undefined) {
      if (required) issue(field, undefined, `missing; write a duration such as 30s, 5m or 1h`);
      return undefined;
    }
    const d = parseDuration(v);
    if (d === undefined || d <= 0n) issue(field, v, 'must be a positive duration such as 30s, 5m or 1h');
    return d !== undefined && d > 0n ? d : undefined;
  };

  const kindRaw = item.kind ?? 'match';
  const kind = KINDS.includes(kindRaw as RuleKind) ? (kindRaw as RuleKind) : undefined;
  if (!kind) issue('kind', kindRaw, `must be one of ${KINDS.join(', ')}`);

  const desc = str('desc', true);
  const outputText = str('output', true);
  let output;
  if (outputText !== undefined) {
    try {
      output = parseTemplate(outputText);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      issue('output', outputText, `column ${e.column}: ${e.message}`);
    }
  }

  if (item.priority !== undefined && item.severity !== undefined)
    issue('severity', item.severity, "write either 'priority:' or 'severity:', not both");
  const sevField = item.severity !== undefined ? 'severity' : 'priority';
  const sevRaw = item[sevField];
  let severity: Severity | undefined;
  if (sevRaw === undefined) issue('priority', undefined, `missing; write priority: ${SEVERITIES.join('|')}`);
  else {
    const s = String(sevRaw).toLowerCase();
    severity = (SEVERITIES as readonly string[]).includes(s) ? (s as Severity) : FALCO_PRIORITY_ALIASES[s];
    if (!severity)
      issue(
        sevField,
        sevRaw,
        `is not a severity; use one of ${SEVERITIES.join(', ')} (Falco priorities are accepted too)`,
      );
  }

  if (item.enabled !== undefined && typeof item.enabled !== 'boolean')
    issue('enabled', item.enabled, 'write true or false');
  if (item.source !== undefined && item.source !== 'kata')
    issue('source', item.source, 'kata-otel rules only see Kata records; write source: kata or leave it out');
  const tags = strList('tags');
  const references = [...strList('reference'), ...strList('references')];
  for (const ref of references)
    if (!/^https?:\/\//.test(ref)) issue('references', ref, 'references are URLs (https://…)');
  const groupBy = item.group_by === undefined ? undefined : strList('group_by');
  for (const f of groupBy ?? [])
    if (!isFieldName(f)) issue('group_by', f, 'group_by lists attribute names such as kata.sandbox.id or host.name');
  const trust = item.trust ?? DEFAULT_TRUST;
  if (!(TRUST_LEVELS as readonly unknown[]).includes(trust))
    issue(
      'trust',
      item.trust,
      `must be one of ${TRUST_LEVELS.join(', ')}: the least trustworthy writer the alert may come from (docs/rules.md)`,
    );
  const dedup = item.dedup_window === undefined ? undefined : parseDuration(item.dedup_window);
  if (item.dedup_window !== undefined && dedup === undefined)
    issue('dedup_window', item.dedup_window, 'must be a duration such as 5m, or 0 to alert on every match');

  const KIND_OF: Record<string, string> = {
    count: 'threshold',
    window: 'threshold and sequence',
    timeout: 'absence',
    start: 'absence',
    stop: 'absence',
    sequence: 'sequence',
  };
  const forbid = (fields: string[]) => {
    for (const f of fields) {
      if (item[f] !== undefined)
        issue(f, item[f], `only applies to ${KIND_OF[f]} rules; set kind: accordingly or remove '${f}'`);
    }
  };

  let rule: Rule | undefined;
  const base = {
    id,
    name: str('name', false) ?? id,
    desc: desc ?? '',
    output: output ?? parseTemplate(''),
    severity: severity ?? 'info',
    tags,
    enabled: item.enabled !== false,
    category: str('category', false),
    references,
    ruleset,
    origin: { file: it.file, line: it.line },
    falsePositives: strList('falsepositives'),
    trust: (TRUST_LEVELS as readonly unknown[]).includes(trust) ? (trust as Trust) : DEFAULT_TRUST,
  };
  if (kind === 'match') {
    forbid(['count', 'window', 'timeout', 'start', 'stop', 'sequence']);
    const c = cond('condition', item.condition);
    if (c)
      rule = {
        ...base,
        kind,
        condition: c,
        groupBy: groupBy ?? [ATTR_KATA_SANDBOX_ID],
        dedupWindowNs: dedup ?? 300_000_000_000n,
      };
  } else if (kind === 'threshold') {
    forbid(['timeout', 'start', 'stop', 'sequence']);
    const c = cond('condition', item.condition);
    const count = item.count;
    if (!Number.isInteger(count) || (count as number) < 1)
      issue('count', count, 'threshold rules need count: N (a whole number ≥ 1)');
    const windowNs = duration('window', true);
    if (c && windowNs && Number.isInteger(count) && (count as number) >= 1) {
      rule = {
        ...base,
        kind,
        condition: c,
        count: count as number,
        windowNs,
        groupBy: groupBy ?? [ATTR_HOST_NAME],
        dedupWindowNs: dedup ?? windowNs,
      };
    }
  } else if (kind === 'absence') {
    forbid(['count', 'window', 'sequence']);
    const c = cond('condition', item.condition);
    const start = cond('start', item.start);
    const stop = cond('stop', item.stop);
    const timeoutNs = duration('timeout', true);
    if (c && start && stop && timeoutNs) {
      rule = {
        ...base,
        kind,
        condition: c,
        start,
        stop,
        timeoutNs,
        groupBy: groupBy ?? [ATTR_KATA_SANDBOX_ID],
        dedupWindowNs: dedup ?? timeoutNs,
      };
    }
  } else if (kind === 'sequence') {
    forbid(['count', 'timeout', 'start', 'stop']);
    if (item.condition !== undefined)
      issue('condition', item.condition, "sequence rules list their steps under 'sequence:' instead of 'condition:'");
    const seq = item.sequence;
    const steps: CompiledCondition[] = [];
    if (!Array.isArray(seq) || seq.length < 2)
      issue('sequence', seq, 'sequence rules need sequence: a list of at least two conditions, in order');
    else
      seq.forEach((s, i) => {
        const c = cond(`sequence[${i}]`, s);
        if (c) steps.push(c);
      });
    const windowNs = duration('window', true);
    if (Array.isArray(seq) && steps.length === seq.length && steps.length >= 2 && windowNs) {
      rule = {
        ...base,
        kind,
        steps,
        windowNs,
        groupBy: groupBy ?? [ATTR_KATA_SANDBOX_ID],
        dedupWindowNs: dedup ?? windowNs,
      };
    }
  }
  return issues.length === before ? rule : undefined;
}

// ---- files ---------------------------------------------------------------------------------------------

/** Where the built-in library lives: `receiver/rules/builtin/` from source, `dist/rules/builtin/` once built. */
export function builtinRulesDir(): string {
  return fileURLToPath(new URL('./builtin/', import.meta.url));
}

function yamlFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Load rules from `builtin`, files and directories (their *.yaml, sorted), in order: later files may replace
 * a rule or switch one off (`- rule: id` + `enabled: false`).
 */
export function loadRuleFiles(specs: string | string[]): RuleSet {
  const list = Array.isArray(specs) ? specs : [specs];
  const sources: RuleSource[] = [];
  const issues: RuleIssue[] = [];
  for (const spec of list) {
    let files: string[];
    try {
      files =
        spec === 'builtin' ? yamlFilesIn(builtinRulesDir()) : statSync(spec).isDirectory() ? yamlFilesIn(spec) : [spec];
    } catch (e) {
      issues.push({
        file: spec,
        message: `cannot read: ${(e as Error).message}; pass a rules file, a directory of *.yaml, or 'builtin'`,
      });
      continue;
    }
    for (const file of files) {
      try {
        sources.push({ file, text: readFileSync(file, 'utf8') });
      } catch (e) {
        issues.push({ file, message: `cannot read: ${(e as Error).message}` });
      }
    }
  }
  if (issues.length > 0) throw new RuleLoadError(issues);
  return loadRules(sources);
}

export function loadBuiltinRules(): RuleSet {
  return loadRuleFiles('builtin');
}
