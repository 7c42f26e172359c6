// The duplicate-suppression hash is fast, not cryptographic: its seeds are drawn per process so that a hostile writer
// cannot compute, ahead of time, a record that collides with a later one and gets it suppressed.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { identityHash } from '../../receiver/pipeline/dedupe.js';
import { parseText } from '../../receiver/parse/index.js';

const LINE =
  'time="2026-01-12T08:31:05.123456789Z" level=error msg="Cannot start VM" name=containerd-shim-v2 pid=7 sandbox=abc source=virtcontainers subsystem=sandbox';
const record = () => parseText(LINE, { observedTimeUnixNano: 1n })[0]!;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The hash of the same record in a fresh process. */
function hashInChild(): string {
  const code = `
    import { identityHash } from './receiver/pipeline/dedupe.ts';
    import { parseText } from './receiver/parse/index.ts';
    console.log(JSON.stringify(identityHash(parseText(${JSON.stringify(LINE)}, { observedTimeUnixNano: 1n })[0])));`;
  return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
  }).trim();
}

describe('dedupe hash seeds', () => {
  it('gives one record the same identity within a process and another one in each process', () => {
    expect(identityHash(record())).toEqual(identityHash(record()));
    const a = hashInChild();
    const b = hashInChild();
    expect(JSON.parse(a)).toHaveLength(2);
    expect(a).not.toBe(b);
    expect(a).not.toBe(JSON.stringify(identityHash(record())));
  }, 60_000);
});
