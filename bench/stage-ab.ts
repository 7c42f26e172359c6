// In-process A/B of one per-record stage: this checkout's code against another checkout's (e.g. a `git worktree`
// of main), both loaded into one process and run in turns (each goes first every other round) on the same parsed
// records, fresh stage state every round; prints the minimum CPU µs (user + system, process.cpuUsage) per record
// given to the stage. On a shared machine this resolves differences that whole-process runs (versus.ts) cannot.
//
//   npx tsx bench/stage-ab.ts --against /tmp/main-checkout --stage rules [--rounds 12] [--lines 20000]
//     [--journal FILE] FILE…
//
// Stages: redact, dedupe, rules (the built-in rules), k8s (default bundle roots), limits, provenance
// (applyProvenance per line, as the pipeline calls it), parse (parseText / parseJournalEntry of every entry, with
// provenance: the timed part is the parse), estimate (the queue's estimateRecordBytes), group (groupByResource),
// mine (parse, provenance, redact, limits, dedupe and rules in a row: the stages issue 20's `stages` helper owns).
// Several files are read side by side, line by line, as `run --once` does. `--journal FILE`: `journalctl -o json`
// output (the steady state's Go-shim half), each line an entry as the journald source hands it over (with its
// provenance), interleaved with the files' lines. `--warm`: one stage instance per checkout for all rounds (as a
// running receiver keeps it), every round's lines with values no earlier round had (the steady writer's
// `bench_tag` and the journal cursor), so caches see what they see on a node. `--heap`: also print bytes allocated per record (growth of the
// heap in use over a run after a full GC, the maximum of the rounds): run it as
// `node --expose-gc --max-semi-space-size=512 --min-semi-space-size=512 --import tsx bench/stage-ab.ts …` so that
// no scavenge runs during a round. The other checkout needs its own receiver/ sources (node_modules are taken
// from this one).
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import type { Attributes, KataLogRecord } from '../receiver/model/record.js';

const { values: args, positionals: files } = parseArgs({
  options: {
    against: { type: 'string' },
    stage: { type: 'string', default: 'rules' },
    rounds: { type: 'string', default: '12' },
    lines: { type: 'string', default: '20000' },
    journal: { type: 'string' },
    heap: { type: 'boolean' },
    warm: { type: 'boolean' },
    side: { type: 'string' },
  },
  allowPositionals: true,
});
if (!args.against || (files.length === 0 && !args.journal)) {
  process.stderr.write('usage: tsx bench/stage-ab.ts --against CHECKOUT [--stage NAME] FILE…\n');
  process.exit(2);
}
const HERE = resolve(fileURLToPath(new URL('..', import.meta.url)));
const ROOTS = [resolve(args.against), HERE];
const stageName = args.stage as string;

type Run = (recs: KataLogRecord[], carriers: Attributes[]) => number;
/** One input entry: a text line with its file, or a journal entry (fields and the source's provenance). */
type Input = { file: string; text: string } | { fields: Record<string, unknown>; carrier: Attributes };
const STAGES = ['redact', 'dedupe', 'rules', 'k8s', 'limits', 'provenance', 'parse', 'estimate', 'group', 'mine'];

/** A function that runs the stage (fresh state) over the records in 1,024-record batches; returns records out. */
async function runner(root: string): Promise<Run> {
  const m = (p: string) => import(`${root}/receiver/${p}`);
  // --warm: one stage for every round, as a running receiver keeps it (caches filled, dedupe and rule state).
  const made = new Map<string, unknown>();
  const fresh = <T>(key: string, make: () => T): T => {
    if (!args.warm) return make();
    if (!made.has(key)) made.set(key, make());
    return made.get(key) as T;
  };
  const batches = (process: (b: KataLogRecord[]) => KataLogRecord[]) => (recs: KataLogRecord[]) => {
    let out = 0;
    for (let i = 0; i < recs.length; i += 1024) out += process(recs.slice(i, i + 1024)).length;
    return out;
  };
  switch (stageName) {
    case 'redact': {
      const { Redactor } = await m('pipeline/redact/redactor.ts');
      const { RedactStage } = await m('pipeline/redact/stage.ts');
      return (recs) => {
        const s = fresh('s', () => new RedactStage(new Redactor()));
        return batches((b) => s.process(b))(recs);
      };
    }
    case 'dedupe': {
      const { DedupeStage } = await m('pipeline/dedupe.ts');
      return (recs) => {
        const s = fresh('s', () => new DedupeStage());
        return batches((b) => s.process(b))(recs);
      };
    }
    case 'k8s': {
      const { K8sMetadataStage } = await m('pipeline/k8s.ts');
      return (recs) => {
        const s = fresh('s', () => new K8sMetadataStage());
        return batches((b) => s.process(b))(recs);
      };
    }
    case 'rules': {
      const { RuleEngine } = await m('rules/engine.ts');
      const { loadRuleFiles } = await m('rules/load.ts');
      const rules = loadRuleFiles(['builtin']);
      return (recs) => {
        const s = fresh('s', () => new RuleEngine({ rules }));
        return batches((b) => s.process(b))(recs);
      };
    }
    case 'provenance': {
      const { applyProvenance } = await m('pipeline/provenance.ts');
      return (recs, carriers) => {
        for (let i = 0; i < recs.length; i++) applyProvenance([recs[i]], carriers[i]);
        return recs.length;
      };
    }
    case 'limits': {
      const { LimitsStage } = await m('pipeline/limits.ts');
      return (recs) => {
        const s = fresh('s', () => new LimitsStage());
        return batches((b) => s.process(b))(recs);
      };
    }
    case 'estimate': {
      const { estimateRecordBytes } = await m('queue/memory.ts');
      return (recs) => {
        let bytes = 0;
        for (const r of recs) bytes += estimateRecordBytes(r);
        return bytes > 0 ? recs.length : 0;
      };
    }
    case 'group': {
      const { groupByResource } = await m('otlp/resource.ts');
      return batches((b) => (groupByResource(b).length ? b : []));
    }
    case 'parse':
    case 'mine': {
      const parse = await parser(root);
      if (stageName === 'parse') return () => parse().length;
      const { Redactor } = await m('pipeline/redact/redactor.ts');
      const { RedactStage } = await m('pipeline/redact/stage.ts');
      const { LimitsStage } = await m('pipeline/limits.ts');
      const { DedupeStage } = await m('pipeline/dedupe.ts');
      const { RuleEngine } = await m('rules/engine.ts');
      const { loadRuleFiles } = await m('rules/load.ts');
      const { HostStage } = await m('pipeline/host.ts');
      const rules = loadRuleFiles(['builtin']);
      return () => {
        const stages = fresh('all', () => [
          new RedactStage(new Redactor()),
          new LimitsStage(),
          new HostStage({ name: 'node-17', id: 'machine-id' }),
          new DedupeStage(),
          new RuleEngine({ rules }),
        ]);
        return batches((b) => stages.reduce((x, st) => st.process(x), b))(parse());
      };
    }
  }
  throw new Error(`--stage ${stageName}: one of ${STAGES.join(', ')}`);
}

const { journalProvenance, DEFAULT_JOURNAL_TRUST } = await import('../receiver/sources/journald.js');
const { HostStage } = await import('../receiver/pipeline/host.js');
const limit = Number(args.lines);
const perFile: Input[][] = files.map((f) =>
  readFileSync(f, 'utf8')
    .split('\n', limit)
    .filter(Boolean)
    .map((text) => ({ file: f, text })),
);
if (args.journal)
  perFile.push(
    readFileSync(args.journal, 'utf8')
      .split('\n', limit)
      .filter(Boolean)
      .map((l) => {
        const fields = JSON.parse(l) as Record<string, unknown>;
        return { fields, carrier: journalProvenance(fields, DEFAULT_JOURNAL_TRUST) };
      }),
  );
const lines: Input[] = [];
for (let i = 0; i < Math.max(...perFile.map((x) => x.length)); i++)
  for (const x of perFile) if (i < x.length) lines.push(x[i]!);

/** The parse of `root`'s checkout: every input entry to records, with its provenance applied. */
async function parser(root: string): Promise<(carriers?: Attributes[]) => KataLogRecord[]> {
  const { parseText, parseJournalEntry } = await import(`${root}/receiver/parse/index.ts`);
  const { applyProvenance } = await import(`${root}/receiver/pipeline/provenance.ts`);
  const observedTimeUnixNano = BigInt(Date.now()) * 1_000_000n;
  return (carriers, provenance = true) => {
    const recs: KataLogRecord[] = [];
    const tag = `kb#${round}-`;
    for (const e of lines) {
      // As the file source hands a line over: its own carrier object per entry.
      const a: Attributes = 'file' in e ? { 'log.file.path': e.file, 'log.file.name': basename(e.file) } : e.carrier;
      const ctx = { observedTimeUnixNano, attributes: a, keepOriginal: false };
      const rs: KataLogRecord[] =
        'file' in e ? parseText(unique(e.text, tag), ctx) : parseJournalEntry(uniqueEntry(e.fields, tag), ctx);
      if (provenance) applyProvenance(rs, a);
      for (const r of rs) {
        recs.push(r);
        carriers?.push(a);
      }
    }
    return recs;
  };
}
const parseHere = await parser(HERE);

/** --warm: every round's lines carry values no earlier round had, as a node's do (the steady writer's `bench_tag`
 *  and the journal cursor: the caches must not see them again). */
let round = 0;
const unique = (text: string, tag: string) => (args.warm ? text.replaceAll('kb#', tag) : text);
function uniqueEntry(f: Record<string, unknown>, tag: string): Record<string, unknown> {
  if (!args.warm) return f;
  const out = { ...f };
  if (typeof f.MESSAGE === 'string') out.MESSAGE = unique(f.MESSAGE, tag);
  if (typeof f.__CURSOR === 'string') out.__CURSOR = f.__CURSOR.replace(';i=', `;i=${round.toString(16)}0`);
  return out;
}

/** Fresh records as the pipeline hands them to its stages (provenance applied, host stage run). */
function records(): { recs: KataLogRecord[]; carriers: Attributes[] } {
  const carriers: Attributes[] = [];
  const recs = (parseHere as (c: Attributes[], p: boolean) => KataLogRecord[])(carriers, stageName !== 'provenance');
  if (stageName !== 'provenance') new HostStage({ name: 'node-17', id: 'machine-id' }).process(recs);
  return { recs, carriers };
}

// --side against|this: only that checkout, in a process of its own (run the two alternately from a shell): what
// changes the layout of the records' objects is only comparable that way, since two checkouts in one process share
// V8's hidden classes.
const only = args.side === undefined ? undefined : args.side === 'this' ? 1 : 0;
const runs = await Promise.all(ROOTS.map((root, j) => (only === undefined || only === j ? runner(root) : undefined)));
const ownParse = stageName === 'parse' || stageName === 'mine';
const best = [Infinity, Infinity];
const alloc = [0, 0];
const out = [0, 0];
let n = 0;
const gc = (globalThis as { gc?: () => void }).gc;
/** The heap in use: after a full GC, its growth over a run is what the run allocated, as long as no scavenge ran
 *  in between (hence a young generation larger than a run allocates, and the maximum of the rounds). */
const allocated = () => v8.getHeapStatistics().used_heap_size;
for (let r = 0; r < Number(args.rounds); r++) {
  for (const j of only !== undefined ? [only] : r % 2 ? [1, 0] : [0, 1]) {
    round++;
    const { recs, carriers } = ownParse ? { recs: [], carriers: [] } : records();
    n = recs.length;
    gc?.();
    const a0 = allocated();
    const c = process.cpuUsage();
    out[j] = runs[j]!(recs, carriers);
    if (ownParse) n = out[j]!;
    const u = process.cpuUsage(c);
    alloc[j] = Math.max(alloc[j]!, allocated() - a0);
    best[j] = Math.min(best[j]!, u.user + u.system);
  }
}
const per = (j: number) => (best[j]! / n).toFixed(2);
const bytes = (j: number) => (alloc[j]! / n).toFixed(0);
const inputs = [...files.map((f) => basename(f)), ...(args.journal ? [basename(args.journal)] : [])];
if (only !== undefined)
  console.log(
    `${stageName} ${only ? 'this checkout' : 'against'}: ${n} records, CPU µs per record ${per(only)} (min of ` +
      `${args.rounds} rounds)${args.heap && gc ? `, bytes allocated per record ${bytes(only)}` : ''}`,
  );
else
  console.log(
    `${stageName} on ${inputs.length > 4 ? `${inputs.length} files` : inputs.join(' + ')}: ${lines.length} entries, ` +
      `${n} records in, ${out[0]} / ${out[1]} out; CPU µs per record in (min of ${args.rounds} rounds): ` +
      `against ${per(0)}, this checkout ${per(1)} (${((best[1]! / best[0]!) * 100).toFixed(0)}%)` +
      (args.heap && gc ? `; bytes allocated per record: against ${bytes(0)}, this checkout ${bytes(1)}` : ''),
  );
