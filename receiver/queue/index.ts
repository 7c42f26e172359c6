// Entry point of the delivery queue: `createQueue` builds the queue in front of one exporter.
import type { Exporter } from '../exporters/types.js';
import { DiskQueue } from './disk.js';
import { MemoryQueue } from './memory.js';
import { resolveQueueOptions, type DeliveryQueue, type QueueDeps, type QueueOptionsInput } from './types.js';

export { backoffDelay } from './backoff.js';
export { DiskQueue, queueDirName } from './disk.js';
export { MemoryQueue, estimateRecordBytes } from './memory.js';
export * from './types.js';

/**
 * The queue in front of `exporter`, with the defaults filled in (a disk queue unless `kind: 'memory'`). Throws when
 * an option is invalid or the disk queue's directory cannot be created or is held by another process. Call
 * `start()` to begin exporting.
 */
export async function createQueue(
  opts: QueueOptionsInput,
  exporter: Exporter,
  deps: QueueDeps,
): Promise<DeliveryQueue> {
  const resolved = resolveQueueOptions(opts);
  return resolved.kind === 'memory'
    ? new MemoryQueue(resolved, exporter, deps)
    : DiskQueue.open(resolved, exporter, deps);
}
