// The shared line splitter: chunk boundaries never change the lines, UTF-8 is decoded per complete line, long
// lines are cut at a character boundary and flagged.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Batcher } from '../../receiver/sources/batcher.js';
import { LineSplitter, utf8Boundary, type Line } from '../../receiver/sources/lines.js';
import type { RawEntry } from '../../receiver/sources/types.js';

function splitAll(chunks: Buffer[], max?: number): Line[] {
  const s = new LineSplitter(max);
  const out = chunks.flatMap((c) => s.push(c));
  const tail = s.flush();
  return tail ? [...out, tail] : out;
}

describe('LineSplitter', () => {
  it('gives the same lines whatever the chunking (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ unit: 'grapheme' }), fc.constantFrom('\n', '\r\n', '\r', 'é', '😀')), {
          maxLength: 40,
        }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (parts, cuts) => {
          const bytes = Buffer.from(parts.join(''), 'utf8');
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const p of [...points, bytes.length]) {
            chunks.push(bytes.subarray(prev, p));
            prev = p;
          }
          const text = parts.join('');
          const expected = text.split('\n').map((l) => l.replace(/\r$/, ''));
          // A final '\n' ends the last line; nothing follows it.
          if (text.length === 0 || text.endsWith('\n')) expected.pop();
          expect(splitAll(chunks).map((l) => l.text)).toEqual(expected);
        },
      ),
    );
  });

  it('keeps a multi-byte character split across reads, drops one trailing CR, replaces invalid UTF-8', () => {
    const euro = Buffer.from('€', 'utf8');
    const lines = splitAll([
      Buffer.concat([Buffer.from('a'), euro.subarray(0, 1)]),
      Buffer.concat([euro.subarray(1), Buffer.from('\r\n')]),
      Buffer.from([0x62, 0xff, 0x0a]),
    ]);
    expect(lines).toEqual([
      { text: 'a€', truncated: false },
      { text: 'b\uFFFD', truncated: false },
    ]);
  });

  it('cuts an over-long line at a character boundary, flags it, and resumes at the next line', () => {
    const s = new LineSplitter(5);
    const out = [...s.push(Buffer.from('abcd€€€ and more')), ...s.push(Buffer.from(' still\nnext\n'))];
    expect(out).toEqual([
      { text: 'abcd', truncated: true },
      { text: 'next', truncated: false },
    ]);
    expect(utf8Boundary(Buffer.from('ab€', 'utf8').subarray(0, 4))).toBe(2);
    expect(utf8Boundary(Buffer.from('ab€', 'utf8'))).toBe(5);
  });

  it('returns the unterminated tail on flush, once', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('one\ntw'))).toEqual([{ text: 'one', truncated: false }]);
    expect(s.pendingBytes).toBe(2);
    expect(s.flush()).toEqual({ text: 'tw', truncated: false });
    expect(s.flush()).toBeUndefined();
  });
});

describe('Batcher', () => {
  it('sends full batches at once and partial ones after flushMs, in order, one at a time', async () => {
    const sent: string[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const b = new Batcher(
      async (entries) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        sent.push(entries.map((e) => (e.kind === 'text' ? e.text : '')));
        inFlight--;
      },
      { maxEntries: 3, flushMs: 10 },
    );
    const e = (t: string): RawEntry => ({ kind: 'text', text: t });
    expect(b.push(e('1'))).toBeUndefined();
    b.push(e('2'));
    const full = b.push(e('3'));
    expect(full).toBeInstanceOf(Promise);
    b.push(e('4'));
    await full;
    await new Promise((r) => setTimeout(r, 50));
    await b.flush();
    expect(sent).toEqual([['1', '2', '3'], ['4']]);
    expect(maxInFlight).toBe(1);
  });

  it('surfaces a failed hand-off at the next flush', async () => {
    const b = new Batcher(() => Promise.reject(new Error('shutting down')), { flushMs: 1 });
    b.push({ kind: 'text', text: 'x' });
    await new Promise((r) => setTimeout(r, 20));
    await expect(b.flush()).rejects.toThrow('shutting down');
  });
});
