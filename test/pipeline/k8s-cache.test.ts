// The k8s stage's id cache (receiver/pipeline/k8s/cache.ts): TTLs, LRU order, and keys that are copies of their
// own (an id sliced from a log line must not keep the file source's decoded read alive).
import { describe, expect, it } from 'vitest';
import { ownCopy, TtlLruCache } from '../../receiver/pipeline/k8s/cache.js';

/** An id as the parsers produce it: a slice of a much longer string. */
function slicedId(id: string): string {
  const piece = 'x'.repeat(20_000) + ` sandbox=${id} ` + 'y'.repeat(20_000);
  const at = piece.indexOf('sandbox=') + 'sandbox='.length;
  return piece.slice(at, at + id.length);
}

describe('TtlLruCache', () => {
  it('keeps a sliding entry alive while it is used and expires a fixed one', () => {
    const c = new TtlLruCache<string>(10);
    c.set('a', 'A', 100, true, 0);
    c.set('b', 'B', 100, false, 0);
    expect(c.get('a', 90)).toBe('A');
    expect(c.get('b', 90)).toBe('B');
    expect(c.get('a', 180)).toBe('A'); // renewed at 90
    expect(c.get('b', 180)).toBeUndefined(); // fixed lifetime
    c.prune(1000);
    expect(c.size).toBe(0);
  });

  it('evicts the least recently used entry; a use moves an entry to the back', () => {
    const c = new TtlLruCache<number>(2);
    c.set('a', 1, 60_000, true, 0);
    c.set('b', 2, 60_000, true, 0);
    expect(c.get('a', 2000)).toBe(1); // a is now the most recent
    c.set('c', 3, 60_000, true, 2000);
    expect(c.peek('b', 2000)).toBeUndefined();
    expect(c.peek('a', 2000)).toBe(1);
    expect(c.peek('c', 2000)).toBe(3);
  });

  it('finds entries stored and moved under keys sliced from long lines', () => {
    const id = 'ee86fb8be61987b83e1da1338b09fc0a83dcd12f9754455e668b16dc98f20f48';
    const c = new TtlLruCache<string>(10);
    c.set(slicedId(id), 'pod', 60_000, true, 0);
    // Looked up with other slices, and moved in the LRU order (≥ 1 s apart) each time.
    for (let t = 1000; t <= 5000; t += 1000) expect(c.get(slicedId(id), t)).toBe('pod');
    expect(c.size).toBe(1);
    expect(c.peek(id, 5000)).toBe('pod');
  });
});

describe('ownCopy', () => {
  it('returns an equal string for ASCII, non-ASCII, emoji and empty text', () => {
    for (const s of ['', 'abc', slicedId('0123456789abcdef'), 'µs é', '🙂 pod']) expect(ownCopy(s)).toBe(s);
  });
});
