import { describe, expect, it } from 'vitest';
import { LineAssembler } from '../../receiver/parse/index.js';
import {
  ATTR_KATA_COMPONENT,
  ATTR_KATA_LOG_FORMAT,
  ATTR_KATA_LOG_PARSE_ERROR,
} from '../../receiver/semconv/generated.js';
import { one } from './helpers.js';

function run(lines: string[], asm = new LineAssembler()): string[] {
  const out: string[] = [];
  for (const l of lines) out.push(...asm.push(l));
  out.push(...asm.flush());
  return out;
}

const GO_PANIC = [
  'panic: runtime error: invalid memory address or nil pointer dereference',
  '[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x55d7a3]',
  '',
  'goroutine 1 [running]:',
  'github.com/kata-containers/kata-containers/src/runtime/pkg/containerd-shim-v2.(*service).Create(0xc000118000, {0x1, 0x2})',
  '\t/go/src/github.com/kata-containers/kata-containers/src/runtime/pkg/containerd-shim-v2/service.go:371 +0x1d',
  'main.main()',
  '\t/go/src/main.go:10 +0x25',
  'exit status 2',
];

const RUST_PANIC = [
  "thread 'main' panicked at src/agent/src/main.rs:42:5:",
  'called `Result::unwrap()` on an `Err` value: Os { code: 2, kind: NotFound }',
  'stack backtrace:',
  '   0: rust_begin_unwind',
  '             at /rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/std/src/panicking.rs:645:5',
  '   1: kata_agent::main',
  'note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.',
];

describe('LineAssembler', () => {
  it('a Go panic becomes one fatal record; the next line stands alone', () => {
    const out = run([...GO_PANIC, 'time="2025-01-01T00:00:00Z" level=info msg=after']);
    expect(out).toEqual([GO_PANIC.join('\n'), 'time="2025-01-01T00:00:00Z" level=info msg=after']);
    const r = one(out[0] as string);
    expect(r.attributes[ATTR_KATA_LOG_FORMAT]).toBe('panic');
    expect(r.severityNumber).toBe(21);
    expect(r.body).toBe(GO_PANIC.join('\n'));
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('runtime');
  });

  it('a goroutine dump without `exit status` ends at the first line that is not part of it', () => {
    const asm = new LineAssembler();
    expect(asm.push('goroutine 7 [select]:')).toEqual([]);
    expect(asm.push('main.loop()')).toEqual([]);
    expect(asm.push('\t/src/loop.go:3 +0x1')).toEqual([]);
    expect(asm.push('')).toEqual([]);
    expect(asm.pendingLines()).toBe(4);
    expect(asm.push('[    0.1] next')).toEqual([
      'goroutine 7 [select]:\nmain.loop()\n\t/src/loop.go:3 +0x1',
      '[    0.1] next',
    ]);
    expect(asm.pendingLines()).toBe(0);
  });

  it('a Rust panic with its backtrace, and the short form', () => {
    expect(run([...RUST_PANIC, 'after'])).toEqual([RUST_PANIC.join('\n'), 'after']);
    const short = [
      "thread 'tokio-runtime-worker' panicked at 'index out of bounds', src/rpc.rs:10:5",
      'note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace',
    ];
    expect(run([...short, 'x'])).toEqual([short.join('\n'), 'x']);
    const r = one(RUST_PANIC.join('\n'));
    expect(r.attributes[ATTR_KATA_LOG_FORMAT]).toBe('panic');
    expect(r.severityNumber).toBe(21);
  });

  it('a pretty-printed JSON object', () => {
    const obj = [
      '{',
      '  "msg": "announce",',
      '  "level": "INFO",',
      '  "nested": { "a": "}" },',
      '  "ts": "2021-07-14T14:56:42.558066805+08:00",',
      '  "name": "kata-agent",',
      '  "source": "agent"',
      '}',
    ];
    const out = run(['{"msg":"one","level":"INFO","ts":"2021-07-14T14:56:42Z","name":"kata-agent"}', ...obj]);
    expect(out).toHaveLength(2);
    expect(out[1]).toBe(obj.join('\n'));
    const r = one(out[1] as string);
    expect(r.body).toBe('announce');
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('agent');
  });

  it('an object cut short is emitted when an unindented `{` starts the next one', () => {
    const out = run([
      '{"msg":"truncated rec',
      '{"msg":"whole","level":"INFO","ts":"2021-07-14T14:56:42Z","name":"kata-agent"}',
    ]);
    expect(out).toEqual([
      '{"msg":"truncated rec',
      '{"msg":"whole","level":"INFO","ts":"2021-07-14T14:56:42Z","name":"kata-agent"}',
    ]);
    expect(one(out[0] as string).attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBeDefined();
  });

  it('a cut-short object does not swallow console lines that follow it', () => {
    const out = run([
      '{"msg":"cut","level":"INFO"',
      '[    0.437005] brd: module loaded',
      '[    0.443558] loop: module loaded',
    ]);
    expect(out).toEqual([
      '{"msg":"cut","level":"INFO"',
      '[    0.437005] brd: module loaded',
      '[    0.443558] loop: module loaded',
    ]);
  });

  it('a logfmt value broken by a raw newline is joined back', () => {
    const out = run([
      'time="2025-01-01T00:00:00Z" level=error msg="first part',
      'second part" sandbox=s',
      'level=info msg=next',
    ]);
    expect(out).toEqual([
      'time="2025-01-01T00:00:00Z" level=error msg="first part\nsecond part" sandbox=s',
      'level=info msg=next',
    ]);
    expect(one(out[0] as string).body).toBe('first part\nsecond part');
    // escaped quotes do not count
    expect(run(['level=info msg="say \\"hi\\"" x=1'])).toEqual(['level=info msg="say \\"hi\\"" x=1']);
  });

  it('a malformed quote does not swallow the records after it', () => {
    const out = run([
      'level=info msg="never closed',
      'time="2025-01-01T00:00:00Z" level=info msg=ok',
      'May 17 19:43:30 raisin kata[1]: level=info msg=x',
    ]);
    expect(out).toHaveLength(3);
    expect(out[0]).toBe('level=info msg="never closed');
  });

  it('is bounded in lines and bytes', () => {
    const dump = ['goroutine 1 [running]:', ...Array.from({ length: 9 }, (_, i) => `\tframe${i}.go:1`)];
    const out = run(dump, new LineAssembler({ maxLines: 3 }));
    expect(out.map((e) => e.split('\n').length)).toEqual([3, 3, 3, 1]);
    expect(out.join('\n')).toBe(dump.join('\n'));
    const big = run(
      ['{', `"a": "${'x'.repeat(100)}",`, `"b": "${'y'.repeat(100)}"`, '}'],
      new LineAssembler({ maxBytes: 150 }),
    );
    expect(big.length).toBeGreaterThan(1);
    expect(big.every((e) => Buffer.byteLength(e) <= 150)).toBe(true);
    const endless = new LineAssembler({ maxLines: 5 });
    const got: string[] = [];
    for (let i = 0; i < 12; i++) got.push(...endless.push(i === 0 ? '{' : `  "k${i}": 1,`));
    // the first five lines come out as one (unfinished) entry, the rest line by line: nothing is lost
    expect(got[0]?.split('\n')).toHaveLength(5);
    expect(got).toHaveLength(8);
    expect(endless.pendingLines()).toBe(0);
  });

  it('skips blank lines, strips CR, flushes what it holds', () => {
    const asm = new LineAssembler();
    expect(asm.push('')).toEqual([]);
    expect(asm.push('   ')).toEqual([]);
    expect(asm.push('level=info msg=x\r')).toEqual(['level=info msg=x']);
    expect(asm.push('{')).toEqual([]);
    expect(asm.flush()).toEqual(['{']);
    expect(asm.flush()).toEqual([]);
  });
});
