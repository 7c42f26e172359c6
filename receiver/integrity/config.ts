// `integrity:` in the config → the exporter wrapper (or nothing when it is off).
import { ConfigError } from '../config/errors.js';
import type { ExporterConfig, ReceiverConfig } from '../config/types.js';
import type { Exporter } from '../exporters/types.js';
import type { Logger } from '../telemetry/log.js';
import { integrityWrapper } from './exporter.js';
import { readKeyFile } from './key-file.js';

export function createIntegrity(
  config: ReceiverConfig,
  logger: Logger,
): ((exporter: Exporter, e: ExporterConfig) => Exporter) | undefined {
  const c = config.integrity;
  if (!c.enabled) return undefined;
  let key: Buffer | undefined;
  try {
    key = c.hmacKeyFile ? readKeyFile(c.hmacKeyFile, 'hmac_key_file') : undefined;
  } catch (err) {
    throw new ConfigError(config.source ?? '<defaults>', [{ path: 'integrity', message: (err as Error).message }]);
  }
  return integrityWrapper({
    key,
    checkpointIntervalMs: c.checkpointIntervalMs,
    checkpointEveryRecords: c.checkpointEveryRecords,
    dataDir: config.dataDir,
    logger,
  });
}
