import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStore } from '../../receiver/exporters/store.js';
import { startArchiver } from '../../receiver/archive/daemon.js';
import { readManifest, sha256File } from '../../receiver/archive/archive.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { runCli } from '../support/cli.js';
import { generateRecords, planSandboxes, writeStoreDir, type GenOptions } from '../../bench/store-gen.js';

const root = mkdtempSync(join(tmpdir(), 'kata-otel-archive-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const now = Date.now();
const GEN: GenOptions = {
  sandboxes: 10,
  perSandbox: 50,
  startMs: now - 12 * 86_400_000,
  spanMs: 10 * 86_400_000,
  seed: 3,
};
const SBS = planSandboxes(GEN);
const base = join(root, 'base');

/** Store files get the mtime of their last record, as if written then. */
function ageFiles(dir: string) {
  for (const n of readdirSync(dir)) {
    const lines = readFileSync(join(dir, n), 'utf8').trim().split('\n');
    const last = JSON.parse(lines.at(-1)!) as {
      resourceLogs: { scopeLogs: { logRecords: { timeUnixNano: string }[] }[] }[];
    };
    const t = Math.max(
      ...last.resourceLogs.flatMap((r) =>
        r.scopeLogs.flatMap((s) => s.logRecords.map((l) => Number(BigInt(l.timeUnixNano) / 1_000_000n))),
      ),
    );
    utimesSync(join(dir, n), t / 1000, t / 1000);
  }
}

beforeAll(() => {
  writeStoreDir(join(base, 'store'), generateRecords(GEN), { batch: 20, fileRecords: 50 });
  ageFiles(join(base, 'store'));
});

const sortedLines = (s: string) => s.trim().split('\n').filter(Boolean).sort();
let n = 0;
const fresh = () => {
  const d = join(root, `d${n++}`);
  cpSync(base, d, { recursive: true, preserveTimestamps: true });
  return d;
};

describe('kata-otel archive', () => {
  it('round trip: archived records are found by query with identical content; store files removed; manifest verifiable', async () => {
    const d = fresh();
    const before = await runCli(['query', '--data-dir', d, '--format', 'jsonl']);
    const oneSb = await runCli(['query', '--data-dir', d, '--format', 'jsonl', '--sandbox', SBS[1]!.id]);
    const iso = (daysAgo: number) => new Date(now - daysAgo * 86_400_000).toISOString();
    const window = ['--since', iso(9), '--until', iso(8), '--severity', '>=warn'];
    const winBefore = await runCli(['query', '--data-dir', d, '--format', 'jsonl', ...window]);
    const storeBefore = readdirSync(join(d, 'store')).length;
    const oldRecords: unknown[] = [];
    for await (const r of readStore(join(d, 'store')))
      if (Number(r.timeUnixNano / 1_000_000n) < now - 7 * 86_400_000) oldRecords.push(r);

    const a = await runCli(['archive', '--data-dir', d, '--older-than', '7d']);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/records from \d+ store files into archive-.*\.parquet/);
    const m = await readManifest(join(d, 'archive'));
    expect(m.files).toHaveLength(1);
    const e = m.files[0]!;
    expect(readdirSync(join(d, 'store')).length).toBe(storeBefore - e.sources.length);
    for (const s of e.sources) expect(existsSync(join(d, 'store', s))).toBe(false);
    expect(e.rows).toBeGreaterThanOrEqual(oldRecords.length);
    expect(e.sha256).toBe(await sha256File(join(d, 'archive', e.file)));
    expect(
      readFileSync(join(d, 'archive', e.file))
        .subarray(0, 4)
        .toString(),
    ).toBe('PAR1');

    const after = await runCli(['query', '--data-dir', d, '--format', 'jsonl']);
    expect(after.code).toBe(0);
    expect(sortedLines(after.stdout)).toEqual(sortedLines(before.stdout));
    const oneAfter = await runCli(['query', '--data-dir', d, '--format', 'jsonl', '--sandbox', SBS[1]!.id]);
    expect(sortedLines(oneAfter.stdout)).toEqual(sortedLines(oneSb.stdout));
    const winAfter = await runCli(['query', '--data-dir', d, '--format', 'jsonl', ...window]);
    expect(sortedLines(winBefore.stdout).length).toBeGreaterThan(0);
    expect(sortedLines(winAfter.stdout)).toEqual(sortedLines(winBefore.stdout));
    const sql = await runCli([
      'query',
      '--data-dir',
      d,
      '--format',
      'jsonl',
      '--sql',
      'SELECT count(*) AS n FROM records',
    ]);
    expect(JSON.parse(sql.stdout)).toEqual({ n: sortedLines(before.stdout).length });

    const v = await runCli(['archive', '--data-dir', d, '--verify']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/1 archive files verified/);
    // Nothing old enough left: a second run archives nothing and keeps the manifest.
    const again = await runCli(['archive', '--data-dir', d, '--older-than', '7d']);
    expect(again.stdout).toMatch(/nothing old enough/);
    expect((await readManifest(join(d, 'archive'))).files).toHaveLength(1);
  }, 120_000);

  it('a corrupted archive file is reported by query and --verify (exit 3), not skipped', async () => {
    const d = fresh();
    await runCli(['archive', '--data-dir', d, '--older-than', '7d']);
    const e = (await readManifest(join(d, 'archive'))).files[0]!;
    const path = join(d, 'archive', e.file);
    const buf = readFileSync(path);
    const mid = Math.floor(buf.length / 2);
    buf[mid] = buf[mid]! ^ 0xff;
    writeFileSync(path, buf);
    const q = await runCli(['query', '--data-dir', d, '--format', 'jsonl']);
    expect(q.code).toBe(3);
    expect(q.stderr).toContain(e.file);
    expect(q.stderr).toMatch(/sha256 .* does not match the manifest/);
    const v = await runCli(['archive', '--data-dir', d, '--verify']);
    expect(v.code).toBe(3);
    rmSync(path);
    const gone = await runCli(['query', '--data-dir', d, '--sandbox', SBS[0]!.id]);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toMatch(/cannot read it/);
  }, 120_000);

  it('archive retention deletes archives past --max-age; the daemon option runs archive in a child process', async () => {
    const d = fresh();
    const arch = startArchiver({
      dataDir: d,
      afterMs: 7 * 86_400_000,
      intervalMs: 3_600_000,
      maxAgeMs: 0,
      logger: silentLogger,
    });
    try {
      expect(await arch.runNow()).toBe(0);
    } finally {
      arch.stop();
    }
    const m = await readManifest(join(d, 'archive'));
    expect(m.files).toHaveLength(1);
    const r = await runCli(['archive', '--data-dir', d, '--older-than', '30d', '--max-age', '1d']);
    expect(r.stdout).toMatch(/1 archive files expired/);
    expect((await readManifest(join(d, 'archive'))).files).toHaveLength(0);
    expect(readdirSync(join(d, 'archive')).filter((f) => f.endsWith('.parquet'))).toEqual([]);
  }, 120_000);
});
