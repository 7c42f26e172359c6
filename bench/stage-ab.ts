// In-process A/B of one per-record stage: this checkout's code against another checkout's (e.g. a `git worktree`
// of main), both loaded into one process and run in turns (each goes first every other round) on the same parsed
// records, fresh stage state every round; prints the minimum CPU µs (user + system, process.cpuUsage) per record
// given to the stage. On a shared machine this resolves differences that whole-process runs (versus.ts) cannot.
//
//   npx tsx bench/stage-ab.ts --against /tmp/main-checkout --stage rules [--rounds 12] [--lines 20000] FILE…
//
// Stages: redact, dedupe, rules (the built-in rules), k8s (default bundle roots), provenance (applyProvenance
// per line, as the pipeline calls it). Several files are read side by side, line by line, as `run --once` does.
// The other checkout needs its own receiver/ sources (node_modules are taken from this one).
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Attributes, KataLogRecord } from '../receiver/model/record.js';

const { values: args, positionals: files } = parseArgs({
  options: {
    against: { type: 'string' },
    stage: { type: 'string', default: 'rules' },
    rounds: { type: 'string', default: '12' },
    lines: { type: 'string', default: '20000' },
  },
  allowPositionals: true,
});
if (!args.against || files.length === 0) {
  process.stderr.write('usage: tsx bench/stage-ab.ts --against CHECKOUT [--stage NAME] FILE…\n');
  process.exit(2);
}
const HERE = resolve(fileURLToPath(new URL('..', import.meta.url)));
const ROOTS = [resolve(args.against), HERE];
const stageName = args.stage as string;

type Run = (recs: KataLogRecord[], carriers: Attributes[]) => number;

/** A function that runs the stage (fresh state) over the records in 1,024-record batches; returns records out. */
async function runner(root: string): Promise<Run> {
  const m = (p: string) => import(`${root}/receiver/${p}`);
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
        const s = new RedactStage(new Redactor());
        return batches((b) => s.process(b))(recs);
      };
    }
    case 'dedupe': {
      const { DedupeStage } = await m('pipeline/dedupe.ts');
      return (recs) => {
        const s = new DedupeStage();
        return batches((b) => s.process(b))(recs);
      };
    }
    case 'k8s': {
      const { K8sMetadataStage } = await m('pipeline/k8s.ts');
      return (recs) => {
        const s = new K8sMetadataStage();
        return batches((b) => s.process(b))(recs);
      };
    }
    case 'rules': {
      const { RuleEngine } = await m('rules/engine.ts');
      const { loadRuleFiles } = await m('rules/load.ts');
      const rules = loadRuleFiles(['builtin']);
      return (recs) => {
        const s = new RuleEngine({ rules });
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
  }
  throw new Error(`--stage ${stageName}: one of redact, dedupe, rules, k8s, provenance`);
}

const { parseText } = await import('../receiver/parse/index.js');
const { applyProvenance } = await import('../receiver/pipeline/provenance.js');
const { HostStage } = await import('../receiver/pipeline/host.js');
const limit = Number(args.lines);
const perFile = files.map((f) =>
  readFileSync(f, 'utf8')
    .split('\n', limit)
    .filter(Boolean)
    .map((l) => [f, l] as const),
);
const lines: (readonly [string, string])[] = [];
for (let i = 0; i < Math.max(...perFile.map((x) => x.length)); i++)
  for (const x of perFile) if (i < x.length) lines.push(x[i]!);

/** Fresh records as the pipeline hands them to its stages (provenance applied, host stage run). */
function records(): { recs: KataLogRecord[]; carriers: Attributes[] } {
  const recs: KataLogRecord[] = [];
  const carriers: Attributes[] = [];
  for (const [f, l] of lines) {
    const a: Attributes = { 'log.file.path': f, 'log.file.name': basename(f) };
    const rs = parseText(l, {
      observedTimeUnixNano: BigInt(Date.now()) * 1_000_000n,
      attributes: a,
      keepOriginal: false,
    });
    if (stageName !== 'provenance') applyProvenance(rs, a);
    for (const r of rs) {
      recs.push(r);
      carriers.push(a);
    }
  }
  if (stageName !== 'provenance') new HostStage({ name: 'node-17', id: 'machine-id' }).process(recs);
  return { recs, carriers };
}

const runs = await Promise.all(ROOTS.map(runner));
const best = [Infinity, Infinity];
const out = [0, 0];
let n = 0;
for (let round = 0; round < Number(args.rounds); round++) {
  for (const j of round % 2 ? [1, 0] : [0, 1]) {
    const { recs, carriers } = records();
    n = recs.length;
    const c = process.cpuUsage();
    out[j] = runs[j]!(recs, carriers);
    const u = process.cpuUsage(c);
    best[j] = Math.min(best[j]!, u.user + u.system);
  }
}
const per = (j: number) => (best[j]! / n).toFixed(2);
console.log(
  `${stageName} on ${files.map((f) => basename(f)).join(' + ')}: ${lines.length} lines, ${n} records in, ` +
    `${out[0]} / ${out[1]} out; CPU µs per record in (min of ${args.rounds} rounds): ` +
    `against ${per(0)}, this checkout ${per(1)} (${((best[1]! / best[0]!) * 100).toFixed(0)}%)`,
);
