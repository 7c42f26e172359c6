// `kata-otel run`: wires sources → pipeline (parse, dedupe, rules) → one delivery queue per exporter →
// exporters, serves self-telemetry, and shuts down cleanly: on SIGTERM/SIGINT the sources stop, what is in
// flight is flushed (bounded by shutdown_timeout_ms) and the process exits 0. In `--once` mode every source is
// read to its current end, everything is exported, and the process exits.
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Counter } from 'prom-client';
import type { Writable } from 'node:stream';
import type { ReceiverConfig } from '../config/index.js';
import type { OtlpSettings } from '../exporters/otlp-config.js';
import { createOtlpExporter } from '../exporters/otlp-exporter.js';
import { startTransportWarnings } from '../exporters/transport-warnings.js';
import { createStdoutExporter } from '../exporters/stdout.js';
import { createStoreExporter } from '../exporters/store.js';
import type { Exporter } from '../exporters/types.js';
import { createIntegrity } from '../integrity/config.js';
import { IntegrityExporter } from '../integrity/exporter.js';
import { LineAssembler } from '../parse/multiline.js';
import { DedupeStage } from '../pipeline/dedupe.js';
import { LifecycleStage } from '../lifecycle/stage.js';
import { HostStage, hostIdentity } from '../pipeline/host.js';
import { K8sMetadataStage } from '../pipeline/k8s.js';
import { LimitsStage } from '../pipeline/limits.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { createRedactStage } from '../pipeline/redact/stage.js';
import type { Stage } from '../pipeline/types.js';
import { createQueue, queueDirName, type DeliveryQueue } from '../queue/index.js';
import { ensurePrivateDir } from '../safefs/index.js';
// The rule modules themselves, not rules/index.js (which also loads the rules CLI, docs and exports).
import { RuleEngine } from '../rules/engine.js';
import { loadRuleFiles } from '../rules/load.js';
import { AlertmanagerNotifier } from '../rules/notifier.js';
import type { RuleSet } from '../rules/index.js';
import { FIRECRACKER_LOG_FIFO, FIRECRACKER_METRICS_FIFO, FifoSource } from '../sources/fifo.js';
import { FileSource } from '../sources/file.js';
import { JournaldSource } from '../sources/journald.js';
import type { GuestRateLimitOptions } from '../sources/ratelimit.js';
import { StdinSource } from '../sources/stdin.js';
import type { Source, SourceContext } from '../sources/types.js';
import { LifecycleMetrics } from '../lifecycle/metrics.js';
import { createSignalExporter, METRICS, TRACES } from '../signals/exporters.js';
import { pushMetrics, QueueSpanSink } from '../signals/sink.js';
import { AgentSpanSource } from '../sources/agent-spans.js';
import { VsockSource } from '../sources/vsock.js';
import type { Logger } from '../telemetry/log.js';
import { Metrics } from '../telemetry/metrics.js';
import { describeCheckpoints, rerunNote, resetCheckpoints } from './checkpoints.js';
import { ExporterHealth } from './health.js';
import { startProgress } from './progress.js';
import type { OtlpMetricsPusher } from '../telemetry/otlp-metrics.js';
import type { SelfTracing } from '../telemetry/self-trace.js';
import { tracedExporter } from '../telemetry/traced-exporter.js';
import { startTelemetryServer, type TelemetryServer } from '../telemetry/server.js';

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

const newAssembler = () => new LineAssembler();

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a missing path is reported by FileSource.validate()
  }
}

export function buildSources(config: ReceiverConfig, inputs: RunInputs, io: RunIo): Source[] {
  const sources: Source[] = [];
  const files = inputs.files.filter((f) => f !== '-');
  if (files.length) {
    sources.push(
      new FileSource({
        name: 'files',
        // A directory on the command line means the *.log files below it.
        include: files.map((f) => (isDirectory(f) ? join(resolve(f), '**/*.log') : resolve(f))),
        startAt: 'beginning',
        assembler: newAssembler,
        maxLineBytes: config.sources.files[0]?.maxLineBytes,
      }),
    );
  }
  if (inputs.files.includes('-') || config.sources.stdin) {
    sources.push(
      new StdinSource({
        stream: io.stdin as NodeJS.ReadableStream & import('node:stream').Readable,
        assembler: newAssembler,
      }),
    );
  }
  config.sources.files.forEach((f, i) =>
    sources.push(
      new FileSource({
        name: `file-${i}`,
        include: f.include,
        exclude: f.exclude,
        startAt: f.startAt,
        pollIntervalMs: f.pollIntervalMs,
        fingerprintBytes: f.fingerprintBytes,
        maxLineBytes: f.maxLineBytes,
        flushTimeoutMs: f.flushTimeoutMs,
        maxOpenFiles: f.maxOpenFiles,
        attributes: f.attributes,
        assembler: f.multiline ? newAssembler : undefined,
        followSymlinks: f.followSymlinks,
      }),
    ),
  );
  const j = config.sources.journald;
  if (j.enabled || inputs.journald || inputs.journalDir) {
    sources.push(
      new JournaldSource({
        directory: inputs.journalDir ?? j.directory ?? undefined,
        files: j.files.length ? j.files : undefined,
        identifiers: j.identifiers,
        units: j.units,
        priority: j.priority,
        startAt: inputs.once ? 'beginning' : j.startAt,
        journalctl: j.journalctl,
        trust: j.trust,
      }),
    );
  }
  const v = config.sources.vsock;
  if (v.enabled) {
    sources.push(
      new VsockSource({
        roots: v.roots,
        plain: { enabled: v.plainVsock },
        port: v.port,
        reconnectInitialMs: v.reconnectInitialMs,
        reconnectMaxMs: v.reconnectMaxMs,
        handshakeTimeoutMs: v.handshakeTimeoutMs,
        rateLimit: guestRateLimit(config),
      }),
    );
  }
  const fifo = config.sources.fifo;
  if (fifo.enabled) {
    const fifos = fifo.metrics === 'log' ? [FIRECRACKER_LOG_FIFO, FIRECRACKER_METRICS_FIFO] : [FIRECRACKER_LOG_FIFO];
    sources.push(new FifoSource({ roots: fifo.roots, fifos, rateLimit: guestRateLimit(config) }));
  }
  return sources;
}

/** The per-sandbox limit of guest streams (pipeline.fair_share). */
const guestRateLimit = (config: ReceiverConfig): GuestRateLimitOptions => config.pipeline.fairShare;

function buildExporter(
  e: ReceiverConfig['exporters'][number],
  stdout: Writable,
  logger: Logger,
  otlp: { name: string; settings: OtlpSettings }[] = [],
): Exporter {
  switch (e.type) {
    case 'otlp': {
      const built = createOtlpExporter(e, { name: e.name, logger });
      otlp.push({ name: e.name, settings: built.settings });
      return built.exporter;
    }
    case 'store':
      return createStoreExporter(e, { logger });
    case 'stdout':
      return createStdoutExporter({ name: e.name, format: e.format }, stdout);
  }
}

function loadRuleSet(config: ReceiverConfig): RuleSet | undefined {
  const r = config.pipeline.rules;
  const specs = [...(r.builtin ? ['builtin'] : []), ...r.files];
  return r.enabled && specs.length ? loadRuleFiles(specs) : undefined;
}

/** The pipeline stages `run` uses for `config` (duplicate suppression, Kubernetes metadata, alert rules) and the alert notifier. */
export function buildStages(
  config: ReceiverConfig,
  metrics: Metrics,
  logger: Logger,
  lifecycleMetrics?: LifecycleMetrics,
): { stages: Stage[]; notifier?: AlertmanagerNotifier } {
  // Redaction first: no later stage, queue or exporter ever sees a secret value (and no limit cuts a secret in
  // half before it is recognised). Then everything works on records within the attribute limits (a guest line can
  // carry 62k keys).
  const redact = createRedactStage(config, metrics);
  const stages: Stage[] = redact ? [redact] : [];
  stages.push(
    new LimitsStage({
      maxAttributes: config.pipeline.limits.maxAttributes,
      maxValueLength: config.pipeline.limits.maxAttributeValueLength,
      onLimited: (limit) => metrics.limited.inc({ limit }),
    }),
    // host.name (and host.id) on every record, before dedupe and rules (threshold rules group by host.name).
    new HostStage(hostIdentity()),
  );
  if (config.pipeline.dedupe.enabled) {
    stages.push(
      new DedupeStage({
        windowMs: config.pipeline.dedupe.windowMs,
        maxKeys: config.pipeline.dedupe.maxEntries,
        onSuppressed: (n) => metrics.deduplicated.inc(n),
      }),
    );
  }
  // After dedupe (one lookup per record kept), before rules (alerts carry the pod).
  const k8s = config.pipeline.k8s;
  if (k8s.enabled) {
    stages.push(
      new K8sMetadataStage({
        bundleRoots: k8s.bundleRoots,
        crioRoots: k8s.crioRoots,
        fromCriLogs: k8s.fromCriLogs,
        cacheEntries: k8s.cacheEntries,
        ttlMs: k8s.ttlMs,
        logger,
      }),
    );
  }
  // After k8s (spans carry the pod), before rules (they read `kata.lifecycle.phase`; alerts copy the trace).
  const lc = config.pipeline.lifecycle;
  if (lc.enabled) {
    stages.push(
      new LifecycleStage({
        dataDir: config.dataDir,
        execs: lc.execs,
        idleMs: lc.idleMs,
        retainMs: lc.retainMs,
        logger,
        metrics: lifecycleMetrics,
      }),
    );
  }
  const rules = loadRuleSet(config);
  const hook = config.pipeline.rules.webhook;
  const notifier =
    rules && hook.url ? new AlertmanagerNotifier({ url: hook.url, timeoutMs: hook.timeoutMs, logger }) : undefined;
  if (rules) {
    stages.push(new RuleEngine({ rules, logger, metrics, onAlert: notifier ? (a) => notifier.notify(a) : undefined }));
  }
  return { stages, notifier };
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

async function counterTotal(c: Counter<string>, label?: [string, string]): Promise<number> {
  const v = await c.get();
  return v.values.filter((x) => !label || x.labels[label[0]] === label[1]).reduce((a, x) => a + x.value, 0);
}

/** Runs the receiver until the sources end (once) or `signal` aborts; returns what happened. */
export async function runReceiver(
  config: ReceiverConfig,
  inputs: RunInputs,
  io: RunIo,
  signal: AbortSignal,
  metrics = new Metrics(),
): Promise<RunSummary> {
  const { logger } = io;
  const startedAt = Date.now();
  const sources = buildSources(config, inputs, io);
  for (const s of sources) if (s instanceof FileSource && s.name === 'files') s.validate();
  if (sources.length === 0)
    logger.warn('no sources configured: give log files, --journald, --journal-dir or a config with sources');

  // The data directory and its checkpoints directory: ours and private, or refused (UnsafePathError) before
  // anything is written there as root.
  await ensurePrivateDir(config.dataDir);
  await ensurePrivateDir(config.dataDir, 'checkpoints');
  const checkpointDir = join(config.dataDir, 'checkpoints');
  const names = sources.map((s) => s.name);
  if (inputs.fromStart) await resetCheckpoints(checkpointDir, names);
  const readUpTo = await describeCheckpoints(checkpointDir, names);

  const queues: DeliveryQueue[] = [];
  const exporters: Exporter[] = [];
  let closeTimer: NodeJS.Timeout | undefined;
  let onceTimer: NodeJS.Timeout | undefined;
  let timedOut = false;
  let archiver: { stop: () => void } | undefined;
  let indexer: { stop: () => void } | undefined;
  let otlpMetrics: OtlpMetricsPusher | undefined;
  const otlpSettings: { name: string; settings: OtlpSettings }[] = [];
  let stopTransportWarnings = () => {};
  let selfTracing: SelfTracing | undefined;
  const health = new ExporterHealth(logger);
  try {
    const traces = config.telemetry.traces;
    if (traces.enabled) {
      // Loaded only when asked for: off, no tracing SDK module is loaded and no span object is made.
      const { startSelfTracing } = await import('../telemetry/self-trace.js');
      selfTracing = startSelfTracing({
        endpoint: traces.endpoint ?? undefined,
        headers: traces.headers,
        timeoutMs: Math.max(1, config.shutdownTimeoutMs),
        logger,
      });
    }
    const tracer = selfTracing?.tracer;
    // Tamper evidence: each exporter's stream is hash-chained as it is written or sent (receiver/integrity).
    const chain = createIntegrity(config, logger);
    for (const e of config.exporters) {
      // Export spans inside the chain: the chain wrapper must stay outermost (its anchors are flushed at the end).
      const built = tracedExporter(buildExporter(e, io.stdout, logger, otlpSettings), tracer);
      const exporter = chain ? chain(built, e) : built;
      exporters.push(exporter);
      // stdout has nothing to protect across restarts: a memory queue keeps `parse`-like runs free of disk state.
      const kind = e.type === 'stdout' ? 'memory' : config.queue.kind;
      queues.push(
        await createQueue({ ...config.queue, kind }, health.wrap(exporter), {
          dataDir: config.dataDir,
          logger,
          metrics,
        }),
      );
    }

    stopTransportWarnings = startTransportWarnings(otlpSettings, logger);
    // Spans and derived metrics go to the same places as the logs, each exporter's through its own
    // `<name>.traces` / `<name>.metrics` queue (receiver/signals); appended after the log queues so queues[i]
    // stays config.exporters[i].
    const spanSinks: QueueSpanSink[] = [];
    const metricQueues: DeliveryQueue[] = [];
    const lifecycleMetrics = config.pipeline.lifecycle.enabled ? new LifecycleMetrics() : undefined;
    if (lifecycleMetrics) {
      const logExporters = [...exporters];
      for (const [i, e] of config.exporters.entries()) {
        const kind = e.type === 'stdout' ? 'memory' : config.queue.kind;
        const deps = { stdout: io.stdout, logger };
        const base = logExporters[i] as Exporter;
        const queueFor = async (exp: Exporter) => {
          exporters.push(exp);
          const q = await createQueue({ ...config.queue, kind }, exp, { dataDir: config.dataDir, logger, metrics });
          queues.push(q);
          return q;
        };
        let traceExp: Exporter, metricExp: Exporter;
        try {
          traceExp = createSignalExporter(TRACES, e, base, deps);
          metricExp = createSignalExporter(METRICS, e, base, deps);
        } catch (err) {
          // A logs endpoint with a custom path gives no traces/metrics URL: its logs still go (and a wrong path is
          // then reported by the export itself), only the spans and metrics of this exporter are left out.
          logger.warn('lifecycle spans and metrics not sent to this exporter', {
            exporter: e.name,
            error: (err as Error).message,
          });
          continue;
        }
        spanSinks.push(new QueueSpanSink(await queueFor(traceExp)));
        metricQueues.push(await queueFor(metricExp));
      }
    }
    const pushLifecycleMetrics = () =>
      lifecycleMetrics ? pushMetrics(metricQueues, lifecycleMetrics.collect()) : Promise.resolve();

    // Start-up inventory: what this run reads and where it sends, in one line an operator can grep for.
    logger.info('inventory', {
      sources: sources.map((s) => s.name),
      exporters: config.exporters.map((e) => ({
        name: e.name,
        type: e.type,
        to: e.type === 'otlp' ? (otlpSettings.find((o) => o.name === e.name)?.settings.endpoint ?? '') : e.type,
      })),
      dataDir: config.dataDir,
      once: inputs.once,
    });
    const { stages, notifier } = buildStages(config, metrics, logger, lifecycleMetrics);
    const lifecycleStage = stages.find((s): s is LifecycleStage => s instanceof LifecycleStage);
    if (lifecycleStage && config.pipeline.lifecycle.agentSpans)
      sources.push(
        new AgentSpanSource({
          roots: config.sources.vsock.roots,
          maxFrameBytes: config.pipeline.lifecycle.agentSpanMaxFrameBytes,
          onSpans: (sid, spans) => {
            if (lifecycleStage.adoptAgentSpans(sid, spans) === 0)
              logger.debug('agent spans of a sandbox with no lifecycle yet; dropped', {
                sandbox: sid,
                spans: spans.length,
              });
          },
        }),
      );
    const pipeline = new Pipeline({
      stages,
      sinks: queues.slice(0, config.exporters.length),
      spanSinks,
      keepOriginal: config.pipeline.keepOriginal,
      metrics,
      logger,
      parseBudgetMs: config.pipeline.fairShare.parseBudgetMs,
      tracer,
    });

    let telemetry: TelemetryServer | undefined;
    let started = false;
    // --once serves /metrics too (a long import is worth watching), but a port already taken (a daemon on the same
    // node) must not stop an import: there it is a warning.
    if (config.telemetry.listen) {
      // Unready while an exporter cannot deliver (failing or refusing), so an orchestrator sees the outage.
      const ready = () => started && health.ready();
      try {
        telemetry = await startTelemetryServer(config.telemetry.listen, metrics, ready);
        logger.info('self-telemetry listening', { address: telemetry.address });
      } catch (err) {
        if (!inputs.once) throw err;
        logger.warn('no /metrics for this import', { error: (err as Error).message });
      }
    }
    for (const q of queues) q.start();
    // Configuration checks at start (docs/doctor.md): each finding goes to every exporter as a kata.config.finding event.
    if (config.doctor.enabled ?? !inputs.once) {
      const { startupFindings } = await import('../doctor/startup.js');
      const findings = await startupFindings(config, logger);
      if (findings.length) await Promise.all(queues.slice(0, config.exporters.length).map((q) => q.append(findings)));
    }
    health.start();
    if (config.telemetry.otlpMetrics) {
      // Loaded only when asked for: the OpenTelemetry metrics SDK would slow every start down.
      const { startOtlpMetrics } = await import('../telemetry/otlp-metrics.js');
      otlpMetrics = await startOtlpMetrics({
        metrics,
        logger,
        exporter: config.exporters.find((e) => e.type === 'otlp'),
        intervalMs: config.telemetry.otlpMetricsIntervalMs,
      });
    }

    const sourceAbort = new AbortController();
    // Shutdown is bounded by shutdown_timeout_ms from the signal whatever the sources do: a source still waiting
    // for room in a full queue (backend down) never returns on its own, so the queues close at the deadline,
    // which rejects its pending append (the source keeps its checkpoint; the batch is read again next start).
    let deadline: number | undefined;
    const onAbort = () => {
      deadline = Date.now() + config.shutdownTimeoutMs;
      closeTimer = setTimeout(() => queues.forEach((q) => void q.close()), config.shutdownTimeoutMs);
      sourceAbort.abort();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    // --once is bounded too: a dead backend would otherwise keep it retrying for ever. At the deadline the sources
    // stop and the queues close at once (what is queued stays on disk for the next start).
    onceTimer = inputs.once
      ? setTimeout(() => {
          timedOut = true;
          logger.error('run --once did not finish within once_timeout_ms: stopping', {
            onceTimeoutMs: config.onceTimeoutMs,
          });
          signal.removeEventListener('abort', onAbort);
          deadline = Date.now();
          sourceAbort.abort();
          queues.forEach((q) => void q.close());
        }, config.onceTimeoutMs)
      : undefined;
    const ctx: SourceContext = {
      emit: (batch) => pipeline.process(batch),
      pipelined: true, // the pipeline honours SourceBatch.after
      signal: sourceAbort.signal,
      checkpointDir: join(config.dataDir, 'checkpoints'),
      once: inputs.once,
      logger,
      metrics,
    };
    // Stateful rules (absence) need time to pass even when no records arrive.
    const ticker = inputs.once
      ? undefined
      : setInterval(() => {
          pipeline
            .flush(BigInt(Date.now()) * 1_000_000n)
            .catch((err: unknown) => logger.error('pipeline flush failed', { err }));
        }, 1000);
    const metricsTimer =
      lifecycleMetrics && !inputs.once
        ? setInterval(() => {
            pushLifecycleMetrics().catch((err: unknown) => logger.warn('lifecycle metrics not queued', { err }));
          }, config.pipeline.lifecycle.metricsIntervalMs)
        : undefined;
    // Archive: a periodic child process (receiver/archive/daemon.ts), never in --once runs.
    archiver =
      config.archive.enabled && !inputs.once
        ? (await import('../archive/daemon.js')).startArchiver({ dataDir: config.dataDir, ...config.archive, logger })
        : undefined;
    // The query index follows the default store (<data_dir>/store, where `kata-otel query` looks).
    const storeDir = join(config.dataDir, 'store');
    indexer =
      config.index.intervalMs > 0 &&
      !inputs.once &&
      config.exporters.some((e) => e.type === 'store' && resolve(e.directory) === resolve(storeDir))
        ? (await import('../query/indexer.js')).startIndexer({
            storeDir,
            indexDir: join(config.dataDir, 'index'),
            intervalMs: config.index.intervalMs,
            logger,
          })
        : undefined;
    started = true;
    // --once: a progress bar on a terminal, status lines in the log otherwise (receiver/run/progress.ts).
    const progress = inputs.once
      ? startProgress({
          metrics,
          bytesLeft: () => sources.reduce((n, s) => n + (s instanceof FileSource ? s.stats().bytesLeft : 0), 0),
          exportState: () => health.snapshot(),
          exporters: config.exporters.map((e) => e.name),
          logger,
          tty: Boolean(process.stderr.isTTY) && process.env.KATA_OTEL_PROGRESS !== 'log',
          intervalMs: process.env.KATA_OTEL_PROGRESS_INTERVAL_MS
            ? Number(process.env.KATA_OTEL_PROGRESS_INTERVAL_MS)
            : undefined,
        })
      : undefined;
    const results = await Promise.allSettled(sources.map((s) => s.run(ctx)));
    if (metricsTimer) clearInterval(metricsTimer);
    results.forEach((r, i) => {
      if (r.status === 'rejected') logger.error('source failed', { source: sources[i]?.name, err: r.reason });
    });
    if (ticker) clearInterval(ticker);
    signal.removeEventListener('abort', onAbort);
    try {
      await pipeline.flush(
        inputs.once && pipeline.latestRecordTime > 0n ? pipeline.latestRecordTime : BigInt(Date.now()) * 1_000_000n,
        true,
      );
    } catch (err) {
      if (!signal.aborted && !timedOut) throw err;
      logger.warn('records produced at shutdown were not queued: the queues closed at the shutdown deadline', { err });
    }
    await pushLifecycleMetrics().catch((err: unknown) => logger.warn('lifecycle metrics not queued', { err }));
    await notifier?.close();

    // Once mode waits for the backends (a collector may be briefly unavailable); shutdown is bounded.
    const drainMs =
      deadline !== undefined
        ? Math.max(0, deadline - Date.now())
        : inputs.once
          ? Math.max(0, startedAt + config.onceTimeoutMs - Date.now())
          : config.shutdownTimeoutMs;
    let drained = true;
    await Promise.all(
      queues.map(async (q) => {
        const stop = () => void q.close();
        signal.addEventListener('abort', stop, { once: true });
        // A queue closed at the deadline releases its drain waiters: only an empty queue is drained.
        const ok = (await q.drain(drainMs)) && q.depth().records === 0;
        signal.removeEventListener('abort', stop);
        if (!ok) {
          drained = false;
          if (inputs.once && deadline === undefined) timedOut = true; // the drain used up once_timeout_ms
          logger.warn(
            'exporter queue not drained before shutdown; the records stay queued and are sent on the next start',
            {
              exporter: q.name,
              ...q.depth(),
            },
          );
        }
      }),
    );
    // The store's last checkpoints to the backends: they would otherwise wait for a next batch (receiver/integrity).
    if (drained)
      for (const e of exporters)
        if (e instanceof IntegrityExporter)
          await e.flushAnchors(signal).catch((err: unknown) => {
            logger.warn('integrity checkpoints not forwarded; they go with the next batch after a restart', {
              exporter: e.name,
              err,
            });
          });
    await progress?.stop();
    const summary: RunSummary = {
      entriesRead: await counterTotal(metrics.read),
      records: await counterTotal(metrics.parsed),
      unparsed: await counterTotal(metrics.unparsed),
      duplicates: await counterTotal(metrics.deduplicated),
      alerts: await counterTotal(metrics.alerts),
      exporters: await Promise.all(
        config.exporters.map(async (e, i) => ({
          name: e.name,
          type: e.type,
          exported: await counterTotal(metrics.exported, ['exporter', e.name]),
          rejected: await counterTotal(metrics.rejected, ['exporter', e.name]),
          dropped: await counterTotal(metrics.dropped, ['exporter', e.name]),
          queued: queues[i]?.depth().records ?? 0,
          queueDir:
            e.type !== 'stdout' && config.queue.kind === 'disk'
              ? join(config.dataDir, 'queue', queueDirName(e.name))
              : undefined,
          where:
            e.type === 'store'
              ? e.directory
              : e.type === 'otlp'
                ? (e.endpoint ?? 'OTEL_EXPORTER_OTLP_* / default endpoint')
                : 'stdout',
        })),
      ),
      drained,
      timedOut,
      rerun: readUpTo.length ? rerunNote(readUpTo, checkpointDir) : undefined,
    };
    clearTimeout(onceTimer); // done: the deadline no longer applies
    // One last push with the final counts, within what is left of the shutdown timeout.
    await otlpMetrics?.shutdown(deadline !== undefined ? deadline - Date.now() : config.shutdownTimeoutMs);
    await selfTracing?.shutdown(Math.max(0, deadline !== undefined ? deadline - Date.now() : config.shutdownTimeoutMs));
    await telemetry?.close();
    return summary;
  } finally {
    health.stop();
    stopTransportWarnings();
    archiver?.stop();
    indexer?.stop();
    clearTimeout(closeTimer);
    clearTimeout(onceTimer);
    await otlpMetrics?.shutdown(0);
    await selfTracing?.shutdown(0);
    await Promise.allSettled(queues.map((q) => q.close()));
    await Promise.allSettled(exporters.map((e) => e.shutdown()));
  }
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
