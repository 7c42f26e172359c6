// docs/tracing.md's example traces are what the replays produce now (regenerate: npm run tracing:doc).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { updatedDoc } from '../../scripts/tracing-doc.js';

describe('docs/tracing.md', () => {
  it('shows the waterfalls the recorded lifecycles replay into', () => {
    const doc = readFileSync(new URL('../../docs/tracing.md', import.meta.url), 'utf8');
    expect(doc, 'regenerate with: npm run tracing:doc').toBe(updatedDoc(doc));
    expect(doc).toContain('kata.agent.connect');
  });
});
