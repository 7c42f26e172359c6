import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStoreExporter, listStoreFiles, readStore, type StoreSettings } from '../../receiver/exporters/store.js';
import { loadConfig } from '../../receiver/config/index.js';
import type { StoreExporterConfig } from '../../receiver/config/index.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SUBSYSTEM,
  ATTR_LOG_RECORD_UID,
  ATTR_PROCESS_PID,
  ATTR_SERVICE_NAME,
  EVENT_KATA_ALERT,
} from '../../receiver/semconv/generated.js';

const root = mkdtempSync(join(tmpdir(), 'kata-otel-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `s${n++}`, 'store');

const SANDBOX = '54632572e15297178d78997f88f8e7e4b66d1568c16a89e038e096aca0298c4a';
let uid = 0;
/** A realistic record (from the runtime-logfmt corpus shape), unique by log.record.uid. */
function record(body = 'loaded configuration', extra: Partial<KataLogRecord> = {}): KataLogRecord {
  uid++;
  return {
    timeUnixNano: 1_621_305_810_651_734_009n + BigInt(uid),
    observedTimeUnixNano: 1_621_305_811_000_000_000n + BigInt(uid),
    severityNumber: 9,
    severityText: 'info',
    body,
    attributes: {
      [ATTR_SERVICE_NAME]: 'kata-runtime',
      [ATTR_KATA_SANDBOX_ID]: SANDBOX,
      [ATTR_KATA_COMPONENT]: 'runtime',
      [ATTR_KATA_SUBSYSTEM]: 'katautils',
      [ATTR_PROCESS_PID]: 1_614_807,
      [ATTR_CONTAINER_ID]: 'c0ffee',
      [ATTR_LOG_RECORD_UID]: `uid-${String(uid).padStart(6, '0')}`,
    },
    ...extra,
  };
}
const batch = (k: number, body?: string) => Array.from({ length: k }, () => record(body));

async function readAll(dir: string, errors?: string[]): Promise<KataLogRecord[]> {
  const out: KataLogRecord[] = [];
  for await (const r of readStore(dir, { onError: (m) => errors?.push(m) })) out.push(r);
  return out;
}

function settings(dir: string, over: Partial<StoreSettings> = {}): StoreSettings {
  return {
    directory: dir,
    maxFileBytes: 64 << 20,
    maxFileAgeMs: 3_600_000,
    maxAgeMs: 7 * 86_400_000,
    maxTotalBytes: 1 << 30,
    ...over,
  };
}

/** A clock the test moves. */
function clock(start = Date.now()) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('store exporter', () => {
  it('writes Collector file-exporter lines that read back record for record, in order', async () => {
    const dir = freshDir();
    const store = createStoreExporter(settings(dir), { checkIntervalMs: 0 });
    const first = [
      record('ünïcode body\nwith a second line'),
      record('alert', { eventName: EVENT_KATA_ALERT, severityNumber: 17, severityText: 'ERROR' }),
      record('traced', { traceId: '0123456789abcdef0123456789abcdef', spanId: '0123456789abcdef' }),
    ];
    const second = batch(5);
    expect(await store.export(first)).toEqual({ code: 'success' });
    expect(await store.export([])).toEqual({ code: 'success' });
    expect(await store.export(second)).toEqual({ code: 'success' });
    await store.shutdown();

    const files = await listStoreFiles(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^logs-\d{8}T\d{9}Z-\d{6}\.jsonl$/);
    const lines = readFileSync(join(dir, files[0]!), 'utf8').split('\n');
    expect(lines).toHaveLength(3); // two requests + final newline
    for (const l of lines.slice(0, 2)) expect(Object.keys(JSON.parse(l))).toEqual(['resourceLogs']);
    expect(await readAll(dir)).toEqual([...first, ...second]);
  });

  it('creates the directory 0700 and files 0600', async () => {
    const dir = freshDir();
    const store = createStoreExporter(settings(dir), { checkIntervalMs: 0 });
    await store.export(batch(1));
    await store.shutdown();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
  });

  it('rotates by size: no file grows past max_file_bytes (unless one request is bigger)', async () => {
    const dir = freshDir();
    const store = createStoreExporter(settings(dir, { maxFileBytes: 4096 }), { checkIntervalMs: 0 });
    const written: KataLogRecord[] = [];
    for (let i = 0; i < 20; i++) {
      const b = batch(2);
      written.push(...b);
      expect((await store.export(b)).code).toBe('success');
    }
    const big = batch(40); // one request larger than a file: it gets a file of its own
    written.push(...big);
    await store.export(big);
    await store.shutdown();
    const files = await listStoreFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    const seqs = files.map((f) => Number(/-(\d+)\.jsonl$/.exec(f)![1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const sizes = files.map((f) => statSync(join(dir, f)).size);
    expect(sizes.slice(0, -1).every((s) => s <= 4096)).toBe(true);
    expect(sizes.at(-1)!).toBeGreaterThan(4096);
    expect(await readAll(dir)).toEqual(written);
  });

  it('rotates by age, on the next write and on the maintenance timer', async () => {
    const dir = freshDir();
    const c = clock();
    const store = createStoreExporter(settings(dir, { maxFileAgeMs: 60_000 }), { now: c.now, checkIntervalMs: 0 });
    await store.export(batch(1));
    c.advance(59_999);
    await store.export(batch(1));
    expect(await listStoreFiles(dir)).toHaveLength(1);
    c.advance(1);
    await store.export(batch(1)); // the file is 60 s old: a new one
    expect(await listStoreFiles(dir)).toHaveLength(2);
    c.advance(60_000);
    await store.maintainNow(); // idle: the timer closes the old file
    await store.export(batch(1));
    const files = await listStoreFiles(dir);
    expect(files).toHaveLength(3);
    // names carry the (injected) creation time
    expect(files[2]!.slice(5, 24)).toBe(new Date(c.now()).toISOString().replace(/[-:.]/g, ''));
    await store.shutdown();
    expect(await readAll(dir)).toHaveLength(4);
  });

  it('retention by total bytes deletes the oldest files first, keeping the newest records', async () => {
    const dir = freshDir();
    const store = createStoreExporter(settings(dir, { maxFileBytes: 2048, maxTotalBytes: 8192 }), {
      checkIntervalMs: 0,
    });
    const written: KataLogRecord[][] = [];
    for (let i = 0; i < 40; i++) {
      const b = batch(1, `record ${i}`);
      written.push(b);
      await store.export(b);
    }
    await store.shutdown();
    const files = await listStoreFiles(dir);
    const total = files.reduce((s, f) => s + statSync(join(dir, f)).size, 0);
    expect(total).toBeLessThanOrEqual(8192 + 2048); // the budget, plus the file being written at the last check
    const kept = await readAll(dir);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(40);
    expect(kept).toEqual(written.flat().slice(40 - kept.length)); // a suffix: the oldest went first
    expect(Number(/-(\d+)\.jsonl$/.exec(files[0]!)![1])).toBeGreaterThan(0);
  });

  it('retention by age deletes files last written before max_age_ms, never the open file', async () => {
    const dir = freshDir();
    const c = clock();
    const store = createStoreExporter(settings(dir, { maxFileAgeMs: 1000, maxAgeMs: 86_400_000 }), {
      now: c.now,
      checkIntervalMs: 0,
    });
    await store.export(batch(1, 'old'));
    c.advance(1000);
    await store.export(batch(1, 'middle'));
    c.advance(1000);
    await store.export(batch(1, 'new'));
    let files = await listStoreFiles(dir);
    expect(files).toHaveLength(3);
    // the first file was last written two days ago, the second an hour ago
    const dayAgo = (d: number) => (c.now() - d) / 1000;
    utimesSync(join(dir, files[0]!), dayAgo(2 * 86_400_000), dayAgo(2 * 86_400_000));
    utimesSync(join(dir, files[1]!), dayAgo(3_600_000), dayAgo(3_600_000));
    await store.maintainNow();
    expect(await listStoreFiles(dir)).toEqual(files.slice(1));
    // the open file is never deleted, however old its last write looks
    utimesSync(join(dir, files[2]!), dayAgo(2 * 86_400_000), dayAgo(2 * 86_400_000));
    await store.maintainNow();
    expect(await listStoreFiles(dir)).toEqual(files.slice(1));
    // much later the open file is past max_file_age_ms: closed, and like the rest expired
    c.advance(10 * 86_400_000);
    await store.maintainNow();
    files = await listStoreFiles(dir);
    expect(files).toEqual([]);
    await store.shutdown();
  });

  it('runs retention on its own timer', async () => {
    const dir = freshDir();
    const c = clock();
    const store = createStoreExporter(settings(dir, { maxFileAgeMs: 1000, maxAgeMs: 5000 }), {
      now: c.now,
      checkIntervalMs: 20,
    });
    await store.export(batch(1));
    c.advance(2000);
    await store.export(batch(1)); // rotated: the first file is closed
    const first = (await listStoreFiles(dir))[0]!;
    utimesSync(join(dir, first), (c.now() - 10_000) / 1000, (c.now() - 10_000) / 1000);
    await expect
      .poll(async () => (await listStoreFiles(dir)).includes(first), { timeout: 5000, interval: 20 })
      .toBe(false);
    await store.shutdown();
  });

  it('continues numbering after a restart and skips a torn last line', async () => {
    const dir = freshDir();
    const a = createStoreExporter(settings(dir), { checkIntervalMs: 0 });
    const one = batch(3);
    await a.export(one);
    await a.shutdown();
    const [file] = await listStoreFiles(dir);
    appendFileSync(join(dir, file!), '{"resourceLogs":[{"resource":{'); // crash mid-write
    const b = createStoreExporter(settings(dir), { checkIntervalMs: 0 });
    const two = batch(2);
    await b.export(two);
    await b.shutdown();
    const files = await listStoreFiles(dir);
    expect(files.map((f) => f.slice(-12))).toEqual(['000000.jsonl', '000001.jsonl']);
    const errors: string[] = [];
    expect(await readAll(dir, errors)).toEqual([...one, ...two]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^${file}:2: `));
  });

  it('keeps concurrent exports whole and in one file each line', async () => {
    const dir = freshDir();
    const store = createStoreExporter(settings(dir, { maxFileBytes: 8192 }), { checkIntervalMs: 0 });
    const batches = Array.from({ length: 30 }, () => batch(3));
    const results = await Promise.all(batches.map((b) => store.export(b)));
    expect(results.every((r) => r.code === 'success')).toBe(true);
    await store.shutdown();
    const byUid = (r: KataLogRecord) => String(r.attributes[ATTR_LOG_RECORD_UID]);
    const got = await readAll(dir);
    expect(got.map(byUid).sort()).toEqual(batches.flat().map(byUid).sort());
  });

  it('reports a directory it cannot create as retryable, and never throws', async () => {
    writeFileSync(join(root, 'not-a-dir'), 'x');
    const store = createStoreExporter(settings(join(root, 'not-a-dir', 'store')), { checkIntervalMs: 0 });
    const r = await store.export(batch(1));
    expect(r.code).toBe('retryable');
    expect(r.code === 'retryable' && r.error).toContain('ENOTDIR');
    await store.shutdown();
    expect((await store.export(batch(1))).code).toBe('retryable');
  });

  it('takes its settings from the loaded configuration', async () => {
    const dataDir = join(root, `s${n++}`);
    const cfg = loadConfig(undefined, { data_dir: dataDir }, { env: {} });
    const entry = cfg.exporters[0] as StoreExporterConfig;
    const store = createStoreExporter(entry, { checkIntervalMs: 0 });
    expect(store.name).toBe('store');
    await store.export(batch(2));
    await store.shutdown();
    expect(await readAll(join(dataDir, 'store'))).toHaveLength(2);
  });
});
