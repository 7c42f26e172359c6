// Progress of a `run --once` import: on a pseudo-terminal (util-linux `script`) a progress bar is drawn; without
// one, status lines go to the log. The backend is slowed (test server rate limit) so the import lasts a few
// seconds.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../support/cli.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import { kataLines, tempDir, writeReceiverConfig } from './delivery-helpers.js';

let srv: OtlpTestServer;
beforeAll(async () => {
  srv = await startOtlpServer();
});
afterAll(async () => srv?.stop());

function importConfig(dir: string): { cfg: string } {
  const log = join(dir, 'shim.log');
  writeFileSync(log, kataLines(0, 400));
  const dataDir = join(dir, 'data');
  const queue = { max_batch_records: 20 };
  return {
    cfg: writeReceiverConfig(dir, { dataDir, endpoint: srv.grpcEndpoint, include: [log], queue, telemetry: false }),
  };
}

const hasScript = spawnSync('script', ['--version']).status === 0;

describe('run --once progress', () => {
  it.skipIf(!hasScript)(
    'draws a progress bar on a pseudo-terminal',
    async () => {
      await srv.reset();
      await srv.setRate(200, 'delay');
      const { cfg } = importConfig(tempDir());
      const cmd = `${process.execPath} --import tsx test/support/cli-main.ts run --once --config ${cfg}`;
      const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
      await srv.setRate(null);
      expect(r.status, r.stdout.slice(-2000)).toBe(0);
      // cli-progress redraws the line: several frames, the last at 100 %, with the status fields.
      const frames = r.stdout.match(/import \[[^\]]+\] \d+% \| [^\r\n\x1b]*/g) ?? [];
      expect(frames.length).toBeGreaterThan(1);
      expect(frames.at(-1)).toMatch(
        /import \[█+\] 100% \| 400 lines .*records, 400 exported, 0\.0 MiB left, ETA \d+s, queue 0, export backend=delivering/,
      );
    },
    90_000,
  );

  it('logs status lines when stderr is not a terminal', async () => {
    await srv.reset();
    await srv.setRate(200, 'delay');
    const { cfg } = importConfig(tempDir());
    const r = await runCli(['run', '--once', '--config', cfg], { env: { KATA_OTEL_PROGRESS_INTERVAL_MS: '300' } });
    await srv.setRate(null);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const lines = r.stderr
      .split('\n')
      .filter((l) => l.includes('"msg":"import progress"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(1);
    expect(Object.keys(lines[0]!)).toEqual(
      expect.arrayContaining(['lines', 'linesPerSecond', 'records', 'bytesLeft', 'etaSeconds', 'queued', 'exporters']),
    );
    expect(lines.at(-1)).toMatchObject({ lines: 400, exported: 400, bytesLeft: 0, queued: 0 });
  }, 90_000);
});
