// Per-sandbox rate limits for guest streams (vsock agent logs, hypervisor FIFOs): a guest writes as fast as it
// likes, and without a limit one sandbox would fill the queue and the parse budget at the expense of every other
// sandbox. Two token buckets (records and bytes) per sandbox stream, checked before parsing, so a drop costs
// nothing. Drops are never silent: counted in kata_otel_guest_records_dropped_total{source,sandbox}, logged at most
// every report interval, and the next record let through carries their number (kata.log.dropped_count).
import { ATTR_KATA_LOG_DROPPED_COUNT } from '../semconv/generated.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { RawEntry } from './types.js';

export interface GuestRateLimitOptions {
  /** Records per second; 0 = unlimited. Default 1000. */
  recordsPerSecond?: number;
  /** Bytes per second; 0 = unlimited. Default 1 MiB. */
  bytesPerSecond?: number;
  /** Bucket size, in seconds of the rate. Default 10. */
  burstSeconds?: number;
  /** Drops are logged at most this often. Default 10 s. */
  reportIntervalMs?: number;
}

/** A token bucket: `rate` tokens per second, holding at most `rate * burstSeconds`; full at the start. */
export class TokenBucket {
  private tokens: number;
  private readonly capacity: number;
  private last: number;

  constructor(
    private readonly rate: number,
    burstSeconds: number,
    now = Date.now(),
  ) {
    this.capacity = Math.max(1, rate * burstSeconds);
    this.tokens = this.capacity;
    this.last = now;
  }

  /** Take `n` tokens if there are enough. A rate of 0 means unlimited. */
  take(n: number, now = Date.now()): boolean {
    if (this.rate <= 0) return true;
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
    }
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

/** The limit of one sandbox's stream. */
export class SandboxRateLimit {
  private readonly records: TokenBucket;
  private readonly bytes: TokenBucket;
  private readonly reportMs: number;
  /** Dropped since the last record let through. */
  private pending = 0;
  /** Dropped since the last log line. */
  private unreported = 0;
  private lastReport = 0;

  constructor(
    opts: GuestRateLimitOptions,
    private readonly where: { source: string; sandbox: string; metrics: Metrics; log: Logger },
  ) {
    const burst = opts.burstSeconds ?? 10;
    this.records = new TokenBucket(opts.recordsPerSecond ?? 1000, burst);
    this.bytes = new TokenBucket(opts.bytesPerSecond ?? 1024 * 1024, burst);
    this.reportMs = opts.reportIntervalMs ?? 10_000;
  }

  /** The entry, with the drops before it attached, or undefined when it is dropped. */
  admit(entry: RawEntry, size: number): RawEntry | undefined {
    const now = Date.now();
    // A record must fit both buckets (one the byte bucket refuses has still used its record token).
    if (this.records.take(1, now) && this.bytes.take(size, now)) {
      if (this.pending > 0) {
        entry.attributes = { ...entry.attributes, [ATTR_KATA_LOG_DROPPED_COUNT]: this.pending };
        this.pending = 0;
      }
      return entry;
    }
    this.pending++;
    this.unreported++;
    this.where.metrics.guestDropped.inc({ source: this.where.source, sandbox: this.where.sandbox });
    if (now - this.lastReport >= this.reportMs) this.report(now);
    return undefined;
  }

  /** Log the drops not logged yet (called on drops, and when the stream ends). */
  report(now = Date.now()): void {
    if (this.unreported === 0) return;
    this.where.log.warn('guest stream over its rate limit: records dropped (pipeline.fair_share)', {
      dropped: this.unreported,
      sinceMs: this.lastReport ? now - this.lastReport : undefined,
    });
    this.unreported = 0;
    this.lastReport = now;
  }
}
