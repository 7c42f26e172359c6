// The receiver's start-up checks (`doctor` in the configuration): the same checks as `kata-otel doctor`, with the
// receiver's own configuration, turned into kata.config.finding events. A failure of the checks is logged and
// never stops the receiver.
import type { ReceiverConfig } from '../config/index.js';
import type { KataLogRecord } from '../model/record.js';
import type { Logger } from '../telemetry/log.js';
import { runDoctor } from './doctor.js';
import { findingRecords } from './events.js';

export async function startupFindings(config: ReceiverConfig, logger: Logger): Promise<KataLogRecord[]> {
  const d = config.doctor;
  try {
    const report = await runDoctor({
      profile: d.profile,
      root: d.root,
      kataConfigs: d.kataConfig,
      receiver: config,
      connectTimeoutMs: d.connectTimeoutMs,
    });
    const count = (s: string) => report.findings.filter((f) => f.severity === s).length;
    logger.info('configuration checked', {
      profile: d.profile,
      kataConfigs: report.kata.map((k) => k.main),
      errors: count('error'),
      warnings: count('warning'),
      info: count('info'),
    });
    return findingRecords(report.findings, d.profile);
  } catch (err) {
    logger.warn('configuration checks failed; the receiver runs without them', { err });
    return [];
  }
}
