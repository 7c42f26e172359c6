// The store on a really full file system (a 256 KiB tmpfs, mounted for the test: needs root): a failed write
// is cut back and the same file reused, so retries leave neither torn lines nor an empty file each.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreExporter, readStore } from '../../receiver/exporters/store.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { makeRecords } from '../queue/helpers.js';

const mnt = mkdtempSync(join(tmpdir(), 'kata-otel-full-'));
let mounted = false;
let whyNot = '';
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mnt], { stdio: 'pipe' });
  mounted = true;
} catch (err) {
  whyNot = `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]}): needs root`;
}
beforeAll(() => {
  if (!mounted) console.warn(`full-disk store test skipped: ${whyNot}`);
});
afterAll(() => {
  if (mounted) execFileSync('umount', [mnt]);
  rmSync(mnt, { recursive: true, force: true });
});

describe.skipIf(!mounted)('store on a full disk', () => {
  it('reuses its file after a failed write, truncates the torn tail, and writes again once space is back', async () => {
    const dir = join(mnt, 'store');
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(64 * 1024)); // removed later, to give space back
    const store = createStoreExporter(
      { directory: dir, maxFileBytes: 1 << 30, maxFileAgeMs: 3_600_000, maxAgeMs: 86_400_000, maxTotalBytes: 1 << 30 },
      { checkIntervalMs: 0 },
    );
    const written: KataLogRecord[] = [];
    let n = 0;
    // Fill the disk with records until a write fails.
    let failure: string | undefined;
    for (let i = 0; i < 1000 && !failure; i++) {
      const batch = makeRecords(20, n, 'fill');
      n += 20;
      const r = await store.export(batch);
      if (r.code === 'success') written.push(...batch);
      else failure = r.error;
    }
    expect(failure).toMatch(/ENOSPC/);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    // Retries while the disk is still full: no new file per retry, no empty file.
    for (let i = 0; i < 5; i++) expect((await store.export(makeRecords(20, n, 'retry'))).code).toBe('retryable');
    expect(readdirSync(dir)).toEqual(files);
    // Space comes back: the next export lands, in the same file.
    unlinkSync(filler);
    const later = makeRecords(20, n, 'later');
    expect((await store.export(later)).code).toBe('success');
    written.push(...later);
    expect(readdirSync(dir)).toEqual(files);
    await store.shutdown();
    const errors: string[] = [];
    const back: string[] = [];
    for await (const r of readStore(dir, { onError: (m) => errors.push(m) })) back.push(String(r.body));
    expect(errors, errors.join('; ').slice(0, 300)).toEqual([]); // no torn line left behind
    expect(back).toEqual(written.map((r) => String(r.body)));
  });
});
