// Per-exporter delivery health, observed by wrapping each exporter (the delivery queue is left as it is): whether
// its last export succeeded, is failing (retryable, being retried) or was refused permanently (4xx, dropped).
// `/readyz` is unready while any exporter is not delivering, and a failing exporter gets a summary log line at
// a fixed interval (attempts, records refused, the last error) for as long as it fails, so an outage is never
// reported once and then silent.
import type { ExportResult, Exporter, PayloadCodec } from '../exporters/types.js';
import type { Logger } from '../telemetry/log.js';

export type DeliveryState = 'idle' | 'delivering' | 'failing' | 'rejecting';

interface State {
  state: DeliveryState;
  since: number;
  /** Failed attempts (retryable) and permanently refused batches/records since the state began. */
  failedAttempts: number;
  rejectedBatches: number;
  rejectedRecords: number;
  lastError?: string;
}

export class ExporterHealth {
  private readonly states = new Map<string, State>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly summaryIntervalMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The exporter, reporting every export outcome here. */
  wrap(exporter: Exporter): Exporter {
    this.states.set(exporter.name, this.fresh('idle'));
    const observe = async (records: number, p: Promise<ExportResult>) => {
      const r = await p;
      this.record(exporter.name, r, records);
      return r;
    };
    const codec = exporter.payload;
    const payload: PayloadCodec | undefined = codec && {
      type: codec.type,
      encode: (records) => codec.encode(records),
      export: (bytes, records, signal) => observe(records, codec.export(bytes, records, signal)),
    };
    return {
      name: exporter.name,
      payload,
      export: (records, signal) => observe(records.length, exporter.export(records, signal)),
      shutdown: () => exporter.shutdown(),
      probe: exporter.probe?.bind(exporter),
      seal: exporter.seal,
    };
  }

  /** An exporter a reload removed: it no longer counts for readiness. */
  forget(name: string): void {
    this.states.delete(name);
  }

  /** Every exporter delivering (or not yet asked to): what `/readyz` reports. */
  ready(): boolean {
    return [...this.states.values()].every((s) => s.state === 'idle' || s.state === 'delivering');
  }

  /** Name → state, for summaries and status lines. */
  snapshot(): Record<string, DeliveryState> {
    return Object.fromEntries([...this.states].map(([k, v]) => [k, v.state]));
  }

  start(): void {
    this.timer = setInterval(() => this.summarize(), this.summaryIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.summarize();
  }

  private fresh(state: DeliveryState): State {
    return { state, since: this.now(), failedAttempts: 0, rejectedBatches: 0, rejectedRecords: 0 };
  }

  private record(name: string, r: ExportResult, records: number): void {
    const prev = this.states.get(name) ?? this.fresh('idle');
    if (r.code === 'success') {
      if (prev.state === 'failing' || prev.state === 'rejecting') {
        this.summarize(name);
        this.logger.info('exporter delivering again', { exporter: name, afterMs: this.now() - prev.since });
      }
      if (prev.state !== 'delivering') this.states.set(name, this.fresh('delivering'));
      return;
    }
    const state: DeliveryState = r.code === 'permanent' ? 'rejecting' : 'failing';
    const s = prev.state === state ? prev : this.fresh(state);
    s.lastError = r.error;
    if (r.code === 'permanent') {
      s.rejectedBatches++;
      s.rejectedRecords += records;
    } else s.failedAttempts++;
    this.states.set(name, s);
  }

  /** One line per exporter that is failing or rejecting (or only `only`). */
  private summarize(only?: string): void {
    for (const [name, s] of this.states) {
      if ((only !== undefined && name !== only) || (s.state !== 'failing' && s.state !== 'rejecting')) continue;
      const fields = { exporter: name, forMs: this.now() - s.since, lastError: s.lastError };
      if (s.state === 'failing')
        this.logger.warn('exporter cannot deliver; records wait in its queue and are retried with backoff', {
          ...fields,
          failedAttempts: s.failedAttempts,
        });
      else
        this.logger.error('backend refuses exports permanently (4xx); refused records are dropped', {
          ...fields,
          rejectedBatches: s.rejectedBatches,
          rejectedRecords: s.rejectedRecords,
        });
    }
  }
}

/** For `run --once`: which exporters' backends refused records permanently (undefined when none did). A refused
 *  record is not delivered, so the import did not succeed (e.g. a wrong path → 404, or a backend that rejects
 *  old timestamps → 400: docs/delivery.md). */
export function rejectedMessage(exporters: { name: string; where: string; rejected: number }[]): string | undefined {
  const refused = exporters.filter((e) => e.rejected > 0);
  if (refused.length === 0) return undefined;
  return `run --once: backends refused records permanently and they were dropped: ${refused
    .map((e) => `${e.rejected} by ${e.name} (${e.where})`)
    .join('; ')}; the log says why (search "refused")`;
}
