// Library entry point for the alert rules: load the built-in library or YAML rule files/text, evaluate records,
// get the alerts. A thin layer over RuleEngine (a pipeline Stage) for callers that are not a pipeline.
import type { KataLogRecord } from '../model/record.js';
import { RuleEngine, loadRuleFiles, loadRules, type RuleEngineOptions, type RuleSet } from '../rules/index.js';
import { EVENT_KATA_ALERT } from '../semconv/generated.js';

/** True for the alert records (`kata.alert` events) a RuleEngine adds. */
export const isAlert = (rec: KataLogRecord): boolean => rec.eventName === EVENT_KATA_ALERT;

export interface AlertRulesOptions extends Omit<RuleEngineOptions, 'rules'> {
  /**
   * `'builtin'` (default): the built-in Kata library; file or directory paths (and `'builtin'`) in order, later
   * ones overriding; `{ yaml }`: rules given as YAML text; or a RuleSet already loaded. Throws RuleLoadError
   * naming file, line and field when a rule is invalid.
   */
  rules?: string | string[] | { yaml: string; file?: string } | RuleSet;
}

export interface Evaluation {
  /** The input records followed by the alerts, as a pipeline would pass them on. */
  records: KataLogRecord[];
  /** Only the alerts. */
  alerts: KataLogRecord[];
}

/** The rule engine with its rules loaded: `evaluate(records)` per batch, `flush(now)` on a timer for stateful
 *  (absence, threshold-window) rules, `close()` at the end. */
export class AlertRules {
  readonly engine: RuleEngine;
  readonly ruleSet: RuleSet;

  constructor(opts: AlertRulesOptions = {}) {
    const r = opts.rules ?? 'builtin';
    this.ruleSet =
      typeof r === 'string' || Array.isArray(r)
        ? loadRuleFiles(r)
        : 'yaml' in r
          ? loadRules([{ file: r.file ?? '<rules>', text: r.yaml }])
          : r;
    this.engine = new RuleEngine({ ...opts, rules: this.ruleSet });
  }

  evaluate(records: KataLogRecord[]): Evaluation {
    const out = this.engine.process(records);
    return { records: out, alerts: out.filter(isAlert) };
  }

  /** Alerts due by `nowUnixNano` without new records (absence deadlines). */
  flush(nowUnixNano: bigint): KataLogRecord[] {
    return this.engine.flush(nowUnixNano).filter(isAlert);
  }

  /** Whatever the engine still holds at the end of a replay. */
  close(): KataLogRecord[] {
    return this.engine.close().filter(isAlert);
  }
}
