// `kata-otel rules …` subcommands as plain functions (receiver/cli wires them into commander):
// list the rules, replay log files through them, export them as Sigma or Loki rules.
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { KataLogRecord, ParseContext } from '../model/record.js';
import { nowUnixNano } from '../model/record.js';
import { encodeLogsJson } from '../otlp/index.js';
import { LineAssembler, parseText } from '../parse/index.js';
import { applyProvenance } from '../pipeline/provenance.js';
import {
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_LOG_ORIGIN,
  ATTR_LOG_FILE_PATH,
  KATA_LOG_ORIGIN_VALUE_STDIN,
} from '../semconv/generated.js';
import { RuleEngine } from './engine.js';
import { explainRecord } from './explain.js';
import { loadRuleFiles } from './load.js';
import { Redactor } from '../pipeline/redact/redactor.js';
import { toLoki } from './loki.js';
import { toSigma } from './sigma.js';
import type { RuleSet } from './types.js';

/** Where rules come from: `builtin`, a rules file or directory, or several of these in order. */
export type RulesSpec = string | string[];

export interface RulesIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Input for a file named `-` (default process.stdin). */
  stdin?: Readable;
}

const defaultIo = (): RulesIo => ({ stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) });

function pad(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** A table of the rules: id, severity, kind, enabled, tags, title. */
export function rulesList(opts: { rules?: RulesSpec } = {}): string {
  const rs = loadRuleFiles(opts.rules ?? 'builtin');
  const rows = [['ID', 'SEVERITY', 'KIND', 'ENABLED', 'TAGS', 'DESCRIPTION']];
  for (const r of rs.rules)
    rows.push([r.id, r.severity, r.kind, r.enabled ? 'yes' : 'no', r.tags.join(',') || '-', r.name]);
  return pad(rows);
}

export interface RulesTestResult {
  records: number;
  alerts: number;
  byRule: Record<string, number>;
}

/**
 * Replay log files through the rules: every alert is written to stdout as one OTLP/JSON
 * ExportLogsServiceRequest per line; a summary goes to stderr. The clock is the records' own time: after each
 * file chunk the engine is flushed at the newest record time seen, so absence rules fire as they would have live.
 */
export async function rulesTest(
  opts: {
    rules?: RulesSpec;
    files: string[];
    /** Print, per record, which rules' conditions matched and by which parts (explain.ts); given rule ids, also
     *  why those rules did not match. */
    explain?: boolean | string[];
  },
  io: RulesIo = defaultIo(),
): Promise<RulesTestResult> {
  const rs: RuleSet = loadRuleFiles(opts.rules ?? 'builtin');
  const explainOnly = Array.isArray(opts.explain) && opts.explain.length > 0 ? new Set(opts.explain) : undefined;
  for (const id of explainOnly ?? [])
    if (!rs.rules.some((r) => r.id === id)) throw new Error(`--explain: no rule '${id}' in the rules loaded`);
  const explain = (file: string, line: number, recs: KataLogRecord[]) => {
    for (const r of recs)
      for (const rule of rs.rules) {
        for (const text of explainRecord(rule, r, explainOnly?.has(rule.id) === true))
          io.stderr(`explain ${file}:${line}: ${text}\n`);
      }
  };
  const result: RulesTestResult = { records: 0, alerts: 0, byRule: {} };
  const emit = (alerts: KataLogRecord[]) => {
    for (const a of alerts) {
      io.stdout(encodeLogsJson([a]) + '\n');
      const id = String(a.attributes[ATTR_KATA_ALERT_RULE_ID]);
      result.byRule[id] = (result.byRule[id] ?? 0) + 1;
      result.alerts++;
    }
  };
  const engine = new RuleEngine({ rules: rs });
  // As in `run`: the rules, and the alerts printed, see records with their secrets already hidden.
  const redactor = new Redactor();
  let watermark = 0n;
  const BATCH = 512;
  for (const file of opts.files) {
    const input = file === '-' ? (io.stdin ?? process.stdin) : createReadStream(file, { encoding: 'utf8' });
    const observed = nowUnixNano();
    const ctx: ParseContext = {
      observedTimeUnixNano: observed,
      attributes:
        file === '-' ? { [ATTR_KATA_LOG_ORIGIN]: KATA_LOG_ORIGIN_VALUE_STDIN } : { [ATTR_LOG_FILE_PATH]: file },
    };
    const assembler = new LineAssembler();
    let batch: KataLogRecord[] = [];
    const run = () => {
      if (batch.length === 0) return;
      result.records += batch.length;
      for (const r of batch) {
        const t = r.timeUnixNano > 0n ? r.timeUnixNano : r.observedTimeUnixNano;
        if (t > watermark) watermark = t;
      }
      emit(engine.process(batch).slice(batch.length));
      emit(engine.flush(watermark));
      batch = [];
    };
    let lineNo = 0;
    const take = (entries: string[]) => {
      for (const e of entries) {
        lineNo++;
        if (e.trim() === '') continue;
        // As `run` does: redaction first, then the rules' trust requirements (trust.ts) read the provenance.
        const recs = parseText(e, ctx).filter((r) => redactor.redactRecord(r));
        applyProvenance(recs, ctx.attributes);
        if (opts.explain) explain(file, lineNo, recs);
        batch.push(...recs);
      }
      if (batch.length >= BATCH) run();
    };
    try {
      const lines = createInterface({ input, crlfDelay: Infinity });
      for await (const line of lines) take(assembler.push(line));
    } catch (e) {
      io.stderr(`kata-otel rules test: cannot read ${file}: ${(e as Error).message}\n`);
    }
    take(assembler.flush());
    run();
  }
  emit(engine.flush(watermark));
  emit(engine.closeWindows());
  const lines = [`records read: ${result.records}`, `alerts: ${result.alerts}`];
  for (const [id, n] of Object.entries(result.byRule).sort()) lines.push(`  ${id}: ${n}`);
  io.stderr(lines.join('\n') + '\n');
  return result;
}

/** Write the rules as Sigma rules (one .yml per rule) or as one Loki ruler file into `dir`; returns the paths. */
export async function rulesExport(
  opts: { format: 'sigma' | 'loki'; dir: string; rules?: RulesSpec },
  io: RulesIo = defaultIo(),
): Promise<string[]> {
  const rs = loadRuleFiles(opts.rules ?? 'builtin');
  await mkdir(opts.dir, { recursive: true });
  const written: string[] = [];
  if (opts.format === 'sigma') {
    const out = toSigma(rs);
    for (const f of out.files) {
      const path = join(opts.dir, f.file);
      await writeFile(path, f.yaml);
      written.push(path);
    }
    for (const s of out.skipped) io.stderr(`not exported to Sigma: ${s.rule}: ${s.reason}\n`);
  } else if (opts.format === 'loki') {
    const out = toLoki(rs);
    const path = join(opts.dir, out.file);
    await writeFile(path, out.yaml);
    written.push(path);
    for (const n of out.notes) io.stderr(`Loki export of ${n.rule}: ${n.note}\n`);
  } else {
    throw new Error(`unknown export format '${String(opts.format)}'; use sigma or loki`);
  }
  return written;
}
