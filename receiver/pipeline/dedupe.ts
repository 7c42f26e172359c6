// Duplicate suppression. Every Go-shim record is written twice: by the shim's syslog hook (`kata[<shim pid>]:`)
// and, through the shim's log FIFO, by containerd (`containerd[<containerd pid>]:`); the two copies differ only
// in how the time is formatted (`30.6520286-07:00` vs `30.652028600-07:00`) and in how they reached us. The
// parser has already normalised the time to ns, so the copies are equal once carrier attributes are left out.
import { randomBytes } from 'node:crypto';
import type { AttrValue, KataLogRecord } from '../model/record.js';
import {
  ATTR_HOST_ID,
  ATTR_HOST_NAME,
  ATTR_LOG_IOSTREAM,
  ATTR_LOG_RECORD_ORIGINAL,
  ATTR_LOG_RECORD_UID,
  ATTR_PROCESS_PID,
} from '../semconv/generated.js';
import type { StageEnv } from '../components/types.js';
import type { PipelineConfig } from '../config/types.js';
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
 * journal entry (identifier, unit, cursor), the host prefix and the host.id the host stage adds beside it (a plain
 * file's copy gets this node's name and id, a prefixed copy keeps the prefix's name and gets no id when that is
 * another node: an imported archive), the raw text and the delivery uid. `process.pid`
 * is left out too: when the record has no `pid=` of its own (e.g. `shm-size detected`), the syslog prefix
 * supplies it, and the two carriers' prefixes name different processes (shim vs containerd); a record's own
 * pid never differs between copies.
 */
function isCarrierAttribute(k: string): boolean {
  return (
    k.startsWith('log.file.') ||
    k.startsWith('kata.journal.') ||
    k === ATTR_HOST_NAME ||
    k === ATTR_HOST_ID ||
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

// The stage remembers a 64-bit hash of the same data instead of the key, so 100,000 keys take a few MB whatever
// the record size (collision odds at 100k keys: about 3e-10). Two 32-bit multiply-xorshift lanes; attributes are
// hashed one by one and summed, so no sorting is needed. This runs once per record, on every record of a busy
// node (bench/README.md), hence the hand-written parts: module state rather than closures, no string is built
// per record (numbers are hashed digit by digit, the time through its 64-bit binary form), and the remembered
// keys live in an open-addressing table over typed arrays rather than a Set of heap numbers.
let lane1 = 0;
let lane2 = 0;

// Seeds drawn once per process: the hash is fast, not cryptographic, so with known seeds a hostile writer could craft
// a record whose hash equals a later record's and have that one suppressed as its duplicate. Nothing is persisted
// (the table starts empty at each start), so the seeds need not survive a restart.
const SEEDS = randomBytes(16);
const TIME_SEED1 = SEEDS.readInt32LE(0);
const TIME_SEED2 = SEEDS.readInt32LE(4);
const KEY_SEED1 = SEEDS.readInt32LE(8);
const KEY_SEED2 = SEEDS.readInt32LE(12);

/** One step of both lanes over the 32-bit chunk `c`. */
function mix(c: number): void {
  lane1 = Math.imul(lane1 ^ c, 16777619);
  lane2 = Math.imul(lane2 ^ c, 0x5bd1e995);
  lane2 ^= lane2 >>> 15;
}

// The lanes live in locals inside the loop (module variables are memory slots the JIT loads and stores on every
// step); the result is the same as mix() over each 2-character chunk.
function hashString(s: string, seed1: number, seed2: number): void {
  let a = seed1;
  let b = seed2;
  const n = s.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const c = (s.charCodeAt(i) << 16) | s.charCodeAt(i + 1);
    a = Math.imul(a ^ c, 16777619);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
    const d = (s.charCodeAt(i + 2) << 16) | s.charCodeAt(i + 3);
    a = Math.imul(a ^ d, 16777619);
    b = Math.imul(b ^ d, 0x5bd1e995);
    b ^= b >>> 15;
  }
  if (i + 1 < n) {
    const c = (s.charCodeAt(i) << 16) | s.charCodeAt(i + 1);
    a = Math.imul(a ^ c, 16777619);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
    i += 2;
  }
  if (i < n) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 16777619);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  lane1 = Math.imul(a ^ n, 0x85ebca6b);
  lane2 = Math.imul(b ^ (b >>> 13) ^ n, 0xc2b2ae35);
}

// hashString over a safe integer's decimal digits, without building the string (pid and other numeric fields).
const digits = new Uint16Array(24);
function hashInteger(v: number, seed1: number, seed2: number): void {
  let n = 0;
  let x = v < 0 ? -v : v;
  do {
    digits[n++] = 48 + (x % 10);
    x = Math.floor(x / 10);
  } while (x > 0);
  if (v < 0) digits[n++] = 45; // '-'
  // digits[] holds the text reversed; walk it back to front in pairs, as hashString walks a string.
  lane1 = seed1;
  lane2 = seed2;
  let i = n - 1;
  for (; i >= 1; i -= 2) mix(((digits[i] as number) << 16) | (digits[i - 1] as number));
  if (i === 0) {
    const c = digits[0] as number;
    lane1 = Math.imul(lane1 ^ c, 16777619);
    lane2 = Math.imul(lane2 ^ c, 0x5bd1e995);
  }
  lane1 = Math.imul(lane1 ^ n, 0x85ebca6b);
  lane2 = Math.imul(lane2 ^ (lane2 >>> 13) ^ n, 0xc2b2ae35);
}

function hashValue(v: AttrValue, seed1: number, seed2: number): void {
  if (typeof v === 'string') hashString(v, seed1, seed2);
  else if (typeof v === 'number' && Number.isSafeInteger(v)) hashInteger(v, seed1, seed2);
  else hashString(valueString(v), seed1, seed2);
}

// A bigint time in [0, 2^64) is hashed through its binary form: writing it into a BigUint64Array converts it
// without allocating, and the two 32-bit halves are read back.
const u64 = new BigUint64Array(1);
const u64Halves = new Uint32Array(u64.buffer);
const U64_LIMIT = 1n << 64n;

/** Per attribute key: -1 for a carrier attribute, else the index of its hash lanes in keyLanes (keys repeat). */
const keyInfo = new Map<string, number>();
let keyLanes = new Int32Array(256);
const MAX_KEYS_CACHED = 4096;

function keyIndex(k: string): number {
  let i = keyInfo.get(k);
  if (i !== undefined) return i;
  if (isCarrierAttribute(k)) i = -1;
  else {
    i = keyInfo.size * 2;
    if (i + 2 > keyLanes.length) {
      const bigger = new Int32Array(keyLanes.length * 2);
      bigger.set(keyLanes);
      keyLanes = bigger;
    }
    hashString(k, KEY_SEED1, KEY_SEED2);
    keyLanes[i] = lane1;
    keyLanes[i + 1] = lane2;
  }
  // Keys are mostly the semantic-convention names; an input with endless distinct keys must not grow the cache.
  if (keyInfo.size < MAX_KEYS_CACHED) keyInfo.set(k, i);
  else if (i >= 0) {
    i = -2;
    uncachedLane1 = lane1;
    uncachedLane2 = lane2;
  }
  return i;
}
let uncachedLane1 = 0;
let uncachedLane2 = 0;

/** Sets hash1/hash2 (the record's 64-bit identity). Records with time 0n never get here. */
let hash1 = 0;
let hash2 = 0;
function dedupeHash(rec: KataLogRecord): void {
  const t = rec.timeUnixNano;
  if (typeof t === 'bigint' && t >= 0n && t < U64_LIMIT) {
    u64[0] = t;
    lane1 = TIME_SEED1;
    lane2 = TIME_SEED2;
    mix(u64Halves[0] as number);
    mix(u64Halves[1] as number);
  } else hashString(String(t), TIME_SEED1, TIME_SEED2);
  hashString(rec.severityText, lane1, lane2);
  hashString(rec.body, lane1, lane2);
  let x = lane1;
  let y = lane2;
  const a = rec.attributes;
  for (const k in a) {
    const ki = keyIndex(k);
    if (ki === -1) continue;
    if (ki >= 0) hashValue(a[k] as AttrValue, keyLanes[ki] as number, keyLanes[ki + 1] as number);
    else hashValue(a[k] as AttrValue, uncachedLane1, uncachedLane2);
    x = (x + lane1) | 0;
    y = (y + lane2) | 0;
  }
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  y = Math.imul(y ^ (y >>> 13), 0xc2b2ae35);
  hash1 = x;
  hash2 = y ^ (y >>> 16);
  // (0, 0) marks an empty slot of the table.
  if (hash1 === 0 && hash2 === 0) hash2 = 1;
}

/** The 64-bit identity the stage remembers for `rec`, as two 32-bit halves (tests: the seeds differ per process). */
export function identityHash(rec: KataLogRecord): [number, number] {
  dedupeHash(rec);
  return [hash1, hash2];
}

/**
 * The remembered hashes: an open-addressing table (linear probing, deletion by backward shift) over an Int32Array
 * of (hash1, hash2) pairs, at most half full.
 */
class HashTable {
  private slots: Int32Array;
  private mask: number;
  size = 0;

  constructor(maxKeys: number) {
    let cap = 16;
    while (cap < maxKeys * 2) cap *= 2;
    this.slots = new Int32Array(cap * 2);
    this.mask = cap - 1;
  }

  private find(h1: number, h2: number): number {
    const s = this.slots;
    for (let i = (h1 ^ Math.imul(h2, 0x9e3779b1)) & this.mask; ; i = (i + 1) & this.mask) {
      const a = s[2 * i] as number;
      const b = s[2 * i + 1] as number;
      if ((a === h1 && b === h2) || (a === 0 && b === 0)) return i;
    }
  }

  has(h1: number, h2: number): boolean {
    const i = this.find(h1, h2);
    return this.slots[2 * i] !== 0 || this.slots[2 * i + 1] !== 0;
  }

  add(h1: number, h2: number): void {
    const i = this.find(h1, h2);
    const s = this.slots;
    if (s[2 * i] !== 0 || s[2 * i + 1] !== 0) return;
    s[2 * i] = h1;
    s[2 * i + 1] = h2;
    this.size++;
  }

  delete(h1: number, h2: number): void {
    const s = this.slots;
    const mask = this.mask;
    let i = this.find(h1, h2);
    if (s[2 * i] === 0 && s[2 * i + 1] === 0) return;
    this.size--;
    // Backward shift: move later entries of the probe run into the hole, so lookups never stop early.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const a = s[2 * j] as number;
      const b = s[2 * j + 1] as number;
      if (a === 0 && b === 0) break;
      const home = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
      // Can the entry at j move to i? Only if its home is not in the cyclic range (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        s[2 * i] = a;
        s[2 * i + 1] = b;
        i = j;
      }
    }
    s[2 * i] = 0;
    s[2 * i + 1] = 0;
  }
}

// Record times in the ring as two 32-bit halves (exact, and no bigint kept alive per remembered key: 100,000
// long-lived bigints were a large share of the garbage collector's work). Times outside [0, 2^64) are clamped.
const timeWords = new BigUint64Array(1);
const timeHalves = new Uint32Array(timeWords.buffer);
const U64_MAX = (1n << 64n) - 1n;
const LO = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
const HI = 1 - LO;
function splitTime(t: bigint): void {
  timeWords[0] = t < 0n ? 0n : t > U64_MAX ? U64_MAX : t;
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
  private readonly seen: HashTable;
  /**
   * The same keys in insertion order with their record times (a FIFO ring of maxKeys entries): eviction pops from
   * the front. Insertion order is close to time order, which the window eviction relies on.
   */
  private readonly ringKeys: Int32Array;
  /** Record times, high and low 32 bits. */
  private readonly ringTimes: Uint32Array;
  private head = 0;
  private count = 0;
  private newest = 0n;

  constructor(opts: DedupeOptions = {}) {
    this.maxKeys = Math.max(1, opts.maxKeys ?? 100_000);
    this.windowNs = BigInt(Math.max(0, Math.round(opts.windowMs ?? 60_000))) * 1_000_000n;
    this.onSuppressed = opts.onSuppressed;
    this.seen = new HashTable(this.maxKeys);
    this.ringKeys = new Int32Array(this.maxKeys * 2);
    this.ringTimes = new Uint32Array(this.maxKeys * 2);
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.seen.size;
  }

  process(records: KataLogRecord[]): KataLogRecord[] {
    let dropped = 0;
    const out: KataLogRecord[] = [];
    for (const rec of records) {
      const t = rec.timeUnixNano;
      if (t === 0n) {
        out.push(rec);
        continue;
      }
      dedupeHash(rec);
      if (this.seen.has(hash1, hash2)) {
        dropped++;
        continue;
      }
      if (this.count === this.maxKeys) this.popOldest();
      this.seen.add(hash1, hash2);
      const at = 2 * ((this.head + this.count) % this.maxKeys);
      this.ringKeys[at] = hash1;
      this.ringKeys[at + 1] = hash2;
      splitTime(t);
      this.ringTimes[at] = timeHalves[HI] as number;
      this.ringTimes[at + 1] = timeHalves[LO] as number;
      this.count++;
      if (t > this.newest) this.newest = t;
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
    const h = this.head;
    this.seen.delete(this.ringKeys[2 * h] as number, this.ringKeys[2 * h + 1] as number);
    this.head = (h + 1) % this.maxKeys;
    this.count--;
  }

  /** Forget keys from the front (oldest inserted) while they are older than the window. */
  private evictExpired(): void {
    const cutoff = this.newest - this.windowNs;
    if (cutoff <= 0n) return; // nothing can be older than the window yet (times are clamped at 0)
    splitTime(cutoff);
    const hi = timeHalves[HI] as number;
    const lo = timeHalves[LO] as number;
    const times = this.ringTimes;
    while (this.count > 0) {
      const at = 2 * this.head;
      const th = times[at] as number;
      if (th > hi || (th === hi && (times[at + 1] as number) >= lo)) break;
      this.popOldest();
    }
  }
}

/** The registry's factory (dedupe-config.ts). */
export function createDedupeStage(d: PipelineConfig['dedupe'], env: StageEnv): { stage: DedupeStage } {
  return {
    stage: new DedupeStage({
      windowMs: d.windowMs,
      maxKeys: d.maxEntries,
      onSuppressed: (n) => env.metrics.deduplicated.inc(n),
    }),
  };
}
