// The store's chain survives SIGKILL: `kata-otel run` (a real child process, follow mode) writes a growing Kata
// log into the store and is killed with SIGKILL at random points three times, restarted each time, then stopped
// with SIGTERM. The chain resumes from the last intact record each time, so `kata-otel verify` finds the store
// clean (a torn last line, a write the kill cut short and never acknowledged, is a note, not tampering), and
// every line read is in the store.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyPaths } from '../../receiver/integrity/verify.js';
import { integrityRunConfig, storeBodies, storeHolds } from './helpers.js';
import { runCli } from '../support/cli.js';
import { appendLines, kataLines, sleep, startReceiver, tempDir, waitFor } from '../e2e/delivery-helpers.js';

const N = 7000;
const KILLS = 3;

describe('integrity across SIGKILL', () => {
  it(`the store verifies clean after ${KILLS} kills and restarts`, async () => {
    const dir = tempDir('kata-otel-integrity-crash-');
    const log = join(dir, 'containerd-shim-kata-v2.log');
    writeFileSync(log, kataLines(0, 1000));
    const config = integrityRunConfig(dir, log, [{ type: 'store' }]);
    const store = join(dir, 'data', 'store');
    const per = (N - 1000) / KILLS;
    for (let k = 0; k < KILLS; k++) {
      const before = storeBodies(store).length;
      const r = startReceiver(config);
      await r.telemetry();
      appendLines(log, 1000 + k * per, 1000 + (k + 1) * per);
      await waitFor('records in the store', () => storeBodies(store).length > before, 30_000, 20);
      await sleep(Math.floor(Math.random() * 400));
      const res = await r.stop('SIGKILL');
      expect(res.signal, res.stderr.slice(-2000)).toBe('SIGKILL');
    }
    const last = startReceiver(config);
    await last.telemetry();
    await storeHolds(store, N);
    const res = await last.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(res.stderr).toContain('integrity chain resumed');

    const result = await verifyPaths({ dataDir: join(dir, 'data'), paths: [] });
    expect(result.findings.filter((f) => f.tampering)).toEqual([]);
    expect(result.streams).toHaveLength(1); // one stream, resumed, not restarted
    expect(result.streams[0]!.first).toBe(1);
    expect(result.streams[0]!.last).toBe(result.streams[0]!.records); // no gaps
    const cli = await runCli(['verify', '--data-dir', join(dir, 'data')]);
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
  }, 120_000);
});
