// The pipeline's SpanSink on a delivery queue: spans are queued as one payload per batch (./payload.ts).
import type { KataSpan } from '../lifecycle/types.js';
import type { SpanSink } from '../pipeline/types.js';
import type { DeliveryQueue } from '../queue/types.js';
import { encodeSpans } from './payload.js';

export class QueueSpanSink implements SpanSink {
  constructor(private readonly queue: DeliveryQueue) {}

  get name(): string {
    return this.queue.name;
  }

  appendSpans(spans: KataSpan[], after?: Promise<void>): Promise<void> {
    return this.queue.appendPayload(encodeSpans(spans), spans.length, after);
  }
}
