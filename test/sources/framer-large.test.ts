// The backlog path on inputs larger than one decode piece (64 KiB) and one read (128 KiB): lines with non-ASCII and
// invalid UTF-8 bytes, CRLF, empty lines, a line longer than a piece, and lines over maxLineBytes among ordinary
// ones. The framer must give the same entries and offsets as byte-by-byte feeding (the per-line splitter path),
// and the file source the same texts and record uids as the byte offsets of the lines.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ATTR_KATA_LOG_TRUNCATED, ATTR_LOG_RECORD_UID } from '../../receiver/semconv/generated.js';
import { FileSource } from '../../receiver/sources/file.js';
import { fingerprintId, recordUid } from '../../receiver/sources/file/fingerprint.js';
import { EntryFramer, type FramedEntry } from '../../receiver/sources/file/framer.js';
import { harness, tempDir } from './source-harness.js';

/** Deterministic pseudo-random numbers (xorshift), so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const PIECES: Buffer[] = [
  Buffer.from('time="2024-05-01T10:00:00.000211575-07:00" level=debug msg="request end" duration=305.282µs'),
  Buffer.from(' name=containerd-shim-v2 pid=730277 source=virtcontainers'),
  Buffer.from('é'),
  Buffer.from('😀'),
  Buffer.from([0xff]), // never valid in UTF-8
  Buffer.from([0x80]), // a continuation byte without a lead
  Buffer.from([0xe2, 0x82]), // a 3-byte sequence cut short
  Buffer.from('\r'),
];

/** `n` bytes of log: mostly ordinary lines, some empty, CRLF, one 70 KB line and a few longer than `maxLineBytes`. */
function makeLog(n: number, maxLineBytes: number, seed: number): Buffer {
  const rand = rng(seed);
  const parts: Buffer[] = [];
  let size = 0;
  let long = 0;
  while (size < n) {
    const r = rand();
    let line: Buffer;
    if (r < 0.02) line = Buffer.alloc(0);
    else if (r < 0.025 && long < 4) {
      // Over maxLineBytes (cut), or over one decode piece only (kept whole), with a multi-byte character at the cut.
      long++;
      const len = long % 2 === 0 ? maxLineBytes + 1 + Math.floor(rand() * 3000) : 70_000;
      line = Buffer.concat([Buffer.from('x'.repeat(len - 3)), Buffer.from('€')]);
    } else {
      const k = 1 + Math.floor(rand() * 6);
      line = Buffer.concat(Array.from({ length: k }, () => PIECES[Math.floor(rand() * PIECES.length)] as Buffer));
    }
    parts.push(line, Buffer.from(rand() < 0.1 ? '\r\n' : '\n'));
    size += line.length + 1;
  }
  return Buffer.concat(parts);
}

function frame(bytes: Buffer, cuts: number[], maxLineBytes: number): { out: FramedEntry[]; durable: number } {
  const f = new EntryFramer(maxLineBytes, 0);
  const out: FramedEntry[] = [];
  let prev = 0;
  for (const p of [...cuts, bytes.length]) {
    const chunk = Buffer.from(bytes.subarray(prev, p));
    f.feed(chunk, out);
    chunk.fill(0x41); // the caller may reuse its buffer
    prev = p;
  }
  f.flush(out);
  return { out, durable: f.durableOffset() };
}

describe('EntryFramer on a large backlog', () => {
  it('gives the same entries and offsets in large chunks as byte by byte', () => {
    const maxLineBytes = 100_000;
    const bytes = makeLog(400_000, maxLineBytes, 7);
    const each = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    const expected = frame(bytes, each, maxLineBytes);
    // The input exercises what it is meant to: non-ASCII text, U+FFFD, cut lines, a line longer than a piece.
    const texts = expected.out.map((e) => e.text);
    expect(texts.some((t) => t.includes('µs'))).toBe(true);
    expect(texts.some((t) => t.includes('\uFFFD'))).toBe(true);
    expect(expected.out.filter((e) => e.truncated).length).toBeGreaterThan(0);
    expect(texts.some((t) => t.length === 69_998)).toBe(true);

    const rand = rng(11);
    const random = [...new Set(Array.from({ length: 12 }, () => Math.floor(rand() * bytes.length)))].sort(
      (a, b) => a - b,
    );
    const reads = Array.from({ length: Math.floor(bytes.length / 131_072) }, (_, i) => (i + 1) * 131_072);
    for (const cuts of [[], random, reads]) expect(frame(bytes, cuts, maxLineBytes)).toEqual(expected);
  });
});

describe('FileSource on a large file with non-ASCII and invalid UTF-8', () => {
  it('delivers every line once with its text and the uid of its byte offset', async () => {
    const dir = tempDir();
    const f = join(dir, 'mixed.log');
    const maxLineBytes = 100_000;
    const bytes = makeLog(3_500_000, maxLineBytes, 3);
    writeFileSync(f, bytes);
    const { out } = frame(bytes, [], maxLineBytes);

    const h = harness({ once: true });
    await new FileSource({ include: [f], startAt: 'beginning', maxLineBytes }).run(h.ctx);
    const entries = h.entries();
    expect(entries.map((e) => (e.kind === 'text' ? e.text : undefined))).toEqual(out.map((e) => e.text));
    // The uid: the id of the file's first min(1024, end of the entry's first line) bytes, then the entry's offset.
    expect(entries.map((e) => e.attributes?.[ATTR_LOG_RECORD_UID])).toEqual(
      out.map((e) => recordUid(fingerprintId(bytes.subarray(0, Math.min(1024, e.firstLineEnd))), e.offset)),
    );
    expect(entries.map((e) => e.attributes?.[ATTR_KATA_LOG_TRUNCATED] === true)).toEqual(out.map((e) => e.truncated));
  });
});

describe('recordUid', () => {
  it('is the fingerprint id and the offset as 16 hex digits', () => {
    const id = '0123456789abcdef';
    expect(recordUid(id, 0)).toBe(id + '0'.repeat(16));
    expect(recordUid(id, 0x1234)).toBe(id + '0000000000001234');
    expect(recordUid(id, Number.MAX_SAFE_INTEGER)).toBe(id + '001fffffffffffff');
    for (let off = 1; off < 2 ** 53; off = off * 3 + 1)
      expect(recordUid(id, off)).toBe(id + off.toString(16).padStart(16, '0'));
  });
});
