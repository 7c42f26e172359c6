// The real-incident corpus (test/fixtures/incidents/, lines from public Kata bug reports) replayed through the
// built-in rules the way `kata-otel rules test` replays files: parsed by the real parser, with the provenance a
// line really has where it appears, and the engine flushed at the records' own time. Asserts recall on the
// incidents that are Kata log records and zero alerts on the benign set, and checks the per-rule figures in the
// README are the ones this replay measures (`npm run rules:incidents` rewrites them).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadBuiltinRules } from '../../receiver/rules/load.js';
import { INCIDENT_FIGURES_BEGIN, INCIDENT_FIGURES_END, loadIncidentCorpus, replayCorpus } from './incidents.js';

const corpus = loadIncidentCorpus();
const report = replayCorpus(corpus, loadBuiltinRules());

describe('real-incident corpus', () => {
  it('is big enough and every entry names its source, category, reason and provenance', () => {
    expect(corpus.incidents.length).toBeGreaterThanOrEqual(65);
    expect(corpus.benign.length).toBeGreaterThanOrEqual(100);
    const sources = new Set([...corpus.incidents, ...corpus.benign].map((e) => e.source));
    expect(sources.size).toBeGreaterThanOrEqual(80);
    for (const e of [...corpus.incidents, ...corpus.benign]) {
      expect(e.source, JSON.stringify(e)).toMatch(/^https:\/\/github\.com\//);
      expect(e.why.length, e.source).toBeGreaterThan(5);
    }
  });

  it('raises an alert for at least 90% of the incidents that are Kata log records', () => {
    const missed = report.incidents.filter((r) => r.kata && !r.caught).map((r) => `${r.source}: ${r.first}`);
    expect(report.recall.kata, missed.join('\n')).toBeGreaterThanOrEqual(0.9);
  });

  it('raises no alert on the benign set (together, then each line alone)', () => {
    expect(report.falseAlerts.map((a) => `${a.rule}: ${a.line}`)).toEqual([]);
    expect(report.falseAlertsAlone.map((a) => `${a.rule}: ${a.line}`)).toEqual([]);
  });

  it('the README shows the figures this replay measures', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf(INCIDENT_FIGURES_BEGIN);
    const end = readme.indexOf(INCIDENT_FIGURES_END);
    expect(start, 'README lacks the incident figures block').toBeGreaterThan(-1);
    expect(readme.slice(start, end + INCIDENT_FIGURES_END.length)).toBe(report.markdown);
  });
});
