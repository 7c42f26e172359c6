// The rule model shared by the loader, the engine and the exporters (Sigma, Loki, docs).
import type { Cond } from './condition.js';
import type { KataLogRecord } from '../model/record.js';
import type { Template } from './template.js';
import type { Trust } from './trust.js';

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** SeverityNumber of an alert, as semconv/model/registry.yaml (event `kata.alert`) specifies. */
export const SEVERITY_NUMBER: Record<Severity, number> = { info: 9, low: 13, medium: 17, high: 18, critical: 21 };

/** Falco priorities are accepted as aliases, so Falco-trained authors can keep their habits. */
export const FALCO_PRIORITY_ALIASES: Record<string, Severity> = {
  emergency: 'critical',
  alert: 'critical',
  error: 'high',
  warning: 'medium',
  notice: 'low',
  informational: 'info',
  debug: 'info',
};

export type RuleKind = 'match' | 'threshold' | 'absence' | 'sequence';

/** A condition parsed and compiled: `text` as written, `ast` after macro/list expansion, `test` the evaluator. */
export interface CompiledCondition {
  text: string;
  ast: Cond;
  test: (record: KataLogRecord) => boolean;
}

export interface RuleOrigin {
  file: string;
  line?: number;
}

export interface RuleBase {
  id: string;
  /** Human title (`name:`), defaults to the id. */
  name: string;
  desc: string;
  output: Template;
  severity: Severity;
  tags: string[];
  enabled: boolean;
  category?: string;
  references: string[];
  /** Attributes whose values make the key that state (dedup, windows, sequences) is kept per. */
  groupBy: string[];
  /** One alert per rule and key per this window; 0n turns deduplication off. */
  dedupWindowNs: bigint;
  ruleset: string;
  origin: RuleOrigin;
  /** Falsepositives notes (exported to Sigma and the docs). */
  falsePositives: string[];
  /** The least trustworthy writer whose records take part in the rule (trust.ts). */
  trust: Trust;
}

export interface MatchRule extends RuleBase {
  kind: 'match';
  condition: CompiledCondition;
}

export interface ThresholdRule extends RuleBase {
  kind: 'threshold';
  condition: CompiledCondition;
  count: number;
  windowNs: bigint;
}

export interface AbsenceRule extends RuleBase {
  kind: 'absence';
  /** The records that are expected while the key is armed. */
  condition: CompiledCondition;
  start: CompiledCondition;
  stop: CompiledCondition;
  timeoutNs: bigint;
}

export interface SequenceRule extends RuleBase {
  kind: 'sequence';
  steps: CompiledCondition[];
  windowNs: bigint;
}

export type Rule = MatchRule | ThresholdRule | AbsenceRule | SequenceRule;

export interface RuleSet {
  rules: Rule[];
  /** Ruleset metadata from a `- ruleset:` item (the first one wins). */
  meta: { name: string; author?: string; date?: string; desc?: string };
  macros: Map<string, string>;
  lists: Map<string, (string | number)[]>;
}

/** Parse `30s`, `5m`, `1h`, `500ms`, `1d` or a plain number of seconds into nanoseconds; undefined when invalid. */
export function parseDuration(value: unknown): bigint | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? BigInt(Math.round(value * 1e9)) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9, d: 86400e9 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return BigInt(Math.round(n * unit));
}

/** `300000000000n` → `5m`: the shortest exact rendering (used in docs, Sigma `timespan`, LogQL ranges). */
export function formatDuration(ns: bigint): string {
  const units: [bigint, string][] = [
    [86_400_000_000_000n, 'd'],
    [3_600_000_000_000n, 'h'],
    [60_000_000_000n, 'm'],
    [1_000_000_000n, 's'],
    [1_000_000n, 'ms'],
  ];
  for (const [size, name] of units) if (ns > 0n && ns % size === 0n) return `${ns / size}${name}`;
  return `${ns / 1_000_000n}ms`;
}
