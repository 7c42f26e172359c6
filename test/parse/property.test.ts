// Whatever arrives, the parser returns records and never throws.
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { LineAssembler, parseJournalEntry, parseText } from '../../receiver/parse/index.js';
import { ATTR_KATA_LOG_PARSE_ERROR } from '../../receiver/semconv/generated.js';
import { CORPUS, ctx } from './helpers.js';

const corpusLines = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.log') || f.endsWith('.json'))
  .flatMap((f) => readFileSync(new URL(f, CORPUS), 'utf8').split('\n'))
  .filter((l) => l.length > 0);

function wellFormed(recs: KataLogRecord[]) {
  expect(recs.length).toBeGreaterThanOrEqual(1);
  for (const r of recs) {
    expect(typeof r.body).toBe('string');
    expect(typeof r.timeUnixNano).toBe('bigint');
    expect(r.timeUnixNano >= 0n).toBe(true);
    expect(Number.isInteger(r.severityNumber) && r.severityNumber >= 0 && r.severityNumber <= 24).toBe(true);
    // parseText catches everything; an internal error would only show here
    expect(String(r.attributes[ATTR_KATA_LOG_PARSE_ERROR] ?? '')).not.toMatch(/^internal parser error/);
  }
}

// Edits that real damage makes: cut, insert (quotes, braces, escapes, newlines, random text), duplicate, drop.
const SPICE = ['"', '\\', '{', '}', '[', ']', '=', ' ', '\n', '“', '”', '\\"', '\x1b[31m', '<6>', 'msg=', '"msg":'];
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), len: fc.nat(40) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...SPICE), fc.string({ maxLength: 8 })),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('double' as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(line: string, ms: Mutation[]): string {
  let s = line;
  for (const m of ms) {
    const at = s.length === 0 ? 0 : m.at % (s.length + 1);
    if (m.kind === 'cut') s = s.slice(0, at) + s.slice(at + m.len);
    else if (m.kind === 'insert') s = s.slice(0, at) + m.text + s.slice(at);
    else if (m.kind === 'truncate') s = s.slice(0, at);
    else s = s.slice(0, at) + s.slice(at) + s.slice(at);
  }
  return s;
}

describe('parseText never throws', () => {
  it('on random strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ maxLength: 300 })), (s) => {
        wellFormed(parseText(s, ctx()));
      }),
      { numRuns: 1500 },
    );
  });

  it('on random bytes decoded as UTF-8 and Latin-1', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const buf = Buffer.from(b);
        wellFormed(parseText(buf.toString('utf8'), ctx()));
        wellFormed(parseText(buf.toString('latin1'), ctx({ keepOriginal: true })));
      }),
      { numRuns: 800 },
    );
  });

  it('on mutated corpus lines, alone and with carrier prefixes', () => {
    const prefixes = [
      '',
      'May 17 19:43:30 raisin kata[1614807]: ',
      '<6>',
      '2025-11-20T16:25:32+0000 h containerd[1]: ',
      '{"message":',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...corpusLines),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.constantFrom(...prefixes),
        (line, ms, p) => {
          const text = p + mutate(line, ms);
          const recs = parseText(text, ctx({ attributes: { 'log.file.path': '/var/log/qemu.log' } }));
          wellFormed(recs);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('parseJournalEntry never throws', () => {
  it('on random field objects', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.integer(),
      fc.array(fc.integer({ min: -5, max: 300 }), { maxLength: 20 }),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 3 }),
    );
    const keys = fc.constantFrom(
      'MESSAGE',
      'PRIORITY',
      'SYSLOG_IDENTIFIER',
      '_PID',
      'SYSLOG_PID',
      '__REALTIME_TIMESTAMP',
      '_SOURCE_REALTIME_TIMESTAMP',
      '_TRANSPORT',
      'NAME',
      'SOURCE',
      'SUBSYSTEM',
      'STREAM',
      'CODE_LINE',
      '__CURSOR',
      '_HOSTNAME',
      'X',
    );
    fc.assert(
      fc.property(fc.dictionary(keys, value), fc.constantFrom(...corpusLines), (f, line) => {
        wellFormed(parseJournalEntry(f, ctx()));
        wellFormed(parseJournalEntry({ ...f, MESSAGE: line, NAME: 'kata-runtime' }, ctx()));
      }),
      { numRuns: 800 },
    );
  });
});

describe('LineAssembler never loses or over-holds lines', () => {
  it('keeps every non-blank line and respects its bound', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constantFrom(
              ...corpusLines,
              '{',
              '}',
              '  "a": 1,',
              'panic: x',
              'goroutine 1 [running]:',
              '\tframe',
              "thread 'm' panicked at a.rs:1:1:",
              'msg="open',
              'close"',
              '',
            ),
            fc.string({ maxLength: 20 }),
          ),
          { maxLength: 60 },
        ),
        (lines) => {
          const asm = new LineAssembler({ maxLines: 7 });
          const out: string[] = [];
          for (const l of lines) {
            out.push(...asm.push(l));
            expect(asm.pendingLines()).toBeLessThanOrEqual(7);
          }
          out.push(...asm.flush());
          for (const e of out) expect(e.split('\n').length).toBeLessThanOrEqual(7);
          const kept = out
            .join('\n')
            .split('\n')
            .filter((l) => l.trim() !== '');
          expect(kept).toEqual(
            lines
              .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
              .flatMap((l) => l.split('\n'))
              .filter((l) => l.trim() !== ''),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
