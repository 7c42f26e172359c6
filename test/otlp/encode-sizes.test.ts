// The one-pass protobuf writer reserves length bytes and moves a message's content when its length needs more or
// fewer of them. These cases put every length-delimited field (string, AnyValue, KeyValue, LogRecord, ScopeLogs,
// ResourceLogs) on both sides of the varint size steps (127/128, 16383/16384 bytes, 2 MiB), with ASCII and
// multi-byte text, and check the bytes against the official generated code.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attributes, KataLogRecord } from '../../receiver/model/record.js';
import { decodeLogsProto, encodeLogsProto } from '../../receiver/otlp/index.js';
import { ATTR_KATA_COMPONENT, ATTR_KATA_SANDBOX_ID, ATTR_SERVICE_NAME } from '../../receiver/semconv/generated.js';
import { ExportLogsServiceRequest, officialDecode } from '../support/otlp-proto.js';

const STEPS = [0, 1, 100, 103, 104, 105, 106, 119, 120, 125, 126, 127, 128, 129, 200, 16370, 16383, 16384, 16400];

/** `n` UTF-8 bytes of text: ASCII, or with 2- and 3-byte characters mixed in. */
function text(n: number, multibyte: boolean): string {
  if (!multibyte) return 'x'.repeat(n);
  let s = '';
  let bytes = 0;
  while (bytes + 3 <= n) {
    s += bytes % 5 === 0 ? 'é' : '€';
    bytes += bytes % 5 === 0 ? 2 : 3;
  }
  return s + 'y'.repeat(n - bytes);
}

function rec(body: string, attributes: Attributes): KataLogRecord {
  return {
    timeUnixNano: 1714557600000166229n,
    observedTimeUnixNano: 1714557600123456789n,
    severityNumber: 9,
    severityText: 'info',
    body,
    attributes: { [ATTR_SERVICE_NAME]: 'kata-runtime', [ATTR_KATA_COMPONENT]: 'runtime', ...attributes },
  };
}

function check(records: KataLogRecord[]): void {
  const bytes = encodeLogsProto(records);
  const again = ExportLogsServiceRequest.encode(ExportLogsServiceRequest.decode(bytes)).finish();
  expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
  const back = decodeLogsProto(bytes);
  expect(back.map((r) => r.body)).toEqual(records.map((r) => r.body));
  expect(back.map((r) => r.attributes['kata.field.v'])).toEqual(records.map((r) => r.attributes['kata.field.v']));
}

describe('encodeLogsProto around varint size steps', () => {
  it('string, AnyValue, KeyValue and LogRecord lengths on both sides of each step', () => {
    for (const n of STEPS)
      for (const multibyte of [false, true]) {
        check([rec(text(n, multibyte), {})]);
        check([rec('b', { 'kata.field.v': text(n, multibyte) })]);
        check([rec('b', { 'kata.field.v': [text(n, multibyte), 'z'] })]);
      }
  });

  it('scope and resource groups on both sides of 16 KiB and 2 MiB', () => {
    for (const count of [1, 40, 41, 60, 61, 62, 7000, 8300]) {
      const records = Array.from({ length: count }, (_, i) =>
        rec(`m${i % 10}`, { [ATTR_KATA_SANDBOX_ID]: 'a'.repeat(64), 'kata.field.v': 'v'.repeat(230) }),
      );
      check(records);
      const official = officialDecode(encodeLogsProto(records));
      expect(official.resourceLogs?.[0]?.scopeLogs?.[0]?.logRecords).toHaveLength(count);
    }
  });

  it('random lengths, nesting and several resources', () => {
    const value = fc.oneof(
      fc.integer({ min: 0, max: 300 }).chain((n) => fc.boolean().map((m) => text(n, m))),
      fc.integer({ min: -5, max: 5 }),
      fc.array(
        fc.integer({ min: 0, max: 140 }).map((n) => text(n, false)),
        { maxLength: 3 },
      ),
    );
    const record = fc.record({
      body: fc.integer({ min: 0, max: 400 }).chain((n) => fc.boolean().map((m) => text(n, m))),
      sandbox: fc.constantFrom('a', 'b', 'c'),
      attrs: fc.dictionary(fc.stringMatching(/^kata\.field\.[a-z]{1,8}$/), value, { maxKeys: 8 }),
    });
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 30 }), (rs) => {
        const records = rs.map((r) => rec(r.body, { [ATTR_KATA_SANDBOX_ID]: r.sandbox, ...r.attrs }));
        const bytes = encodeLogsProto(records);
        const again = ExportLogsServiceRequest.encode(ExportLogsServiceRequest.decode(bytes)).finish();
        expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
        expect(decodeLogsProto(bytes)).toHaveLength(records.length);
      }),
      { numRuns: 100 },
    );
  });
});
