import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStore } from '../../receiver/exporters/store.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { encodeLogsJson } from '../../receiver/otlp/index.js';
import { parseFilter, parseSeverity, type FilterFlags } from '../../receiver/query/filter.js';
import { runQuery } from '../../receiver/query/engine.js';
import { humanLine } from '../../receiver/query/format.js';
import { StoreIndex } from '../../receiver/query/store-index.js';
import { REPO, runCli } from '../support/cli.js';
import { generateRecords, planSandboxes, writeStoreDir, type GenOptions } from '../../bench/store-gen.js';

const root = mkdtempSync(join(tmpdir(), 'kata-otel-query-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const T0 = Date.parse('2026-05-17T10:00:00Z');
const GEN: GenOptions = { sandboxes: 24, perSandbox: 70, startMs: T0, spanMs: 3_600_000, seed: 5 };
const SBS = planSandboxes(GEN);
const NOW = T0 + 6 * 3_600_000;
let dataDir: string;
let all: KataLogRecord[];

beforeAll(async () => {
  dataDir = join(root, 'data');
  writeStoreDir(join(dataDir, 'store'), generateRecords(GEN), { batch: 40, fileRecords: 400 });
  all = [];
  for await (const r of readStore(join(dataDir, 'store'))) all.push(r);
});

// ---- an independent oracle: the flags evaluated straight on each record, no shared code with filter.ts ------

const SEV_WORD: Record<string, number> = { trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 };
function oracle(r: KataLogRecord, f: FilterFlags): boolean {
  const a = r.attributes;
  const t = Number((r.timeUnixNano > 0n ? r.timeUnixNano : r.observedTimeUnixNano) / 1_000_000n);
  const tNs = r.timeUnixNano > 0n ? r.timeUnixNano : r.observedTimeUnixNano;
  if (f.sandbox && a['kata.sandbox.id'] !== f.sandbox) return false;
  if (f.container && a['container.id'] !== f.container) return false;
  if (f.pod) {
    const [ns, name] = f.pod.includes('/') ? f.pod.split('/') : [undefined, f.pod];
    if (a['k8s.pod.name'] !== name || (ns !== undefined && a['k8s.namespace.name'] !== ns)) return false;
  }
  if (f.traceId && r.traceId !== f.traceId) return false;
  if (f.spanId && r.spanId !== f.spanId) return false;
  if (f.component && a['kata.component'] !== f.component) return false;
  if (f.subsystem && a['kata.subsystem'] !== f.subsystem) return false;
  if (f.rule && a['kata.alert.rule.id'] !== f.rule) return false;
  if (f.severity) {
    const m = /^(>=|<)?(\w+)$/.exec(f.severity)!;
    const n = SEV_WORD[m[2]!]!;
    if (m[1] === '<' ? r.severityNumber >= n : r.severityNumber < n) return false;
  }
  if (f.since && tNs < BigInt(Date.parse(f.since)) * 1_000_000n) return false;
  if (f.until && t >= Date.parse(f.until)) return false;
  if (f.grep && !r.body.toLowerCase().includes(f.grep.toLowerCase())) return false;
  for (const w of f.where ?? []) {
    const [k, v] = w.split('=') as [string, string];
    if (String(a[k]) !== v) return false;
  }
  return true;
}

const uids = (rs: KataLogRecord[]) => rs.map((r) => String(r.attributes['log.record.uid']));

async function query(f: FilterFlags, dir = dataDir): Promise<KataLogRecord[]> {
  const out: KataLogRecord[] = [];
  for await (const h of runQuery({ dataDir: dir }, parseFilter(f, NOW))) out.push(h.record);
  return out;
}

const sb = SBS[5]!;
const iso = (ms: number) => new Date(ms).toISOString();
const FILTERS: Record<string, FilterFlags> = {
  sandbox: { sandbox: sb.id },
  container: { container: sb.container },
  podWithNamespace: { pod: `${sb.pod.namespace}/${sb.pod.name}` },
  podName: { pod: sb.pod.name },
  traceId: { traceId: sb.traceId },
  component: { component: 'hypervisor' },
  subsystem: { subsystem: 'kata_agent' },
  severity: { severity: '>=warn' },
  severityBelow: { severity: '<info' },
  since: { since: iso(T0 + 1_800_000) },
  until: { until: iso(T0 + 900_000) },
  grep: { grep: 'timed out', ignoreCase: true },
  where: { where: ['kata.exec.id=exec-2'] },
  rule: { rule: 'kata-agent-policy-denied' },
};

describe('query filters on a generated store', () => {
  it('the store is realistic: several files, sandboxes, alerts, parse errors', () => {
    expect(readdirSync(join(dataDir, 'store')).length).toBeGreaterThan(3);
    expect(new Set(all.map((r) => r.attributes['kata.sandbox.id'])).size).toBe(24);
    expect(all.some((r) => r.eventName === 'kata.alert')).toBe(true);
    expect(all.some((r) => r.attributes['kata.log.parse_error'])).toBe(true);
  });

  for (const [name, f] of Object.entries(FILTERS)) {
    it(`--${name} alone selects exactly what the oracle selects`, async () => {
      const want = all.filter((r) => oracle(r, f));
      expect(want.length).toBeGreaterThan(0);
      expect(want.length).toBeLessThan(all.length);
      expect(uids(await query(f))).toEqual(uids(want));
    });
  }

  it('--span-id finds its one record', async () => {
    const target = all[123]!;
    const got = await query({ spanId: target.spanId! });
    expect(uids(got)).toContain(target.attributes['log.record.uid']);
    expect(got.every((r) => r.spanId === target.spanId)).toBe(true);
  });

  const names = Object.keys(FILTERS);
  for (let i = 0; i < names.length; i++)
    for (let j = i + 1; j < names.length; j++) {
      const f = { ...FILTERS[names[i]!], ...FILTERS[names[j]!] } as FilterFlags;
      it(`--${names[i]} with --${names[j]}`, async () => {
        expect(uids(await query(f))).toEqual(uids(all.filter((r) => oracle(r, f))));
      });
    }

  it('severity ranges follow the OTel data model', () => {
    expect(parseSeverity('>=warn')).toEqual({ min: 13 });
    expect(parseSeverity('>warn')).toEqual({ min: 17 });
    expect(parseSeverity('<=info')).toEqual({ max: 12 });
    expect(parseSeverity('=error')).toEqual({ min: 17, max: 20 });
    expect(parseSeverity('error')).toEqual({ min: 17 });
    expect(() => parseSeverity('>=loud')).toThrow(/unknown severity "loud"/);
  });

  it('equals a brute-force scan on random filter combinations (property)', async () => {
    const pick = <T>(xs: T[]) => fc.option(fc.constantFrom(...xs), { nil: undefined });
    const times = [0, 600_000, 1_800_000, 2_700_000, 4_000_000].map((d) => iso(T0 + d));
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          sandbox: pick(SBS.slice(0, 6).map((s) => s.id)),
          container: pick(SBS.slice(0, 6).map((s) => s.container)),
          pod: pick(SBS.slice(0, 6).flatMap((s) => [s.pod.name, `${s.pod.namespace}/${s.pod.name}`])),
          traceId: pick(SBS.slice(0, 6).map((s) => s.traceId)),
          component: pick(['runtime', 'agent', 'hypervisor', 'guest-kernel']),
          subsystem: pick(['sandbox', 'rpc', 'qemu', 'policy']),
          severity: pick(['>=warn', '>=error', '<info', '>=debug']),
          since: pick(times),
          until: pick(times),
          grep: pick(['started', 'QEMU', 'error', 'script']),
          rule: pick(['kata-debug-console-enabled', 'kata-guest-panic']),
          where: pick([['kata.exec.id=exec-1'], ['kata.hypervisor.name=qemu']]),
        }),
        async (raw) => {
          const f = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)) as FilterFlags;
          if (f.grep) f.ignoreCase = true;
          expect(uids(await query(f))).toEqual(uids(all.filter((r) => oracle(r, f))));
        },
      ),
      { numRuns: 80, seed: 16 },
    );
  });
});

describe('the query index', () => {
  const copy = (name: string) => {
    const d = join(root, name);
    writeStoreDir(join(d, 'store'), generateRecords({ ...GEN, sandboxes: 6 }), { batch: 25, fileRecords: 200 });
    return d;
  };
  const indexFiles = (d: string) => readdirSync(join(d, 'index')).filter((n) => n.endsWith('.idx.json'));

  it('prunes: a one-sandbox query reads only that sandbox’s lines', async () => {
    const idx = new StoreIndex(join(dataDir, 'store'), join(dataDir, 'index'));
    const files = await idx.refresh();
    const { candidateLines } = await import('../../receiver/query/store-index.js');
    const f = parseFilter({ sandbox: sb.id });
    const lines = files.reduce((n, fi) => n + candidateLines(fi, f).length, 0);
    const total = files.reduce((n, fi) => n + fi.off.length, 0);
    expect(lines).toBeGreaterThan(0);
    expect(lines).toBeLessThan(total / 3);
  });

  it('is rebuilt when deleted, and when damaged, with the same answers', async () => {
    const d = copy('rebuild');
    const want = uids(await query({ severity: '>=warn' }, d));
    expect(indexFiles(d).length).toBeGreaterThan(0);
    rmSync(join(d, 'index'), { recursive: true });
    expect(uids(await query({ severity: '>=warn' }, d))).toEqual(want);
    expect(indexFiles(d).length).toBeGreaterThan(0);
    const victim = join(d, 'index', indexFiles(d)[0]!);
    writeFileSync(victim, readFileSync(victim, 'utf8').slice(0, 100)); // torn
    const warnings: string[] = [];
    const got: KataLogRecord[] = [];
    for await (const h of runQuery(
      { dataDir: d, onWarn: (m) => warnings.push(m) },
      parseFilter({ severity: '>=warn' }),
    ))
      got.push(h.record);
    expect(uids(got)).toEqual(want);
    expect(warnings.join('\n')).toMatch(/damaged.*rebuilding/);
    expect(() => JSON.parse(readFileSync(victim, 'utf8'))).not.toThrow();
  });

  it('extends incrementally as a store file grows, and rebuilds when a file is replaced', async () => {
    const d = copy('grow');
    const store = join(d, 'store');
    const name = readdirSync(store).sort().at(-1)!;
    await query({}, d);
    const before = JSON.parse(readFileSync(join(d, 'index', name + '.idx.json'), 'utf8')) as { off: number[] };
    const extra: KataLogRecord[] = all.slice(0, 30).map((r) => ({
      ...r,
      attributes: { ...r.attributes, 'log.record.uid': `new-${String(r.attributes['log.record.uid'])}` },
    }));
    appendFileSync(join(store, name), encodeLogsJson(extra) + '\n' + '{"resourceLogs":[{"torn');
    const got = await query({ sandbox: String(extra[0]!.attributes['kata.sandbox.id']) }, d);
    expect(uids(got)).toContain(`new-${String(all[0]!.attributes['log.record.uid'])}`);
    const after = JSON.parse(readFileSync(join(d, 'index', name + '.idx.json'), 'utf8')) as { off: number[] };
    expect(after.off.slice(0, before.off.length)).toEqual(before.off);
    expect(after.off.length).toBe(before.off.length + 1);
    // Same name, different content (a restored backup): stale, rebuilt.
    writeFileSync(join(store, name), encodeLogsJson(all.slice(500, 510)) + '\n');
    const warns: string[] = [];
    const again: KataLogRecord[] = [];
    for await (const h of runQuery({ dataDir: d, onWarn: (m) => warns.push(m) }, parseFilter({}))) again.push(h.record);
    expect(uids(again)).toEqual(expect.arrayContaining(uids(all.slice(500, 510))));
    expect(warns.join('\n')).toMatch(/stale/);
  });

  it('indexes lines shaped unlike what kata-otel writes exactly as the decoder reads them', async () => {
    const d = join(root, 'foreign');
    const store = join(d, 'store');
    writeStoreDir(store, all.slice(0, 10));
    const line = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'kata.sandbox.id', value: { stringValue: 'resource-sb' } }] },
          scopeLogs: [
            {
              logRecords: [
                // numeric time, string severity, the sandbox on the record (it wins over the resource's)
                {
                  timeUnixNano: 1779012000000000000,
                  severityNumber: '17',
                  body: { stringValue: 'foreign A' },
                  attributes: [{ key: 'kata.sandbox.id', value: { stringValue: 'record-sb' } }],
                },
                {
                  observedTimeUnixNano: '1779012000000000001',
                  severityNumber: 13,
                  body: { stringValue: 'foreign B' },
                  traceId: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
                },
              ],
            },
          ],
        },
      ],
    };
    appendFileSync(join(store, readdirSync(store)[0]!), JSON.stringify(line) + '\n');
    const bodies = async (f: FilterFlags) => (await query(f, d)).map((r) => r.body);
    expect(await bodies({ sandbox: 'record-sb', severity: '>=error' })).toEqual(['foreign A']);
    expect(await bodies({ sandbox: 'resource-sb' })).toEqual(['foreign B']);
    expect(await bodies({ traceId: 'a'.repeat(32), until: '2026-05-17T10:00:00.001Z' })).toEqual(['foreign B']);
  });

  it('survives SIGKILL of a process writing it, and the next query rebuilds what was torn', async () => {
    const d = join(root, 'killed');
    writeStoreDir(join(d, 'store'), generateRecords({ ...GEN, sandboxes: 60, perSandbox: 150 }), {
      batch: 5,
      fileRecords: 3000,
    });
    const script = join(root, 'indexer.mts');
    writeFileSync(
      script,
      `import { rmSync } from 'node:fs';
import { StoreIndex } from ${JSON.stringify(join(REPO, 'receiver/query/store-index.ts'))};
const [store, index] = process.argv.slice(2);
for (;;) { rmSync(index, { recursive: true, force: true }); await new StoreIndex(store, index).refresh(); process.stdout.write('.'); }
`,
    );
    const want = uids(
      (
        await (async () => {
          const out: KataLogRecord[] = [];
          for await (const r of readStore(join(d, 'store'))) out.push(r);
          return out;
        })()
      ).filter((r) => r.severityNumber >= 13),
    );
    for (const delay of [700, 1300, 2100]) {
      const child = spawn(process.execPath, ['--import', 'tsx', script, join(d, 'store'), join(d, 'index')], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, delay % 500));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
      // The child may have been killed between removing the index directory and writing the first file.
      const left = existsSync(join(d, 'index')) ? readdirSync(join(d, 'index')) : [];
      // Every finished index file parses; a torn write is at most a temporary, never a half index.
      for (const n of left.filter((x) => x.endsWith('.idx.json')))
        expect(() => JSON.parse(readFileSync(join(d, 'index', n), 'utf8'))).not.toThrow();
      expect(uids(await query({ severity: '>=warn' }, d))).toEqual(want);
      expect(readdirSync(join(d, 'index')).filter((n) => n.includes('.tmp-'))).toEqual([]);
    }
  }, 60_000);
});

describe('kata-otel query (CLI)', () => {
  it('prints aligned human lines without colour off a TTY, escapes control characters, exits 1 on no match', async () => {
    const r = await runCli(['query', '--data-dir', dataDir, '--sandbox', sb.id, '--severity', '>=warn']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBe(all.filter((x) => oracle(x, { sandbox: sb.id, severity: '>=warn' })).length);
    expect(r.stdout).not.toMatch(/\x1b\[/);
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT[\d:.]+Z (WARN |ERROR) \S+\s+\S{12} /.test(l))).toBe(true);
    const g = await runCli(['query', '--data-dir', dataDir, '--grep', 'garbage']);
    expect(g.stdout).toMatch(/\\x00\\x07garbage/);
    expect(g.stdout).not.toMatch(/[\x00\x07]/);
    const none = await runCli(['query', '--data-dir', dataDir, '--sandbox', 'nope']);
    expect(none.code).toBe(1);
    const bad = await runCli(['query', '--data-dir', dataDir, '--since', 'yesterday-ish']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since: cannot read "yesterday-ish"/);
  }, 60_000);

  it('colours by severity only when asked (a TTY), and escapes terminal controls either way', () => {
    const err = { ...all.find((r) => r.severityNumber >= 17)!, body: 'boom \x1b]0;owned\x07 \x9b31m' };
    const coloured = humanLine(err, true);
    expect(coloured.startsWith('\x1b[31m')).toBe(true);
    expect(coloured.endsWith('\x1b[0m')).toBe(true);
    const plain = humanLine(err, false);
    expect(plain).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    expect(plain).toContain('boom \\x1b]0;owned\\x07 \\x9b31m');
    expect(coloured.slice(5, -4)).toBe(plain);
  });

  it('jsonl, otlp (read back by query FILE) and --sql give the same records', async () => {
    const f = ['--data-dir', dataDir, '--pod', `${sb.pod.namespace}/${sb.pod.name}`];
    const j = await runCli(['query', ...f, '--format', 'jsonl']);
    const rows = j.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { attributes: Record<string, unknown> });
    const o = await runCli(['query', ...f, '--format', 'otlp']);
    const file = join(root, 'export.jsonl');
    writeFileSync(file, o.stdout);
    const back = await runCli(['query', file, '--format', 'jsonl']);
    // OTLP groups records by resource, so the order within a line may differ; the records may not.
    const sorted = (s: string) => s.trim().split('\n').sort();
    expect(sorted(back.stdout)).toEqual(sorted(j.stdout));
    const s = await runCli([
      'query',
      ...f,
      '--format',
      'jsonl',
      '--sql',
      'SELECT count(*) AS n, count(DISTINCT sandbox_id) AS s FROM records',
    ]);
    expect(JSON.parse(s.stdout)).toEqual({ n: rows.length, s: 1 });
  }, 90_000);

  it('--follow prints records appended after it started', async () => {
    const d = join(root, 'follow');
    writeStoreDir(join(d, 'store'), all.slice(0, 50));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO, 'test/support/cli-main.ts'),
        'query',
        '--data-dir',
        d,
        '--follow',
        '--grep',
        'FOLLOW-ME',
        '--format',
        'jsonl',
      ],
      { cwd: REPO },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    await new Promise((r) => setTimeout(r, 2500));
    const name = readdirSync(join(d, 'store'))[0]!;
    appendFileSync(join(d, 'store', name), encodeLogsJson([{ ...all[0]!, body: 'FOLLOW-ME now' }]) + '\n');
    for (let i = 0; i < 50 && !out.includes('FOLLOW-ME'); i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('close', r));
    expect(out).toMatch(/"body":"FOLLOW-ME now"/);
    expect(code).toBe(0);
  }, 30_000);
});
