// Test helpers for the delivery queue: records that carry a sequence number, an Exporter whose answers a test
// scripts (the real interface, not a mock of an external system), a capturing logger and metric readers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Exporter, ExportResult } from '../../receiver/exporters/types.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { ATTR_KATA_SANDBOX_ID, ATTR_LOG_RECORD_UID } from '../../receiver/semconv/generated.js';
import { createLogger, type Logger } from '../../receiver/telemetry/log.js';

/** `n` records whose bodies are `${prefix}${seq}` for seq = start .. start+n-1. */
export function makeRecords(n: number, start = 0, prefix = 'r'): KataLogRecord[] {
  const out: KataLogRecord[] = [];
  for (let i = 0; i < n; i++) {
    const seq = start + i;
    out.push({
      timeUnixNano: 1_700_000_000_000_000_000n + BigInt(seq),
      observedTimeUnixNano: 1_700_000_000_500_000_000n + BigInt(seq),
      severityNumber: 9,
      severityText: 'info',
      body: `${prefix}${seq}`,
      attributes: { [ATTR_KATA_SANDBOX_ID]: 'sb-1', [ATTR_LOG_RECORD_UID]: `uid-${seq}` },
    });
  }
  return out;
}

export type Script = (
  call: number,
  records: KataLogRecord[],
  signal?: AbortSignal,
) => ExportResult | Promise<ExportResult>;

/** An Exporter whose answer to call number `call` (0-based) is whatever `script` says; keeps what it accepted. */
export class ScriptedExporter implements Exporter {
  calls = 0;
  readonly batchSizes: number[] = [];
  /** Bodies of records in batches answered `success` (partial rejections included), in order. */
  readonly accepted: string[] = [];
  readonly callStarts: number[] = [];
  readonly callEnds: number[] = [];
  concurrent = 0;
  maxConcurrent = 0;

  constructor(
    readonly name: string,
    private readonly script: Script = () => ({ code: 'success' }),
  ) {}

  async export(records: KataLogRecord[], signal?: AbortSignal): Promise<ExportResult> {
    const call = this.calls++;
    this.batchSizes.push(records.length);
    this.callStarts.push(performance.now());
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    try {
      const res = await this.script(call, records, signal);
      if (res.code === 'success') for (const r of records) this.accepted.push(r.body);
      return res;
    } finally {
      this.concurrent--;
      this.callEnds.push(performance.now());
    }
  }

  async shutdown(): Promise<void> {}
}

/** A logger that keeps its lines as objects. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) }), lines };
}

interface MetricValues {
  values: { value: number; labels: Record<string, string | number> }[];
}

/** Sum of a prom-client metric's values whose labels include `labels`; 0 when the metric does not exist. */
export async function metricValue(metric: object | undefined, labels: Record<string, string> = {}): Promise<number> {
  if (!metric) return 0;
  const { values } = (await (metric as { get(): Promise<MetricValues> }).get()) as MetricValues;
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kata-otel-queue-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Resolves when `cond()` holds, checking after each macrotask; rejects after `limit` checks. */
export async function until(cond: () => boolean, limit = 20_000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error('condition never became true');
}

/** Lets pending promise callbacks and timers that are due run. */
export const settle = () => new Promise((r) => setTimeout(r, 5));
