// Adding an attribute to a record without turning its attributes into a dictionary. V8 keeps an object's
// properties in a fast, shared layout (a "map") until a keyed store (`a[k] = v`, the key a variable) through its
// runtime adds more than a dozen properties beyond the object's in-object slots: the object then becomes a
// hash-table dictionary for good. A journal record has 22 attributes by the end of parsing, so every one went
// that way, and every later `for…in` over it (redaction, limits, dedupe, the queue's size estimate, the encoder,
// the integrity chain) had to collect and sort its keys into a fresh array: about 200 bytes and a few hundred ns
// per pass and record (bench/README.md, "Stage costs on the steady workload"). `Object.defineProperty` adds a
// property the way a named store does (`a.x = v`), which keeps the fast layout up to 128 properties.
import type { AttrValue, Attributes } from './record.js';

const DESCRIPTOR: PropertyDescriptor = { value: undefined, writable: true, enumerable: true, configurable: true };

/** Up to this many properties a plain store is used: on the steady workload a threshold of 20 let journal records
 *  become dictionaries, 17 and 16 did not (test/pipeline/attributes-layout.test.ts checks 2,000 journal records).
 *  Counting is cheap on a fast object (V8 caches its key list); a defineProperty is a runtime call (~0.3 µs). */
const PLAIN_STORES = 16;

/** `a[k] = v`, keeping `a` in V8's fast layout when `k` is new. */
export function setAttribute(a: Attributes, k: string, v: AttrValue): void {
  if (a[k] !== undefined) {
    a[k] = v;
    return;
  }
  let n = 0;
  for (const _ in a) if (++n >= PLAIN_STORES) break;
  if (n < PLAIN_STORES) {
    a[k] = v;
    return;
  }
  DESCRIPTOR.value = v;
  Object.defineProperty(a, k, DESCRIPTOR);
  DESCRIPTOR.value = undefined;
}
