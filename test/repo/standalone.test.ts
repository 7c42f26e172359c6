// The tests, benchmarks, scripts and CI run from a clone of the repository alone: nothing under test/, bench/,
// scripts/ or .ci/ may name a path outside it (the project's corpus lives in test/fixtures/corpus, not beside the
// checkout). Fails on a reference to the old sibling `shared` directory, an absolute /work path, or a relative
// `new URL(…, import.meta.url)` / import that resolves above the repository root.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIRS = ['test', 'bench', 'scripts', '.ci'];
const TEXT = /\.(ts|mts|js|mjs|cjs|json|ya?ml|md|sh|txt)$|^run$/;

// Built from pieces so this file does not match itself.
const SIBLING = '..' + '/shared';
const ABSOLUTE = '/wo' + 'rk/';
const UP = '../'.repeat(3);

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    // corpus, incidents: verbatim log lines (a CI runner's home directory in a panic), not paths we read.
    if (name === 'node_modules' || name === 'corpus' || name === 'incidents') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (TEXT.test(name)) out.push(p);
  }
  return out;
}

/** Every place in `text` (a file at `file`) that reads outside the repository, as `line: excerpt`. */
export function outsideReferences(file: string, text: string): string[] {
  const found: string[] = [];
  const lines = text.split('\n');
  const escapes = (rel: string) => {
    const target = resolve(dirname(file), rel);
    return target !== ROOT.replace(/\/$/, '') && !target.startsWith(ROOT.endsWith(sep) ? ROOT : ROOT + sep);
  };
  lines.forEach((l, n) => {
    const at = `${n + 1}: ${l.trim().slice(0, 120)}`;
    if (l.includes(SIBLING) || l.includes(ABSOLUTE)) found.push(at);
    for (const m of l.matchAll(/new URL\(\s*['"`](\.\.?\/[^'"`]*)['"`]\s*,\s*import\.meta\.url/g))
      if (escapes(m[1] as string)) found.push(at);
    for (const m of l.matchAll(/(?:from|import\()\s*['"](\.\.?\/[^'"]*)['"]/g))
      if (escapes(m[1] as string)) found.push(at);
  });
  return found;
}

describe('the repository stands alone', () => {
  it('no test, bench, script or CI file reads outside the repository', () => {
    const bad: string[] = [];
    for (const d of DIRS)
      for (const f of files(join(ROOT, d)))
        for (const r of outsideReferences(f, readFileSync(f, 'utf8'))) bad.push(`${relative(ROOT, f)}:${r}`);
    expect(bad).toEqual([]);
  });

  it('the check itself catches each kind of outside reference', () => {
    const f = join(ROOT, 'test', 'parse', 'x.test.ts');
    expect(
      outsideReferences(f, `const c = new URL('../../${SIBLING.slice(3)}/corpus/', import.meta.url);`),
    ).toHaveLength(1);
    expect(outsideReferences(f, `// lines from ${SIBLING}/corpus`)).toHaveLength(1);
    expect(outsideReferences(f, `readFileSync('${ABSOLUTE}shared/x')`)).toHaveLength(1);
    expect(outsideReferences(f, `import { x } from '${UP}elsewhere/y.js';`)).toHaveLength(1);
    expect(outsideReferences(f, `const c = new URL('../fixtures/corpus/', import.meta.url);`)).toEqual([]);
    expect(outsideReferences(f, `import { x } from '../../receiver/parse/index.js';`)).toEqual([]);
  });

  it('the corpus the tests use is in the repository, with its provenance', () => {
    const dir = join(ROOT, 'test', 'fixtures', 'corpus');
    const names = readdirSync(dir);
    expect(names).toContain('SOURCES.md');
    const sources = readFileSync(join(dir, 'SOURCES.md'), 'utf8');
    for (const n of names.filter((x) => x !== 'SOURCES.md')) expect(sources, n).toContain(`\`${n}\``);
  });
});
