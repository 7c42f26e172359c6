// Duplicate suppression. Every Go-shim record is written twice: by the shim's syslog hook (`kata[<shim pid>]:`)
// and, through the shim's log FIFO, by containerd (`containerd[<containerd pid>]:`); the two copies differ only
// in how the time is formatted (`30.6520286-07:00` vs `30.652028600-07:00`) and in how they reached us. The
// parser has already normalised the time to ns, so the copies are equal once carrier attributes are left out.
import type { AttrValue, KataLogRecord } from '../model/record.js';
import {
  ATTR_HOST_NAME,
  ATTR_LOG_IOSTREAM,
  ATTR_LOG_RECORD_ORIGINAL,
  ATTR_LOG_RECORD_UID,
  ATTR_PROCESS_PID,
} from '../semconv/generated.js';
import type { Stage } from './types.js';

export interface DedupeOptions {
  /** Most keys remembered (default 100,000); the oldest are forgotten first. */
  maxKeys?: number;
  /** Keys older than this much record time behind the newest record seen are forgotten (default 60 s). */
  windowMs?: number;
  /** Called with the number of records suppressed in each batch that suppressed any. */
  onSuppressed?: (count: number) => void;
}

/**
 * Attributes that describe how a record reached kata-otel, not the record: the file it was read from, the
 * journal entry (identifier, unit, cursor), the host prefix, the raw text and the delivery uid. `process.pid`
 * is left out too: when the record has no `pid=` of its own (e.g. `shm-size detected`), the syslog prefix
 * supplies it, and the two carriers' prefixes name different processes (shim vs containerd); a record's own
 * pid never differs between copies.
 */
function isCarrierAttribute(k: string): boolean {
  return (
    k.startsWith('log.file.') ||
    k.startsWith('kata.journal.') ||
    k === ATTR_HOST_NAME ||
    k === ATTR_PROCESS_PID ||
    k === ATTR_LOG_IOSTREAM ||
    k === ATTR_LOG_RECORD_ORIGINAL ||
    k === ATTR_LOG_RECORD_UID
  );
}

function valueString(v: AttrValue): string {
  return Array.isArray(v) ? v.join('\u0001') : String(v);
}

/**
 * The identity of a record for duplicate suppression, as a string (for tests and debugging; the stage keeps only
 * a hash of the same data): time in ns, severity text, body, and every attribute except the carrier ones (see
 * isCarrierAttribute) as `name=value`, sorted by name, separated by NUL. Undefined for records without a time
 * of their own (timeUnixNano 0n): two such records cannot be told apart from two real repetitions.
 */
export function dedupeKey(rec: KataLogRecord): string | undefined {
  if (rec.timeUnixNano === 0n) return undefined;
  const a = rec.attributes;
  const parts = [String(rec.timeUnixNano), rec.severityText, rec.body];
  for (const k of Object.keys(a).sort())
    if (!isCarrierAttribute(k)) parts.push(`${k}=${valueString(a[k] as AttrValue)}`);
  return parts.join('\u0000');
}

// The stage remembers a 53-bit hash of the same data instead of the key, so 100,000 keys take a few MB
// whatever the record size (collision odds at 100k keys: about 1e-6). Two 32-bit multiply-xorshift lanes;
// attributes are hashed one by one and summed, so no sorting is needed. Module state rather than closures:
// this runs once per record.
let lane1 = 0;
let lane2 = 0;

function hashString(s: string, seed1: number, seed2: number): void {
  let a = seed1;
  let b = seed2;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const c = (s.charCodeAt(i) << 16) | s.charCodeAt(i + 1);
    a = Math.imul(a ^ c, 16777619);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  if (i < n) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 16777619);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  lane1 = Math.imul(a ^ n, 0x85ebca6b);
  lane2 = Math.imul(b ^ (b >>> 13) ^ n, 0xc2b2ae35);
}

function dedupeHash(rec: KataLogRecord): number {
  hashString(String(rec.timeUnixNano), 0x811c9dc5, 0x9747b28c);
  hashString(rec.severityText, lane1, lane2);
  hashString(rec.body, lane1, lane2);
  let x = lane1;
  let y = lane2;
  const a = rec.attributes;
  for (const k in a) {
    if (isCarrierAttribute(k)) continue;
    hashString(k, 0x27d4eb2f, 0x165667b1);
    hashString(valueString(a[k] as AttrValue), lane1, lane2);
    x = (x + lane1) | 0;
    y = (y + lane2) | 0;
  }
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  y = Math.imul(y ^ (y >>> 13), 0xc2b2ae35);
  return (x >>> 0) * 2097152 + ((y ^ (y >>> 16)) & 0x1fffff);
}

/** Drops the second and later copies of a record within a bounded window; the first copy wins. */
export class DedupeStage implements Stage {
  readonly name = 'dedupe';
  /** Records suppressed since the stage was created. */
  suppressed = 0;
  private readonly maxKeys: number;
  private readonly windowNs: bigint;
  private readonly onSuppressed: ((count: number) => void) | undefined;
  /** The remembered keys (hashes). */
  private readonly seen = new Set<number>();
  /**
   * The same keys in insertion order with their record times (a FIFO with a moving head): eviction pops from the
   * front. Insertion order is close to time order, which the window eviction relies on.
   */
  private queueKeys: number[] = [];
  private queueTimes: bigint[] = [];
  private head = 0;
  private newest = 0n;

  constructor(opts: DedupeOptions = {}) {
    this.maxKeys = Math.max(1, opts.maxKeys ?? 100_000);
    this.windowNs = BigInt(Math.max(0, Math.round(opts.windowMs ?? 60_000))) * 1_000_000n;
    this.onSuppressed = opts.onSuppressed;
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.seen.size;
  }

  process(records: KataLogRecord[]): KataLogRecord[] {
    let dropped = 0;
    const out: KataLogRecord[] = [];
    for (const rec of records) {
      if (rec.timeUnixNano === 0n) {
        out.push(rec);
        continue;
      }
      const h = dedupeHash(rec);
      if (this.seen.has(h)) {
        dropped++;
        continue;
      }
      this.seen.add(h);
      this.queueKeys.push(h);
      this.queueTimes.push(rec.timeUnixNano);
      if (rec.timeUnixNano > this.newest) this.newest = rec.timeUnixNano;
      if (this.seen.size > this.maxKeys) this.popOldest();
      out.push(rec);
    }
    this.evictExpired();
    if (dropped > 0) {
      this.suppressed += dropped;
      this.onSuppressed?.(dropped);
    }
    return out;
  }

  private popOldest(): void {
    const k = this.queueKeys[this.head];
    if (k !== undefined) this.seen.delete(k);
    this.head++;
  }

  /** Forget keys from the front (oldest inserted) while they are older than the window; compact the queue. */
  private evictExpired(): void {
    const cutoff = this.newest - this.windowNs;
    const keys = this.queueKeys;
    const times = this.queueTimes;
    while (this.head < keys.length && (times[this.head] as bigint) < cutoff) this.popOldest();
    if (this.head > 1024 && this.head * 2 > keys.length) {
      this.queueKeys = keys.slice(this.head);
      this.queueTimes = times.slice(this.head);
      this.head = 0;
    }
  }
}
