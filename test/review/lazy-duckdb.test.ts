// DuckDB (a native library of tens of MB) is loaded only by `query --sql` and `archive`: plain queries and the
// receiver never load it. The packages a real CLI process loaded are read from require.cache at exit.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kata-otel-lazy-duck-'));
const hook = join(dir, 'packages.cjs');
writeFileSync(
  hook,
  `process.on('exit', () => {
  const names = Object.keys(require.cache).map((p) => (/node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(p) || [])[1]);
  require('node:fs').writeSync(2, '\\nLOADED ' + JSON.stringify([...new Set(names.filter(Boolean))]) + '\\n');
});`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function duckLoaded(args: string[]): Promise<boolean> {
  const r = await runCli(args, { env: { NODE_OPTIONS: `--require ${hook}` } });
  const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED '));
  expect(line, r.stderr).toBeDefined();
  return (JSON.parse(line!.slice('LOADED '.length)) as string[]).some((p) => p.startsWith('@duckdb/'));
}

describe('DuckDB is loaded lazily', () => {
  const data = join(dir, 'data');
  it('run and a plain query do not load it; query --sql does', async () => {
    expect(await duckLoaded(['run', '--once', '--data-dir', data, 'examples/logs/agent-json.log'])).toBe(false);
    expect(await duckLoaded(['query', '--data-dir', data, '--severity', '>=info'])).toBe(false);
    expect(await duckLoaded(['query', '--data-dir', data, '--sql', 'SELECT count(*) FROM records'])).toBe(true);
  }, 60_000);
});
