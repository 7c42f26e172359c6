// The alert rules stage's factory (config.ts loads it): the rule files, the engine and the optional webhook.
import type { BuiltStage, StageEnv } from '../components/types.js';
import type { PipelineConfig } from '../config/types.js';
import { RuleEngine } from './engine.js';
import { loadRuleFiles } from './load.js';
import { AlertmanagerNotifier } from './notifier.js';

export function createRulesStage(r: PipelineConfig['rules'], env: StageEnv): BuiltStage {
  const rules = loadRuleFiles([...(r.builtin ? ['builtin'] : []), ...r.files]);
  const { logger, metrics } = env;
  const notifier = r.webhook.url
    ? new AlertmanagerNotifier({ url: r.webhook.url, timeoutMs: r.webhook.timeoutMs, logger })
    : undefined;
  const stage = new RuleEngine({ rules, logger, metrics, onAlert: notifier ? (a) => notifier.notify(a) : undefined });
  return { stage, close: notifier && (() => notifier.close()) };
}
