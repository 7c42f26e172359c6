// The one dispatcher (receiver/parse/dispatch.ts): the parse modules import each other as a DAG with the
// dispatcher on top, the shape sets hold what docs/architecture.md says, and the depth limit is one number.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, shapesOf } from '../../receiver/parse/dispatch.js';
import { ATTR_KATA_LOG_PARSE_ERROR } from '../../receiver/semconv/generated.js';
import { goQuote, one } from './helpers.js';

const DIR = new URL('../../receiver/parse/', import.meta.url);

function importGraph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of readdirSync(DIR).filter((n) => n.endsWith('.ts'))) {
    const text = readFileSync(new URL(f, DIR), 'utf8');
    const deps = [...text.matchAll(/^(?:import|export)(?!\s+type\b)[^;]*?from '\.\/([\w-]+)\.js'/gms)].map(
      (m) => `${m[1] as string}.ts`,
    );
    g.set(f, deps);
  }
  return g;
}

describe('the parse modules', () => {
  it('import each other without a cycle, and only dispatch.ts imports the dispatcher', () => {
    const g = importGraph();
    const state = new Map<string, 'visiting' | 'done'>();
    const cycle: string[] = [];
    const visit = (n: string, path: string[]): void => {
      if (state.get(n) === 'done') return;
      if (state.get(n) === 'visiting') {
        cycle.push([...path, n].join(' → '));
        return;
      }
      state.set(n, 'visiting');
      for (const d of g.get(n) ?? []) visit(d, [...path, n]);
      state.set(n, 'done');
    };
    for (const n of g.keys()) visit(n, []);
    expect(cycle).toEqual([]);
    const importers = [...g].filter(([, deps]) => deps.includes('dispatch.ts')).map(([n]) => n);
    expect(importers).toEqual(['index.ts']);
  });
});

describe('the shape sets', () => {
  it('a console payload holds guest and hypervisor shapes, never carrier prefixes', () => {
    const console = shapesOf('console');
    expect(console).toEqual(expect.arrayContaining(['json', 'logfmt', 'kernel', 'qemu', 'cloud-hypervisor']));
    for (const p of ['pri', 'iso-prefix', 'bsd-prefix']) expect(console).not.toContain(p);
    expect(shapesOf('line')).toEqual(expect.arrayContaining(['pri', 'iso-prefix', 'bsd-prefix', 'json', 'logfmt']));
    expect(shapesOf('line')).not.toContain('runtime-rs vm console');
  });

  it('a journal prefix inside a console line is not unpacked (the guest cannot fake a host journal line)', () => {
    const inner =
      'Jan 12 08:31:02 node1 kata[40912]: time="2026-01-12T08:31:02Z" level=error msg=x source=virtcontainers';
    const r = one(
      `time="2026-01-12T08:31:02.1Z" level=debug msg="reading guest console" sandbox=sb1 vmconsole=${goQuote(inner)}`,
    );
    expect(r.body).toBe(inner);
    expect(r.attributes['kata.journal.identifier']).toBeUndefined();
  });

  it('nesting stops at one depth limit for every carrier', () => {
    let line = '[    0.1] deepest';
    for (let d = 0; d < MAX_DEPTH + 2; d++)
      line = `time="2026-01-12T08:31:02Z" level=debug msg="reading guest console" sandbox=sb vmconsole=${goQuote(line)}`;
    const r = one(line);
    expect(r.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBe('nested too deeply');
    let json = '{"msg":"m","level":"INFO","ts":"2026-01-12T08:31:02Z","name":"kata-agent"}';
    for (let d = 0; d < MAX_DEPTH + 2; d++) json = JSON.stringify({ message: json });
    expect(one(json).attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBe('nested too deeply');
  });
});
