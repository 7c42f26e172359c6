// The at-least-once hand-off shared by the file and stdin sources: await `ctx.emit`, but never hang a shutdown on
// it. Once the receiver is stopping, a pending emit gets `drainMs` to resolve; past that the source stops waiting
// and treats the batch as not delivered (its checkpoint does not move, so a restart reads it again).
import type { SourceBatch, SourceContext } from '../types.js';

export const DEFAULT_DRAIN_TIMEOUT_MS = 5000;

export type Delivery =
  { ok: true } | { ok: false; reason: 'rejected'; error: unknown } | { ok: false; reason: 'timeout' };

export async function deliver(
  ctx: Pick<SourceContext, 'emit' | 'signal'>,
  batch: SourceBatch,
  drainMs: number,
): Promise<Delivery> {
  const handed: Promise<Delivery> = ctx.emit(batch).then(
    () => ({ ok: true }),
    (error: unknown) => ({ ok: false, reason: 'rejected', error }),
  );
  if (!ctx.signal.aborted) {
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
    const first = await Promise.race([handed, aborted]);
    if (onAbort) ctx.signal.removeEventListener('abort', onAbort);
    if (first !== 'aborted') return first;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Delivery>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: 'timeout' }), drainMs);
  });
  try {
    return await Promise.race([handed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Thrown inside a source's read loop when a batch was not delivered: stop reading, keep the checkpoint. */
export class HandOffStopped extends Error {
  constructor(readonly delivery: Exclude<Delivery, { ok: true }>) {
    super(
      delivery.reason === 'timeout'
        ? 'the downstream hand-off did not finish within the shutdown drain timeout'
        : `the downstream hand-off failed: ${delivery.error instanceof Error ? delivery.error.message : String(delivery.error)}`,
    );
  }
}
