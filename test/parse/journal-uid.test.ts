// journalUid reads a journal cursor's `s=` and `i=` fields by hand (it runs once per journal record); it must give
// what the regular expressions it replaced give, on real cursors and on anything else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { journalUid } from '../../receiver/parse/build.js';

function byRegex(cursor: string): string {
  const s = /(?:^|;)s=([0-9a-f]+)/.exec(cursor)?.[1];
  const i = /(?:^|;)i=([0-9a-f]+)/.exec(cursor)?.[1];
  return s !== undefined && i !== undefined ? `${s}-${i}` : cursor;
}

describe('journalUid', () => {
  it('takes the sequence-number id and number of a real cursor', () => {
    const c =
      's=f1e2edcf41514be68375b6953edfd266;i=1a;b=aae3e7a59ebb42e09529266c02abc3a8;m=71b476e4e;t=661f8ba80bf3e;x=a54c7';
    expect(journalUid(c)).toBe('f1e2edcf41514be68375b6953edfd266-1a');
  });

  it('equals the regular expressions on arbitrary cursor-like text', () => {
    const part = fc.oneof(
      fc.constantFrom('s=', 'i=', ';', 's=;', 'xs=1', 'i=Z', 'b=00', 'S=1'),
      fc.stringMatching(/^[0-9a-fA-Fg;=si]{0,6}$/),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 12 }), (parts) => {
        const c = parts.join('');
        expect(journalUid(c)).toBe(byRegex(c));
      }),
      { numRuns: 3000 },
    );
  });
});
