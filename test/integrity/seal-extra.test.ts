// The seal path's extra attributes (otlp/extra.ts): stamping a record without copying its attributes must give the
// chain values, and the protobuf / OTLP-JSON bytes, of the merged copy it replaces.
import { describe, expect, it } from 'vitest';
import {
  newState,
  stampBatch,
  stampRecord,
  stampRecordExtra,
  withChainAttributes,
  type ChainOptions,
} from '../../receiver/integrity/chain.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { encodeLogsJson } from '../../receiver/otlp/encode-json.js';
import { encodeLogsProto } from '../../receiver/otlp/encode-proto.js';
import type { ExtraAttributes } from '../../receiver/otlp/extra.js';
import { createHash, createHmac } from 'node:crypto';
import { isResourceKey } from '../../receiver/otlp/resource.js';
import {
  ATTR_AUDIT_INTEGRITY_ALGORITHM,
  ATTR_AUDIT_INTEGRITY_VALUE,
  ATTR_AUDIT_SEQUENCE_NUMBER,
  ATTR_AUDIT_SEQUENCE_PREV_HASH,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_INTEGRITY_STREAM,
  ATTR_KATA_SANDBOX_ID,
} from '../../receiver/semconv/generated.js';

/** RFC 8785 of plain JSON data: sorted keys, JSON.stringify of the leaves (the documented format, docs/audit.md). */
function jcs(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
  if (v && typeof v === 'object')
    return (
      '{' +
      Object.keys(v)
        .sort()
        .map((k) => JSON.stringify(k) + ':' + jcs((v as Record<string, unknown>)[k]))
        .join(',') +
      '}'
    );
  return JSON.stringify(typeof v === 'string' ? (v as unknown as { toWellFormed(): string }).toWellFormed() : v);
}

/** The chain value of a stamped record (merged attributes) computed from the documented definition (chain.ts). */
function expectedValue(r: KataLogRecord, key?: Buffer): string {
  const a = r.attributes;
  const attributes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    if ([ATTR_AUDIT_SEQUENCE_PREV_HASH, ATTR_AUDIT_INTEGRITY_VALUE, ATTR_AUDIT_INTEGRITY_ALGORITHM].includes(k))
      continue;
    if (isResourceKey(k) && k !== ATTR_KATA_SANDBOX_ID && k !== ATTR_KATA_COMPONENT) continue;
    attributes[k] =
      typeof v === 'number'
        ? Number.isSafeInteger(v)
          ? { int: String(v) }
          : { double: Number.isFinite(v) ? v : String(v) }
        : v;
  }
  const canon = jcs({
    attributes,
    body: r.body,
    eventName: r.eventName ?? '',
    observedTimeUnixNano: String(r.observedTimeUnixNano),
    severityNumber: r.severityNumber ?? 0,
    severityText: r.severityText ?? '',
    spanId: r.spanId ?? '',
    timeUnixNano: String(r.timeUnixNano),
    traceId: r.traceId ?? '',
  });
  const input = String(a[ATTR_AUDIT_SEQUENCE_PREV_HASH]) + '\n' + canon;
  return key ? createHmac('sha256', key).update(input).digest('hex') : createHash('sha256').update(input).digest('hex');
}

function records(): KataLogRecord[] {
  const out: KataLogRecord[] = [];
  for (let i = 0; i < 40; i++) {
    const attributes: KataLogRecord['attributes'] = {
      'kata.sandbox.id': `sb-${i % 3}`,
      'kata.component': i % 2 ? 'agent' : 'runtime',
      'service.name': 'kata',
      'log.source': 'file',
      name: i % 5 ? 'plain' : 'ünïcödé ✓ \u{1f600} "quoted" \\ \n\t\u0001 lone \ud800',
      nan: i % 9 === 0 ? NaN : -0,
      count: i,
      ratio: i / 7,
      ok: i % 2 === 0,
      list: ['a', String(i)],
      // keys sorting on both sides of the chain keys (audit.*, kata.integrity.*)
      'aaa.first': 'x',
      'zzz.last': 'y'.repeat(i * 5), // some values past the one-byte length
    };
    if (i % 7 === 0) attributes['z.long'] = 'q'.repeat(300);
    out.push({
      timeUnixNano: 1_700_000_000_000_000_000n + BigInt(i),
      observedTimeUnixNano: 1_700_000_000_000_000_100n + BigInt(i),
      severityNumber: 9 + (i % 3),
      severityText: 'INFO',
      body: `line ${i}`,
      attributes,
      ...(i % 4 === 0 ? { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' } : {}),
      ...(i % 6 === 0 ? { eventName: 'kata.test' } : {}),
    });
  }
  // A record that already carries a chain key (its own value keeps its place): stamped as a copy.
  out.push({ ...out[1]!, attributes: { ...out[1]!.attributes, [ATTR_AUDIT_SEQUENCE_NUMBER]: 'guest says 7' } });
  return out;
}

const opts: ChainOptions = { checkpointIntervalMs: 60_000, checkpointEveryRecords: 16 };

describe('seal with extra attributes', () => {
  for (const key of [undefined, Buffer.from('k'.repeat(32))])
    it(`gives the chain values and bytes of the merged copy (${key ? 'hmac' : 'sha256'})`, () => {
      const input = records();
      const copy = stampBatch(input, newState('s/1'), { ...opts, key }, []);
      const extra = new Map<KataLogRecord, ExtraAttributes>();
      const light = stampBatch(input, newState('s/1'), { ...opts, key }, [], extra);
      expect(light.checkpoint).toEqual(copy.checkpoint);
      for (const r of copy.records) expect(r.attributes[ATTR_AUDIT_INTEGRITY_VALUE]).toBe(expectedValue(r, key));
      expect(light.records.length).toBe(copy.records.length);
      expect(light.records.length).toBe(input.length + 1); // a checkpoint (every 16)
      // Every record but the colliding one is the input record itself, its chain attributes beside it.
      expect(extra.size).toBe(light.records.length - 1);
      for (let i = 0; i < input.length - 1; i++) expect(light.records[i]).toBe(input[i]);
      expect(Object.keys(input[0]!.attributes)).not.toContain(ATTR_KATA_INTEGRITY_STREAM);
      expect(Buffer.from(encodeLogsProto(light.records, { extra }))).toEqual(
        Buffer.from(encodeLogsProto(copy.records)),
      );
      expect(encodeLogsJson(light.records, { extra })).toBe(encodeLogsJson(copy.records));
      const back = light.records.map((r) => withChainAttributes(r, extra));
      expect(back).toEqual(copy.records);
      for (let i = 0; i < back.length; i++)
        expect(Object.keys(back[i]!.attributes)).toEqual(Object.keys(copy.records[i]!.attributes));
    });

  it('the same record object twice in a batch gets two numbers', () => {
    const r = records()[0]!;
    const extra = new Map<KataLogRecord, ExtraAttributes>();
    const light = stampBatch([r, r], newState('s/3'), opts, [], extra);
    const copy = stampBatch([r, r], newState('s/3'), opts, []);
    expect(Buffer.from(encodeLogsProto(light.records, { extra }))).toEqual(Buffer.from(encodeLogsProto(copy.records)));
  });

  it('a record without attributes still carries the chain', () => {
    const r = { timeUnixNano: 1n, observedTimeUnixNano: 2n, body: 'x' } as unknown as KataLogRecord;
    const extra = new Map<KataLogRecord, ExtraAttributes>();
    const light = stampRecordExtra(r, newState('s/2'), undefined, extra);
    const copy = stampRecord(r, newState('s/2'));
    expect(Buffer.from(encodeLogsProto([light], { extra }))).toEqual(Buffer.from(encodeLogsProto([copy])));
    expect(encodeLogsJson([light], { extra })).toBe(encodeLogsJson([copy]));
  });
});
