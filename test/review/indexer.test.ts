import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStoreExporter, listStoreFiles } from '../../receiver/exporters/store.js';
import { startIndexer } from '../../receiver/query/indexer.js';
import { StoreIndex } from '../../receiver/query/store-index.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { generateRecords } from '../../bench/store-gen.js';

const root = mkdtempSync(join(tmpdir(), 'kata-otel-indexer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the daemon indexer', () => {
  it('indexes what the store exporter writes, pass by pass, touching only files that grew', async () => {
    const storeDir = join(root, 'store');
    const indexDir = join(root, 'index');
    const store = createStoreExporter(
      {
        directory: storeDir,
        maxFileBytes: 40_000,
        maxFileAgeMs: 3_600_000,
        maxAgeMs: 86_400_000,
        maxTotalBytes: 1 << 30,
      },
      { checkIntervalMs: 0 },
    );
    const recs = [...generateRecords({ sandboxes: 4, perSandbox: 40, startMs: Date.now(), spanMs: 60_000 })];
    const indexer = startIndexer({ storeDir, indexDir, intervalMs: 3_600_000, logger: silentLogger });
    const covered = (name: string) =>
      (JSON.parse(readFileSync(join(indexDir, `${name}.idx.json`), 'utf8')) as { size: number }).size;
    try {
      for (let i = 0; i < recs.length; i += 20) {
        expect((await store.export(recs.slice(i, i + 20))).code).toBe('success');
        await indexer.runNow();
        for (const name of await listStoreFiles(storeDir))
          expect(covered(name)).toBe(statSync(join(storeDir, name)).size);
      }
      expect((await listStoreFiles(storeDir)).length).toBeGreaterThan(2);
      // A second pass with nothing new indexes nothing; a query's refresh agrees with what the daemon wrote.
      const idx = new StoreIndex(storeDir, indexDir, { keepInMemory: false });
      expect(await idx.refreshChanged()).toBeGreaterThan(0);
      expect(await idx.refreshChanged()).toBe(0);
      const files = await new StoreIndex(storeDir, indexDir).refresh();
      expect(files.reduce((n, f) => n + f.off.length, 0)).toBe(Math.ceil(recs.length / 20));
    } finally {
      indexer.stop();
      await store.shutdown();
    }
  });
});
