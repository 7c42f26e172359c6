// Every shape and carrier parses in time linear in its input, including adversarial variants (unterminated quotes,
// runs of `=` and backslashes, deep nesting, repeated prefixes, no spaces): the guest writes these lines. Each
// input is built at 1 KiB, 16 KiB and 256 KiB; the same number of bytes is parsed at each size (256 × 1 KiB,
// 16 × 16 KiB, 1 × 256 KiB), so a linear parser takes about the same time at each size and a quadratic one 16×
// longer per step. A step fails when it costs more than FACTOR× the previous one (median of REPS, best of
// TRIES measurements, so a loaded machine does not make it flaky). Not a speed test: only growth is compared.
import { describe, expect, it } from 'vitest';
import type { ParseContext } from '../../receiver/model/record.js';
import fc from 'fast-check';
import { LineAssembler, parseJournalEntry, parseText } from '../../receiver/parse/index.js';
import { tokenizeLogfmt, trailingPairsStart } from '../../receiver/parse/logfmt.js';

const KIB = 1024;
const SIZES = [KIB, 16 * KIB, 256 * KIB] as const;
const TOTAL = 256 * KIB;
const FACTOR = 5;
const REPS = 5;
const TRIES = 3;

const ctx: ParseContext = { observedTimeUnixNano: 1_764_000_000_000_000_000n };
const sbCtx: ParseContext = { ...ctx, attributes: { 'kata.sandbox.id': 'carrier-sandbox' } };

/** `unit` repeated to about `n` characters. */
const fill = (unit: string, n: number): string => unit.repeat(Math.max(1, Math.ceil(n / unit.length)));

const T = 'time="2026-03-02T10:15:30.123456789Z" level=info ';
const SLOG = '"level":"INFO","ts":"2026-03-02T10:15:30.123456789Z","pid":"1"';
const goq = (s: string) => JSON.stringify(s);
/** A Go-shim `reading guest console` record carrying `inner`. */
const vmconsole = (inner: string) =>
  `${T}msg="reading guest console" name=containerd-shim-v2 pid=7 sandbox=sb source=virtcontainers subsystem=kata_agent vmconsole=${goq(inner)}`;
/** A runtime-rs slog record with message `msg`. */
const rtrs = (msg: string, extra = '') =>
  `{"msg":${JSON.stringify(msg)},${SLOG},"name":"kata-runtime","source":"sb","subsystem":"hypervisor"${extra}}`;

/** One line of the shape at about n characters. */
const LINES: Record<string, (n: number) => string> = {
  // Go shim logfmt
  'logfmt, many pairs': (n) => `${T}msg="x" ${fill('key=value ', n)}`,
  'logfmt, long quoted message': (n) => `${T}msg="${fill('word ', n)}" sandbox=abc`,
  'logfmt, unterminated quote': (n) => `${T}msg="${fill('a b ', n)}`,
  'logfmt, a run of =': (n) => `${T}msg=${fill('=', n)}`,
  'logfmt, a=b=c': (n) => `level=info ${fill('a=b=c ', n)}`,
  'logfmt, backslash run': (n) => `${T}msg="${fill('\\', n)}`,
  'logfmt, escaped quotes': (n) => `${T}msg="${fill('\\"', n)}"`,
  'logfmt, every value opens a quote': (n) => `msg=${fill('k="v ', n)}`,
  'logfmt, bare keys': (n) => `msg=x ${fill('a ', n)}`,
  'logfmt, no spaces': (n) => `msg=${fill('a', n)}`,
  'logfmt, smart quotes never closed': (n) => `msg=x ${fill('k=\u201cv ', n)}`,
  'logfmt, broken hex escapes': (n) => `msg="${fill('\\x4', n)}"`,
  'logfmt, broken unicode escapes': (n) => `msg="${fill('\\u12', n)}`,
  'logfmt, many distinct keys': (n) => `${T}msg=m ${Array.from({ length: n / 12 }, (_, i) => `k${i}=v`).join(' ')}`,
  // logrus terminal format
  'terminal, message and fields': (n) => `INFO[0000] ${fill('message ', n / 2)}${fill(' k=v', n / 2)}`,
  'terminal, words and =': (n) => `INFO[0000] ${fill('a=b c ', n)}`,
  'terminal, fields only': (n) => `INFO[0000] m ${fill('k=v ', n)}`,
  'terminal, quotes opened': (n) => `WARN[0000] ${fill('x="y ', n)}`,
  'terminal, smart quotes': (n) => `ERRO[0000] ${fill('x=\u201cy ', n)}`,
  'terminal, backslashes in quotes': (n) => `INFO[0000] m ${fill('k="\\\\ ', n)}`,
  'terminal, long bracket': (n) => `INFO[${fill('0', n)}] m`,
  'terminal, no closing bracket': (n) => `INFO[${fill('0 ', n)}`,
  'terminal, = at every space': (n) => `INFO[0000] ${fill(' =', n)}`,
  // JSON
  'slog JSON, long message': (n) => `{"msg":${goq(fill('w ', n))},${SLOG},"name":"kata-agent","source":"agent"}`,
  'slog JSON, many keys': (n) =>
    `{${Array.from({ length: n / 14 }, (_, i) => `"k${i}":"v"`).join(',')},"msg":"m",${SLOG},"name":"kata-agent"}`,
  'JSON, deep nesting unterminated': (n) => fill('{"a":', n),
  'JSON, deep arrays': (n) => `{"msg":${fill('[', n)}`,
  'JSON, broken quotes': (n) => `{"level":"INFO","msg":"${fill('a"', n)}`,
  'JSON, broken ,"': (n) => `{"level":"INFO","msg":"${fill('",', n)}`,
  'JSON, smart quotes': (n) => `{\u201cmsg\u201d:\u201c${fill('a ', n)}`,
  'JSON, raw newlines': (n) => `{"msg":"${fill('a\n', n)}"}`,
  'JSON wrapper nested 12 deep': (n) => {
    let s = `${T}msg="${fill('x ', n)}"`;
    for (let d = 0; d < 12; d++) s = JSON.stringify({ message: s, host: 'h' });
    return s;
  },
  'logrus JSON': (n) => JSON.stringify({ level: 'info', msg: fill('m ', n), time: '2026-03-02T10:15:30Z', x: 'y' }),
  // journal / syslog carriers
  'journal short prefix': (n) => `May 17 19:43:30 host kata[1]: ${T}msg="${fill('x ', n)}"`,
  'journal prefix repeated': (n) => fill('May 17 19:43:30 host kata[1]: ', n),
  'short-iso prefix repeated': (n) => fill('2025-11-20T16:25:32+0000 host kata[1]: ', n),
  'PRI repeated': (n) => fill('<6>', n),
  'RFC 5424 structured data': (n) =>
    `<165>1 2003-10-11T22:14:15.003Z host kata 1 - [id ${fill('k="v\\]" ', n)}] ${T}msg=m`,
  'RFC 5424 unterminated structured data': (n) => `<165>1 2003-10-11T22:14:15.003Z host app 1 - [${fill('"', n)}`,
  'BSD prefix without tag': (n) => `May 17 19:43:30 ${fill('a', n)}`,
  'BSD prefix, [ never closed': (n) => `May 17 19:43:30 host kata${fill('[', n)}`,
  'containerd relay': (n) => `May 17 19:43:30 host containerd[9]: ${T}msg="${fill('x ', n)}" pid=7 sandbox=sb`,
  // carriers of other components' lines
  'vmconsole, kernel line': (n) => vmconsole(`[    0.395399] ${fill('k ', n)}`),
  'vmconsole, nested 10 deep': (n) => {
    let s = `[    0.1] ${fill('k ', n)}`;
    for (let d = 0; d < 10; d++) s = vmconsole(s);
    return s;
  },
  'vmconsole, agent JSON': (n) => vmconsole(`{"msg":${goq(fill('a ', n))},${SLOG},"name":"kata-agent"}`),
  'vmconsole, backslash run': (n) => vmconsole(fill('\\', n)),
  'kata-proxy relog': (n) => `${T}msg="${fill('x ', n)}" name=kata-proxy source=agent pid=1`,
  'firecracker fifo': (n) =>
    `${T}msg="read firecracker fifo" contents=${goq(`2023-10-13T14:15:55.4 [sb:fc:INFO:a.rs:1] ${fill('w ', n)}`)}`,
  'runtime-rs vm console, escapes': (n) => rtrs(`vm console: "${fill('\\u{1b}[0m x ', n)}"`),
  'runtime-rs vm console, \\u{ never closed': (n) => rtrs(`vm console: "${fill('\\u{', n)}`),
  'runtime-rs qemu stderr': (n) => rtrs(`qemu stderr: "qemu-system-x86_64: ${fill('w ', n)}"`),
  'runtime-rs CH stream': (n) => rtrs(`"cloud-hypervisor: 1ms: INFO:a.rs:1 -- ${fill('w ', n)}"`, ',"stream":"stderr"'),
  'runtime-rs agent forward': (n) => rtrs(`{"msg":${goq(fill('a ', n))},${SLOG},"name":"kata-agent"}`),
  // a record after any prefix, fragments (issue 12)
  'record after a long prefix': (n) => `${fill('x ', n)}${T}msg=m sandbox=s`,
  'many msg= candidates after a prefix': (n) => `x ${fill('msg=a b ', n)}`,
  'many escaped candidates': (n) => `x ${fill('time=\\" ', n)}`,
  'escaped record after a backslash run': (n) => `"k":"${fill('\\\\', n)}time=\\"x\\" level=info msg=m`,
  'many JSON candidates': (n) => `x ${fill('{"', n)}}`,
  'many escaped JSON candidates': (n) => `x ${fill('{\\"a', n)}}`,
  'fragment, many pairs': (n) => `x" ${fill('sandbox=a ', n)}`,
  'fragment, pairs and words': (n) => `x ${fill('sandbox=a b ', n)}`,
  'CJK month prefix': (n) => `11月 16 09:46:13 ${fill('a', n)}`,
  'CLI level line': (n) => `ERROR: ${fill('x', n)}`,
  // guest console userspace (issue 12)
  'guest env_logger, ] never closed': (n) => vmconsole(`[2026-01-12T08:31:04Z INFO  ${fill('a', n)}`),
  'guest env_logger': (n) => vmconsole(`[2026-01-12T08:31:04Z INFO  cdh::hub] ${fill('w ', n)}`),
  'guest tracing, no colon': (n) => vmconsole(`2026-01-12T08:31:04Z  INFO ${fill('a', n)}`),
  'systemd status': (n) => vmconsole(`[  OK  ] ${fill('w ', n)}`),
  'console colours everywhere': (n) => vmconsole(fill('[\x1b[0m', n)),
  // hypervisors, kernel, panics, text
  qemu: (n) => `qemu-system-x86_64: ${fill('w ', n)}`,
  'qemu, no colon': (n) => `q${fill('a', n)}`,
  'qemu, slashes': (n) => `/${fill('/', n)}: x`,
  'qemu, many ": "': (n) => `q${fill(': ', n)}`,
  'cloud hypervisor': (n) => `cloud-hypervisor: 1.5ms: <vcpu0> INFO:vmm/src/vm.rs:392 -- ${fill('w ', n)}`,
  'cloud hypervisor, no separator': (n) => `cloud-hypervisor: ${fill(': ', n)}`,
  'cloud hypervisor, < never closed': (n) => `cloud-hypervisor: 1ms: <${fill('a', n)} -- x`,
  firecracker: (n) => `2023-10-13T14:15:55.422429270 [sb:fc_api:INFO:src/a.rs:1] ${fill('w ', n)}`,
  'firecracker, colons': (n) => `2023-10-13T14:15:55.422429270 [${fill(':', n)}]`,
  kernel: (n) => `[    0.395399] ${fill('w ', n)}`,
  'kernel, brackets': (n) => fill('[', n),
  'Go panic': (n) => `panic: ${fill('w ', n)}`,
  'Rust panic, quotes': (n) => `thread '${fill("'", n)}`,
  'ANSI colours': (n) => `${fill('\x1b[31m', n)}x`,
  'ANSI, unterminated': (n) => `\x1b[${fill('0', n)}`,
  BOMs: (n) => fill('\ufeff', n),
  'plain text': (n) => fill('word ', n),
  'digits and dashes': (n) => fill('2025-', n),
  'letters and colons': (n) => fill('Ab: ', n),
};

/** A journald entry of the shape at about n characters. */
const JOURNAL: Record<string, (n: number) => Record<string, unknown>> = {
  'journal entry, shim logfmt': (n) => ({
    MESSAGE: `${T}msg="${fill('x ', n)}" sandbox=sb`,
    SYSLOG_IDENTIFIER: 'kata',
    _PID: '7',
  }),
  'journal entry, runtime-rs native vm console': (n) => ({
    MESSAGE: `vm console: "${fill('\\u{1b}[0m x ', n)}"`,
    SYSLOG_IDENTIFIER: 'kata',
    _TRANSPORT: 'journal',
    SOURCE: 'sb',
    SUBSYSTEM: 'hypervisor',
  }),
  'journal entry, byte-array message': (n) => ({
    MESSAGE: Array.from(Buffer.from(fill('é ', n))),
    SYSLOG_IDENTIFIER: 'kata',
  }),
};

/** Physical lines for LineAssembler (n characters in all). */
const STREAMS: Record<string, (n: number) => string[]> = {
  'pretty-printed JSON': (n) => ['{', ...Array.from({ length: n / 14 }, (_, i) => `  "k${i}": "v",`), '  "z": 1', '}'],
  'JSON string never closed': (n) => ['{"msg":"start', ...Array.from({ length: n / 8 }, () => 'more te')],
  'JSON, every line opens an object': (n) => Array.from({ length: n / 64 }, () => `{"a":[${'x'.repeat(58)}`),
  'logfmt quote across lines': (n) => [`${T}msg="start`, ...Array.from({ length: n / 10 }, () => 'more text'), '"'],
  'Go panic dump': (n) => ['panic: boom', ...Array.from({ length: n / 24 }, () => '\tmain.go:12 +0x1d main()')],
  'Rust panic': (n) => ["thread 'main' panicked at src/main.rs:1:", ...Array.from({ length: n / 8 }, () => '  0: x')],
  'single huge line in quote mode': (n) => [`${T}msg="a`, fill('\\"', n)],
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Time to run `work` `times` times, median of REPS. */
function timed(work: () => void, times: number): number {
  const runs: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    for (let k = 0; k < times; k++) work();
    runs.push(performance.now() - t0);
  }
  return median(runs);
}

/** Per-size time for TOTAL bytes of input; the worst step ratio (best of TRIES). */
function growth(make: (n: number) => () => void): { ratio: number; ms: number[] } {
  const works = SIZES.map((n) => make(n));
  for (const w of works) w(); // warm up (JIT)
  let best: { ratio: number; ms: number[] } = { ratio: Infinity, ms: [] };
  for (let t = 0; t < TRIES && best.ratio > FACTOR; t++) {
    const ms = SIZES.map((n, i) => timed(works[i] as () => void, TOTAL / n));
    // a step below the timer's useful resolution cannot show growth; floor it
    const floor = (x: number) => Math.max(x, 0.5);
    const ratio = Math.max(
      floor(ms[1] as number) / floor(ms[0] as number),
      floor(ms[2] as number) / floor(ms[1] as number),
    );
    if (ratio < best.ratio) best = { ratio, ms };
  }
  return best;
}

const report = (ms: number[]) => ms.map((m) => m.toFixed(2)).join(' / ') + ' ms';

describe('parsing is linear in the input, for every shape and adversarial variant', () => {
  for (const [name, line] of Object.entries(LINES)) {
    it(name, () => {
      const g = growth((n) => {
        const s = line(n);
        return () => {
          const recs = parseText(s, sbCtx);
          if (recs.length < 1) throw new Error('no record');
        };
      });
      expect(g.ratio, `${name}: ${report(g.ms)} for 256 KiB at 1 KiB / 16 KiB / 256 KiB`).toBeLessThan(FACTOR);
    });
  }
  for (const [name, entry] of Object.entries(JOURNAL)) {
    it(name, () => {
      const g = growth((n) => {
        const f = entry(n);
        return () => {
          if (parseJournalEntry(f, ctx).length < 1) throw new Error('no record');
        };
      });
      expect(g.ratio, `${name}: ${report(g.ms)}`).toBeLessThan(FACTOR);
    });
  }
  for (const [name, stream] of Object.entries(STREAMS)) {
    it(`LineAssembler then parse: ${name}`, () => {
      const g = growth((n) => {
        const lines = stream(n);
        return () => {
          const a = new LineAssembler();
          let k = 0;
          for (const l of lines) for (const e of a.push(l)) k += parseText(e, ctx).length;
          for (const e of a.flush()) k += parseText(e, ctx).length;
          if (k < 1) throw new Error('no record');
        };
      });
      expect(g.ratio, `${name}: ${report(g.ms)}`).toBeLessThan(FACTOR);
    });
  }
});

describe('the linear terminal-field finder', () => {
  /** The quadratic definition it replaces: tokenize the rest of the line from every space. */
  function naive(s: string, from: number): number {
    for (let q = s.indexOf(' ', from); q >= 0; q = s.indexOf(' ', q + 1)) {
      const k = q + 1;
      const c = s.charCodeAt(k);
      if (k >= s.length || c === 32 || c === 61) continue;
      const t = tokenizeLogfmt(s, k);
      if (t.bare === 0 && t.error === undefined) return k;
    }
    return -1;
  }

  it('finds the same start as tokenizing from every space', () => {
    const alphabet = fc.constantFrom('a', 'k', '=', ' ', ' ', '"', '\\', '\t', '\u201c', '\u201d', '\u2018', 'x');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }), (chars) => {
        const s = chars.join('');
        expect(trailingPairsStart(s, 0)).toBe(naive(s, 0));
      }),
      { numRuns: 5000 },
    );
  });

  it('splits a terminal line into message and fields', () => {
    const [r] = parseText('ERRO[0001] could not open "/x y"    path="/x y" error="no such file" retries=3', ctx);
    expect(r?.body).toBe('could not open "/x y"');
    expect(r?.attributes['kata.field.path']).toBe('/x y');
    expect(r?.attributes['error.message']).toBe('no such file');
    expect(r?.attributes['kata.field.retries']).toBe('3');
  });
});
