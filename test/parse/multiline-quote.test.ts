// quoteOpenAfter jumps between quotes and backslashes with indexOf; it must agree with the plain character walk
// it replaced on every string made of quotes, backslashes and text.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteOpenAfter } from '../../receiver/parse/multiline.js';

function reference(line: string, startOpen: boolean): boolean {
  let open = startOpen;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (open && c === 92) i++;
    else if (c === 34) open = !open;
  }
  return open;
}

describe('quoteOpenAfter', () => {
  it('agrees with a character-by-character walk', () => {
    const piece = fc.constantFrom('"', '\\', '\\"', '\\\\', 'a', 'msg=', ' ', 'é', '=');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.boolean(), (parts, startOpen) => {
        const line = parts.join('');
        expect(quoteOpenAfter(line, startOpen)).toBe(reference(line, startOpen));
      }),
      { numRuns: 3000 },
    );
  });
});
