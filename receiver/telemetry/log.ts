// kata-otel's own logs: structured JSON lines on stderr (or a file), never mixed into exported records or stdout.
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { redactUrls } from './redact.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const APPEND_NOFOLLOW = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;
/** Append by path each time (logrotate may have moved the file), never following a link at that path. */
function appendNoFollow(path: string, line: string): void {
  const fd = openSync(path, APPEND_NOFOLLOW, 0o600);
  try {
    writeSync(fd, line);
  } finally {
    closeSync(fd);
  }
}
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: Level;
  /** Append to this file instead of stderr. */
  file?: string;
  /** Where lines go (tests); default stderr or `file`. */
  write?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write =
    opts.write ??
    (opts.file
      ? // Never through a link planted at the log file's name (kata-otel runs as root): O_NOFOLLOW, 0600 when created.
        (line: string) => appendNoFollow(opts.file as string, line)
      : (line: string) => process.stderr.write(line));
  const log = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const rec = { time: new Date().toISOString(), level, msg, ...base, ...fields };
    write(
      JSON.stringify(rec, (_k, v: unknown) =>
        typeof v === 'bigint'
          ? v.toString()
          : v instanceof Error
            ? redactUrls(v.message)
            : typeof v === 'string'
              ? redactUrls(v)
              : v,
      ) + '\n',
    );
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createLogger(opts, { ...base, ...fields }),
  };
}

/** A logger that drops everything (library use, tests that do not look at logs). */
export const silentLogger: Logger = createLogger({ write: () => {} });
