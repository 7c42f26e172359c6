import { describe, expect, it } from 'vitest';
import { looksLikeLogfmt, tokenizeLogfmt } from '../../receiver/parse/logfmt.js';
import { readGoQuoted, readRustQuoted, unquoteRust } from '../../receiver/parse/quote.js';

const pairs = (s: string) => {
  const { kv } = tokenizeLogfmt(s);
  const out: [string, string][] = [];
  for (let i = 0; i < kv.length; i += 2) out.push([kv[i] as string, kv[i + 1] as string]);
  return out;
};

describe('tokenizeLogfmt', () => {
  it('splits quoted, unquoted and bare keys', () => {
    expect(pairs('time="2021-05-17T19:43:30Z" level=info msg="Starting VM" pid=42 bare sandbox=foo')).toEqual([
      ['time', '2021-05-17T19:43:30Z'],
      ['level', 'info'],
      ['msg', 'Starting VM'],
      ['pid', '42'],
      ['bare', ''],
      ['sandbox', 'foo'],
    ]);
    expect(tokenizeLogfmt('a=1 b c=').bare).toBe(1);
  });

  it('unescapes Go strconv.Quote escapes', () => {
    expect(pairs(String.raw`msg="a \"b\" \\ c\nd\te" x=1`)).toEqual([
      ['msg', 'a "b" \\ c\nd\te'],
      ['x', '1'],
    ]);
    expect(pairs(String.raw`m="\x41\u00e9\U0001F600\101\a"`)).toEqual([['m', 'Aé😀A\x07']]);
  });

  it('keeps a raw newline inside a quoted value (a line broken by the writer, rejoined)', () => {
    expect(pairs('msg="first\nsecond" level=info')).toEqual([
      ['msg', 'first\nsecond'],
      ['level', 'info'],
    ]);
  });

  it('reports an unterminated quote and keeps the rest of the line as the value', () => {
    const r = tokenizeLogfmt('level=info msg="no end here');
    expect(r.error).toBe('unterminated quoted value for key "msg"');
    expect(r.kv).toEqual(['level', 'info', 'msg', 'no end here']);
  });

  it('treats smart quotes as quotes', () => {
    expect(pairs('msg=“Starting VM” level=info')).toEqual([
      ['msg', 'Starting VM'],
      ['level', 'info'],
    ]);
    expect(pairs('msg=”both closing” x=‘it’s fine’ y=1')).toEqual([
      ['msg', 'both closing'],
      ['x', 'it’s fine'],
      ['y', '1'],
    ]);
  });

  it('dispatches only on logfmt-looking starts', () => {
    expect(looksLikeLogfmt('time="x"')).toBe(true);
    expect(looksLikeLogfmt('level=info')).toBe(true);
    expect(looksLikeLogfmt('timer started')).toBe(false);
    expect(looksLikeLogfmt('ab time=1', 3)).toBe(true);
  });
});

describe('quoted strings', () => {
  it('Go: reports the end and whether it closed', () => {
    expect(readGoQuoted('"ab\\"c" rest', 0)).toEqual({ value: 'ab"c', end: 7, closed: true });
    expect(readGoQuoted('"abc', 0)).toEqual({ value: 'abc', end: 4, closed: false });
  });

  it("Rust Debug: \\u{…}, \\0, \\' and quotes", () => {
    expect(readRustQuoted(String.raw`"a\"b\u{1b}[0m\0\'\r\n"`, 0).value).toBe('a"b\x1b[0m\0\'\r\n');
    expect(unquoteRust(String.raw`"qemu-system-x86_64: warning: \"x\""`)).toBe('qemu-system-x86_64: warning: "x"');
    expect(unquoteRust('not quoted')).toBe('not quoted');
  });
});
