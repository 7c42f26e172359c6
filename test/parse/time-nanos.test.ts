// toNanos builds seconds × 10^9 + fraction from 32-bit halves computed in doubles; it must agree with plain bigint
// arithmetic everywhere, including the limb and carry boundaries and the fallback outside [0, 2^32) seconds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTimestamp, toNanos } from '../../receiver/parse/time.js';

const exact = (secs: number, frac: number) => BigInt(secs) * 1_000_000_000n + BigInt(frac);

describe('toNanos', () => {
  it('equals bigint arithmetic on random and boundary values', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: -20_000_000_000, max: 2 ** 33 }),
          fc.constantFrom(0, 1, 65535, 65536, 4294967295, 4294967296, 1714582800, 2 ** 31, -1),
        ),
        fc.oneof(fc.integer({ min: 0, max: 999_999_999 }), fc.constantFrom(0, 1, 999_999_999)),
        (secs, frac) => {
          expect(toNanos(secs, frac)).toBe(exact(secs, frac));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('every second of a day around the 32-bit carry, through parseTimestamp', () => {
    for (let s = 0; s < 86400; s += 37) {
      const iso = new Date((1714521600 + s) * 1000).toISOString().replace('.000Z', '.999999999Z');
      expect(parseTimestamp(iso)).toBe(exact(1714521600 + s, 999_999_999));
    }
  });
});
