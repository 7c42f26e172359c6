// Damaged disk-queue segments: a receiver reads 6,000 records while the backend is down, so they all wait in
// <data_dir>/queue/backend/, and is killed with SIGKILL. Then one segment is truncated in the middle of a frame (what
// a crash mid-write or a full disk leaves) and one has a bit flipped inside a frame's payload (bad disk, bad RAM).
// The next start recovers: the damage is counted in kata_otel_queue_corrupt_{bytes,regions}_total, the records of
// the damaged frames are gone, and every other record is delivered, once. Takes about 10–15 s.
import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFrame, scanFrames } from '../../receiver/queue/codec.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import {
  kataLines,
  metric,
  scrape,
  seqText,
  startReceiver,
  tallyRecords,
  tempDir,
  waitFor,
  writeReceiverConfig,
} from './delivery-helpers.js';

const N = 6000;

interface Frame {
  offset: number;
  length: number;
  bodies: string[];
}

/** The frames of one segment file and the record bodies in each, read with the queue's own codec. */
function framesOf(path: string): Frame[] {
  const buf = readFileSync(path);
  const { frames, damaged } = scanFrames(buf);
  expect(damaged).toEqual([]);
  return frames.map((f) => ({
    offset: f.offset,
    length: f.length,
    bodies: (decodeFrame(buf.subarray(f.offset, f.offset + f.length)) ?? []).map((r) => r.body),
  }));
}

describe('corrupt queue segments', () => {
  const servers: OtlpTestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it('recovers from a truncated and a bit-flipped segment: damage counted, undamaged records delivered', async () => {
    // The backend is down: a server started and stopped, so its port refuses connections until it is back.
    const down = await startOtlpServer();
    servers.push(down);
    await down.stop();

    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const log = join(dir, 'containerd-shim-kata-v2.log');
    writeFileSync(log, kataLines(0, N));
    // Frames of 100 records (~66 KB); each 1,024-record source batch is written as one group into its own segment.
    const config = writeReceiverConfig(dir, {
      dataDir,
      endpoint: down.grpcEndpoint,
      include: [log],
      queue: { max_batch_records: 100, segment_bytes: 512 * 1024 },
    });
    const first = startReceiver(config);
    const t1 = await first.telemetry();
    // Everything durable in the queue and the file checkpoint at its end (so the restart reads nothing again).
    await waitFor(
      'all records queued and the file read',
      async () => {
        const m = await scrape(t1);
        return (
          metric(m, 'kata_otel_queue_records', { exporter: 'backend' }) === N &&
          metric(m, 'kata_otel_records_read_total') === N
        );
      },
      30_000,
    );
    await waitFor(
      'the checkpoint at the end of the file',
      () =>
        Object.values(
          (
            JSON.parse(readFileSync(join(dataDir, 'checkpoints', 'file-0.json'), 'utf8')) as {
              files: Record<string, { offset: number }>;
            }
          ).files,
        )[0]?.offset === Buffer.byteLength(kataLines(0, N)),
      10_000,
    );
    expect((await first.stop('SIGKILL')).signal).toBe('SIGKILL');

    const qdir = join(dataDir, 'queue', 'backend');
    const segs = readdirSync(qdir)
      .filter((n) => n.endsWith('.seg'))
      .sort()
      .map((n) => join(qdir, n));
    expect(segs.length).toBeGreaterThanOrEqual(5);
    const frames = segs.map(framesOf);
    const all = frames.flat().flatMap((f) => f.bodies);
    expect(all.length).toBe(N);

    // Truncate segment 1 in the middle of its third frame: frames 0–1 survive, the rest of the file is gone.
    const cut = frames[1] as Frame[];
    const cutFrame = cut[2] as Frame;
    const cutAt = cutFrame.offset + Math.floor(cutFrame.length / 2);
    truncateSync(segs[1] as string, cutAt);
    const lostToCut = cut.slice(2).flatMap((f) => f.bodies);
    // Flip one bit in the middle of the payload of segment 3's second frame.
    const flipped = (frames[3] as Frame[])[1] as Frame;
    const bytes = readFileSync(segs[3] as string);
    const at = flipped.offset + Math.floor(flipped.length / 2);
    bytes[at] = (bytes[at] as number) ^ 0x04;
    writeFileSync(segs[3] as string, bytes);
    const lost = new Set([...lostToCut, ...flipped.bodies]);
    expect(lost.size).toBeGreaterThan(0);

    // The backend comes back at the same address; the receiver starts again on the damaged queue.
    const up = await startOtlpServer({ grpcPort: down.grpcPort });
    servers.push(up);
    const second = startReceiver(config);
    const t2 = await second.telemetry();
    const expected = N - lost.size;
    await waitFor('the undamaged records at the server', async () => (await up.stats()).records >= expected, 30_000);
    const m = await waitFor(
      'the queue to empty',
      async () => {
        const s = await scrape(t2);
        return metric(s, 'kata_otel_queue_records', { exporter: 'backend' }) === 0 ? s : undefined;
      },
      10_000,
    );
    const res = await second.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);

    // The damage: a torn tail (from the cut to the end of the file) and one damaged frame.
    expect(metric(m, 'kata_otel_queue_corrupt_regions_total', { exporter: 'backend' })).toBe(2);
    expect(metric(m, 'kata_otel_queue_corrupt_bytes_total', { exporter: 'backend' })).toBe(
      cutAt - cutFrame.offset + flipped.length,
    );
    expect(res.stderr).toMatch(/torn write at the end of a queue segment; truncated/);
    expect(res.stderr).toMatch(/damaged frames in a queue segment; skipped/);
    expect(metric(m, 'kata_otel_records_exported_total', { exporter: 'backend' })).toBe(expected);

    // Exactly the undamaged records arrived, each once; nothing was read from the file again.
    const got = (await up.records()).map((r) => r.body as string);
    const want = all.filter((b) => !lost.has(b));
    expect(got.length).toBe(expected);
    expect(new Set(got).size).toBe(expected);
    expect([...got].sort()).toEqual([...want].sort());
    const tally = tallyRecords(up.recordsFile, N);
    expect(tally.missingCount).toBe(lost.size);
    expect(lost.has(seqText(tally.missing[0] as number))).toBe(true);
    console.log(
      `corrupt segments: ${segs.length} segments, ${lost.size} records in damaged frames lost ` +
        `(${lostToCut.length} truncated, ${flipped.bodies.length} bit-flipped), ${expected} delivered once`,
    );
  }, 90_000);
});
