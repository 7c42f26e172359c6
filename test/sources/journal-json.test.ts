// parseJournalLine (receiver/sources/journal-json.ts) gives exactly JSON.parse's fields for every line — real
// journalctl output of hostile and unusual journal entries, and arbitrary mutations of it — with the fields in
// one order per set of fields (what keeps the journald source's entries on shared hidden classes), in linear time.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJournalLine } from '../../receiver/sources/journal-json.js';
import {
  HAS_JOURNALCTL,
  JOURNAL_REMOTE,
  LOGGER_WRITER,
  SHIM_WRITER,
  TEST_BOOT_ID,
  corpusJournalRecords,
  writeJournal,
  type JournalRecord,
} from '../support/journal.js';
import { tempDir } from './source-harness.js';

const corpus = new URL('../fixtures/corpus/', import.meta.url);

/** JSON.parse's verdict as the journald source takes it: the object, or undefined (malformed / not an object). */
function reference(line: string): unknown {
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function expectSameAsJsonParse(line: string): void {
  const got = parseJournalLine(line);
  const want = reference(line);
  if (want === undefined) expect(got, line).toBeUndefined();
  else {
    expect(got, line).toStrictEqual(want);
    expect(Object.keys(got as object).sort(), line).toEqual(Object.keys(want as object).sort());
  }
}

/** Journal entries a hostile local writer or an odd runtime can leave, written to a real journal file. */
function unusualRecords(): JournalRecord[] {
  let t = 1_720_000_000_000_000n;
  const base = (): JournalRecord => ({ __REALTIME_TIMESTAMP: (t += 1000n), _BOOT_ID: TEST_BOOT_ID });
  return [
    { ...base(), ...SHIM_WRITER, SYSLOG_IDENTIFIER: 'kata', MESSAGE: 'quotes " and \\ backslashes \\" and \\\\"' },
    { ...base(), ...LOGGER_WRITER, SYSLOG_IDENTIFIER: 'kata', MESSAGE: 'tab\there, bell \u0007, escape \u001b[31m' },
    { ...base(), ...SHIM_WRITER, SYSLOG_IDENTIFIER: 'kata', MESSAGE: 'unicode: é ✓ 𝄞 \u2028 \u2029 end' },
    { ...base(), ...SHIM_WRITER, SYSLOG_IDENTIFIER: 'kata', MESSAGE: Buffer.from([0x66, 0xff, 0x00, 0x41, 0x0a]) },
    { ...base(), ...SHIM_WRITER, SYSLOG_IDENTIFIER: 'kata', MESSAGE: 'multi\nline\nmessage' },
    { ...base(), ...SHIM_WRITER, SYSLOG_IDENTIFIER: 'kata', MESSAGE: '' },
    { ...base(), ...LOGGER_WRITER, SYSLOG_IDENTIFIER: 'kata', MESSAGE: '{"MESSAGE":"forged","_UID":"0"}' },
    {
      ...base(),
      ...SHIM_WRITER,
      SYSLOG_IDENTIFIER: 'kata',
      MESSAGE: 'native record',
      NAME: 'kata-runtime',
      SUBSYSTEM: 'agent',
      SANDBOX_ID: 'sb',
      ZZ_LAST: 'z',
      AA_FIRST: 'a',
      LONG_FIELD: 'x'.repeat(70_000),
    },
  ];
}

describe.skipIf(!JOURNAL_REMOTE || !HAS_JOURNALCTL)('parseJournalLine on real journalctl output', () => {
  let lines: string[] = [];
  // `journalctl --output=json --all` of the corpus records and the unusual ones, as lines.
  const load = async () => {
    if (lines.length) return lines;
    const dir = join(tempDir('kata-otel-journal-json-'), 'journal');
    mkdirSync(dir);
    await writeJournal(join(dir, 'a.journal'), [...corpusJournalRecords(corpus), ...unusualRecords()]);
    const out = execFileSync('journalctl', ['--output=json', '--all', '--no-pager', `--directory=${dir}`], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    lines = out.split('\n').filter(Boolean);
    return lines;
  };

  it('gives JSON.parse’s fields for every line (binary MESSAGE, escapes, control characters, Unicode, long fields)', async () => {
    const ls = await load();
    expect(ls.length).toBeGreaterThan(20);
    for (const l of ls) expectSameAsJsonParse(l);
    const all = ls.map((l) => parseJournalLine(l) as Record<string, unknown>);
    // the binary MESSAGE stays an array of bytes, for the parser to decode
    expect(all.some((f) => Array.isArray(f.MESSAGE) && (f.MESSAGE as number[])[1] === 0xff)).toBe(true);
    // journalctl writes a value with control characters as bytes too; quotes and backslashes as escapes
    const tab = [...Buffer.from('tab\there, bell \u0007, escape \u001b[31m')];
    expect(all.some((f) => JSON.stringify(f.MESSAGE) === JSON.stringify(tab))).toBe(true);
    expect(all.some((f) => f.MESSAGE === 'quotes " and \\ backslashes \\" and \\\\"')).toBe(true);
    expect(all.some((f) => f.MESSAGE === 'unicode: é ✓ 𝄞 \u2028 \u2029 end')).toBe(true);
    expect(all.some((f) => f.LONG_FIELD === 'x'.repeat(70_000))).toBe(true);
  });

  it('puts the fields in one order per set of fields, whatever order journalctl wrote them in', async () => {
    const ls = await load();
    const byKeySet = new Map<string, Set<string>>();
    let reordered = 0;
    for (const l of ls) {
      const f = parseJournalLine(l) as Record<string, unknown>;
      const jsonOrder = Object.keys(JSON.parse(l) as object).join(',');
      const order = Object.keys(f).join(',');
      if (order !== jsonOrder) reordered++;
      const set = [...Object.keys(f)].sort().join(',');
      const orders = byKeySet.get(set) ?? new Set();
      orders.add(order);
      byKeySet.set(set, orders);
    }
    for (const orders of byKeySet.values()) expect(orders.size).toBe(1);
    // journalctl's own order differs between entries: the test would prove nothing otherwise
    expect(reordered).toBeGreaterThan(0);
    const native = ls.map((l) => parseJournalLine(l) as Record<string, unknown>).find((f) => f.ZZ_LAST === 'z');
    const keys = Object.keys(native as object);
    expect(keys.indexOf('__CURSOR')).toBe(0);
    expect(keys.indexOf('AA_FIRST')).toBeLessThan(keys.indexOf('ZZ_LAST'));
  });

  it('gives JSON.parse’s verdict for arbitrary edits of real lines (malformed lines stay undefined)', async () => {
    const ls = await load();
    const edits = [
      '"',
      '\\',
      '\\"',
      '\\u',
      '\\u12',
      '\\uD800',
      '\\x',
      ',',
      ':',
      '}',
      '{',
      '[',
      ']',
      ' ',
      '\t',
      '\u0001',
      'null',
      '1',
      '"__proto__":"x",',
      '"__proto__":{"a":1},',
      '"_UID":"0",',
      '"MESSAGE":[1,2],',
    ];
    fc.assert(
      fc.property(
        fc.nat(ls.length - 1),
        fc.nat(),
        fc.constantFrom(...edits),
        fc.constantFrom('insert', 'replace', 'cut'),
        (li, at, edit, how) => {
          const l = ls[li] as string;
          const p = at % (l.length + 1);
          const line =
            how === 'cut' ? l.slice(0, p) : l.slice(0, p) + edit + l.slice(how === 'replace' ? p + edit.length : p);
          expectSameAsJsonParse(line);
        },
      ),
      { numRuns: 3000, seed: 20 },
    );
  });
});

describe('parseJournalLine on hand-made lines', () => {
  it('matches JSON.parse on edge cases of the fast path', () => {
    for (const l of [
      '{}',
      '{"A":null}',
      '{"A":"1","A":"2"}',
      '{"MESSAGE":"a","X":"b","MESSAGE":"c"}',
      '{"Z":"1","B":"2","Z":"3"}',
      '{"__proto__":"x"}',
      '{"__proto__":{"polluted":true}}',
      '{"A":"x\\"","B":"\\\\"}',
      '{"A":"\\\\\\""}',
      '{"A":"\\u00e9\\ud834\\udd1e"}',
      '{"A":"bad \\q escape"}',
      '{"A":"x"} ',
      ' {"A":"x"}',
      '{"A" :"x"}',
      '{"A":"x",}',
      '{"A":1}',
      '{"A":true}',
      '{"A":"x"}{"B":"y"}',
      '{"A":"unterminated}',
      '{"A\\u0042":"escaped key"}',
      '{"1":"numeric key","A":"x"}',
      '[1,2]',
      '"text"',
      'null',
      '',
      'not json at all',
    ])
      expectSameAsJsonParse(l);
    expect(Object.getPrototypeOf(parseJournalLine('{"__proto__":{"polluted":true}}'))).toBe(Object.prototype);
  });

  it('matches JSON.parse for wide entries and for writers that invent field sets (past the factory bound)', () => {
    // 30 fields: past the 16 that assignments keep as a fast object; then 600 distinct field sets of
    // journald-style names, more than the 256 object factories kept, so both ways of building run.
    const wide = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [i % 2 ? `_F${i}` : `CUSTOM_${i}`, `v${i}`]));
    const line = JSON.stringify({ __CURSOR: 's=1;i=2', MESSAGE: 'm', ...wide });
    expectSameAsJsonParse(line);
    expect(Object.keys(parseJournalLine(line) as object).slice(0, 2)).toEqual(['__CURSOR', 'MESSAGE']);
    // more fields of other names than get a generated literal
    expectSameAsJsonParse(JSON.stringify(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`X${i}`, `${i}`]))));
    for (let n = 0; n < 600; n++) {
      const set = { MESSAGE: `m${n}`, _UID: '0', [`INVENTED_${n}`]: 'x', [`B_${n % 7}`]: 'y', ZZZ: null };
      expectSameAsJsonParse(JSON.stringify(set));
      expectSameAsJsonParse(JSON.stringify(Object.fromEntries(Object.entries(set).reverse())));
    }
  });

  it('works where code generation from strings is disabled (the assignments build the objects)', () => {
    const module = new URL('../../receiver/sources/journal-json.ts', import.meta.url).pathname;
    const script =
      `import { parseJournalLine } from ${JSON.stringify(module)};` +
      `const line = JSON.stringify(Object.fromEntries(Array.from({ length: 30 }, (_, i) => ['F_' + i, 'v' + i])));` +
      `let codegen = true; try { new Function('return 1'); } catch { codegen = false; }` +
      `const f = parseJournalLine(line);` +
      `console.log(JSON.stringify({ codegen, same: JSON.stringify(Object.entries(f).sort()) === ` +
      `JSON.stringify(Object.entries(JSON.parse(line)).sort()), keys: Object.keys(f).length }));`;
    const out = execFileSync(
      process.execPath,
      ['--disallow-code-generation-from-strings', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({ codegen: false, same: true, keys: 30 });
  });

  it('matches JSON.parse on random objects of strings, nulls and byte arrays', () => {
    const key = fc.oneof(
      fc.constantFrom('MESSAGE', '_UID', '__CURSOR', 'PRIORITY', 'SUBSYSTEM', '_SYSTEMD_UNIT', 'A', 'ZZ', '__proto__'),
      fc.string({ maxLength: 6 }),
    );
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constant(null),
      fc.array(fc.nat(255), { maxLength: 6 }),
      // a repeated field: journalctl writes the values as an array
      fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null), fc.array(fc.nat(255), { maxLength: 3 })), {
        maxLength: 3,
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 12 }), (pairs) => {
        const line = `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
        expectSameAsJsonParse(line);
      }),
      { numRuns: 2000, seed: 20 },
    );
  });

  it('takes time linear in the line for runs of escapes, quotes and fields', () => {
    const inputs: Record<string, (n: number) => string> = {
      'escaped quotes': (n) => `{"MESSAGE":"${'\\"'.repeat(n)}"}`,
      'escaped backslashes then a quote': (n) => `{"MESSAGE":"${'\\\\'.repeat(n)}\\""}`,
      'backslashes, never closed': (n) => `{"MESSAGE":"${'\\'.repeat(2 * n)}`,
      'many fields': (n) => `{${Array.from({ length: n / 4 }, (_, i) => `"F${i}":"v"`).join(',')}}`,
      'many repeated fields': (n) => `{${Array.from({ length: n / 4 }, () => `"MESSAGE":"v"`).join(',')}}`,
      'escapes in many fields': (n) => `{${Array.from({ length: n / 4 }, (_, i) => `"F${i}":"\\n"`).join(',')}}`,
    };
    for (const [name, make] of Object.entries(inputs)) {
      // Same bytes at each size: 64 × 2 Ki, 8 × 16 Ki, 1 × 128 Ki; linear means about the same time each.
      const sizes = [2048, 16_384, 131_072];
      const lines = sizes.map((n) => make(n));
      const cost = (i: number) => {
        const reps = 131_072 / (sizes[i] as number);
        let best = Infinity;
        for (let t = 0; t < 5; t++) {
          const t0 = performance.now();
          for (let r = 0; r < reps; r++) parseJournalLine(lines[i] as string);
          best = Math.min(best, performance.now() - t0);
        }
        return Math.max(best, 0.5);
      };
      cost(0);
      const ms = [cost(0), cost(1), cost(2)];
      expect(
        Math.max(ms[1]! / ms[0]!, ms[2]! / ms[1]!),
        `${name}: ${ms.map((m) => m.toFixed(2)).join(' / ')} ms`,
      ).toBeLessThan(6);
    }
  });
});
