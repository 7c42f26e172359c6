// examples/logs: every file but the marked synthetic one is an exact copy of a corpus file, and PROVENANCE.md
// accounts for each file.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const logs = fileURLToPath(new URL('../../examples/logs/', import.meta.url));
const corpus = fileURLToPath(new URL('../fixtures/corpus/', import.meta.url));
const SYNTHETIC = 'synthetic-sandbox-story.log';

describe('examples/logs', () => {
  const files = readdirSync(logs).filter((f) => f.endsWith('.log'));
  const provenance = readFileSync(`${logs}PROVENANCE.md`, 'utf8');

  it('holds the synthetic story and corpus copies, each named in PROVENANCE.md', () => {
    expect(files).toContain(SYNTHETIC);
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(provenance, f).toContain(`\`${f}\``);
    expect(provenance).toContain('test/fixtures/corpus/SOURCES.md');
    expect(provenance).toMatch(/synthetic-sandbox-story\.log` \(synthetic\)/);
  });

  for (const f of readdirSync(logs).filter((x) => x.endsWith('.log') && x !== SYNTHETIC)) {
    it(`${f} is byte for byte the corpus file`, () => {
      expect(readFileSync(`${logs}${f}`)).toEqual(readFileSync(`${corpus}${f}`));
    });
  }

  it('the synthetic story is one sandbox, every line in the journal short format', () => {
    const lines = readFileSync(`${logs}${SYNTHETIC}`, 'utf8').trimEnd().split('\n');
    for (const l of lines)
      expect(l).toMatch(
        /^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d demo-node (kata|containerd)\[\d+\]: time="[^"]+" level=\w+ msg=/,
      );
    const sandboxes = new Set(lines.flatMap((l) => [...l.matchAll(/sandbox=([0-9a-f]{64})/g)].map((m) => m[1])));
    expect([...sandboxes]).toEqual(['0000000000000000000000000000000000000000000000000000000000c0ffee']);
  });
});
