// A bounded map with a time-to-live per entry, least recently used first out. Written here rather than taken
// from a package because the stage looks an id up on every record: a hit costs one Map.get and two number
// comparisons, and the entry is moved to the back of the LRU order (a Map delete + set) at most once a second.

interface Slot<V> {
  /** The key as stored: a copy of its own (see ownCopy). */
  key: string;
  value: V;
  /** Expiry, in the clock's ms. */
  expires: number;
  /** 0: fixed lifetime (negative results); else the TTL renewed on every use. */
  slideMs: number;
  /** When the entry last moved to the back of the LRU order. */
  moved: number;
}

/** How stale the LRU order may get: an entry used within this long is not moved again. */
const MOVE_INTERVAL_MS = 1000;

export class TtlLruCache<V> {
  private readonly map = new Map<string, Slot<V>>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.map.size;
  }

  /** The live value for `key` at time `now` (a use: renews a sliding TTL), or undefined. */
  get(key: string, now: number): V | undefined {
    const s = this.map.get(key);
    if (s === undefined) return undefined;
    if (s.expires <= now) {
      this.map.delete(key);
      return undefined;
    }
    if (s.slideMs > 0) s.expires = now + s.slideMs;
    if (now - s.moved >= MOVE_INTERVAL_MS) {
      this.map.delete(key);
      this.map.set(s.key, s);
      s.moved = now;
    }
    return s.value;
  }

  /** The live value without counting as a use. */
  peek(key: string, now: number): V | undefined {
    const s = this.map.get(key);
    return s !== undefined && s.expires > now ? s.value : undefined;
  }

  /** Store `value` for `ttlMs`; `sliding`: the TTL restarts at each `get`. Evicts the least recently used. */
  set(key: string, value: V, ttlMs: number, sliding: boolean, now: number): void {
    this.map.delete(key);
    const own = ownCopy(key);
    this.map.set(own, { key: own, value, expires: now + ttlMs, slideMs: sliding ? ttlMs : 0, moved: now });
    while (this.map.size > this.maxEntries) this.evictFirst();
  }

  /** Drop expired entries from the least recently used end (stops at the first live one). */
  prune(now: number): void {
    for (const [k, s] of this.map) {
      if (s.expires > now) return;
      this.map.delete(k);
    }
  }

  private evictFirst(): void {
    for (const k of this.map.keys()) {
      this.map.delete(k);
      return;
    }
  }
}

/**
 * A copy of `s` that holds its own characters. An id taken from a log line is a slice of the string the file source
 * decoded a whole read into (tens of KB); kept as a map key for minutes, the slice would keep all of that alive
 * (thousands of container ids × a read each: tens of MB of RSS, measured on the bench's logfmt workload).
 */
export function ownCopy(s: string): string {
  return s.length > 0 ? Buffer.from(s, 'utf8').toString('utf8') : s;
}
