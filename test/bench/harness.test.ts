// The bench harness on a few hundred lines (not the benchmark): the generated workloads parse as what they claim
// to be, their containerd copies are recognised as duplicates; the counting receiver's wire walker reads every
// field exactly as the official generated code does; and the receiver, as a real child process on loopback,
// counts every record the real OTLP/gRPC exporter sends, with and without gzip.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { generateWorkloads } from '../../bench/gen.js';
import type { SinkStats } from '../../bench/sink.js';
import { decodeLogsRequest, type WireResourceLogs, type WireValue } from '../../bench/wire.js';
import { OtlpGrpcExporter } from '../../receiver/exporters/otlp-grpc.js';
import { resolveOtlpSettings } from '../../receiver/exporters/otlp-config.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { encodeLogsProto } from '../../receiver/otlp/encode-proto.js';
import { parseText } from '../../receiver/parse/index.js';
import { DedupeStage } from '../../receiver/pipeline/dedupe.js';
import { ATTR_KATA_LOG_PARSE_ERROR } from '../../receiver/semconv/generated.js';
import { officialDecode, type OfficialAnyValue, type OfficialRequest } from '../support/otlp-proto.js';

const dir = mkdtempSync(join(tmpdir(), 'kata-otel-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const workloads = generateWorkloads(dir, { lines: 300 });
const ctx = { observedTimeUnixNano: 1_714_582_800_000_000_000n };
const parseFile = (f: string) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => parseText(l, ctx));

describe('bench workloads', () => {
  it('every line parses; the containerd copy of every shim record is suppressed as a duplicate', () => {
    const byName = new Map(workloads.map((w) => [w.name, w]));
    expect([...byName.keys()]).toEqual(['logfmt', 'json', 'journald']);
    for (const w of workloads) {
      const records = w.files.flatMap(parseFile);
      expect(records.length, w.name).toBe(w.lines);
      expect(
        records.filter((r) => r.attributes[ATTR_KATA_LOG_PARSE_ERROR] !== undefined),
        w.name,
      ).toEqual([]);
      const kept = new DedupeStage().process(records);
      expect(kept.length, w.name).toBe(w.expectedRecords);
    }
    const logfmt = byName.get('logfmt')!;
    expect(logfmt.lines).toBe(600);
    // 1% of shim records carry an agent record on the guest console; it is unpacked.
    const shim = parseFile(logfmt.files[0]!);
    expect(shim.some((r) => r.attributes['kata.component'] === 'agent')).toBe(true);
  });
});

/** The official decode in the walker's shape, to compare field by field. */
function fromOfficial(req: OfficialRequest): WireResourceLogs[] {
  const value = (v: OfficialAnyValue | undefined): WireValue | undefined => {
    if (!v) return undefined;
    if (v.stringValue !== undefined) return v.stringValue;
    if (v.boolValue !== undefined) return v.boolValue;
    if (v.intValue !== undefined) return BigInt(v.intValue);
    if (v.doubleValue !== undefined) return v.doubleValue;
    if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map((x) => value(x) ?? '');
    throw new Error(`unexpected value ${JSON.stringify(v)}`);
  };
  const kvs = (list: { key: string; value?: OfficialAnyValue }[] | undefined): [string, WireValue][] =>
    (list ?? []).map((kv) => [kv.key, value(kv.value) ?? '']);
  return (req.resourceLogs ?? []).map((rl) => ({
    resource: kvs(rl.resource?.attributes),
    scopeName: rl.scopeLogs?.[0]?.scope?.name ?? '',
    scopeVersion: rl.scopeLogs?.[0]?.scope?.version ?? '',
    records: (rl.scopeLogs?.[0]?.logRecords ?? []).map((lr) => ({
      timeUnixNano: BigInt(lr.timeUnixNano ?? 0),
      observedTimeUnixNano: BigInt(lr.observedTimeUnixNano ?? 0),
      severityNumber: lr.severityNumber ?? 0,
      severityText: lr.severityText ?? '',
      body: value(lr.body),
      attributes: kvs(lr.attributes),
      eventName: lr.eventName ?? '',
      traceId: lr.traceId ? Buffer.from(lr.traceId, 'base64').toString('hex') : '',
      spanId: lr.spanId ? Buffer.from(lr.spanId, 'base64').toString('hex') : '',
      flags: lr.flags ?? 0,
    })),
  }));
}

const allRecords = (): KataLogRecord[] => workloads.flatMap((w) => w.files.flatMap(parseFile));

describe('bench wire walker', () => {
  it('reads every field of every record as the official generated code does', () => {
    const records = allRecords();
    records[3]!.traceId = '0af7651916cd43dd8448eb211c80319c';
    records[3]!.spanId = 'b7ad6b7169203331';
    records[4]!.attributes['kata.field.list'] = ['a', 'b'];
    records[4]!.attributes['kata.field.ratio'] = 0.25;
    records[4]!.attributes['kata.field.neg'] = -3;
    records[4]!.attributes['kata.field.flag'] = true;
    const bytes = encodeLogsProto(records);
    const walked: WireResourceLogs[] = [];
    const counts = decodeLogsRequest(bytes, walked);
    expect(walked).toEqual(fromOfficial(officialDecode(bytes)));
    expect(counts.records).toBe(records.length);
    expect(counts.resources).toBe(walked.length);
    // Counting without keeping the tree reads the same numbers.
    expect(decodeLogsRequest(bytes)).toEqual(counts);
  });

  it('rejects a truncated request with the offset', () => {
    const bytes = encodeLogsProto(allRecords().slice(0, 5));
    expect(() => decodeLogsRequest(bytes.subarray(0, bytes.length - 3))).toThrow(/malformed OTLP request at byte/);
  });
});

describe('bench counting receiver', () => {
  it('counts every record the OTLP/gRPC exporter sends, with and without gzip', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('../../bench/sink.ts', import.meta.url).pathname],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const lines = createInterface({ input: child.stdout! });
    const next = () => new Promise<string>((res) => lines.once('line', res));
    try {
      const ready = JSON.parse(await next()) as { port: number };
      const records = allRecords();
      for (const compression of ['none', 'gzip'] as const) {
        child.stdin!.write('reset\n');
        await next();
        const settings = resolveOtlpSettings(
          { protocol: 'grpc', endpoint: `http://127.0.0.1:${ready.port}`, compression },
          {},
        );
        const exporter = new OtlpGrpcExporter(settings);
        for (let i = 0; i < records.length; i += 100) {
          const res = await exporter.export(records.slice(i, i + 100));
          expect(res.code).toBe('success');
        }
        await exporter.shutdown();
        child.stdin!.write('stats\n');
        const stats = JSON.parse(await next()) as SinkStats;
        expect(stats.records, compression).toBe(records.length);
        expect(stats.requests).toBe(Math.ceil(records.length / 100));
        expect(stats.errors).toBe(0);
        expect(stats.attributes).toBeGreaterThan(records.length * 5);
      }
    } finally {
      child.stdin!.end();
      await new Promise((res) => child.once('exit', res));
    }
  });
});
