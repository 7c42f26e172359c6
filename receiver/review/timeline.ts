// `kata-otel timeline SANDBOX|NS/POD`: the sandbox's records in time order across runtime, agent, hypervisor
// and guest, with its lifecycle steps and their durations, errors and alerts marked, and silences in the
// agent's stream called out. Text for a terminal (guest text escaped, colour on a TTY only).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KataLogRecord } from '../model/record.js';
import { ATTR_KATA_ALERT_RULE_ID, ATTR_KATA_COMPONENT, ATTR_KATA_SUBSYSTEM } from '../semconv/generated.js';
import { recordTimeNs } from '../query/filter.js';
import { escapeControls } from '../query/format.js';
import { scanLines } from '../query/lines.js';
import { decodeSpansJson, type SandboxStory, type SpanLite } from './lifecycle.js';

/** Lifecycle spans stored beside the logs (any .jsonl in the store dir with resourceSpans lines). */
export async function readStoreSpans(storeDir: string): Promise<SpanLite[]> {
  let names: string[];
  try {
    names = (await readdir(storeDir)).filter((n) => n.endsWith('.jsonl') && !n.startsWith('logs-'));
  } catch {
    return [];
  }
  const out: SpanLite[] = [];
  for (const n of names.sort())
    await scanLines(join(storeDir, n), 0, (line) => {
      const s = line.toString('utf8');
      if (s.includes('"resourceSpans"')) out.push(...decodeSpansJson(s));
    }).catch(() => {});
  return out;
}

export const isoNs = (ns: bigint) => {
  const d = new Date(Number(ns / 1_000_000n)).toISOString();
  return `${d.slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0').slice(0, 6)}Z`;
};
export const ms = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)}s` : `${Math.round(n)}ms`);

export function timelineText(story: SandboxStory, recs: KataLogRecord[], o: { colour: boolean; all: boolean }): string {
  const c = (code: string, s: string) => (o.colour ? `\x1b[${code}m${s}\x1b[0m` : s);
  let out = `sandbox ${story.sandbox}\n`;
  out += `  hypervisor ${story.hypervisor ?? '?'}   outcome ${story.outcome}   ${isoNs(story.firstNs)} → ${isoNs(story.lastNs)}\n`;
  out += `  ${story.errors} errors, ${story.warnings} warnings, ${story.alerts} alerts, ${story.gaps.length} gaps in the agent stream`;
  out += story.startMs !== undefined ? `, start time ${ms(story.startMs)}\n` : '\n';
  out += '\nlifecycle\n';
  for (const s of story.steps) {
    const d = s.endNs !== undefined ? ms(Number(s.endNs - s.startNs) / 1e6) : s.failed ? 'FAILED' : 'not finished';
    out += `  ${isoNs(s.startNs)}  ${s.name.padEnd(16)} ${s.failed ? c('31', d) : d}  (${s.from})\n`;
  }
  out += '\nrecords\n';
  const sorted = [...recs].sort((a, b) =>
    recordTimeNs(a) < recordTimeNs(b) ? -1 : recordTimeNs(a) > recordTimeNs(b) ? 1 : 0,
  );
  const gaps = [...story.gaps];
  for (const r of sorted) {
    const t = recordTimeNs(r);
    while (gaps.length && gaps[0]!.beforeNs <= t) {
      const g = gaps.shift()!;
      out +=
        c('35', `  ----- ${ms(Number(g.beforeNs - g.afterNs) / 1e6)} without a record from the agent -----`) + '\n';
    }
    const alert = r.attributes[ATTR_KATA_ALERT_RULE_ID];
    if (!o.all && r.severityNumber > 0 && r.severityNumber < 9 && alert === undefined) continue;
    const mark =
      alert !== undefined ? 'ALERT' : r.severityNumber >= 17 ? 'ERROR' : r.severityNumber >= 13 ? 'WARN' : '';
    const sub = r.attributes[ATTR_KATA_SUBSYSTEM];
    let line = `  ${isoNs(t)} ${mark.padEnd(5)} ${String(r.attributes[ATTR_KATA_COMPONENT] ?? '-').padEnd(12)} ${String(sub ?? '').padEnd(10)} ${escapeControls(r.body)}`;
    if (alert !== undefined) line += ` rule=${escapeControls(String(alert))}`;
    out +=
      (mark === 'ALERT' ? c('1;31', line) : mark === 'ERROR' ? c('31', line) : mark === 'WARN' ? c('33', line) : line) +
      '\n';
  }
  return out;
}
