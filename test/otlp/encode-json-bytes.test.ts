// The OTLP/JSON encoder writes bytes into a scratch buffer (receiver/otlp/encode-json.ts); its text must be exactly
// what JSON.stringify writes for the Collector's object form — the form the store's files have always had — for
// any string: quotes, backslashes, control characters, DEL, U+2028, non-ASCII, lone surrogates (as U+FFFD).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttrValue, KataLogRecord } from '../../receiver/model/record.js';
import { encodeLogsJsonLine } from '../../receiver/otlp/encode-json.js';
import { encodeLogsJson, groupByResource, SCOPE_NAME, SCOPE_VERSION } from '../../receiver/otlp/index.js';
import { isResourceKey } from '../../receiver/otlp/resource.js';
import {
  ATTR_KATA_FIELD,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SUBSYSTEM,
  ATTR_SERVICE_NAME,
} from '../../receiver/semconv/generated.js';

const U64_MAX = (1n << 64n) - 1n;
const wf = (s: string): string => (s as unknown as { toWellFormed(): string }).toWellFormed();

/** The object form, written with plain JS values so that JSON.stringify gives the reference text. */
function anyValue(v: unknown): object {
  if (typeof v === 'string') return { stringValue: wf(v) };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return { intValue: String(v) };
    if (Number.isNaN(v)) return { doubleValue: 'NaN' };
    if (!Number.isFinite(v)) return { doubleValue: v > 0 ? 'Infinity' : '-Infinity' };
    return { doubleValue: v };
  }
  if (Array.isArray(v))
    return v.length === 0 ? { arrayValue: {} } : { arrayValue: { values: v.map((e: unknown) => anyValue(e ?? '')) } };
  throw new Error(`not generated: ${typeof v}`);
}
const kv = (k: string, v: unknown) => ({ key: wf(k), value: anyValue(v) });

const validId = (id: string | undefined, hex: number): boolean =>
  id !== undefined && id.length === hex && /^[0-9a-fA-F]*$/.test(id) && !/^0+$/.test(id);

function reference(records: KataLogRecord[]): string {
  const groups = groupByResource(records);
  if (groups.length === 0) return '{}';
  return JSON.stringify({
    resourceLogs: groups.map((g) => ({
      resource: g.resource.length ? { attributes: g.resource.map(([k, v]) => kv(k, v)) } : {},
      scopeLogs: [
        {
          scope: { name: SCOPE_NAME, version: SCOPE_VERSION },
          logRecords: g.records.map((r) => {
            const attrs = Object.entries(r.attributes)
              .filter(([k, v]) => !isResourceKey(k) && v !== undefined && v !== null)
              .map(([k, v]) => kv(k, v));
            return {
              ...(r.timeUnixNano ? { timeUnixNano: String(r.timeUnixNano) } : {}),
              ...(r.observedTimeUnixNano ? { observedTimeUnixNano: String(r.observedTimeUnixNano) } : {}),
              ...(r.severityNumber ? { severityNumber: r.severityNumber } : {}),
              ...(r.severityText ? { severityText: wf(r.severityText) } : {}),
              body: anyValue(r.body),
              ...(attrs.length ? { attributes: attrs } : {}),
              ...(validId(r.traceId, 32) ? { traceId: r.traceId!.toLowerCase() } : {}),
              ...(validId(r.spanId, 16) ? { spanId: r.spanId!.toLowerCase() } : {}),
              ...(r.eventName ? { eventName: wf(r.eventName) } : {}),
            };
          }),
        },
      ],
    })),
  });
}

// Every UTF-16 code unit, lone surrogates included, weighted towards the ones JSON escapes.
const unit = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\udfff', 'é', '😀', 'a'),
);
const text = fc.string({ unit, maxLength: 40 });
const value: fc.Arbitrary<AttrValue> = fc.oneof(
  text,
  fc.boolean(),
  fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
  fc.constantFrom(0, -0, 1, -1, 9, 10, 99, 100, 2 ** 53 - 1, -(2 ** 53) + 1),
  fc.double().filter((d) => !Number.isSafeInteger(d)) as fc.Arbitrary<number>,
  fc.array(text, { maxLength: 3 }),
);
const key = fc.oneof(
  fc.constantFrom(ATTR_SERVICE_NAME, ATTR_KATA_SANDBOX_ID, ATTR_KATA_SUBSYSTEM, ATTR_KATA_FIELD('ü ß')),
  text.map((t) => ATTR_KATA_FIELD(t)),
);
const time = fc.oneof(
  fc.bigInt({ min: 0n, max: U64_MAX }),
  fc.constantFrom(0n, 1n, 9n, 10n, (1n << 53n) - 1n, 1n << 53n, 1714557600000166229n, 999999999n, 1000000000n, U64_MAX),
);
/** Ids the encoders must leave out (all zero, wrong length, not hex) or lowercase. */
const badId = (hex: number) =>
  fc.constantFrom(
    '0'.repeat(hex),
    '0'.repeat(hex - 1) + '1',
    'A'.repeat(hex),
    'g'.repeat(hex),
    '1'.repeat(hex + 1),
    '',
  );
const record: fc.Arbitrary<KataLogRecord> = fc.record({
  timeUnixNano: time,
  observedTimeUnixNano: time,
  severityNumber: fc.integer({ min: -30, max: 30 }),
  severityText: text,
  body: text,
  attributes: fc.dictionary(key, value, { maxKeys: 8 }),
  eventName: fc.option(text, { nil: undefined }),
  traceId: fc.option(fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{32}$/), badId(32)), { nil: undefined }),
  spanId: fc.option(fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{16}$/), badId(16)), { nil: undefined }),
});

describe('encodeLogsJson writes exactly the JSON.stringify text of the Collector object form', () => {
  it('for any strings, numbers, times and ids', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 6 }), (records) => {
        const want = reference(records);
        expect(encodeLogsJson(records)).toBe(want);
        expect(encodeLogsJsonLine(records).equals(Buffer.from(want + '\n', 'utf8'))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('grows its scratch buffer for a large request and gives the same text', () => {
    const big = 'x'.repeat(3 << 20) + '"é\u0001';
    const records: KataLogRecord[] = [0, 1, 2].map((i) => ({
      timeUnixNano: BigInt(i),
      observedTimeUnixNano: 0n,
      severityNumber: 0,
      severityText: '',
      body: big,
      attributes: { [ATTR_KATA_FIELD('k')]: big.slice(i) },
    }));
    expect(encodeLogsJson(records)).toBe(reference(records));
    // And the next, small request is not polluted by the big one.
    const small = [{ ...records[0]!, body: 'b', attributes: {} }];
    expect(encodeLogsJson(small)).toBe(reference(small));
  });
});
