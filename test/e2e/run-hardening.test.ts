// `kata-otel run` hardening (issue 11), through the real CLI: --once with a dead backend exits non-zero within its
// deadline saying what stays undelivered and where; a password in the endpoint URL is never printed; TLS
// verification switched off is warned about; an unsafe data directory is refused with the fix.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kata-otel-hard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A loopback port nothing listens on (bound, then closed): every export is refused. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe('kata-otel run: hardening', () => {
  it('--once with a dead backend exits 1 within --once-timeout, naming the undelivered records and their queue; the URL password is never printed; skip-verify is warned about', async () => {
    const port = await deadPort();
    const cfg = join(dir, 'dead.yaml');
    writeFileSync(
      cfg,
      [
        'exporters:',
        '  - type: otlp',
        '    name: collector',
        '    protocol: http/protobuf',
        `    endpoint: https://alice:s3cr3t-pw@127.0.0.1:${port}/v1/logs`,
        '    tls: { insecure_skip_verify: true }',
        'queue: { retry: { initial_ms: 50, max_ms: 200 } }',
        '',
      ].join('\n'),
    );
    const data = join(dir, 'data-dead');
    const t0 = Date.now();
    const res = await runCli([
      'run',
      '--once',
      '--once-timeout',
      '3s',
      '--config',
      cfg,
      '--data-dir',
      data,
      join(REPO, 'examples/logs/runtime-logfmt.log'),
    ]);
    const took = Date.now() - t0;
    expect(res.code, res.stderr).toBe(1);
    expect(took).toBeLessThan(3000 + 15_000); // the deadline, plus start-up and shutdown of a tsx child
    const queueDir = join(data, 'queue', 'collector');
    expect(res.stderr).toMatch(
      new RegExp(`did not finish within 3000 ms.*\\d+ records for collector .* wait in ${queueDir}`),
    );
    expect(readdirSync(queueDir).some((f) => f.endsWith('.seg'))).toBe(true);
    const all = res.stdout + res.stderr;
    expect(all).not.toContain('s3cr3t-pw');
    expect(all).not.toContain('alice');
    expect(res.stderr).toMatch(/TLS certificate verification is off \(tls.insecure_skip_verify\)/);
  }, 60_000);

  it('refuses a data directory writable by others, with the path, the mode and the fix (exit 2)', async () => {
    const data = join(dir, 'data-open');
    mkdirSync(data);
    chmodSync(data, 0o777);
    const res = await runCli(['run', '--once', '--data-dir', data, join(REPO, 'examples/logs/runtime-logfmt.log')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`data directory ${data} has mode 0777`);
    expect(res.stderr).toContain(`chmod 0700 ${data}`);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });
});
