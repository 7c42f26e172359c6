// Optional webhook notifier speaking Alertmanager's API v2 (`POST /api/v2/alerts` with a JSON array of
// {labels, annotations, startsAt, endsAt, generatorURL}). It never blocks the pipeline: `notify` only queues;
// a background loop sends batches, retries transient failures a few times, logs what it drops, and the queue
// is bounded (oldest alerts go first when it is full).
import type { KataLogRecord } from '../model/record.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_HOST_NAME,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_ALERT_SEVERITY,
  ATTR_KATA_ALERT_SUPPRESSED_COUNT,
  ATTR_KATA_ALERT_TRIGGER_UIDS,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_SANDBOX_ID,
  ATTR_SECURITY_RULE_DESCRIPTION,
  ATTR_SECURITY_RULE_NAME,
  ATTR_SECURITY_RULE_REFERENCE,
} from '../semconv/generated.js';
import type { Logger } from '../telemetry/log.js';
import { lokiLabel } from './loki.js';

/** One alert as Alertmanager's OpenAPI `postableAlert` defines it. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

export interface AlertmanagerOptions {
  /** Alertmanager base URL (`http://alertmanager:9093`) or the full `/api/v2/alerts` URL. */
  url: string;
  /** Queue bound; when full the oldest queued alert is dropped (counted and logged). Default 1000. */
  maxQueue?: number;
  /** Alerts per POST. Default 64. */
  batchSize?: number;
  /** Per-request time-out. Default 5000 ms. */
  timeoutMs?: number;
  /** Attempts after the first for 5xx / network errors. Default 3. */
  retries?: number;
  /** First retry delay, doubled each time. Default 500 ms. */
  retryBaseMs?: number;
  /** Alerts are events without an end: `endsAt = startsAt + resolveAfterMs`. Default 5 minutes. */
  resolveAfterMs?: number;
  /** Back-link per rule; default the rule's reference URL, else no generatorURL. */
  generatorUrl?: (ruleId: string) => string | undefined;
  headers?: Record<string, string>;
  logger?: Logger;
}

/** Attributes that identify an alert instance in Alertmanager (labels); everything else is an annotation. */
const LABEL_ATTRIBUTES = [
  ATTR_KATA_SANDBOX_ID,
  ATTR_CONTAINER_ID,
  ATTR_HOST_NAME,
  ATTR_KATA_COMPONENT,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
];

const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

export function toPostableAlert(
  alert: KataLogRecord,
  opts: Pick<AlertmanagerOptions, 'resolveAfterMs' | 'generatorUrl'> = {},
): PostableAlert {
  const a = alert.attributes;
  const str = (k: string) =>
    a[k] === undefined ? undefined : Array.isArray(a[k]) ? (a[k] as string[]).join(',') : String(a[k]);
  const ruleId = str(ATTR_KATA_ALERT_RULE_ID) ?? 'kata-otel-alert';
  const labels: Record<string, string> = {
    alertname: ruleId,
    severity: str(ATTR_KATA_ALERT_SEVERITY) ?? alert.severityText,
  };
  for (const k of LABEL_ATTRIBUTES) {
    const v = str(k);
    if (v) labels[lokiLabel(k)] = v;
  }
  const annotations: Record<string, string> = { summary: alert.body };
  const add = (name: string, k: string) => {
    const v = str(k);
    if (v) annotations[name] = v;
  };
  add('title', ATTR_SECURITY_RULE_NAME);
  add('description', ATTR_SECURITY_RULE_DESCRIPTION);
  add('reference', ATTR_SECURITY_RULE_REFERENCE);
  add('suppressed_count', ATTR_KATA_ALERT_SUPPRESSED_COUNT);
  add('trigger_uids', ATTR_KATA_ALERT_TRIGGER_UIDS);
  const t = alert.timeUnixNano > 0n ? alert.timeUnixNano : alert.observedTimeUnixNano;
  const out: PostableAlert = {
    labels,
    annotations,
    startsAt: iso(t),
    endsAt: iso(t + BigInt(opts.resolveAfterMs ?? 300_000) * 1_000_000n),
  };
  const gen = opts.generatorUrl ? opts.generatorUrl(ruleId) : str(ATTR_SECURITY_RULE_REFERENCE);
  if (gen) out.generatorURL = gen;
  return out;
}

export class AlertmanagerNotifier {
  readonly stats = { sent: 0, dropped: 0, failedRequests: 0 };
  private readonly queue: PostableAlert[] = [];
  private readonly endpoint: string;
  private running: Promise<void> | undefined;
  private closed = false;
  private overflowLogged = false;

  constructor(private readonly opts: AlertmanagerOptions) {
    const base = opts.url.replace(/\/+$/, '');
    this.endpoint = base.endsWith('/api/v2/alerts') ? base : `${base}/api/v2/alerts`;
  }

  /** Queue an alert (an `onAlert` hook for RuleEngine). Never throws, never waits. */
  notify = (alert: KataLogRecord): void => {
    if (this.closed) return;
    try {
      this.queue.push(toPostableAlert(alert, this.opts));
    } catch (e) {
      this.opts.logger?.warn('alert not converted for Alertmanager; dropped', { error: e });
      this.stats.dropped++;
      return;
    }
    const max = this.opts.maxQueue ?? 1000;
    if (this.queue.length > max) {
      this.queue.splice(0, this.queue.length - max);
      this.stats.dropped++;
      if (!this.overflowLogged) {
        this.overflowLogged = true;
        this.opts.logger?.warn('Alertmanager queue full; dropping the oldest alerts', {
          maxQueue: max,
          url: this.endpoint,
        });
      }
    }
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  };

  /** Resolves once everything queued so far was sent or given up on. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stop accepting alerts and send what is queued (bounded by the retries). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.batchSize ?? 64);
      await this.send(batch);
    }
    this.overflowLogged = false;
  }

  private async send(batch: PostableAlert[]): Promise<void> {
    const retries = this.opts.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      let error: string;
      let retryable = true;
      try {
        const res = await fetch(this.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...this.opts.headers },
          body: JSON.stringify(batch),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
        });
        await res.arrayBuffer().catch(() => undefined); // drain so the connection can be reused
        if (res.ok) {
          this.stats.sent += batch.length;
          return;
        }
        error = `HTTP ${res.status}`;
        retryable = res.status >= 500 || res.status === 429;
      } catch (e) {
        error = (e as Error).message;
      }
      this.stats.failedRequests++;
      if (!retryable || attempt >= retries) {
        this.stats.dropped += batch.length;
        this.opts.logger?.warn('Alertmanager did not accept alerts; dropped', {
          url: this.endpoint,
          error,
          alerts: batch.length,
          attempts: attempt + 1,
        });
        return;
      }
      await new Promise((r) => setTimeout(r, (this.opts.retryBaseMs ?? 500) * 2 ** attempt));
    }
  }
}
