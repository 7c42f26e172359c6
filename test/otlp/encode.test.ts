// The OTLP encoders checked against the official generated protobuf code (otlp-proto-official), never
// against the receiver's own decoder alone.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attributes, KataLogRecord } from '../../receiver/model/record.js';
import {
  decodeLogsJson,
  decodeLogsProto,
  encodeLogsJson,
  encodeLogsProto,
  groupByResource,
  SCOPE_NAME,
  SCOPE_VERSION,
} from '../../receiver/otlp/index.js';
import {
  ATTR_CODE_LINE_NUMBER,
  ATTR_HOST_NAME,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_FIELD,
  ATTR_KATA_LOG_TRUNCATED,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SUBSYSTEM,
  ATTR_LOG_FILE_PATH,
  ATTR_SERVICE_NAME,
  EVENT_KATA_ALERT,
  KATA_COMPONENT_VALUE_AGENT,
  KATA_COMPONENT_VALUE_RUNTIME,
  RESOURCE_ATTRIBUTE_KEYS,
} from '../../receiver/semconv/generated.js';
import {
  ExportLogsServiceRequest,
  officialDecode,
  officialFromJson,
  type OfficialAnyValue,
  type OfficialKeyValue,
  type OfficialRequest,
} from '../support/otlp-proto.js';

const SB1 = 'a'.repeat(64);
const SB2 = 'b'.repeat(64);
const U64_MAX = (1n << 64n) - 1n;

function rec(over: Partial<KataLogRecord> & { attributes?: Attributes } = {}): KataLogRecord {
  return {
    timeUnixNano: 1714557600000166229n,
    observedTimeUnixNano: 1714557600123456789n,
    severityNumber: 9,
    severityText: 'info',
    body: 'Device added',
    ...over,
    attributes: over.attributes ?? {
      [ATTR_SERVICE_NAME]: 'kata-runtime',
      [ATTR_KATA_SANDBOX_ID]: SB1,
      [ATTR_KATA_COMPONENT]: KATA_COMPONENT_VALUE_RUNTIME,
      [ATTR_KATA_SUBSYSTEM]: 'device',
    },
  };
}

const runtime = (sb: string, extra: Attributes = {}): Attributes => ({
  [ATTR_SERVICE_NAME]: 'kata-runtime',
  [ATTR_KATA_SANDBOX_ID]: sb,
  [ATTR_KATA_COMPONENT]: KATA_COMPONENT_VALUE_RUNTIME,
  ...extra,
});
const agent = (sb: string, extra: Attributes = {}): Attributes => ({
  [ATTR_SERVICE_NAME]: 'kata-agent',
  [ATTR_KATA_SANDBOX_ID]: sb,
  [ATTR_KATA_COMPONENT]: KATA_COMPONENT_VALUE_AGENT,
  ...extra,
});

/** Official AnyValue → plain JS value (typed: ints stay decimal strings so int/double stay apart). */
function any(v: OfficialAnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return { int: v.intValue };
  if (v.doubleValue !== undefined) return { double: v.doubleValue };
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(any);
  return { other: v };
}
const kv = (list: OfficialKeyValue[] | undefined) => Object.fromEntries((list ?? []).map((x) => [x.key, any(x.value)]));
const hex = (b64: string | undefined) => (b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('hex'));

describe('encodeLogsProto, decoded with the official generated code', () => {
  const records: KataLogRecord[] = [
    rec({ attributes: runtime(SB1, { [ATTR_KATA_SUBSYSTEM]: 'device', [ATTR_LOG_FILE_PATH]: '/run/x.log' }) }),
    rec({
      timeUnixNano: U64_MAX,
      observedTimeUnixNano: 9007199254740993n, // 2^53 + 1: not representable as a double
      severityNumber: 17,
      severityText: 'ERRO',
      body: 'grüße, 日本語, emoji 🎉',
      attributes: agent(SB1, {
        [ATTR_CODE_LINE_NUMBER]: 42,
        [ATTR_KATA_FIELD('ratio')]: 0.25,
        [ATTR_KATA_FIELD('neg')]: -7,
        [ATTR_KATA_LOG_TRUNCATED]: true,
        [ATTR_KATA_FIELD('list')]: ['a', '', 'ü'],
        [ATTR_KATA_FIELD('empty')]: '',
      }),
      eventName: EVENT_KATA_ALERT,
      traceId: '4BF92F3577B34DA6A3CE929D0E0E4736',
      spanId: '00f067aa0ba902b7',
    }),
    rec({ attributes: runtime(SB2), timeUnixNano: 0n, severityNumber: 0, severityText: '', body: '' }),
    rec({ attributes: runtime(SB1, { [ATTR_KATA_SUBSYSTEM]: 'sandbox' }), body: 'second runtime record of sandbox 1' }),
    rec({ attributes: agent(SB2) }),
  ];
  const bytes = encodeLogsProto(records);
  const req = officialDecode(bytes);

  it('groups records per resource (sandbox × component) in first-seen order, one kata-otel scope each', () => {
    const rl = req.resourceLogs ?? [];
    expect(rl.map((r) => kv(r.resource?.attributes))).toEqual([runtime(SB1), agent(SB1), runtime(SB2), agent(SB2)]);
    expect(rl.map((r) => (r.scopeLogs ?? []).map((s) => s.scope))).toEqual(
      rl.map(() => [{ name: SCOPE_NAME, version: SCOPE_VERSION }]),
    );
    expect(rl.map((r) => r.scopeLogs?.[0]?.logRecords?.length)).toEqual([2, 1, 1, 1]);
    expect(SCOPE_NAME).toBe('kata-otel');
    expect(SCOPE_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('keeps resource attributes off the records and everything else on them, typed', () => {
    const [r0, r1] = [
      req.resourceLogs![0]!.scopeLogs![0]!.logRecords!,
      req.resourceLogs![1]!.scopeLogs![0]!.logRecords!,
    ];
    expect(kv(r0[0]!.attributes)).toEqual({ [ATTR_KATA_SUBSYSTEM]: 'device', [ATTR_LOG_FILE_PATH]: '/run/x.log' });
    for (const k of RESOURCE_ATTRIBUTE_KEYS) expect(kv(r1[0]!.attributes)).not.toHaveProperty(k);
    expect(kv(r1[0]!.attributes)).toEqual({
      [ATTR_CODE_LINE_NUMBER]: { int: '42' },
      [ATTR_KATA_FIELD('ratio')]: { double: 0.25 },
      [ATTR_KATA_FIELD('neg')]: { int: '-7' },
      [ATTR_KATA_LOG_TRUNCATED]: true,
      [ATTR_KATA_FIELD('list')]: ['a', '', 'ü'],
      [ATTR_KATA_FIELD('empty')]: '',
    });
  });

  it('carries times exactly to the nanosecond (beyond 2^53), severity, body, event name and ids', () => {
    const lr = req.resourceLogs![1]!.scopeLogs![0]!.logRecords![0]!;
    expect(lr.timeUnixNano).toBe(U64_MAX.toString());
    expect(lr.observedTimeUnixNano).toBe('9007199254740993');
    expect(lr.severityNumber).toBe(17);
    expect(lr.severityText).toBe('ERRO');
    expect(lr.body).toEqual({ stringValue: 'grüße, 日本語, emoji 🎉' });
    expect(lr.eventName).toBe(EVENT_KATA_ALERT);
    expect(hex(lr.traceId)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(hex(lr.spanId)).toBe('00f067aa0ba902b7');
    const first = req.resourceLogs![0]!.scopeLogs![0]!.logRecords![0]!;
    expect(first.timeUnixNano).toBe('1714557600000166229');
    expect(first.observedTimeUnixNano).toBe('1714557600123456789');
  });

  it('omits a zero time, zero severity and empty severity text, but keeps an empty body', () => {
    const lr = req.resourceLogs![2]!.scopeLogs![0]!.logRecords![0]!;
    expect(lr.timeUnixNano).toBeUndefined();
    expect(lr.severityNumber).toBeUndefined();
    expect(lr.severityText).toBeUndefined();
    expect(lr.body).toEqual({ stringValue: '' });
    expect(lr.observedTimeUnixNano).toBe('1714557600123456789');
  });

  it('writes exactly the bytes the official encoder writes for the same message', () => {
    const again = ExportLogsServiceRequest.encode(ExportLogsServiceRequest.decode(bytes)).finish();
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
  });

  it('decodeLogsProto gives the records back, resource attributes merged in', () => {
    const back = decodeLogsProto(bytes);
    const expected = [records[0], records[3], records[1], records[2], records[4]].map((r) => ({
      ...r,
      ...(r!.traceId ? { traceId: r!.traceId.toLowerCase() } : {}),
    }));
    expect(back).toEqual(expected);
  });

  it('encodes an empty batch as an empty request', () => {
    expect(encodeLogsProto([]).length).toBe(0);
    expect(officialDecode(encodeLogsProto([])).resourceLogs ?? []).toEqual([]);
    expect(encodeLogsJson([])).toBe('{}');
  });
});

describe('encodeLogsJson (Collector file-exporter OTLP/JSON)', () => {
  it('writes the Collector field names, order and value conventions', () => {
    const r = rec({
      attributes: runtime(SB1, {
        [ATTR_KATA_SUBSYSTEM]: 'device',
        [ATTR_CODE_LINE_NUMBER]: 42,
        [ATTR_KATA_FIELD('ratio')]: 1.5,
        [ATTR_KATA_LOG_TRUNCATED]: false,
        [ATTR_KATA_FIELD('list')]: ['x', 'y'],
        [ATTR_KATA_FIELD('none')]: [],
      }),
      eventName: EVENT_KATA_ALERT,
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00F067AA0BA902B7',
    });
    const text = encodeLogsJson([r]);
    const doc = JSON.parse(text) as Record<string, unknown>;
    expect(doc).toEqual({
      resourceLogs: [
        {
          resource: {
            attributes: [
              { key: ATTR_SERVICE_NAME, value: { stringValue: 'kata-runtime' } },
              { key: ATTR_KATA_SANDBOX_ID, value: { stringValue: SB1 } },
              { key: ATTR_KATA_COMPONENT, value: { stringValue: KATA_COMPONENT_VALUE_RUNTIME } },
            ],
          },
          scopeLogs: [
            {
              scope: { name: 'kata-otel', version: SCOPE_VERSION },
              logRecords: [
                {
                  timeUnixNano: '1714557600000166229',
                  observedTimeUnixNano: '1714557600123456789',
                  severityNumber: 9,
                  severityText: 'info',
                  body: { stringValue: 'Device added' },
                  attributes: [
                    { key: ATTR_KATA_SUBSYSTEM, value: { stringValue: 'device' } },
                    { key: ATTR_CODE_LINE_NUMBER, value: { intValue: '42' } },
                    { key: ATTR_KATA_FIELD('ratio'), value: { doubleValue: 1.5 } },
                    { key: ATTR_KATA_LOG_TRUNCATED, value: { boolValue: false } },
                    {
                      key: ATTR_KATA_FIELD('list'),
                      value: { arrayValue: { values: [{ stringValue: 'x' }, { stringValue: 'y' }] } },
                    },
                    { key: ATTR_KATA_FIELD('none'), value: { arrayValue: {} } },
                  ],
                  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                  spanId: '00f067aa0ba902b7',
                  eventName: EVENT_KATA_ALERT,
                },
              ],
            },
          ],
        },
      ],
    });
    // The Collector's marshaler order, not just the same keys.
    const lr = (doc.resourceLogs as { scopeLogs: { logRecords: object[] }[] }[])[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(Object.keys(lr)).toEqual([
      'timeUnixNano',
      'observedTimeUnixNano',
      'severityNumber',
      'severityText',
      'body',
      'attributes',
      'traceId',
      'spanId',
      'eventName',
    ]);
    expect(text).not.toContain('\n');
  });

  it('omits timeUnixNano when 0, empty severity text, and absent or all-zero ids', () => {
    const text = encodeLogsJson([
      rec({ timeUnixNano: 0n, severityText: '', severityNumber: 0, traceId: '0'.repeat(32), spanId: 'xyz' }),
    ]);
    const lr = (JSON.parse(text) as OfficialRequest).resourceLogs![0]!.scopeLogs![0]!.logRecords![0]!;
    expect(Object.keys(lr)).toEqual(['observedTimeUnixNano', 'body', 'attributes']);
  });

  it('writes non-finite doubles as the proto3 JSON strings', () => {
    const text = encodeLogsJson([
      rec({ attributes: runtime(SB1, { [ATTR_KATA_FIELD('n')]: NaN, [ATTR_KATA_FIELD('i')]: -Infinity }) }),
    ]);
    const attrs = (JSON.parse(text) as OfficialRequest).resourceLogs![0]!.scopeLogs![0]!.logRecords![0]!.attributes;
    expect(attrs).toEqual([
      { key: ATTR_KATA_FIELD('n'), value: { doubleValue: 'NaN' } },
      { key: ATTR_KATA_FIELD('i'), value: { doubleValue: '-Infinity' } },
    ]);
  });

  it('describes the same data as the protobuf encoding', () => {
    const records = [
      rec({ attributes: runtime(SB1, { [ATTR_CODE_LINE_NUMBER]: 7, [ATTR_KATA_FIELD('f')]: 2.5 }) }),
      rec({
        attributes: agent(SB2, { [ATTR_KATA_FIELD('l')]: ['1', '2'] }),
        timeUnixNano: U64_MAX,
        eventName: EVENT_KATA_ALERT,
      }),
      rec({
        attributes: runtime(SB2),
        timeUnixNano: 0n,
        body: 'ünï\u0000 "quoted" \\ \n line',
        traceId: 'ab'.repeat(16),
        spanId: 'cd'.repeat(8),
      }),
    ];
    expect(officialFromJson(encodeLogsJson(records))).toEqual(officialDecode(encodeLogsProto(records)));
  });

  it('decodeLogsJson reads it back, also as JSON lines, skipping a broken line', () => {
    const a = [rec(), rec({ attributes: agent(SB2), timeUnixNano: U64_MAX })];
    const b = [rec({ body: 'line two', attributes: runtime(SB2, { [ATTR_KATA_FIELD('x')]: 3 }) })];
    expect(decodeLogsJson(encodeLogsJson(a))).toEqual(a);
    const errors: string[] = [];
    const lines = `${encodeLogsJson(a)}\n{"resourceLogs":[{"resource":\n${encodeLogsJson(b)}\n`;
    expect(decodeLogsJson(lines, (m) => errors.push(m))).toEqual([...a, ...b]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/line 2/);
  });
});

describe('odd input never throws', () => {
  const lone = 'half \ud83d pair and \udc00 low';
  it('encodes lone surrogates as U+FFFD in both encodings', () => {
    const r = rec({ body: lone, attributes: runtime(SB1, { [ATTR_KATA_FIELD(lone)]: lone }) });
    const fixed = 'half \ufffd pair and \ufffd low';
    const pb = officialDecode(encodeLogsProto([r])).resourceLogs![0]!.scopeLogs![0]!.logRecords![0]!;
    expect(pb.body).toEqual({ stringValue: fixed });
    expect(pb.attributes).toEqual([{ key: ATTR_KATA_FIELD(fixed), value: { stringValue: fixed } }]);
    const js = (JSON.parse(encodeLogsJson([r])) as OfficialRequest).resourceLogs![0]!.scopeLogs![0]!.logRecords![0]!;
    expect(js.body).toEqual({ stringValue: fixed });
    expect(js.attributes).toEqual([{ key: ATTR_KATA_FIELD(fixed), value: { stringValue: fixed } }]);
  });

  it('clamps or drops malformed fields instead of throwing', () => {
    const bad = {
      timeUnixNano: -5n,
      observedTimeUnixNano: 1.5e18 as unknown as bigint,
      severityNumber: 3.7,
      severityText: undefined as unknown as string,
      body: { nested: 1n } as unknown as string,
      attributes: {
        [ATTR_KATA_FIELD('u')]: undefined,
        [ATTR_KATA_FIELD('n')]: null,
        [ATTR_KATA_FIELD('big')]: 2n ** 70n,
      } as unknown as Attributes,
      traceId: 'not-hex',
    } as KataLogRecord;
    const lr = officialDecode(encodeLogsProto([bad])).resourceLogs![0]!.scopeLogs![0]!.logRecords![0]!;
    expect(lr.timeUnixNano).toBeUndefined();
    expect(lr.observedTimeUnixNano).toBe('1500000000000000000');
    expect(lr.severityNumber).toBeUndefined();
    expect(lr.body).toEqual({ stringValue: '{"nested":"1"}' });
    // 2^70 wraps to int64 as the protobuf int64 type does; null/undefined attributes are dropped.
    expect(lr.attributes).toEqual([{ key: ATTR_KATA_FIELD('big'), value: { intValue: '0' } }]);
    expect(lr.traceId).toBeUndefined();
    expect(() => encodeLogsJson([bad])).not.toThrow();
    expect(officialFromJson(encodeLogsJson([bad]))).toEqual(officialDecode(encodeLogsProto([bad])));
  });

  it('decodeLogsProto reports a truncated buffer and keeps what came before', () => {
    const bytes = encodeLogsProto([rec(), rec({ attributes: agent(SB2) })]);
    const errors: string[] = [];
    const got = decodeLogsProto(bytes.subarray(0, bytes.length - 5), (m) => errors.push(m));
    expect(got).toEqual([rec()]);
    expect(errors.join()).toMatch(/malformed protobuf/);
    expect(decodeLogsJson('not json at all', (m) => errors.push(m))).toEqual([]);
  });
});

describe('groupByResource with an overlay', () => {
  it('fills missing resource attributes and overrides service.name only when asked', () => {
    const records = [rec({ attributes: runtime(SB1) }), rec({ attributes: agent(SB1, { [ATTR_HOST_NAME]: 'own' }) })];
    const groups = groupByResource(records, { fill: { [ATTR_HOST_NAME]: 'node-1' } });
    expect(groups.map((g) => Object.fromEntries(g.resource))).toEqual([
      { ...runtime(SB1), [ATTR_HOST_NAME]: 'node-1' },
      { ...agent(SB1), [ATTR_HOST_NAME]: 'own' },
    ]);
    const merged = groupByResource(
      [rec({ attributes: runtime(SB1) }), rec({ attributes: runtime(SB1, { [ATTR_SERVICE_NAME]: 'other' }) })],
      {
        override: { [ATTR_SERVICE_NAME]: 'kata' },
      },
    );
    expect(merged).toHaveLength(1);
    expect(Object.fromEntries(merged[0]!.resource)).toEqual({ ...runtime(SB1), [ATTR_SERVICE_NAME]: 'kata' });
    const pb = officialDecode(encodeLogsProto(records, { resource: { override: { [ATTR_SERVICE_NAME]: 'kata' } } }));
    expect(pb.resourceLogs!.map((r) => kv(r.resource?.attributes)[ATTR_SERVICE_NAME])).toEqual(['kata', 'kata']);
  });
});

describe('property: any record survives both encodings', () => {
  const key = fc.constantFrom(
    ...RESOURCE_ATTRIBUTE_KEYS,
    ATTR_KATA_SUBSYSTEM,
    ATTR_LOG_FILE_PATH,
    ATTR_KATA_FIELD('a'),
    ATTR_KATA_FIELD('ü ß'),
  );
  const value = fc.oneof(
    fc.string({ unit: 'grapheme' }),
    fc.boolean(),
    fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
    fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 4 }),
  );
  const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
  const record = fc.record({
    timeUnixNano: u64,
    observedTimeUnixNano: u64,
    severityNumber: fc.integer({ min: 0, max: 24 }),
    severityText: fc.string(),
    body: fc.string({ unit: 'grapheme' }),
    attributes: fc.dictionary(key, value, { maxKeys: 6 }),
    eventName: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
    traceId: fc.option(fc.stringMatching(/^[0-9a-f]{31}[1-9a-f]$/), { nil: undefined }),
    spanId: fc.option(fc.stringMatching(/^[0-9a-f]{15}[1-9a-f]$/), { nil: undefined }),
  });
  /** Key-order-independent text form (attribute order differs after resource merging). */
  const canon = (x: unknown): string =>
    JSON.stringify(x, (_k, v: unknown) =>
      typeof v === 'bigint'
        ? `${v}n`
        : v && typeof v === 'object' && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
          : v,
    );
  const clean = (r: KataLogRecord) => {
    const out = { ...r } as Record<string, unknown>;
    for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
    return out;
  };

  it('proto: official decode agrees, our decoder returns the records; JSON agrees with proto', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 5 }), (records) => {
        const bytes = encodeLogsProto(records);
        const again = ExportLogsServiceRequest.encode(ExportLogsServiceRequest.decode(bytes)).finish();
        expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
        const official = officialDecode(bytes);
        expect(officialFromJson(encodeLogsJson(records))).toEqual(official);
        const n = (official.resourceLogs ?? []).reduce((s, rl) => s + (rl.scopeLogs?.[0]?.logRecords?.length ?? 0), 0);
        expect(n).toBe(records.length);
        const back = decodeLogsProto(bytes);
        // Same multiset of records (grouping reorders across resources, keeps order within one).
        const sort = (xs: unknown[]) => xs.map(canon).sort();
        expect(sort(back.map(clean))).toEqual(sort(records.map(clean)));
        expect(sort(decodeLogsJson(encodeLogsJson(records)).map(clean))).toEqual(sort(records.map(clean)));
      }),
      { numRuns: 150 },
    );
  });
});
