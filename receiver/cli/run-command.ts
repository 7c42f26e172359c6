// `kata-otel run`: load the config, run the receiver, turn signals into a clean shutdown and errors into exit codes.
import { ConfigError, loadConfig } from '../config/index.js';
import { formatSummary, runReceiver } from '../run/receiver.js';
import { UnsafePathError } from '../safefs/index.js';
import { SourceInputError } from '../sources/file.js';
import { createLogger } from '../telemetry/log.js';

export interface RunCommandOptions {
  files: string[];
  config?: string;
  once: boolean;
  dataDir?: string;
  journalDir?: string;
  journald?: boolean;
}

export async function runCommand(o: RunCommandOptions): Promise<number> {
  let config;
  try {
    config = loadConfig(o.config, o.dataDir ? { data_dir: o.dataDir } : undefined);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kata-otel: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger({ level: config.log.level, file: config.log.file ?? undefined });
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    logger.info('shutting down', { signal: sig, timeoutMs: config.shutdownTimeoutMs });
    abort.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const summary = await runReceiver(
      config,
      { files: o.files, journalDir: o.journalDir, journald: o.journald, once: o.once },
      { stdin: process.stdin, stdout: process.stdout, logger },
      abort.signal,
    );
    // The summary goes to stdout unless stdout carries exported records.
    const out = config.exporters.some((e) => e.type === 'stdout') ? process.stderr : process.stdout;
    out.write(formatSummary(summary));
    return 0;
  } catch (err) {
    if (err instanceof SourceInputError || err instanceof ConfigError || err instanceof UnsafePathError) {
      process.stderr.write(`kata-otel: ${err.message}\n`);
      return 2;
    }
    logger.error('kata-otel run failed', { err });
    process.stderr.write(`kata-otel: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
