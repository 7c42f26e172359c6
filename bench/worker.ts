// One measured in-process path, run as its own process by bench/run.ts (compiled to plain JS first, and importing
// the built dist/, so neither tsx nor a second copy of the receiver is in the measurement):
//
//   floor     read and split lines only: the file source with no multi-line grouping; entries are counted
//   parse     + multi-line grouping and parsing (shape detection, fields, semantic conventions)
//   pipeline  + the stages `kata-otel run` builds (buildStages: duplicate suppression, k8s metadata, alert rules)
//   sdk       the pipeline, then the official OTel JS SDK: LoggerProvider + BatchLogRecordProcessor + OTLPLogExporter
//             (gRPC), with `await forceFlush()` every FLUSH_EVERY records as backpressure (without it the SDK drops
//             records when the exporter falls behind: perf-baseline.md)
//
// Prints one JSON line (WorkerResult) on stdout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import type { LogRecord } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import type { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { loadConfig } from '../receiver/config/index.js';
import type { KataLogRecord } from '../receiver/model/record.js';
import { LineAssembler } from '../receiver/parse/multiline.js';
import { Pipeline } from '../receiver/pipeline/pipeline.js';
import type { RecordSink } from '../receiver/pipeline/types.js';
import { buildStages } from '../receiver/run/receiver.js';
import { FileSource } from '../receiver/sources/file.js';
import type { SourceBatch } from '../receiver/sources/types.js';
import { createLogger } from '../receiver/telemetry/log.js';
import { Metrics } from '../receiver/telemetry/metrics.js';

export type WorkerPath = 'floor' | 'parse' | 'pipeline' | 'sdk';

export interface WorkerResult {
  path: WorkerPath;
  entries: number;
  /** Records out of the parsers (parse and later). */
  records: number;
  /** Records suppressed as duplicates (pipeline, sdk). */
  duplicates: number;
  /** Alert records the rules added (pipeline, sdk). */
  alerts: number;
  /** Records handed to the SDK logger (sdk). */
  emitted: number;
  /** Seconds from the first read to the last record delivered, inside the process. */
  inProcS: number;
}

/** SDK backpressure: await forceFlush() after this many records (well below maxQueueSize, so nothing is dropped). */
const FLUSH_EVERY = 50_000;

const { values: args } = parseArgs({
  options: {
    path: { type: 'string' },
    files: { type: 'string', multiple: true },
    endpoint: { type: 'string' },
    gzip: { type: 'boolean' },
  },
});

const path = args.path as WorkerPath;
if (!['floor', 'parse', 'pipeline', 'sdk'].includes(path)) throw new Error(`--path ${String(args.path)}: unknown`);
const files = args.files ?? [];
if (files.length === 0) throw new Error('--files: give at least one input file');

const logger = createLogger({ level: 'warn' });
const metrics = new Metrics();
// The receiver's defaults (dedupe window, rules) from the same loader `kata-otel run` uses.
const config = loadConfig(undefined, { telemetry: { listen: null } });
const result: WorkerResult = { path, entries: 0, records: 0, duplicates: 0, alerts: 0, emitted: 0, inProcS: 0 };

/** The SDK's exporter path: KataLogRecords become SDK log records (attributes as they are; one Resource). */
function sdkSink(endpoint: string, gzip: boolean): RecordSink & { shutdown(): Promise<void> } {
  const exporter = new OTLPLogExporter({
    url: endpoint,
    compression: (gzip ? 'gzip' : 'none') as CompressionAlgorithm,
  });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'kata-otel-sdk-baseline' }),
    processors: [
      new BatchLogRecordProcessor({
        exporter,
        maxQueueSize: 100_000,
        maxExportBatchSize: 8192,
        scheduledDelayMillis: 200,
      }),
    ],
  });
  const logger = provider.getLogger('kata-otel-sdk-baseline');
  let sinceFlush = 0;
  const hr = (ns: bigint): [number, number] => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
  return {
    name: 'sdk',
    async append(records: KataLogRecord[]): Promise<void> {
      for (const r of records) {
        const rec: LogRecord = {
          severityNumber: r.severityNumber,
          severityText: r.severityText,
          body: r.body,
          attributes: r.attributes,
          observedTimestamp: hr(r.observedTimeUnixNano),
        };
        if (r.timeUnixNano > 0n) rec.timestamp = hr(r.timeUnixNano);
        if (r.eventName) rec.eventName = r.eventName;
        logger.emit(rec);
      }
      result.emitted += records.length;
      sinceFlush += records.length;
      if (sinceFlush >= FLUSH_EVERY) {
        sinceFlush = 0;
        await provider.forceFlush();
      }
    },
    shutdown: () => provider.shutdown(),
  };
}

async function main(): Promise<void> {
  const checkpointDir = mkdtempSync(join(tmpdir(), 'kata-otel-bench-ckpt-'));
  const sdk = path === 'sdk' ? sdkSink(String(args.endpoint), args.gzip === true) : undefined;
  const pipeline = new Pipeline({
    stages: path === 'pipeline' || path === 'sdk' ? (await buildStages(config, metrics, logger)).stages : [],
    sinks: sdk ? [sdk] : [],
    keepOriginal: config.pipeline.keepOriginal,
    metrics,
    logger,
  });
  // Like the receiver's pipeline, the emit honours the file source's durability barrier (SourceBatch.after), so the
  // source hands off batches the way it does under `kata-otel run`.
  const emit = async (batch: SourceBatch): Promise<void> => {
    result.entries += batch.entries.length;
    if (path !== 'floor') {
      const parsed = pipeline.parse(batch);
      result.records += parsed.length;
      if (path !== 'parse') {
        const out = pipeline.transform(parsed);
        if (sdk) await sdk.append(out);
      }
    }
    await batch.after;
  };
  const source = new FileSource({
    name: 'files',
    include: files,
    startAt: 'beginning',
    assembler: path === 'floor' ? undefined : () => new LineAssembler(),
  });
  const t0 = performance.now();
  await source.run({
    emit,
    signal: new AbortController().signal,
    checkpointDir,
    once: true,
    pipelined: true,
    logger,
    metrics,
  });
  if (path === 'pipeline' || path === 'sdk') {
    // What `kata-otel run --once` does at the end: stateful rules hand over what they hold.
    const last = pipeline.latestRecordTime;
    await pipeline.flush(last > 0n ? last : BigInt(Date.now()) * 1_000_000n, true);
  }
  if (sdk) await sdk.shutdown();
  result.inProcS = (performance.now() - t0) / 1000;
  const dup = await metrics.deduplicated.get();
  result.duplicates = dup.values.reduce((a, v) => a + v.value, 0);
  const alerts = await metrics.alerts.get();
  result.alerts = alerts.values.reduce((a, v) => a + v.value, 0);
  rmSync(checkpointDir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench worker (${path}): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
