// `kata-otel review`: the routine review of a time window. Gathers sandboxes and their outcomes, errors and
// warnings per component/subsystem over time, start times per hypervisor, alerts, message kinds not seen in
// earlier reviews, and lines kata-otel did not understand; renders a self-contained HTML report (no network:
// uPlot and its CSS are inlined from node_modules at generation time, data is embedded as JSON) and a text
// summary. Every piece of guest text is HTML-escaped, and the embedded JSON has `<` escaped, so a guest message
// cannot close the script element or inject markup (CSP forbids any fetch as a second line of defence).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { KataLogRecord } from '../model/record.js';
import {
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_ALERT_SEVERITY,
  ATTR_KATA_ALERT_TRIGGER_UIDS,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SUBSYSTEM,
  ATTR_LOG_RECORD_UID,
} from '../semconv/generated.js';
import { writeFileAtomic } from '../query/atomic.js';
import { recordTimeNs } from '../query/filter.js';
import { sandboxStory, type SandboxStory, type SpanLite } from './lifecycle.js';
import { isoNs, ms } from './timeline.js';

export interface ReviewRecord {
  record: KataLogRecord;
  ref: string;
}

export interface Review {
  fromNs: bigint;
  toNs: bigint;
  records: number;
  stories: SandboxStory[];
  /** Per time bucket start (s): `${component}/${subsystem}` → [warnings, errors]. */
  buckets: { t: number; counts: Record<string, [number, number]> }[];
  bucketSec: number;
  startTimes: Record<string, number[]>;
  alerts: {
    anchor: number;
    rule: string;
    severity: string;
    sandbox: string;
    time: string;
    body: string;
    triggers: number[];
  }[];
  newKinds: { template: string; count: number; example: number }[];
  parseErrors: { anchor: number; reason: string; body: string }[];
  /** Records shown in the report (alerts, their triggers, errors, warnings, examples), by anchor number. */
  shown: Map<number, ReviewRecord>;
}

/** A message's kind: ids, hex, numbers, quoted strings and paths masked, so `error 33` and `error 20` agree. */
export function messageTemplate(body: string): string {
  return body
    .slice(0, 300)
    .replace(/"[^"]*"|'[^']*'/g, '"*"')
    .replace(/(\/[\w.-]+){2,}/g, '<path>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b(?:0x)?(?=[0-9a-f]*\d)[0-9a-f]{6,}\b/gi, '<hex>')
    .replace(/\d+(?:\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim();
}

const templateId = (t: string) => createHash('sha256').update(t).digest('hex').slice(0, 16);

/** The message kinds earlier reviews saw, in <data_dir>/review/known-kinds.json. */
export async function loadKnownKinds(dataDir: string): Promise<Set<string>> {
  try {
    const v = JSON.parse(await readFile(join(dataDir, 'review', 'known-kinds.json'), 'utf8')) as { ids?: string[] };
    return new Set(Array.isArray(v.ids) ? v.ids : []);
  } catch {
    return new Set();
  }
}

export async function saveKnownKinds(dataDir: string, ids: Set<string>): Promise<void> {
  const dir = join(dataDir, 'review');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(dir, 'known-kinds.json'), JSON.stringify({ v: 1, ids: [...ids].sort() }) + '\n');
}

export function buildReview(
  hits: ReviewRecord[],
  spans: SpanLite[],
  known: Set<string>,
  win: { fromNs: bigint; toNs: bigint },
): { review: Review; seenKinds: Set<string> } {
  const shown = new Map<number, ReviewRecord>();
  const anchorOf = new Map<ReviewRecord, number>();
  const show = (h: ReviewRecord) => {
    let a = anchorOf.get(h);
    if (a === undefined) {
      a = anchorOf.size;
      anchorOf.set(h, a);
      shown.set(a, h);
    }
    return a;
  };
  const bySandbox = new Map<string, KataLogRecord[]>();
  const byUid = new Map<string, ReviewRecord>();
  let minS = Infinity;
  let maxS = -Infinity;
  for (const h of hits) {
    const sb = h.record.attributes[ATTR_KATA_SANDBOX_ID];
    if (typeof sb === 'string') (bySandbox.get(sb) ?? bySandbox.set(sb, []).get(sb)!).push(h.record);
    const uid = h.record.attributes[ATTR_LOG_RECORD_UID];
    if (typeof uid === 'string') byUid.set(uid, h);
    const s = Number(recordTimeNs(h.record) / 1_000_000_000n);
    if (s < minS) minS = s;
    if (s > maxS) maxS = s;
  }
  const stories = [...bySandbox].map(([id, recs]) => sandboxStory(id, recs, spans));
  stories.sort((a, b) => (a.firstNs < b.firstNs ? -1 : 1));

  const span = Number.isFinite(minS) ? Math.max(1, maxS - minS) : 1;
  const bucketSec = [60, 300, 900, 3600, 6 * 3600, 86400].find((b) => span / b <= 96) ?? 86400;
  const buckets = new Map<number, Record<string, [number, number]>>();
  const startTimes: Record<string, number[]> = {};
  for (const s of stories) if (s.startMs !== undefined) (startTimes[s.hypervisor ?? 'unknown'] ??= []).push(s.startMs);

  const alerts: Review['alerts'] = [];
  const kinds = new Map<string, { template: string; count: number; example: number | undefined; h: ReviewRecord }>();
  const seenKinds = new Set(known);
  const parseErrors: Review['parseErrors'] = [];
  let shownProblems = 0;
  for (const h of hits) {
    const r = h.record;
    const a = r.attributes;
    if (r.severityNumber >= 13) {
      const t = Math.floor(Number(recordTimeNs(r) / 1_000_000_000n) / bucketSec) * bucketSec;
      const key = `${String(a[ATTR_KATA_COMPONENT] ?? 'unknown')}/${String(a[ATTR_KATA_SUBSYSTEM] ?? '-')}`;
      const row = buckets.get(t) ?? buckets.set(t, {}).get(t)!;
      const c = (row[key] ??= [0, 0]);
      c[r.severityNumber >= 17 ? 1 : 0]++;
    }
    if (a[ATTR_KATA_ALERT_RULE_ID] !== undefined) {
      const trig = a[ATTR_KATA_ALERT_TRIGGER_UIDS];
      const triggers = (Array.isArray(trig) ? trig : [])
        .map((u) => byUid.get(u))
        .filter((x): x is ReviewRecord => x !== undefined)
        .map(show);
      alerts.push({
        anchor: show(h),
        rule: String(a[ATTR_KATA_ALERT_RULE_ID]),
        severity: String(a[ATTR_KATA_ALERT_SEVERITY] ?? ''),
        sandbox: String(a[ATTR_KATA_SANDBOX_ID] ?? ''),
        time: isoNs(recordTimeNs(r)),
        body: r.body,
        triggers,
      });
    } else if (a[ATTR_KATA_LOG_PARSE_ERROR] !== undefined) {
      if (parseErrors.length < 200)
        parseErrors.push({ anchor: show(h), reason: String(a[ATTR_KATA_LOG_PARSE_ERROR]), body: r.body });
    } else {
      const tpl = `${String(a[ATTR_KATA_COMPONENT] ?? '')}: ${messageTemplate(r.body)}`;
      const id = templateId(tpl);
      if (!known.has(id)) {
        const k = kinds.get(id) ?? { template: tpl, count: 0, example: undefined, h };
        k.count++;
        kinds.set(id, k);
      }
      seenKinds.add(id);
      if (r.severityNumber >= 13 && shownProblems < 500) {
        show(h);
        shownProblems++;
      }
    }
  }
  const newKinds = known.size === 0 && kinds.size > 0 ? [] : [...kinds.values()]; // first review: all are new; list none
  return {
    review: {
      ...win,
      records: hits.length,
      stories,
      buckets: [...buckets].sort((x, y) => x[0] - y[0]).map(([t, counts]) => ({ t, counts })),
      bucketSec,
      startTimes,
      alerts,
      newKinds: newKinds
        .sort((x, y) => y.count - x.count)
        .slice(0, 200)
        .map((k) => ({ template: k.template, count: k.count, example: show(k.h) })),
      parseErrors,
      shown,
    },
    seenKinds,
  };
}

// ---- text -----------------------------------------------------------------------------------------------

/** [warnings, errors] per component/subsystem over the whole window. */
function problemTotals(r: Review): Record<string, [number, number]> {
  const t: Record<string, [number, number]> = {};
  for (const b of r.buckets)
    for (const [k, [w, e]] of Object.entries(b.counts)) {
      const c = (t[k] ??= [0, 0]);
      c[0] += w;
      c[1] += e;
    }
  return t;
}

export function reviewSummary(r: Review, firstReview: boolean): string {
  const outcomes: Record<string, number> = {};
  for (const s of r.stories) outcomes[s.outcome] = (outcomes[s.outcome] ?? 0) + 1;
  let warn = 0;
  let err = 0;
  for (const [w, e] of Object.values(problemTotals(r))) {
    warn += w;
    err += e;
  }
  let out = `kata-otel review ${isoNs(r.fromNs)} → ${isoNs(r.toNs)}: ${r.records} records\n`;
  out += `  sandboxes   ${r.stories.length} (${
    Object.entries(outcomes)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ') || 'none'
  })\n`;
  for (const [hv, xs] of Object.entries(r.startTimes)) {
    const s = [...xs].sort((a, b) => a - b);
    out += `  start time  ${hv}: median ${ms(s[Math.floor(s.length / 2)]!)}, max ${ms(s.at(-1)!)} over ${s.length}\n`;
  }
  out += `  problems    ${err} errors, ${warn} warnings\n`;
  out += `  alerts      ${r.alerts.length}`;
  const byRule: Record<string, number> = {};
  for (const a of r.alerts) byRule[a.rule] = (byRule[a.rule] ?? 0) + 1;
  out += Object.keys(byRule).length
    ? ` (${Object.entries(byRule)
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ')})\n`
    : '\n';
  out += firstReview
    ? '  new kinds   (first review: message kinds remembered for the next one)\n'
    : `  new kinds   ${r.newKinds.length}\n`;
  out += `  not understood ${r.parseErrors.length} lines (kata.log.parse_error)\n`;
  return out;
}

// ---- HTML -----------------------------------------------------------------------------------------------

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON safe inside <script>: no `<`, and no U+2028/2029 surprises. */
const scriptJson = (v: unknown) =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

function uplotAssets(): { js: string; css: string } {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('uplot/package.json'));
  return {
    js: readFileSync(join(dir, 'dist', 'uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(join(dir, 'dist', 'uPlot.min.css'), 'utf8'),
  };
}

const LANES = ['runtime', 'hypervisor', 'agent', 'guest-kernel'];

function swimLanes(
  s: SandboxStory,
  recs: { t: number; lane: number; sev: number; alert: boolean; anchor?: number }[],
): string {
  const W = 900;
  const H = 22;
  const t0 = Number(s.firstNs / 1_000_000n);
  const t1 = Math.max(t0 + 1, Number(s.lastNs / 1_000_000n));
  const x = (t: number) => 110 + ((t - t0) / (t1 - t0)) * (W - 120);
  let svg = `<svg class="lanes" viewBox="0 0 ${W} ${H * (LANES.length + 1)}" width="${W}" height="${H * (LANES.length + 1)}" role="img">`;
  LANES.forEach((l, i) => {
    svg += `<text x="4" y="${H * i + 15}" class="lane">${escapeHtml(l)}</text><line x1="110" x2="${W - 10}" y1="${H * i + 11}" y2="${H * i + 11}" class="axis"/>`;
  });
  for (const st of s.steps) {
    const a = x(Number(st.startNs / 1_000_000n));
    const b = st.endNs !== undefined ? x(Number(st.endNs / 1_000_000n)) : a + 4;
    svg += `<rect class="step${st.failed ? ' failed' : ''}" x="${a.toFixed(1)}" y="${H * LANES.length + 3}" width="${Math.max(2, b - a).toFixed(1)}" height="14"><title>${escapeHtml(st.name)} ${st.endNs !== undefined ? ms(Number(st.endNs - st.startNs) / 1e6) : 'unfinished'}</title></rect>`;
  }
  for (const g of s.gaps)
    svg += `<rect class="gap" x="${x(Number(g.afterNs / 1_000_000n)).toFixed(1)}" y="${H * 2}" width="${Math.max(2, x(Number(g.beforeNs / 1_000_000n)) - x(Number(g.afterNs / 1_000_000n))).toFixed(1)}" height="${H}"><title>gap in the agent stream</title></rect>`;
  for (const r of recs) {
    const cls = r.alert ? 'alert' : r.sev >= 17 ? 'err' : r.sev >= 13 ? 'warn' : 'rec';
    const mark = `<circle class="${cls}" cx="${x(r.t).toFixed(1)}" cy="${H * r.lane + 11}" r="${cls === 'rec' ? 2 : 4}"/>`;
    svg += r.anchor !== undefined ? `<a href="#rec-${r.anchor}">${mark}</a>` : mark;
  }
  return svg + '</svg>';
}

const CSS = `body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
.failed,.err{fill:#c62828;color:#c62828}.warn{fill:#ef8f00}.alert{fill:#6a1b9a}.rec{fill:#90a4ae}.step{fill:#42a5f5}.step.failed{fill:#c62828}
.gap{fill:#f3e5f5;stroke:#ab47bc}.axis{stroke:#eee}.lane{font-size:11px;fill:#555}pre,code{white-space:pre-wrap;word-break:break-all}
.record:target{background:#fff59d}.outcome-failed{color:#c62828;font-weight:bold}.chart{margin:1em 0}`;

export function renderHtml(r: Review, firstReview: boolean): string {
  const { js, css } = uplotAssets();
  const anchorByRec = new Map<KataLogRecord, number>();
  for (const [a, h] of r.shown) anchorByRec.set(h.record, a);
  const comps = [...new Set(r.buckets.flatMap((b) => Object.keys(b.counts)))].sort();
  const data = {
    bucketSec: r.bucketSec,
    t: r.buckets.map((b) => b.t),
    series: comps.map((k) => ({
      name: k,
      values: r.buckets.map((b) => (b.counts[k]?.[0] ?? 0) + (b.counts[k]?.[1] ?? 0)),
    })),
    startTimes: r.startTimes,
  };
  let h = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>kata-otel review ${escapeHtml(isoNs(r.fromNs))}</title><style>${css}\n${CSS}</style></head><body>
<h1>kata-otel review</h1><p>${escapeHtml(isoNs(r.fromNs))} → ${escapeHtml(isoNs(r.toNs))} · ${r.records} records · ${r.stories.length} sandboxes · ${r.alerts.length} alerts</p>
<pre id="summary">${escapeHtml(reviewSummary(r, firstReview))}</pre>`;

  h += `<h2 id="sandboxes">Sandboxes</h2><table><tr><th>sandbox</th><th>hypervisor</th><th>outcome</th><th>start time</th><th>errors</th><th>warnings</th><th>alerts</th><th>agent gaps</th></tr>`;
  for (const s of r.stories)
    h += `<tr><td><a href="#sb-${escapeHtml(s.sandbox)}"><code>${escapeHtml(s.sandbox.slice(0, 12))}</code></a></td><td>${escapeHtml(s.hypervisor ?? '?')}</td><td class="outcome-${s.outcome}">${s.outcome}</td><td>${s.startMs !== undefined ? ms(s.startMs) : ''}</td><td>${s.errors}</td><td>${s.warnings}</td><td>${s.alerts}</td><td>${s.gaps.length}</td></tr>`;
  h += `</table>`;

  h += `<h2 id="problems">Errors and warnings per component/subsystem</h2><div id="chart-problems" class="chart"></div><table><tr><th>component/subsystem</th><th>warnings</th><th>errors</th></tr>`;
  const totals = problemTotals(r);
  for (const k of comps) h += `<tr><td>${escapeHtml(k)}</td><td>${totals[k]![0]}</td><td>${totals[k]![1]}</td></tr>`;
  h += `</table><h2 id="start-times">Start time per hypervisor</h2><div id="chart-start" class="chart"></div>`;

  h += `<h2 id="alerts">Alerts</h2><table><tr><th>time</th><th>rule</th><th>severity</th><th>sandbox</th><th>message</th><th>records</th></tr>`;
  for (const a of r.alerts)
    h += `<tr class="alert-row"><td>${escapeHtml(a.time)}</td><td>${escapeHtml(a.rule)}</td><td>${escapeHtml(a.severity)}</td><td><code>${escapeHtml(a.sandbox.slice(0, 12))}</code></td><td>${escapeHtml(a.body)}</td><td><a class="alert-link" href="#rec-${a.anchor}">record</a>${a.triggers.map((t) => ` <a href="#rec-${t}">trigger</a>`).join('')}</td></tr>`;
  h += `</table>`;

  h += `<h2 id="timelines">Timelines</h2>`;
  const recsBySb = new Map<string, { t: number; lane: number; sev: number; alert: boolean; anchor?: number }[]>();
  for (const [a, hit] of r.shown) {
    const sb = hit.record.attributes[ATTR_KATA_SANDBOX_ID];
    const lane = LANES.indexOf(String(hit.record.attributes[ATTR_KATA_COMPONENT]));
    if (typeof sb !== 'string' || lane < 0) continue;
    (recsBySb.get(sb) ?? recsBySb.set(sb, []).get(sb)!).push({
      t: Number(recordTimeNs(hit.record) / 1_000_000n),
      lane,
      sev: hit.record.severityNumber,
      alert: hit.record.attributes[ATTR_KATA_ALERT_RULE_ID] !== undefined,
      anchor: a,
    });
  }
  for (const s of r.stories.slice(0, 200)) {
    h += `<section class="sandbox" id="sb-${escapeHtml(s.sandbox)}"><h3><code>${escapeHtml(s.sandbox)}</code> <span class="outcome-${s.outcome}">${s.outcome}</span></h3>`;
    h += swimLanes(s, recsBySb.get(s.sandbox) ?? []);
    h += `<p>${s.steps.map((st) => `${escapeHtml(st.name)} ${st.endNs !== undefined ? ms(Number(st.endNs - st.startNs) / 1e6) : st.failed ? '<b class="failed">failed</b>' : 'unfinished'}`).join(' · ')}</p></section>`;
  }

  h += `<h2 id="new-kinds">New message kinds</h2>`;
  h += firstReview
    ? `<p>First review of this data dir: the message kinds seen now are remembered, and the next review lists those not seen before.</p>`
    : `<table><tr><th>count</th><th>kind</th><th>example</th></tr>${r.newKinds.map((k) => `<tr><td>${k.count}</td><td><code>${escapeHtml(k.template)}</code></td><td><a href="#rec-${k.example}">record</a></td></tr>`).join('')}</table>`;
  h += `<h2 id="parse-errors">Lines not understood</h2><table><tr><th>reason</th><th>line</th></tr>${r.parseErrors.map((p) => `<tr><td>${escapeHtml(p.reason)}</td><td><a href="#rec-${p.anchor}"><code>${escapeHtml(p.body.slice(0, 300))}</code></a></td></tr>`).join('')}</table>`;

  h += `<h2 id="records">Records</h2>`;
  for (const [a, hit] of [...r.shown].sort((x, y) => x[0] - y[0])) {
    const rec = hit.record;
    h += `<div class="record" id="rec-${a}"><code>${escapeHtml(isoNs(recordTimeNs(rec)))} ${escapeHtml(rec.severityText || String(rec.severityNumber))} ${escapeHtml(String(rec.attributes[ATTR_KATA_COMPONENT] ?? ''))} ${escapeHtml(hit.ref)}</code><pre>${escapeHtml(rec.body)}</pre><details><summary>attributes</summary><pre>${escapeHtml(JSON.stringify(rec.attributes, null, 1))}</pre></details></div>`;
  }
  h += `<script>${js}</script><script type="application/json" id="data">${scriptJson(data)}</script>
<script>
(function(){
  var d = JSON.parse(document.getElementById('data').textContent);
  var palette = ['#c62828','#ef8f00','#1565c0','#2e7d32','#6a1b9a','#00838f','#795548','#546e7a'];
  if (d.t.length) {
    new uPlot({ title: 'warnings + errors per ' + d.bucketSec + ' s', width: 900, height: 260,
      series: [{}].concat(d.series.map(function(s, i){ return { label: s.name, stroke: palette[i % palette.length], width: 2 }; })) },
      [d.t].concat(d.series.map(function(s){ return s.values; })), document.getElementById('chart-problems'));
  }
  var hv = Object.keys(d.startTimes);
  if (hv.length) {
    var all = [].concat.apply([], hv.map(function(k){ return d.startTimes[k]; }));
    var max = Math.max.apply(null, all), step = Math.max(50, Math.ceil(max / 20 / 50) * 50), xs = [];
    for (var x = 0; x <= max + step; x += step) xs.push(x);
    var bars = uPlot.paths.bars({ size: [0.8, 40] });
    new uPlot({ title: 'sandbox start time (Starting VM → Agent started), ms', width: 900, height: 260, scales: { x: { time: false } },
      series: [{ label: 'ms' }].concat(hv.map(function(k, i){ return { label: k, stroke: palette[(i + 2) % palette.length], fill: palette[(i + 2) % palette.length] + '88', paths: bars }; })) },
      [xs].concat(hv.map(function(k){ return xs.map(function(x){ return d.startTimes[k].filter(function(v){ return v >= x && v < x + step; }).length; }); })),
      document.getElementById('chart-start'));
  }
})();
</script></body></html>`;
  return h;
}
