// Exporters with a payload codec (OTLP protobuf) get their records encoded once, when queued: the disk queue
// writes those bytes and the export sends them as they are, several batches concatenated into one request. Frames
// of either body kind are read back for either kind of exporter (a configuration change between runs), and a codec
// that fails leaves the records as records.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Exporter, ExportResult, PayloadCodec } from '../../receiver/exporters/types.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { encodeLogsProto } from '../../receiver/otlp/encode-proto.js';
import { FRAME_HEADER_BYTES, scanFrames } from '../../receiver/queue/codec.js';
import { DiskQueue } from '../../receiver/queue/disk.js';
import { MemoryQueue } from '../../receiver/queue/memory.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { officialDecode } from '../support/otlp-proto.js';
import { captureLogger, makeRecords, ScriptedExporter, tempDir } from './helpers.js';

/** An exporter with an OTLP protobuf codec; keeps every payload it was given and what the official code reads in it. */
class PayloadExporter implements Exporter {
  readonly payloads: Uint8Array[] = [];
  readonly counts: number[] = [];
  readonly bodies: string[] = [];
  recordCalls = 0;
  encodes = 0;
  constructor(
    readonly name: string,
    private readonly failEncode = false,
  ) {}
  readonly payload: PayloadCodec = {
    type: 'application/x-protobuf',
    encode: (records) => {
      this.encodes++;
      if (this.failEncode) throw new Error('codec broken');
      return encodeLogsProto(records);
    },
    export: async (payload, records): Promise<ExportResult> => {
      this.payloads.push(payload);
      this.counts.push(records);
      for (const rl of officialDecode(payload).resourceLogs ?? [])
        for (const lr of rl.scopeLogs?.[0]?.logRecords ?? []) this.bodies.push(lr.body?.stringValue ?? '');
      return { code: 'success' };
    },
  };
  async export(records: KataLogRecord[]): Promise<ExportResult> {
    this.recordCalls++;
    for (const r of records) this.bodies.push(r.body);
    return { code: 'success' };
  }
  async shutdown(): Promise<void> {}
}

const bodies = (n: number, start = 0) => makeRecords(n, start).map((r) => r.body);
const opened: { close(): Promise<void> }[] = [];
const dirs: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const q of opened.splice(0)) await q.close();
  for (const cleanup of dirs.splice(0)) await cleanup();
});
async function newDir(): Promise<string> {
  const { dir, cleanup } = await tempDir();
  dirs.push(cleanup);
  return dir;
}

async function disk(dir: string, exporter: Exporter, extra = {}) {
  const q = await DiskQueue.open({ maxBatchRecords: 100, fsync: 'always', ...extra }, exporter, {
    dataDir: dir,
    logger: captureLogger().logger,
    metrics: new Metrics(),
  });
  opened.push(q);
  return q;
}

async function bodyKinds(dir: string, name: string): Promise<string[]> {
  const qdir = join(dir, 'queue', name);
  const kinds: string[] = [];
  for (const f of (await readdir(qdir)).filter((n) => n.endsWith('.seg'))) {
    const buf = await readFile(join(qdir, f));
    for (const fr of scanFrames(buf).frames)
      kinds.push(buf[fr.offset + FRAME_HEADER_BYTES + 4] === 0x0a ? 'otlp' : 'json');
  }
  return kinds;
}

describe('payload codec in the delivery queue', () => {
  it('disk: writes protobuf frames and sends the queued bytes, batches concatenated into one request', async () => {
    const dir = await newDir();
    const ex = new PayloadExporter('otlp');
    const q = await disk(dir, ex);
    await q.append(makeRecords(30));
    await q.append(makeRecords(30, 30));
    await q.append(makeRecords(30, 60));
    expect(await bodyKinds(dir, 'otlp')).toEqual(['otlp', 'otlp', 'otlp']);
    q.start();
    expect(await q.drain(10_000)).toBe(true);
    expect(ex.bodies).toEqual(bodies(90));
    expect(ex.counts.reduce((a, b) => a + b, 0)).toBe(90);
    expect(ex.payloads.length).toBeLessThan(3); // merged up to maxBatchRecords
    expect(ex.recordCalls).toBe(0);
  });

  it('disk: after a restart the payloads are read back from the segment and sent as they are', async () => {
    const dir = await newDir();
    const first = await disk(dir, new PayloadExporter('otlp'));
    await first.append(makeRecords(40));
    await first.close();
    opened.splice(0);
    const ex = new PayloadExporter('otlp');
    const q = await disk(dir, ex);
    q.start();
    expect(await q.drain(10_000)).toBe(true);
    expect(ex.bodies).toEqual(bodies(40));
    expect(ex.recordCalls).toBe(0);
    expect(ex.encodes).toBe(0); // the bytes on disk were sent, not records decoded and encoded again
  });

  it('disk: JSON frames of an exporter without a codec are encoded for one with a codec, and the other way round', async () => {
    const dir = await newDir();
    const plain = await disk(dir, new ScriptedExporter('x'));
    await plain.append(makeRecords(10));
    await plain.close();
    opened.splice(0);
    const withCodec = new PayloadExporter('x');
    const q1 = await disk(dir, withCodec);
    await q1.append(makeRecords(10, 10));
    expect((await bodyKinds(dir, 'x')).sort()).toEqual(['json', 'otlp']);
    q1.start();
    expect(await q1.drain(10_000)).toBe(true);
    expect(withCodec.bodies).toEqual(bodies(20));

    const q2 = await disk(dir, new PayloadExporter('y'));
    await q2.append(makeRecords(5, 100));
    await q2.close();
    opened.splice(0);
    const noCodec = new ScriptedExporter('y');
    const q3 = await disk(dir, noCodec);
    q3.start();
    expect(await q3.drain(10_000)).toBe(true);
    expect(noCodec.accepted).toEqual(bodies(5, 100));
  });

  it('memory: keeps the payload, bounded by its size; a failing codec keeps the records', async () => {
    const deps = { logger: captureLogger().logger, metrics: new Metrics() };
    const ex = new PayloadExporter('m');
    const q = new MemoryQueue({ maxBatchRecords: 50 }, ex, deps);
    opened.push(q);
    await q.append(makeRecords(80));
    expect(q.depth().bytes).toBe(encodeLogsProto(makeRecords(50)).length + encodeLogsProto(makeRecords(30, 50)).length);
    q.start();
    expect(await q.drain(10_000)).toBe(true);
    expect(ex.bodies).toEqual(bodies(80));

    const broken = new PayloadExporter('b', true);
    const qb = new MemoryQueue({}, broken, deps);
    opened.push(qb);
    await qb.append(makeRecords(3));
    qb.start();
    expect(await qb.drain(10_000)).toBe(true);
    // The records stayed records; sending them needs the (broken) codec too, so they are refused and counted.
    expect(broken.bodies).toEqual([]);
    expect(qb.depth().records).toBe(0);
  });
});
