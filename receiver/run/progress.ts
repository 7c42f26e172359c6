// Progress of a `run --once` import (records delivered out of those read plus those the bytes left should hold):
// a progress bar on a terminal (cli-progress, on stderr), and a status line
// in the log at an interval otherwise (a CI job or `kubectl logs` is not a terminal). Both show lines/s,
// records, bytes left, ETA, queue depth and each exporter's delivery state.
import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';
import type { Counter, Gauge } from 'prom-client';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { DeliveryState } from './health.js';

export interface ProgressOptions {
  metrics: Metrics;
  /** Bytes not read yet over every file source. */
  bytesLeft: () => number;
  exportState: () => Record<string, DeliveryState>;
  logger: Logger;
  /** A terminal: draw the bar on `stream`; otherwise log status lines. */
  tty: boolean;
  stream?: NodeJS.WritableStream;
  intervalMs?: number;
  /** The log exporters' names: records delivered are counted there (not the lifecycle spans and metrics queues). */
  exporters?: readonly string[];
}

export interface Status {
  lines: number;
  linesPerSecond: number;
  records: number;
  exported: number;
  bytesLeft: number;
  /** Records expected in all: those read, plus the bytes left at the bytes-per-record seen so far. */
  expected: number;
  /** Seconds, from the export rate since the start; undefined before anything was exported. */
  etaSeconds?: number;
  queued: number;
  exporters: Record<string, DeliveryState>;
}

/** A metric's total, over the exporters named in `only` when given (the label `exporter`). */
const sum = async (m: Counter<string> | Gauge<string>, only?: ReadonlySet<string>) =>
  (await m.get()).values.reduce((a, v) => (only && !only.has(String(v.labels.exporter)) ? a : a + v.value), 0);

const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

export function formatStatus(s: Status): string {
  const eta = s.etaSeconds === undefined ? '?' : `${Math.round(s.etaSeconds)}s`;
  const states = Object.entries(s.exporters)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${s.lines} lines (${Math.round(s.linesPerSecond)}/s), ${s.records} records, ${s.exported} exported, ${mib(s.bytesLeft)} left, ETA ${eta}, queue ${s.queued}, export ${states}`;
}

export function startProgress(o: ProgressOptions): { stop: () => Promise<void> } {
  const started = Date.now();
  // Files are found after the sources start (and may grow): the work seen so far is the largest backlog seen.
  let peak = o.bytesLeft();
  let lastLines = 0;
  let lastAt = started;
  // cli-progress (CommonJS) is required only for a terminal: a daemon or a piped import never loads it.
  const progress = o.tty ? (createRequire(import.meta.url)('cli-progress') as typeof CliProgress) : undefined;
  const bar = progress
    ? new progress.SingleBar(
        {
          stream: o.stream ?? process.stderr,
          format: 'import [{bar}] {percentage}% | {status}',
          hideCursor: true,
          clearOnComplete: false,
          noTTYOutput: false,
        },
        progress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(1, 0, { status: 'starting' });

  const logExporters = o.exporters ? new Set(o.exporters) : undefined;
  const sample = async (): Promise<Status> => {
    const now = Date.now();
    const lines = await sum(o.metrics.read);
    const left = o.bytesLeft();
    peak = Math.max(peak, left);
    const readBytes = peak - left;
    const elapsed = (now - started) / 1000;
    const records = await sum(o.metrics.parsed);
    const exported = await sum(o.metrics.exported, logExporters);
    // An import is done when its records are delivered, not when they are read (a slow backend dominates).
    const expected = records + (readBytes > 0 && records > 0 ? Math.round((left * records) / readBytes) : 0);
    const exportRate = exported / Math.max(elapsed, 0.001);
    const status: Status = {
      lines,
      linesPerSecond: ((lines - lastLines) * 1000) / Math.max(now - lastAt, 1),
      records,
      exported,
      expected,
      bytesLeft: left,
      etaSeconds: exported > 0 ? Math.max(0, expected - exported) / exportRate : undefined,
      queued: await sum(o.metrics.queueRecords),
      exporters: o.exportState(),
    };
    lastLines = lines;
    lastAt = now;
    return status;
  };
  const tick = async () => {
    const s = await sample();
    if (bar) {
      bar.setTotal(Math.max(s.expected, 1));
      bar.update(Math.min(s.exported, s.expected), { status: formatStatus(s) });
    } else o.logger.info('import progress', { ...s, etaSeconds: s.etaSeconds ?? null, status: formatStatus(s) });
  };
  const timer = setInterval(() => void tick().catch(() => {}), o.intervalMs ?? (o.tty ? 200 : 10_000));
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await tick().catch(() => {});
      bar?.stop();
    },
  };
}
