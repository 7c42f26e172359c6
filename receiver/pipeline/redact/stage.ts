// The redaction stage: first after parsing, so nothing downstream (dedupe keys, alert rules and the alerts they
// build, queues, the store, exporters) ever holds a secret value. Rules still see that one was there through
// `kata.redacted.count`.
import { ConfigError } from '../../config/errors.js';
import type { ReceiverConfig } from '../../config/types.js';
import { readKeyFile } from '../../integrity/key-file.js';
import type { KataLogRecord } from '../../model/record.js';
import type { Metrics } from '../../telemetry/metrics.js';
import type { StageEnv } from '../../components/types.js';
import type { Stage } from '../types.js';
import { Redactor, type RedactorOptions } from './redactor.js';

export class RedactStage implements Stage {
  readonly name = 'redact';
  constructor(readonly redactor: Redactor) {}

  process(records: KataLogRecord[]): KataLogRecord[] {
    let kept = records;
    for (let i = 0; i < records.length; i++) {
      if (this.redactor.redactRecord(records[i]!)) {
        if (kept !== records) kept.push(records[i]!);
      } else if (kept === records) {
        kept = records.slice(0, i);
      }
    }
    return kept;
  }
}

/** The stage for `pipeline.redaction`, or undefined when it is off. Throws a config error on a bad rule or key. */
export function createRedactStage(config: ReceiverConfig, metrics?: Metrics): RedactStage | undefined {
  const c = config.pipeline.redaction;
  if (!c.enabled) return undefined;
  try {
    const opts: RedactorOptions = {
      builtin: c.builtin,
      action: c.action,
      rules: c.rules,
      hmacKey: c.hmacKeyFile ? readKeyFile(c.hmacKeyFile, 'hmac_key_file') : undefined,
      onRedact: metrics ? (rule, action) => metrics.redactions.inc({ rule, action }) : undefined,
    };
    return new RedactStage(new Redactor(opts));
  } catch (err) {
    throw new ConfigError(config.source ?? '<defaults>', [
      { path: 'pipeline.redaction', message: (err as Error).message },
    ]);
  }
}

/** The registry's factory (config.ts): `createRedactStage` on the configuration with these settings. */
export function redactStageFactory(
  redaction: ReceiverConfig['pipeline']['redaction'],
  env: StageEnv,
): { stage: RedactStage } | undefined {
  const stage = createRedactStage({ ...env.config, pipeline: { ...env.config.pipeline, redaction } }, env.metrics);
  return stage && { stage };
}
