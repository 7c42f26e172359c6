// The receiver as an object (the Collector's service, Vector's topology): build(config) makes the components
// the configuration asks for by a loop over the registry (receiver/components/registry.ts, which loads only their
// code), start() starts them, run(signal) waits for the sources and shuts down cleanly, summary() says what
// happened, and reload(config) applies a new configuration in place:
//   - sources and exporters (with their queues) whose settings did not change keep running untouched;
//   - a changed or removed source stops (it writes its checkpoint, past what is durably queued only); an added or
//     changed one starts from its checkpoint;
//   - changed exporters are swapped between batches: the sources' hand-off waits at a gate while the batches in
//     flight finish and the old queue drains (bounded by shutdown_timeout_ms) and closes (a disk queue keeps what
//     is left), then the new exporter's queue opens on the same directory and sends it;
//   - stages are rebuilt between batches the same way (an unchanged stage keeps its state); what a removed stage
//     still holds is flushed to the exporters.
// Settings that shape the whole process (data_dir, telemetry, archive, index, doctor, integrity, lifecycle on/off)
// cannot change in place: reload() returns false and the caller restarts the receiver (reload.ts).
import { join, resolve } from 'node:path';
import type { Counter } from 'prom-client';
import type { BuiltStage, ExporterEntry, SourceEnv, StageEnv } from '../components/types.js';
import { SOURCES, STAGES, exporterDescriptor } from '../components/registry.js';
import type { ReceiverConfig } from '../config/index.js';
import type { OtlpSettings } from '../exporters/otlp-config.js';
import { startTransportWarnings } from '../exporters/transport-warnings.js';
import type { Exporter } from '../exporters/types.js';
import { createIntegrity } from '../integrity/config.js';
import { IntegrityExporter } from '../integrity/exporter.js';
import { LifecycleMetrics } from '../lifecycle/metrics.js';
import type { LifecycleStage } from '../lifecycle/stage.js';
import { Pipeline } from '../pipeline/pipeline.js';
import type { Stage } from '../pipeline/types.js';
import { createQueue, queueDirName, type DeliveryQueue } from '../queue/index.js';
import { ensurePrivateDir } from '../safefs/index.js';
import { pushMetrics, QueueSpanSink } from '../signals/sink.js';
import type { Source, SourceBatch, SourceContext } from '../sources/types.js';
import { Metrics } from '../telemetry/metrics.js';
import type { OtlpMetricsPusher } from '../telemetry/otlp-metrics.js';
import type { SelfTracing } from '../telemetry/self-trace.js';
import { startTelemetryServer, type TelemetryServer } from '../telemetry/server.js';
import { tracedExporter } from '../telemetry/traced-exporter.js';
import { describeCheckpoints, rerunNote, resetCheckpoints } from './checkpoints.js';
import { ExporterHealth } from './health.js';
import { startProgress } from './progress.js';
import type { RunInputs, RunIo, RunSummary } from './receiver.js';

/** One exporter with its queue, and its lifecycle spans/metrics exporters and queues (receiver/signals). */
interface Lane {
  name: string;
  /** Its settings, as compared by reload(). */
  key: string;
  entry: ExporterEntry;
  queue: DeliveryQueue;
  /** The log exporter and the spans/metrics exporters, as shut down at the end. */
  exporters: Exporter[];
  /** The spans/metrics queues. */
  signalQueues: DeliveryQueue[];
  spanSink?: QueueSpanSink;
  metricQueue?: DeliveryQueue;
  otlp?: OtlpSettings;
}

export interface RunningSource {
  name: string;
  key: string;
  source: Source;
  abort: AbortController;
  done?: Promise<void>;
}

export interface StageSlot {
  type: string;
  key: string;
  built: BuiltStage;
}

/** What a reload changed, by component name (logged, and read by tests). */
export interface ReloadChanges {
  sources: { kept: string[]; stopped: string[]; started: string[] };
  exporters: { kept: string[]; stopped: string[]; started: string[] };
  stages: { kept: string[]; replaced: string[] };
}

const keyOf = (v: unknown) => JSON.stringify(v);

async function counterTotal(c: Counter<string>, label?: [string, string]): Promise<number> {
  const v = await c.get();
  return v.values.filter((x) => !label || x.labels[label[0]] === label[1]).reduce((a, x) => a + x.value, 0);
}

/** The settings that cannot change in place (a change restarts the receiver). */
const processKey = (c: ReceiverConfig) =>
  keyOf([
    c.dataDir,
    c.telemetry,
    c.archive,
    c.index,
    c.doctor,
    c.integrity,
    c.pipeline.lifecycle.enabled,
    c.pipeline.lifecycle.metricsIntervalMs,
  ]);

/**
 * The registry's sources for `config` and the command line, made but not running; those of `keep` whose settings
 * are unchanged are reused as they are (a reload).
 */
export async function makeSources(
  config: ReceiverConfig,
  inputs: RunInputs,
  env: SourceEnv,
  keep: RunningSource[] = [],
): Promise<RunningSource[]> {
  const out: RunningSource[] = [];
  for (const d of SOURCES) {
    const wanted = d.instances(config, inputs);
    if (!wanted.length) continue;
    let factory: Awaited<ReturnType<typeof d.load>> | undefined;
    for (const { id, config: c } of wanted) {
      const key = keyOf([d.type, c]);
      const same = keep.find((s) => s.name === id && s.key === key);
      if (same) {
        out.push(same);
        continue;
      }
      factory ??= await d.load();
      out.push({ name: id, key, source: factory(c, id, env), abort: new AbortController() });
    }
  }
  return out;
}

/**
 * The registry's stages for `config`, in pipeline order, each ready for its first record; those of `keep` whose
 * settings are unchanged are reused with their state (a reload).
 */
export async function makeStages(config: ReceiverConfig, env: StageEnv, keep: StageSlot[] = []): Promise<StageSlot[]> {
  const out: StageSlot[] = [];
  for (const d of STAGES) {
    const c = d.instance(config);
    if (c === undefined) continue;
    const key = keyOf(c);
    const same = keep.find((s) => s.type === d.type && s.key === key);
    if (same) {
      out.push(same);
      continue;
    }
    const built = (await d.load())(c, env);
    if (!built) continue;
    await built.ready?.();
    out.push({ type: d.type, key, built });
  }
  return out;
}

export class Receiver {
  private config!: ReceiverConfig;
  private readonly logger: RunIo['logger'];
  private readonly health: ExporterHealth;
  private lanes: Lane[] = [];
  private sources: RunningSource[] = [];
  private slots: StageSlot[] = [];
  private pipeline!: Pipeline;
  /** Batches handed to the current pipeline and not yet durable (a reload waits for them). */
  private readonly inflight = new Set<Promise<void>>();
  /** Closed during a reload's swap: the sources' hand-off waits here (backpressure, nothing is dropped). */
  private gate: Promise<void> | undefined;
  private sourcesChanged = 0;
  private chain: ((exporter: Exporter, e: ExporterEntry) => Exporter) | undefined;
  private lifecycleMetrics: LifecycleMetrics | undefined;
  private selfTracing: SelfTracing | undefined;
  private otlpMetrics: OtlpMetricsPusher | undefined;
  private telemetry: TelemetryServer | undefined;
  private stopTransportWarnings = () => {};
  private archiver: { stop: () => void } | undefined;
  private indexer: { stop: () => void } | undefined;
  private timers: NodeJS.Timeout[] = [];
  private started = false;
  /** Resolves when start() has started the sources (a reload waits for it). */
  private readonly running: Promise<void>;
  private markRunning!: () => void;
  private readUpTo: Awaited<ReturnType<typeof describeCheckpoints>> = [];
  private readonly stopAll = new AbortController();
  private drained = true;
  private timedOut = false;

  constructor(
    private readonly inputs: RunInputs,
    private readonly io: RunIo,
    readonly metrics = new Metrics(),
  ) {
    this.logger = io.logger;
    this.health = new ExporterHealth(io.logger);
    this.running = new Promise<void>((r) => (this.markRunning = r));
  }

  private get checkpointDir(): string {
    return join(this.config.dataDir, 'checkpoints');
  }

  /** Make every configured component (nothing runs yet). On failure what was made is released and the error thrown. */
  async build(config: ReceiverConfig): Promise<this> {
    this.config = config;
    const { logger, inputs } = this;
    try {
      const sources = await this.makeSources(config);
      if (sources.length === 0)
        logger.warn('no sources configured: give log files, --journald, --journal-dir or a config with sources');
      // The data directory and its checkpoints directory: ours and private, or refused (UnsafePathError) before
      // anything is written there as root.
      await ensurePrivateDir(config.dataDir);
      await ensurePrivateDir(config.dataDir, 'checkpoints');
      const names = sources.map((s) => s.name);
      if (inputs.fromStart) await resetCheckpoints(this.checkpointDir, names);
      this.readUpTo = await describeCheckpoints(this.checkpointDir, names);

      const traces = config.telemetry.traces;
      if (traces.enabled) {
        // Loaded only when asked for: off, no tracing SDK module is loaded and no span object is made.
        const { startSelfTracing } = await import('../telemetry/self-trace.js');
        this.selfTracing = startSelfTracing({
          endpoint: traces.endpoint ?? undefined,
          headers: traces.headers,
          timeoutMs: Math.max(1, config.shutdownTimeoutMs),
          logger,
        });
      }
      // Tamper evidence: each exporter's stream is hash-chained as it is written or sent (receiver/integrity).
      this.chain = createIntegrity(config, logger);
      this.lifecycleMetrics = config.pipeline.lifecycle.enabled ? new LifecycleMetrics() : undefined;
      for (const e of config.exporters) this.lanes.push(await this.makeLane(e));
      this.restartTransportWarnings();

      // Start-up inventory: what this run reads and where it sends, in one line an operator can grep for.
      logger.info('inventory', {
        sources: sources.map((s) => s.name),
        exporters: this.lanes.map((l) => ({
          name: l.name,
          type: l.entry.type,
          to: l.entry.type === 'otlp' ? (l.otlp?.endpoint ?? '') : l.entry.type,
        })),
        dataDir: config.dataDir,
        once: inputs.once,
      });
      this.slots = await this.makeStages(config, []);
      this.sources = sources;
      this.pipeline = this.makePipeline();
      return this;
    } catch (err) {
      await this.release();
      throw err;
    }
  }

  /** The registry's sources for `config`, made but not running. */
  private makeSources(config: ReceiverConfig, keep: RunningSource[] = []): Promise<RunningSource[]> {
    return makeSources(
      config,
      this.inputs,
      {
        stdin: this.io.stdin as SourceEnv['stdin'],
        logger: this.logger,
        // Always the current lifecycle stage: a reload that rebuilds it leaves the agent span listener running.
        lifecycle: {
          adoptAgentSpans: (sid, spans) => this.lifecycleStage()?.adoptAgentSpans(sid, spans) ?? 0,
        },
      },
      keep,
    );
  }

  private lifecycleStage(): LifecycleStage | undefined {
    return this.slots.find((s) => s.type === 'lifecycle')?.built.stage as LifecycleStage | undefined;
  }

  private makeStages(config: ReceiverConfig, keep: StageSlot[]): Promise<StageSlot[]> {
    const env = { config, metrics: this.metrics, logger: this.logger, lifecycleMetrics: this.lifecycleMetrics };
    return makeStages(config, env, keep);
  }

  /** An exporter (traced, hash-chained, health-observed), its queue, and its spans/metrics queues. */
  private async makeLane(e: ExporterEntry): Promise<Lane> {
    const { config, logger, metrics } = this;
    const made = (await exporterDescriptor(e.type).load())(e, { stdout: this.io.stdout, logger });
    // Export spans inside the chain: the chain wrapper must stay outermost (its anchors are flushed at the end).
    const traced = tracedExporter(made.exporter, this.selfTracing?.tracer);
    const exporter = this.chain ? this.chain(traced, e) : traced;
    // stdout has nothing to protect across restarts: a memory queue keeps `parse`-like runs free of disk state.
    const kind = e.type === 'stdout' ? 'memory' : config.queue.kind;
    const deps = { dataDir: config.dataDir, logger, metrics };
    const lane: Lane = {
      name: e.name,
      key: keyOf([e, config.queue]),
      entry: e,
      queue: await createQueue({ ...config.queue, kind }, this.health.wrap(exporter), deps),
      exporters: [exporter],
      signalQueues: [],
      otlp: made.otlp,
    };
    if (!this.lifecycleMetrics) return lane;
    // Spans and derived metrics go to the same places as the logs, each exporter's through its own
    // `<name>.traces` / `<name>.metrics` queue (receiver/signals).
    // Loaded with the first lane that carries spans (the signal exporters import every OTLP transport).
    const { createSignalExporter, METRICS, TRACES, queuePayloadOf } = await import('../signals/exporters.js');
    let traceExp: Exporter, metricExp: Exporter;
    try {
      const sdeps = { stdout: this.io.stdout, logger };
      traceExp = createSignalExporter(TRACES, e, exporter, sdeps);
      metricExp = createSignalExporter(METRICS, e, exporter, sdeps);
    } catch (err) {
      // A logs endpoint with a custom path gives no traces/metrics URL: its logs still go (and a wrong path is
      // then reported by the export itself), only the spans and metrics of this exporter are left out.
      logger.warn('lifecycle spans and metrics not sent to this exporter', {
        exporter: e.name,
        error: (err as Error).message,
      });
      return lane;
    }
    for (const exp of [traceExp, metricExp]) {
      lane.exporters.push(exp);
      lane.signalQueues.push(await createQueue({ ...config.queue, kind }, exp, deps));
    }
    lane.spanSink = new QueueSpanSink(lane.signalQueues[0] as DeliveryQueue, queuePayloadOf(traceExp, 't'));
    lane.metricQueue = lane.signalQueues[1];
    return lane;
  }

  private restartTransportWarnings(): void {
    this.stopTransportWarnings();
    const otlp = this.lanes.flatMap((l) => (l.otlp ? [{ name: l.name, settings: l.otlp }] : []));
    this.stopTransportWarnings = startTransportWarnings(otlp, this.logger);
  }

  private makePipeline(): Pipeline {
    return new Pipeline({
      stages: this.slots.map((s) => s.built.stage),
      sinks: this.lanes.map((l) => l.queue),
      spanSinks: this.lanes.flatMap((l) => (l.spanSink ? [l.spanSink] : [])),
      keepOriginal: this.config.pipeline.keepOriginal,
      metrics: this.metrics,
      logger: this.logger,
      parseBudgetMs: this.config.pipeline.fairShare.parseBudgetMs,
      tracer: this.selfTracing?.tracer,
    });
  }

  private allQueues(): DeliveryQueue[] {
    return this.lanes.flatMap((l) => [l.queue, ...l.signalQueues]);
  }

  private pushLifecycleMetrics(): Promise<void> {
    const lm = this.lifecycleMetrics;
    if (!lm) return Promise.resolve();
    return pushMetrics(
      this.lanes.flatMap((l) => (l.metricQueue ? [l.metricQueue] : [])),
      lm.collect(),
    );
  }

  /** The sources' hand-off: through the current pipeline, after the gate of a reload in progress. */
  private async emit(batch: SourceBatch): Promise<void> {
    while (this.gate) await this.gate;
    const p = this.pipeline.process(batch);
    this.inflight.add(p);
    try {
      await p;
    } finally {
      this.inflight.delete(p);
    }
  }

  private startSource(s: RunningSource): void {
    const ctx: SourceContext = {
      emit: (batch) => this.emit(batch),
      pipelined: true, // the pipeline honours SourceBatch.after
      signal: s.abort.signal,
      checkpointDir: this.checkpointDir,
      once: this.inputs.once,
      logger: this.logger,
      metrics: this.metrics,
    };
    // The listener goes with the source: reloads that restart sources must not pile listeners on stopAll.
    const stop = () => s.abort.abort();
    if (this.stopAll.signal.aborted) s.abort.abort();
    else this.stopAll.signal.addEventListener('abort', stop, { once: true });
    s.done = s.source
      .run(ctx)
      .catch((err: unknown) => this.logger.error('source failed', { source: s.name, err }))
      .finally(() => this.stopAll.signal.removeEventListener('abort', stop));
    this.sourcesChanged++;
  }

  /** Start the exporters' queues, self-telemetry, timers and the sources. */
  async start(): Promise<void> {
    const { config, inputs, logger, metrics } = this;
    // --once serves /metrics too (a long import is worth watching), but a port already taken (a daemon on the same
    // node) must not stop an import: there it is a warning.
    if (config.telemetry.listen) {
      // Unready while an exporter cannot deliver (failing or refusing), so an orchestrator sees the outage.
      const ready = () => this.started && this.health.ready();
      try {
        this.telemetry = await startTelemetryServer(config.telemetry.listen, metrics, ready);
        logger.info('self-telemetry listening', { address: this.telemetry.address });
      } catch (err) {
        if (!inputs.once) throw err;
        logger.warn('no /metrics for this import', { error: (err as Error).message });
      }
    }
    for (const q of this.allQueues()) q.start();
    // Configuration checks at start (docs/doctor.md): each finding goes to every exporter as a kata.config.finding event.
    if (config.doctor.enabled ?? !inputs.once) {
      const { startupFindings } = await import('../doctor/startup.js');
      const findings = await startupFindings(config, logger);
      if (findings.length) await Promise.all(this.lanes.map((l) => l.queue.append(findings)));
    }
    this.health.start();
    if (config.telemetry.otlpMetrics) {
      // Loaded only when asked for: the OpenTelemetry metrics SDK would slow every start down.
      const { startOtlpMetrics } = await import('../telemetry/otlp-metrics.js');
      this.otlpMetrics = await startOtlpMetrics({
        metrics,
        logger,
        exporter: config.exporters.find((e) => e.type === 'otlp'),
        intervalMs: config.telemetry.otlpMetricsIntervalMs,
      });
    }
    if (!inputs.once) {
      // Stateful rules (absence) need time to pass even when no records arrive.
      this.timers.push(
        setInterval(() => {
          this.pipeline
            .flush(BigInt(Date.now()) * 1_000_000n)
            .catch((err: unknown) => logger.error('pipeline flush failed', { err }));
        }, 1000),
      );
      if (this.lifecycleMetrics)
        this.timers.push(
          setInterval(() => {
            this.pushLifecycleMetrics().catch((err: unknown) => logger.warn('lifecycle metrics not queued', { err }));
          }, config.pipeline.lifecycle.metricsIntervalMs),
        );
    }
    // Archive: a periodic child process (receiver/archive/daemon.ts), never in --once runs.
    this.archiver =
      config.archive.enabled && !inputs.once
        ? (await import('../archive/daemon.js')).startArchiver({ dataDir: config.dataDir, ...config.archive, logger })
        : undefined;
    // The query index follows the default store (<data_dir>/store, where `kata-otel query` looks).
    const storeDir = join(config.dataDir, 'store');
    this.indexer =
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
    this.started = true;
    for (const s of this.sources) this.startSource(s);
    this.markRunning();
  }

  /** Resolves once every source has returned (a reload may stop and start sources meanwhile). */
  private async sourcesDone(): Promise<void> {
    for (;;) {
      const seen = this.sourcesChanged;
      await Promise.all(this.sources.map((s) => s.done));
      if (seen === this.sourcesChanged) return;
    }
  }

  /**
   * Runs until the sources end (once) or `signal` aborts, then stops; returns what happened. Shutdown is bounded by
   * shutdown_timeout_ms from the signal whatever the sources do: a source still waiting for room in a full queue
   * (backend down) never returns on its own, so the queues close at the deadline, which rejects its pending append
   * (the source keeps its checkpoint; the batch is read again next start).
   */
  async run(signal: AbortSignal): Promise<RunSummary> {
    const { config, inputs, logger } = this;
    const startedAt = Date.now();
    let closeTimer: NodeJS.Timeout | undefined;
    let onceTimer: NodeJS.Timeout | undefined;
    let deadline: number | undefined;
    let progress: { stop(): Promise<void> } | undefined;
    const onAbort = () => {
      deadline = Date.now() + this.config.shutdownTimeoutMs;
      closeTimer = setTimeout(() => this.allQueues().forEach((q) => void q.close()), this.config.shutdownTimeoutMs);
      this.stopAll.abort();
    };
    try {
      await this.start();
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      // --once is bounded too: a dead backend would otherwise keep it retrying for ever. At the deadline the sources
      // stop and the queues close at once (what is queued stays on disk for the next start).
      onceTimer = inputs.once
        ? setTimeout(() => {
            this.timedOut = true;
            logger.error('run --once did not finish within once_timeout_ms: stopping', {
              onceTimeoutMs: config.onceTimeoutMs,
            });
            signal.removeEventListener('abort', onAbort);
            deadline = Date.now();
            this.stopAll.abort();
            this.allQueues().forEach((q) => void q.close());
          }, config.onceTimeoutMs)
        : undefined;
      // --once: a progress bar on a terminal, status lines in the log otherwise (receiver/run/progress.ts).
      progress = inputs.once
        ? startProgress({
            metrics: this.metrics,
            bytesLeft: () =>
              this.sources.reduce((n, s) => {
                const src = s.source as Partial<{ stats(): { bytesLeft: number } }>;
                return n + (src.stats ? src.stats().bytesLeft : 0);
              }, 0),
            exportState: () => this.health.snapshot(),
            exporters: this.lanes.map((l) => l.name),
            logger,
            tty: Boolean(process.stderr.isTTY) && process.env.KATA_OTEL_PROGRESS !== 'log',
            intervalMs: process.env.KATA_OTEL_PROGRESS_INTERVAL_MS
              ? Number(process.env.KATA_OTEL_PROGRESS_INTERVAL_MS)
              : undefined,
          })
        : undefined;
      await this.sourcesDone();
      for (const t of this.timers) clearInterval(t);
      signal.removeEventListener('abort', onAbort);
      await this.finish(signal, () => deadline, startedAt);
      await progress?.stop();
      const summary = await this.summary();
      clearTimeout(onceTimer); // done: the deadline no longer applies
      // One last push with the final counts, within what is left of the shutdown timeout.
      const left = () => (deadline !== undefined ? deadline - Date.now() : this.config.shutdownTimeoutMs);
      await this.otlpMetrics?.shutdown(left());
      await this.selfTracing?.shutdown(Math.max(0, left()));
      await this.telemetry?.close();
      return summary;
    } finally {
      clearTimeout(closeTimer);
      clearTimeout(onceTimer);
      await this.release();
    }
  }

  /** After the sources: flush the stages, drain the queues (bounded), forward the integrity anchors. */
  private async finish(signal: AbortSignal, deadline: () => number | undefined, startedAt: number): Promise<void> {
    const { inputs, logger, config } = this;
    const pipeline = this.pipeline;
    try {
      await pipeline.flush(
        inputs.once && pipeline.latestRecordTime > 0n ? pipeline.latestRecordTime : BigInt(Date.now()) * 1_000_000n,
        true,
      );
    } catch (err) {
      if (!signal.aborted && !this.timedOut) throw err;
      logger.warn('records produced at shutdown were not queued: the queues closed at the shutdown deadline', { err });
    }
    await this.pushLifecycleMetrics().catch((err: unknown) => logger.warn('lifecycle metrics not queued', { err }));
    for (const s of this.slots) await s.built.close?.();
    // Once mode waits for the backends (a collector may be briefly unavailable); shutdown is bounded.
    const d = deadline();
    const drainMs =
      d !== undefined
        ? Math.max(0, d - Date.now())
        : inputs.once
          ? Math.max(0, startedAt + config.onceTimeoutMs - Date.now())
          : config.shutdownTimeoutMs;
    await Promise.all(
      this.allQueues().map(async (q) => {
        const stop = () => void q.close();
        signal.addEventListener('abort', stop, { once: true });
        // A queue closed at the deadline releases its drain waiters: only an empty queue is drained.
        const ok = (await q.drain(drainMs)) && q.depth().records === 0;
        signal.removeEventListener('abort', stop);
        if (!ok) {
          this.drained = false;
          if (inputs.once && deadline() === undefined) this.timedOut = true; // the drain used up once_timeout_ms
          logger.warn(
            'exporter queue not drained before shutdown; the records stay queued and are sent on the next start',
            { exporter: q.name, ...q.depth() },
          );
        }
      }),
    );
    // The store's last checkpoints to the backends: they would otherwise wait for a next batch (receiver/integrity).
    if (this.drained)
      for (const { exporters, queue } of this.lanes)
        if (exporters[0] instanceof IntegrityExporter)
          await exporters[0].flushAnchors(queue, drainMs).catch((err: unknown) => {
            logger.warn('integrity checkpoints not forwarded; they go with the next batch after a restart', {
              exporter: queue.name,
              err,
            });
          });
  }

  /** What happened so far: entries read, records, and per exporter what was delivered and what waits. */
  async summary(): Promise<RunSummary> {
    const { metrics, config } = this;
    return {
      entriesRead: await counterTotal(metrics.read),
      records: await counterTotal(metrics.parsed),
      unparsed: await counterTotal(metrics.unparsed),
      duplicates: await counterTotal(metrics.deduplicated),
      alerts: await counterTotal(metrics.alerts),
      exporters: await Promise.all(
        this.lanes.map(async ({ entry: e, queue }) => ({
          name: e.name,
          type: e.type,
          exported: await counterTotal(metrics.exported, ['exporter', e.name]),
          rejected: await counterTotal(metrics.rejected, ['exporter', e.name]),
          dropped: await counterTotal(metrics.dropped, ['exporter', e.name]),
          queued: queue.depth().records,
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
      drained: this.drained,
      timedOut: this.timedOut,
      rerun: this.readUpTo.length ? rerunNote(this.readUpTo, this.checkpointDir) : undefined,
    };
  }

  /** Stop every source; run() then flushes and drains (bounded by shutdown_timeout_ms). */
  stop(): void {
    this.stopAll.abort();
  }

  /** Release everything (idempotent): timers, self-telemetry, queues, exporters. */
  private async release(): Promise<void> {
    this.health.stop();
    this.stopTransportWarnings();
    this.archiver?.stop();
    this.indexer?.stop();
    for (const t of this.timers) clearInterval(t);
    await this.otlpMetrics?.shutdown(0);
    await this.selfTracing?.shutdown(0);
    await this.telemetry?.close().catch(() => {});
    await Promise.allSettled(this.allQueues().map((q) => q.close()));
    await Promise.allSettled(this.lanes.flatMap((l) => l.exporters).map((e) => e.shutdown()));
  }

  /**
   * Apply `next` in place (see the file header). Returns false, changing nothing, when a setting that shapes the
   * whole process changed: the caller restarts the receiver instead.
   */
  async reload(next: ReceiverConfig): Promise<ReloadChanges | false> {
    if (processKey(next) !== processKey(this.config) || this.inputs.once) return false;
    await this.running;
    if (this.stopAll.signal.aborted) return false;
    const { logger } = this;
    const bound = (p: Promise<unknown>, ms: number) =>
      Promise.race([p, new Promise<void>((r) => setTimeout(r, ms).unref())]);

    // 1. Sources that change or go stop first, while the pipeline still takes their last batch (they write their
    //    checkpoints past what is durably queued).
    const wanted = await this.makeSources(next, this.sources);
    const stopping = this.sources.filter((s) => !wanted.includes(s));
    for (const s of stopping) s.abort.abort();
    await bound(Promise.all(stopping.map((s) => s.done)), next.shutdownTimeoutMs);

    // 2. Exporters and stages change between batches: the hand-off waits at the gate meanwhile.
    let open!: () => void;
    this.gate = new Promise<void>((r) => (open = r));
    const changes: ReloadChanges = {
      sources: {
        kept: wanted.filter((s) => this.sources.includes(s)).map((s) => s.name),
        stopped: stopping.map((s) => s.name),
        started: wanted.filter((s) => !this.sources.includes(s)).map((s) => s.name),
      },
      exporters: { kept: [], stopped: [], started: [] },
      stages: { kept: [], replaced: [] },
    };
    try {
      await Promise.allSettled([...this.inflight]);
      const old = this.lanes;
      const keepLane = (e: ExporterEntry) => old.find((l) => l.name === e.name && l.key === keyOf([e, next.queue]));
      const going = old.filter((l) => !next.exporters.some((e) => keepLane(e) === l));
      for (const l of going) {
        // Drain first (bounded, as at shutdown): closing aborts the exports in flight, which the backend may have
        // taken already, so their records would be sent twice. What is left stays in a disk queue for the exporter
        // of the same name (a memory queue loses it, as at a restart).
        await Promise.all([l.queue, ...l.signalQueues].map((q) => q.drain(next.shutdownTimeoutMs)));
        await Promise.allSettled([l.queue, ...l.signalQueues].map((q) => q.close()));
        await Promise.allSettled(l.exporters.map((e) => e.shutdown()));
        this.health.forget(l.name);
      }
      this.config = next;
      const lanes: Lane[] = [];
      for (const e of next.exporters) {
        const kept = keepLane(e);
        if (kept) {
          lanes.push(kept);
          changes.exporters.kept.push(e.name);
          continue;
        }
        try {
          const lane = await this.makeLane(e);
          for (const q of [lane.queue, ...lane.signalQueues]) q.start();
          lanes.push(lane);
          changes.exporters.started.push(e.name);
        } catch (err) {
          logger.error('exporter not started on reload; its records wait in its queue for the next start', {
            exporter: e.name,
            err,
          });
        }
      }
      changes.exporters.stopped = going.map((l) => l.name);
      this.lanes = lanes;
      this.restartTransportWarnings();

      const oldSlots = this.slots;
      this.slots = await this.makeStages(next, oldSlots);
      const retired = oldSlots.filter((s) => !this.slots.includes(s));
      changes.stages.kept = this.slots.filter((s) => oldSlots.includes(s)).map((s) => s.type);
      changes.stages.replaced = [
        ...new Set([...retired, ...this.slots.filter((s) => !oldSlots.includes(s))].map((s) => s.type)),
      ];
      this.pipeline = this.makePipeline();
      // What a retired stage still holds (held records, open spans) goes to the exporters.
      if (retired.length) {
        const flushOut = new Pipeline({
          stages: retired.map((s) => s.built.stage as Stage),
          sinks: this.lanes.map((l) => l.queue),
          spanSinks: this.lanes.flatMap((l) => (l.spanSink ? [l.spanSink] : [])),
          metrics: this.metrics,
          logger,
        });
        await flushOut
          .flush(BigInt(Date.now()) * 1_000_000n, true)
          .catch((err: unknown) => logger.warn('records held by a replaced stage were not queued', { err }));
        for (const s of retired) await s.built.close?.();
      }
    } finally {
      this.gate = undefined;
      open();
    }

    // 3. Added and changed sources start, from their checkpoints.
    const starting = wanted.filter((s) => !this.sources.includes(s));
    this.sources = wanted;
    for (const s of starting) this.startSource(s);
    return changes;
  }
}
