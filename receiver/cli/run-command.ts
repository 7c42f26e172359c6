// `kata-otel run`: load the config, run the receiver, turn signals into a clean shutdown and errors into exit codes.
import { ConfigError } from '../config/errors.js';
import { loadConfig } from '../config/load.js';
import type { ReceiverConfig } from '../config/types.js';
import { parseDuration } from '../rules/types.js';
import { rejectedMessage } from '../run/health.js';
import { missingJournalDir } from './inputs.js';
import { Receiver, formatSummary, runReceiver, undeliveredMessage } from '../run/receiver.js';
import { runReloading } from '../run/reload.js';
import { UnsafePathError } from '../safefs/index.js';
import { SourceInputError } from '../sources/file.js';
import { createLogger } from '../telemetry/log.js';
import { redactUrls } from '../telemetry/redact.js';

export interface RunCommandOptions {
  files: string[];
  config?: string;
  once: boolean;
  dataDir?: string;
  journalDir?: string;
  journald?: boolean;
  /** `--from-start`: re-read every source from its beginning (its checkpoints are removed). */
  fromStart?: boolean;
  /** `--stdout` / `kata-otel tap`: also print every record on stdout (text on a TTY, else OTLP/JSON lines). */
  stdout?: boolean;
  /** `--log-level`: overrides log.level (validated by the config schema). */
  logLevel?: string;
  /** `--once-timeout`: overrides once_timeout_ms. */
  onceTimeout?: string;
}

/** `--once-timeout 5m` / `90s` / `300` (seconds) in ms; a ConfigError for anything else. */
function onceTimeoutMs(text: string): number {
  const ns = parseDuration(text);
  if (ns === undefined || ns <= 0n)
    throw new ConfigError('--once-timeout', [
      { path: '--once-timeout', message: `${JSON.stringify(text)} is not a duration; write e.g. 90s, 5m or 1h` },
    ]);
  return Number(ns / 1_000_000n);
}

/** The exporter `--stdout` adds beside the configured ones: people read text, programs read OTLP/JSON. */
function tapExporter(existing: { name: string }[]): ReceiverConfig['exporters'][number] {
  const names = new Set(existing.map((e) => e.name));
  let name = 'tap';
  for (let i = 2; names.has(name); i++) name = `tap-${i}`;
  return { type: 'stdout', name, format: process.stdout.isTTY ? 'text' : 'otlp-json' };
}

export async function runCommand(o: RunCommandOptions): Promise<number> {
  const badJournalDir = missingJournalDir(o.journalDir);
  if (badJournalDir) {
    process.stderr.write(`kata-otel: ${badJournalDir}\n`);
    return 2;
  }
  let config;
  const overrides: Record<string, unknown> = {};
  try {
    if (o.dataDir) overrides.data_dir = o.dataDir;
    if (o.logLevel !== undefined) overrides.log = { level: o.logLevel };
    if (o.onceTimeout !== undefined) overrides.once_timeout_ms = onceTimeoutMs(o.onceTimeout);
    config = loadConfig(o.config, Object.keys(overrides).length ? overrides : undefined);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kata-otel: ${redactUrls(err.message)}\n`);
      return 2;
    }
    throw err;
  }
  if (o.stdout) config.exporters.push(tapExporter(config.exporters));
  const logger = createLogger({ level: config.log.level, file: config.log.file ?? undefined });
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    logger.info('shutting down', { signal: sig, timeoutMs: config.shutdownTimeoutMs });
    abort.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // SIGHUP reloads the configuration (follow mode; an import ignores it). Without a handler it would kill us.
  const onHup = () => (o.once ? logger.warn('SIGHUP ignored: run --once does not reload') : undefined);
  process.on('SIGHUP', onHup);
  try {
    const inputs = {
      files: o.files,
      journalDir: o.journalDir,
      journald: o.journald,
      once: o.once,
      fromStart: o.fromStart,
    };
    const io = { stdin: process.stdin, stdout: process.stdout, logger };
    const summary = o.once
      ? await runReceiver(config, inputs, io, abort.signal)
      : await runReloading({
          initial: config,
          load: () => {
            const c = loadConfig(o.config, Object.keys(overrides).length ? overrides : undefined);
            if (o.stdout) c.exporters.push(tapExporter(c.exporters));
            return c;
          },
          // --from-start applies to the first start only: a reload resumes from the checkpoints.
          create: (c, first) => new Receiver({ ...inputs, fromStart: first && o.fromStart }, io).build(c),
          stop: abort.signal,
          logger,
          onReload: (listener) => {
            process.on('SIGHUP', listener);
            return () => process.off('SIGHUP', listener);
          },
        });
    // The summary goes to stdout unless stdout carries exported records.
    const out = config.exporters.some((e) => e.type === 'stdout') ? process.stderr : process.stdout;
    out.write(redactUrls(formatSummary(summary)));
    // Exit codes tell the truth: a one-shot import that could not deliver everything did not succeed.
    const undelivered = o.once ? undeliveredMessage(summary, config.onceTimeoutMs) : undefined;
    const refused = o.once ? rejectedMessage(summary.exporters) : undefined;
    for (const m of [undelivered, refused]) if (m) process.stderr.write(`kata-otel: ${redactUrls(m)}\n`);
    return undelivered || refused ? 1 : 0;
  } catch (err) {
    if (err instanceof SourceInputError || err instanceof ConfigError || err instanceof UnsafePathError) {
      process.stderr.write(`kata-otel: ${redactUrls(err.message)}\n`);
      return 2;
    }
    logger.error('kata-otel run failed', { err });
    process.stderr.write(`kata-otel: ${redactUrls(err instanceof Error ? err.message : String(err))}\n`);
    return 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHup);
  }
}
