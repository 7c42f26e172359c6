// Public API of the alert rules: load rule files, run them as a pipeline stage, notify Alertmanager, export.
export { RuleEngine, type RuleEngineOptions } from './engine.js';
export {
  RuleLoadError,
  builtinRulesDir,
  formatIssue,
  loadBuiltinRules,
  loadRuleFiles,
  loadRules,
  type RuleIssue,
  type RuleSource,
} from './load.js';
export { AlertmanagerNotifier, toPostableAlert, type AlertmanagerOptions, type PostableAlert } from './notifier.js';
export { rulesExport, rulesList, rulesTest, type RulesIo, type RulesSpec, type RulesTestResult } from './cli.js';
export { stableUuid, toSigma, type SigmaExport, type SigmaFile } from './sigma.js';
export { toLoki, toLogQL, type LokiExport } from './loki.js';
export { renderRulesDoc } from './docs.js';
export { ConditionError, parseCondition, type Cond } from './condition.js';
export { SEVERITIES, SEVERITY_NUMBER, type Rule, type RuleSet, type Severity } from './types.js';
