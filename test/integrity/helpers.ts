// Helpers of the integrity tests that run the receiver as a child process.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { decodeLogsJson } from '../../receiver/otlp/index.js';
import { waitFor } from '../e2e/delivery-helpers.js';

/** The bodies of every record in a store directory, file by file in write order (torn lines skipped). */
export function storeBodies(store: string): string[] {
  const bodies: string[] = [];
  if (!existsSync(store)) return bodies;
  for (const f of readdirSync(store).sort())
    for (const line of readFileSync(join(store, f), 'utf8').split('\n'))
      if (line.trim()) for (const r of decodeLogsJson(line, () => {})) bodies.push(r.body);
  return bodies;
}

/** `<dir>/kata-otel.yaml` for a chained run following `log` from its beginning into `exporters`; returns its path. */
export function integrityRunConfig(dir: string, log: string, exporters: object[], extra: object = {}): string {
  const config = join(dir, 'kata-otel.yaml');
  writeFileSync(
    config,
    stringify({
      data_dir: join(dir, 'data'),
      sources: { files: [{ include: [log], start_at: 'beginning', poll_interval_ms: 50 }] },
      pipeline: { rules: { enabled: false } },
      exporters,
      queue: { max_batch_records: 200, fsync: 'interval', fsync_interval_ms: 20, retry: { initial_ms: 50 } },
      integrity: { checkpoint_every_records: 500 },
      telemetry: { listen: '127.0.0.1:0' },
      ...extra,
    }),
  );
  return config;
}

/** Resolves once every numbered line (`seq …`, delivery-helpers kataLines) 0 … n-1 is in the store. */
export function storeHolds(store: string, n: number): Promise<boolean> {
  return waitFor(
    'every line in the store',
    () => new Set(storeBodies(store).filter((b) => b.startsWith('seq '))).size === n,
    60_000,
    200,
  );
}
