// Replay of the real-incident corpus (test/fixtures/incidents/) through a rule set, shared by
// test/rules/incidents.test.ts and `npm run rules:incidents`, which rewrites the README's per-rule figures from it.
// The replay is the one `kata-otel rules test` runs (parseText, the provenance step, engine.process, then
// flush at the newest record time); `via` gives each line the provenance it has where it really appears.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { Attributes, KataLogRecord } from '../../receiver/model/record.js';
import { parseText } from '../../receiver/parse/index.js';
import { applyProvenance } from '../../receiver/pipeline/provenance.js';
import { RuleEngine } from '../../receiver/rules/engine.js';
import { loadBuiltinRules } from '../../receiver/rules/load.js';
import type { RuleSet } from '../../receiver/rules/types.js';
import {
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_LOG_ORIGIN,
  ATTR_KATA_LOG_TRUSTED,
  ATTR_PROCESS_COMMAND,
  EVENT_KATA_ALERT,
  KATA_LOG_ORIGIN_VALUE_JOURNALD,
  KATA_LOG_ORIGIN_VALUE_STDIN,
} from '../../receiver/semconv/generated.js';

export interface Incident {
  source: string;
  category: string;
  why: string;
  kata: boolean;
  expect: string[];
  via: string;
  lines: string[];
  note?: string;
}
export interface Benign {
  source: string;
  why: string;
  via: string;
  line: string;
  note?: string;
}
export interface Corpus {
  incidents: Incident[];
  benign: Benign[];
}

const DIR = new URL('../fixtures/incidents/', import.meta.url);

export function loadIncidentCorpus(): Corpus {
  const inc = parse(readFileSync(new URL('incidents.yaml', DIR), 'utf8')) as { incidents: Incident[] };
  const ben = parse(readFileSync(new URL('benign.yaml', DIR), 'utf8')) as { benign: Benign[] };
  return { incidents: inc.incidents, benign: ben.benign };
}

const journal = (command: string): Attributes => ({
  [ATTR_KATA_LOG_ORIGIN]: KATA_LOG_ORIGIN_VALUE_JOURNALD,
  [ATTR_KATA_LOG_TRUSTED]: true,
  [ATTR_PROCESS_COMMAND]: command,
});

/**
 * Where a line of each kind is read from, as a source would attach it. Guest console text reaches the host
 * through the shim's journal entries (its record, with the console line inside, is the shim's), so a bare console
 * line is given the shim's journal provenance; the parser marks what it recognises as guest text.
 */
export const VIA: Record<string, Attributes> = {
  'shim-journal': journal('containerd-shim'),
  'containerd-journal': journal('containerd'),
  'runtime-journal': journal('kata-runtime'),
  'proxy-journal': journal('kata-proxy'),
  'agent-journal': journal('kata-agent'),
  // Kata 1.x: one kata-shim process per container, logging to the journal as kata-shim
  'shim1-journal': journal('kata-shim'),
  'guest-console': journal('containerd-shim'),
  cli: { [ATTR_KATA_LOG_ORIGIN]: KATA_LOG_ORIGIN_VALUE_STDIN },
};

function records(line: string, via: string): KataLogRecord[] {
  const attributes = VIA[via];
  if (!attributes)
    throw new Error(`test/fixtures/incidents: unknown via '${via}' (known: ${Object.keys(VIA).join(', ')})`);
  const ctx = { observedTimeUnixNano: 1_700_000_000_000_000_000n, attributes: { ...attributes } };
  const recs = parseText(line, ctx);
  applyProvenance(recs, ctx.attributes);
  return recs;
}

/** Lines through one engine as `rules test` does: process, then flush at the newest record time. */
function replay(engine: RuleEngine, lines: { line: string; via: string }[]): string[] {
  const fired: string[] = [];
  let watermark = 0n;
  const take = (alerts: KataLogRecord[]) => {
    for (const a of alerts)
      if (a.eventName === EVENT_KATA_ALERT) fired.push(String(a.attributes[ATTR_KATA_ALERT_RULE_ID]));
  };
  for (const { line, via } of lines) {
    const recs = records(line, via);
    for (const r of recs) {
      const t = r.timeUnixNano > 0n ? r.timeUnixNano : r.observedTimeUnixNano;
      if (t > watermark) watermark = t;
    }
    take(engine.process(recs));
    take(engine.flush(watermark));
  }
  take(engine.closeWindows());
  return fired;
}

export interface IncidentResult {
  source: string;
  category: string;
  kata: boolean;
  first: string;
  expect: string[];
  fired: string[];
  caught: boolean;
}
export interface Report {
  incidents: IncidentResult[];
  recall: { kata: number; all: number };
  falseAlerts: { rule: string; line: string }[];
  falseAlertsAlone: { rule: string; line: string }[];
  markdown: string;
}

export const INCIDENT_FIGURES_BEGIN = '<!-- incident-figures:begin (npm run rules:incidents) -->';
export const INCIDENT_FIGURES_END = '<!-- incident-figures:end -->';

export function replayCorpus(corpus: Corpus, rules: RuleSet): Report {
  const incidents: IncidentResult[] = corpus.incidents.map((inc) => {
    const fired = replay(
      new RuleEngine({ rules }),
      inc.lines.map((line) => ({ line, via: inc.via })),
    );
    const caught = inc.expect.length ? inc.expect.some((id) => fired.includes(id)) : fired.length > 0;
    return {
      source: inc.source,
      category: inc.category,
      kata: inc.kata,
      first: inc.lines[0] ?? '',
      expect: inc.expect,
      fired,
      caught,
    };
  });
  const ratio = (xs: IncidentResult[]) => (xs.length ? xs.filter((x) => x.caught).length / xs.length : 1);
  // Benign lines together (many sandboxes, several years, in file order), as `rules test` would read one file.
  const together = replay(new RuleEngine({ rules }), corpus.benign);
  const falseAlerts = together.map((rule) => ({ rule, line: '(benign set replayed together)' }));
  const falseAlertsAlone: { rule: string; line: string }[] = [];
  for (const b of corpus.benign)
    for (const rule of replay(new RuleEngine({ rules }), [b])) falseAlertsAlone.push({ rule, line: b.line });
  const report: Report = {
    incidents,
    recall: { kata: ratio(incidents.filter((i) => i.kata)), all: ratio(incidents) },
    falseAlerts,
    falseAlertsAlone,
    markdown: '',
  };
  report.markdown = figures(report, corpus, rules);
  return report;
}

const pct = (n: number) => `${Math.round(n * 1000) / 10}%`;

function figures(report: Report, corpus: Corpus, rules: RuleSet): string {
  const kata = report.incidents.filter((i) => i.kata);
  const head = ['Rule', 'Kata-record incidents expected', 'caught', 'other incidents caught', 'false alerts (benign)'];
  const body: string[][] = [];
  for (const rule of rules.rules) {
    const exp = kata.filter((i) => i.expect.includes(rule.id));
    const caught = exp.filter((i) => i.fired.includes(rule.id));
    const other = report.incidents.filter((i) => !i.kata && i.fired.includes(rule.id)).length;
    const fa =
      report.falseAlerts.filter((a) => a.rule === rule.id).length +
      report.falseAlertsAlone.filter((a) => a.rule === rule.id).length;
    if (exp.length === 0 && other === 0 && fa === 0) continue;
    body.push([`\`${rule.id}\``, String(exp.length), String(caught.length), String(other), String(fa)]);
  }
  // Per category: how the incident kinds the rules must cover fare (Kata log records, then kubelet/CLI output).
  const catHead = ['Category', 'Kata-record incidents', 'caught', 'other incidents', 'other caught'];
  const catBody: string[][] = [];
  for (const cat of [...new Set(report.incidents.map((i) => i.category))].sort()) {
    const of = (kata: boolean) => report.incidents.filter((i) => i.category === cat && i.kata === kata);
    const caught = (xs: IncidentResult[]) => String(xs.filter((i) => i.caught).length);
    catBody.push([cat, String(of(true).length), caught(of(true)), String(of(false).length), caught(of(false))]);
  }
  const rows = markdownTable(head, body);
  const catRows = markdownTable(catHead, catBody);
  const sources = new Set([...corpus.incidents, ...corpus.benign].map((e) => e.source)).size;
  return [
    INCIDENT_FIGURES_BEGIN,
    '',
    `Measured on ${corpus.incidents.length} incidents (${kata.length} of them Kata log records, the rest kubelet/CLI ` +
      `output) and ${corpus.benign.length} benign but alarming lines from ${sources} public Kata issues, PRs and docs ` +
      '(`test/fixtures/incidents/`, replayed by `test/rules/incidents.test.ts`): recall ' +
      `${pct(report.recall.kata)} on Kata log records, ${pct(report.recall.all)} on all incidents; ` +
      `${report.falseAlerts.length + report.falseAlertsAlone.length} false alerts on the benign set.`,
    '',
    ...rows,
    '',
    ...catRows,
    '',
    INCIDENT_FIGURES_END,
  ].join('\n');
}

/** A Markdown table aligned as Prettier formats one, so `format:check` and the README test agree. */
function markdownTable(head: string[], body: string[][]): string[] {
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((r) => (r[c] as string).length)));
  const row = (cells: string[]) => `| ${cells.map((x, c) => x.padEnd(widths[c] as number)).join(' | ')} |`;
  return [row(head), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...body.map(row)];
}

// `npm run rules:incidents`: print the figures and write them into README.md between the markers.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const report = replayCorpus(loadIncidentCorpus(), loadBuiltinRules());
  const path = new URL('../../README.md', import.meta.url);
  const readme = readFileSync(path, 'utf8');
  const start = readme.indexOf(INCIDENT_FIGURES_BEGIN);
  const end = readme.indexOf(INCIDENT_FIGURES_END);
  if (start < 0 || end < 0)
    throw new Error(`README.md lacks the markers ${INCIDENT_FIGURES_BEGIN} … ${INCIDENT_FIGURES_END}`);
  writeFileSync(path, readme.slice(0, start) + report.markdown + readme.slice(end + INCIDENT_FIGURES_END.length));
  process.stdout.write(report.markdown + '\n');
  for (const i of report.incidents.filter((x) => !x.caught))
    process.stdout.write(`missed (${i.kata ? 'kata' : 'other'}): ${i.source} ${i.first.slice(0, 100)}\n`);
  for (const a of [...report.falseAlerts, ...report.falseAlertsAlone])
    process.stdout.write(`false alert: ${a.rule}: ${a.line.slice(0, 100)}\n`);
}
