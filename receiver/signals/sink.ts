// The pipeline's SpanSink on a delivery queue: spans are queued as one payload per batch (./payload.ts), in the
// form the queue's exporter sends when it has one (./exporters.ts queuePayloadOf).
import type { KataSpan } from '../lifecycle/types.js';
import type { SpanSink } from '../pipeline/types.js';
import type { DeliveryQueue } from '../queue/types.js';
import type { MetricData } from '../lifecycle/metrics.js';
import { encodeMetrics, encodeSpans } from './payload.js';

export class QueueSpanSink implements SpanSink {
  constructor(
    private readonly queue: DeliveryQueue,
    private readonly encode: (spans: KataSpan[]) => Uint8Array = encodeSpans,
  ) {}

  get name(): string {
    return this.queue.name;
  }

  appendSpans(spans: KataSpan[], after?: Promise<void>): Promise<void> {
    return this.queue.appendPayload(this.encode(spans), spans.length, after);
  }
}

/** Pushes the derived metrics (a cumulative snapshot) into every `<name>.metrics` queue. */
export async function pushMetrics(queues: readonly DeliveryQueue[], metrics: MetricData[]): Promise<void> {
  const points = metrics.reduce((n, m) => n + m.points.length, 0);
  if (points === 0) return;
  const payload = encodeMetrics(metrics);
  await Promise.all(queues.map((q) => q.appendPayload(payload, points)));
}
