// `kata-otel run`: wires sources → pipeline (parse, dedupe, rules) → one delivery queue per exporter →
// exporters, serves self-telemetry, and shuts down cleanly: on SIGTERM/SIGINT the sources stop, what is in
// flight is flushed (bounded by shutdown_timeout_ms) and the process exits 0. In `--once` mode every source is
// read to its current end, everything is exported, and the process exits. The work is done by the Receiver
// object (receiver-object.ts); this module keeps the run's types, `runReceiver` (a thin wrapper) and the summary.
import type { Readable, Writable } from 'node:stream';
import type { ReceiverConfig } from '../config/index.js';
import type { LifecycleMetrics } from '../lifecycle/metrics.js';
import type { Stage } from '../pipeline/types.js';
import type { Source } from '../sources/types.js';
import type { Logger } from '../telemetry/log.js';
import { Metrics } from '../telemetry/metrics.js';
import { Receiver, makeSources, makeStages } from './receiver-object.js';

export { Receiver, type ReloadChanges } from './receiver-object.js';

export interface RunInputs {
  /** Files from the command line, read from their beginning ("-" = stdin). */
  files: string[];
  /** `--journal-dir DIR`: the journal files in DIR with the default filters. */
  journalDir?: string;
  /** `--journald`: the system journal. */
  journald?: boolean;
  once: boolean;
  /** `--from-start`: remove this run's sources' checkpoints first, so everything is read again. */
  fromStart?: boolean;
}

export interface RunIo {
  stdin: NodeJS.ReadableStream;
  stdout: Writable;
  logger: Logger;
}

/** The sources `run` builds for `config` and the command line (a loop over the registry; nothing runs). */
export async function buildSources(config: ReceiverConfig, inputs: RunInputs, io: RunIo): Promise<Source[]> {
  const made = await makeSources(config, inputs, { stdin: io.stdin as Readable, logger: io.logger });
  return made.map((s) => s.source);
}

/** The pipeline stages `run` uses for `config`, in order (a loop over the registry), and what to close at the end. */
export async function buildStages(
  config: ReceiverConfig,
  metrics: Metrics,
  logger: Logger,
  lifecycleMetrics?: LifecycleMetrics,
): Promise<{ stages: Stage[]; close: () => Promise<void> }> {
  const slots = await makeStages(config, { config, metrics, logger, lifecycleMetrics });
  return {
    stages: slots.map((s) => s.built.stage),
    close: async () => {
      for (const s of slots) await s.built.close?.();
    },
  };
}

export interface RunSummary {
  entriesRead: number;
  records: number;
  unparsed: number;
  duplicates: number;
  alerts: number;
  exporters: {
    name: string;
    type: string;
    exported: number;
    rejected: number;
    dropped: number;
    queued: number;
    where: string;
    /** Where the queued records wait: the disk queue's directory, or undefined (memory queue: lost at exit). */
    queueDir?: string;
  }[];
  drained: boolean;
  /** `--once` gave up at once_timeout_ms. */
  timedOut: boolean;
  /** Checkpoints found at start (a rerun): the note a run that read nothing prints. */
  rerun?: string;
}

/** Runs the receiver until the sources end (once) or `signal` aborts; returns what happened. */
export async function runReceiver(
  config: ReceiverConfig,
  inputs: RunInputs,
  io: RunIo,
  signal: AbortSignal,
  metrics = new Metrics(),
): Promise<RunSummary> {
  const receiver = await new Receiver(inputs, io, metrics).build(config);
  return receiver.run(signal);
}

/** For `run --once` that did not deliver everything: how many records remain, and where (undefined when all went). */
export function undeliveredMessage(s: RunSummary, onceTimeoutMs: number): string | undefined {
  const left = s.exporters.filter((e) => e.queued > 0);
  if (s.drained && left.length === 0 && !s.timedOut) return undefined;
  const why = s.timedOut ? `did not finish within ${onceTimeoutMs} ms (once_timeout_ms, --once-timeout)` : 'stopped';
  const parts = left.map(
    (e) =>
      `${e.queued} records for ${e.name} (${e.where}) ${e.queueDir ? `wait in ${e.queueDir} and are sent on the next start` : 'are lost (memory queue)'}`,
  );
  return `run --once ${why} before everything was delivered: ${parts.length ? parts.join('; ') : 'records still being read stay unread (the file checkpoints did not move past them)'}`;
}

export function formatSummary(s: RunSummary): string {
  const lines = [
    `kata-otel: read ${s.entriesRead} entries → ${s.records} records (${s.unparsed} not understood, kept raw; ${s.duplicates} duplicates suppressed; ${s.alerts} alerts)`,
  ];
  if (s.entriesRead === 0 && s.rerun) lines.push(`  ${s.rerun}`);
  for (const e of s.exporters) {
    const extra = [
      e.rejected ? `${e.rejected} rejected` : '',
      e.dropped ? `${e.dropped} dropped` : '',
      e.queued ? `${e.queued} still queued` : '',
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(`  ${e.name} (${e.type}) → ${e.exported} records to ${e.where}${extra ? ` (${extra})` : ''}`);
  }
  return lines.join('\n') + '\n';
}
