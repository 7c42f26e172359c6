// Bad input to `kata-otel run` gets a clear error and an exit code, never a crash or a stack trace.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('kata-otel run: errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kata-otel-err-'));

  it('an invalid config file names the file, line, key, bad value and the fix', async () => {
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, 'exporters:\n  - type: otlp\n    protocol: grcp\n    endpoint: http://127.0.0.1:4317\n');
    const res = await runCli(['run', '--once', '--config', cfg]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${cfg}:3`);
    expect(res.stderr).toContain('exporters[0].protocol');
    expect(res.stderr).toContain('"grcp"');
    expect(res.stderr).toMatch(/did you mean "grpc"/);
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('an unknown key is an error with a suggestion', async () => {
    const cfg = join(dir, 'typo.yaml');
    writeFileSync(cfg, 'pipeline:\n  dedup:\n    enabled: false\n');
    const res = await runCli(['run', '--once', '--config', cfg]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/pipeline\.dedup/);
    expect(res.stderr).toMatch(/dedupe/);
  });

  it('a config file that does not exist is named', async () => {
    const res = await runCli(['run', '--once', '--config', join(dir, 'missing.yaml')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('missing.yaml');
  });

  it('a missing input file gives a clear error and exit 2, not a crash', async () => {
    const res = await runCli(['run', '--once', '--data-dir', join(dir, 'data'), '/nonexistent/kata.log']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('/nonexistent/kata.log');
    expect(res.stderr).toMatch(/not found/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });
});
