// EntryFramer decodes a chunk's run of complete ASCII lines in one go (the backlog fast path) and every other line
// through the LineSplitter. Whatever the chunking, the entries, their byte offsets and the durable offset must be
// the same as when the stream arrives one byte at a time (which takes the per-line path almost everywhere):
// with and without a multi-line assembler, CRLF, empty lines, non-ASCII text, and lines over maxLineBytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineAssembler } from '../../receiver/parse/multiline.js';
import { EntryFramer, type FramedEntry } from '../../receiver/sources/file/framer.js';

function frame(bytes: Buffer, cuts: number[], maxLineBytes: number, multiline: boolean) {
  const f = new EntryFramer(maxLineBytes, 1000, multiline ? new LineAssembler() : undefined);
  const out: FramedEntry[] = [];
  const durable: number[] = [];
  let prev = 0;
  for (const p of [...cuts, bytes.length]) {
    // The caller may reuse its read buffer: hand over a copy and scribble over it afterwards.
    const chunk = Buffer.from(bytes.subarray(prev, p));
    f.feed(chunk, out);
    chunk.fill(0x41);
    prev = p;
  }
  durable.push(f.durableOffset());
  f.flush(out);
  durable.push(f.durableOffset());
  return { out, durable };
}

const piece = fc.oneof(
  fc.constantFrom(
    '\n',
    '\r\n',
    '\r',
    'é',
    '😀',
    ' ',
    'time="2024-05-01T10:00:00Z" level=info msg="a b" sandbox=x',
    'msg="open quote',
    'panic: boom',
    'goroutine 1 [running]:',
    '\tmain.main()',
    '{"msg":"x",',
    '"level":"INFO"}',
  ),
  fc.string({ maxLength: 12 }),
);

describe('EntryFramer chunking', () => {
  it('gives the same entries and offsets as byte-by-byte feeding (property)', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.constantFrom(8, 40, 1 << 20),
        fc.boolean(),
        (parts, rawCuts, maxLineBytes, multiline) => {
          const bytes = Buffer.from(parts.join(''), 'utf8');
          const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const each = Array.from({ length: bytes.length }, (_, i) => i + 1).slice(0, -1);
          expect(frame(bytes, cuts, maxLineBytes, multiline)).toEqual(frame(bytes, each, maxLineBytes, multiline));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a large ASCII chunk: every line once, offsets contiguous', () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `time="2024-05-01T10:00:00Z" level=info msg="m ${i}"`);
    const bytes = Buffer.from(lines.join('\r\n') + '\n', 'utf8');
    const { out } = frame(bytes, [70_000, 131_072], 1 << 20, true);
    expect(out.map((e) => e.text)).toEqual(lines);
    let at = 1000;
    for (const e of out) {
      expect(e.offset).toBe(at);
      at = e.resume;
    }
    expect(at).toBe(1000 + bytes.length);
  });
});
