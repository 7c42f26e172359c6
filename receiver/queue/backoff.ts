// Retry pacing for the delivery queue: exponential backoff with full jitter (AWS architecture blog, "Exponential
// Backoff and Jitter"): many receivers retrying against one recovering backend spread out instead of arriving in
// waves. A server's retry hint (gRPC RetryInfo, HTTP Retry-After) wins when it asks for a longer wait.
import type { RetryOptions } from './types.js';

/** A server hint longer than this is clamped: setTimeout overflows past 2^31-1 ms, and a receiver that sleeps for
 *  hours on one bad header is worse than one that asks again after ten minutes. */
export const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

/**
 * Delay before retry number `attempt` (1 = first retry): uniform in [0, min(maxMs, initialMs * multiplier^(attempt-1))],
 * or `retryAfterMs` when that is larger.
 */
export function backoffDelay(
  attempt: number,
  retry: RetryOptions,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(retry.maxMs, retry.initialMs * Math.pow(retry.multiplier, Math.max(0, attempt - 1)));
  const jittered = random() * ceiling;
  const hint =
    typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs > 0
      ? Math.min(retryAfterMs, MAX_RETRY_AFTER_MS)
      : 0;
  return Math.max(jittered, hint);
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
