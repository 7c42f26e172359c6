// `kata-otel query | timeline | review | archive`: commander wiring around receiver/query, receiver/review and
// receiver/archive. Each command imports its module in its action (DuckDB only for --sql and archive).
import type { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import type { FilterFlags } from '../query/filter.js';
import type { OutputFormat } from '../query/format.js';

const DEFAULT_DATA_DIR = './kata-otel-data';
const collectList = (v: string, prev: string[] = []) => [...prev, v];

/** A buffered writer that waits for 'drain' (a slow pager slows the query instead of growing memory). */
export function streamOut(stream: Writable) {
  let buf = '';
  const flush = async () => {
    if (!buf) return;
    const s = buf;
    buf = '';
    if (!stream.write(s)) await new Promise<void>((r) => stream.once('drain', r));
  };
  return {
    write: (s: string) => void (buf += s),
    maybeFlush: () => (buf.length > 1 << 16 ? flush() : Promise.resolve()),
    flush,
  };
}

interface QueryFlags extends FilterFlags {
  dataDir?: string;
  format: string;
  follow?: boolean;
  sql?: string;
  readOnly?: boolean;
  colour?: boolean;
}

const dataDirOption = (cmd: Command) =>
  cmd.option('--data-dir <dir>', 'the kata-otel data dir (store/, index/, archive/)', DEFAULT_DATA_DIR);
const SINCE = 'from: a duration back from now (2h, 7d) or an ISO-8601 time';
const UNTIL = 'to (exclusive): a duration back from now or an ISO-8601 time';

function filterOptions(cmd: Command): Command {
  return dataDirOption(cmd)
    .option('--sandbox <id>', 'kata.sandbox.id')
    .option('--container <id>', 'container.id')
    .option('--pod <ns/name>', 'k8s.namespace.name/k8s.pod.name (or only the pod name)')
    .option('--trace-id <hex>', 'trace id (32 hex digits)')
    .option('--span-id <hex>', 'span id (16 hex digits)')
    .option('--component <c>', 'kata.component: runtime, agent, hypervisor, guest-kernel, virtiofsd, ...')
    .option('--subsystem <s>', 'kata.subsystem')
    .option('--severity <range>', "'>=warn', '<info', 'error' (= '>=error'), '=warn'")
    .option('--since <time>', SINCE)
    .option('--until <time>', UNTIL)
    .option('--grep <re>', 'RE2 regular expression on the body (linear time)')
    .option('-i, --ignore-case', '--grep ignores case')
    .option('--where <key=value>', 'attribute equals value (KEY alone: attribute present); repeatable', collectList)
    .option('--rule <id>', 'alerts of this rule (kata.alert.rule.id)')
    .option('--read-only', 'do not write index files (an evidence copy of a data dir)');
}

export function reviewCommands(program: Command, setCode: (code: number) => void): void {
  const guard = async (name: string, fn: () => Promise<number>) => {
    const { FilterError } = await import('../query/filter.js');
    const { ArchiveDamagedError } = await import('../archive/archive.js');
    try {
      setCode(await fn());
    } catch (err) {
      if (err instanceof FilterError) {
        process.stderr.write(`kata-otel ${name}: ${err.message}\n`);
        setCode(2);
      } else if (err instanceof ArchiveDamagedError) {
        process.stderr.write(`kata-otel ${name}: ${err.message}\n`);
        setCode(3);
      } else throw err;
    }
  };

  filterOptions(
    program
      .command('query')
      .description(
        'find records in the embedded store (and its archive), or in Collector file-exporter OTLP/JSON files given as arguments',
      )
      .argument('[files...]', 'OTLP/JSON lines files (or archive .parquet files) to read instead of the data dir'),
  )
    .addOption(
      new Option('--format <f>', 'human, jsonl or otlp').choices(['human', 'jsonl', 'json', 'otlp']).default('human'),
    )
    .addOption(new Option('--output <f>', 'alias of --format').choices(['human', 'jsonl', 'json', 'otlp']))
    .option('--no-colour', 'no colour even on a terminal')
    .option('--follow', 'keep running and print matching records as they are stored')
    .option('--sql <query>', 'run SQL (DuckDB) over the matching records, a table named `records`')
    .action((files: string[], o: QueryFlags & { output?: string }) =>
      guard('query', async () => {
        const { parseFilter, FilterError } = await import('../query/filter.js');
        const { runQuery, followQuery } = await import('../query/engine.js');
        const { RecordWriter } = await import('../query/format.js');
        const filter = parseFilter(o);
        const fmt = (o.output ?? o.format) === 'json' ? 'jsonl' : ((o.output ?? o.format) as OutputFormat);
        const q = {
          dataDir: o.dataDir ?? DEFAULT_DATA_DIR,
          files,
          readOnly: o.readOnly ?? false,
          onWarn: (m: string) => void process.stderr.write(`kata-otel query: ${m}\n`),
        };
        const out = streamOut(process.stdout);
        if (o.sql !== undefined) {
          const { runSql } = await import('../query/sql.js');
          await runSql(
            o.sql,
            (async function* () {
              for await (const h of runQuery(q, filter)) yield h.record;
            })(),
            fmt,
            out.write,
          );
          await out.flush();
          return 0;
        }
        const w = new RecordWriter(fmt, out.write, Boolean(process.stdout.isTTY) && o.colour !== false);
        if (o.follow) {
          if (files.length) throw new FilterError('--follow reads the store; do not name files with it');
          const ac = new AbortController();
          const stop = () => ac.abort();
          process.once('SIGINT', stop).once('SIGTERM', stop);
          for await (const h of followQuery(q, filter, ac.signal)) {
            w.add(h.record);
            w.flush();
            await out.flush();
          }
          return 0;
        }
        let n = 0;
        for await (const h of runQuery(q, filter)) {
          w.add(h.record);
          n++;
          await out.maybeFlush();
        }
        w.flush();
        await out.flush();
        return n > 0 ? 0 : 1; // as grep: 1 when nothing matched
      }),
    );

  dataDirOption(
    program
      .command('timeline')
      .description("one sandbox's story: lifecycle steps with durations, errors, alerts and agent gaps, in time order")
      .argument('<sandbox>', 'sandbox id, or NAMESPACE/POD'),
  )
    .option('--since <time>', SINCE)
    .option('--until <time>', UNTIL)
    .option('--all', 'also debug and trace records')
    .option('--gap <duration>', 'mark silences of the agent longer than this', '30s')
    .option('--no-colour', 'no colour even on a terminal')
    .action(
      (
        target: string,
        o: { dataDir: string; since?: string; until?: string; all?: boolean; gap: string; colour?: boolean },
      ) =>
        guard('timeline', async () => {
          const { parseFilter, parseDuration, FilterError } = await import('../query/filter.js');
          const { runQuery, storeDirOf } = await import('../query/engine.js');
          const { sandboxStory } = await import('../review/lifecycle.js');
          const { readStoreSpans, timelineText } = await import('../review/timeline.js');
          const gap = parseDuration(o.gap);
          if (gap === undefined) throw new FilterError(`--gap: "${o.gap}" is not a duration (30s, 2m)`);
          const q = {
            dataDir: o.dataDir,
            onWarn: (m: string) => void process.stderr.write(`kata-otel timeline: ${m}\n`),
          };
          let sandboxes = [target];
          if (target.includes('/')) {
            const ids = new Set<string>();
            for await (const h of runQuery(q, parseFilter({ pod: target, since: o.since, until: o.until }))) {
              const id = h.record.attributes['kata.sandbox.id'];
              if (typeof id === 'string') ids.add(id);
            }
            sandboxes = [...ids];
          }
          const spans = await readStoreSpans(storeDirOf(o.dataDir));
          let found = 0;
          for (const id of sandboxes) {
            const recs = [];
            for await (const h of runQuery(q, parseFilter({ sandbox: id, since: o.since, until: o.until })))
              recs.push(h.record);
            if (!recs.length) continue;
            found++;
            const story = sandboxStory(id, recs, spans, gap);
            process.stdout.write(
              timelineText(story, recs, {
                colour: Boolean(process.stdout.isTTY) && o.colour !== false,
                all: o.all ?? false,
              }) + '\n',
            );
          }
          if (!found) process.stderr.write(`kata-otel timeline: no records for ${target} in ${o.dataDir}\n`);
          return found ? 0 : 1;
        }),
    );

  dataDirOption(
    program
      .command('review')
      .description('the routine review: a text summary on stdout and, with --html, a self-contained HTML report'),
  )
    .option('--since <time>', SINCE, '24h')
    .option('--until <time>', UNTIL)
    .option('--html <file>', 'write the HTML report here')
    .option('--no-remember', 'do not add the message kinds seen to the remembered set')
    .action((o: { dataDir: string; since: string; until?: string; html?: string; remember: boolean }) =>
      guard('review', async () => {
        const { parseFilter } = await import('../query/filter.js');
        const { runQuery, storeDirOf } = await import('../query/engine.js');
        const { readStoreSpans } = await import('../review/timeline.js');
        const rep = await import('../review/report.js');
        const now = Date.now();
        const filter = parseFilter({ since: o.since, until: o.until }, now);
        const hits = [];
        for await (const h of runQuery(
          { dataDir: o.dataDir, onWarn: (m) => void process.stderr.write(`kata-otel review: ${m}\n`) },
          filter,
        ))
          hits.push(h);
        const known = await rep.loadKnownKinds(o.dataDir);
        const { review, seenKinds } = rep.buildReview(hits, await readStoreSpans(storeDirOf(o.dataDir)), known, {
          fromNs: filter.sinceNs ?? 0n,
          toNs: filter.untilNs ?? BigInt(now) * 1_000_000n,
        });
        process.stdout.write(rep.reviewSummary(review, known.size === 0));
        if (o.html) {
          const { writeFile } = await import('node:fs/promises');
          await writeFile(o.html, rep.renderHtml(review, known.size === 0), { mode: 0o600 });
          process.stdout.write(`  report      ${o.html}\n`);
        }
        if (o.remember) await rep.saveKnownKinds(o.dataDir, seenKinds);
        return 0;
      }),
    );

  dataDirOption(
    program
      .command('archive')
      .description(
        'move store files older than --older-than into compressed Parquet files (verified, with a manifest)',
      ),
  )
    .option('--older-than <duration>', 'archive store files last written longer ago than this', '7d')
    .option('--max-age <duration>', 'delete archive files whose newest record is older than this (default: keep)')
    .option('--verify', 'only check every archive file against the manifest')
    .action((o: { dataDir: string; olderThan: string; maxAge?: string; verify?: boolean }) =>
      guard('archive', async () => {
        const { parseDuration, FilterError } = await import('../query/filter.js');
        const ar = await import('../archive/archive.js');
        if (o.verify) {
          const dir = ar.archiveDir(o.dataDir);
          const m = await ar.readManifest(dir);
          for (const e of m.files) await ar.verifyArchive(dir, e);
          process.stdout.write(
            `kata-otel archive: ${m.files.length} archive files verified (${m.files.reduce((n, e) => n + e.rows, 0)} records)\n`,
          );
          return 0;
        }
        const older = parseDuration(o.olderThan);
        if (older === undefined) throw new FilterError(`--older-than: "${o.olderThan}" is not a duration (7d, 12h)`);
        const maxAge = o.maxAge === undefined ? 0 : parseDuration(o.maxAge);
        if (maxAge === undefined) throw new FilterError(`--max-age: "${String(o.maxAge)}" is not a duration (90d)`);
        const r = await ar.archiveStore({ dataDir: o.dataDir, olderThanMs: older, maxAgeMs: maxAge });
        process.stdout.write(
          `kata-otel archive: ${r.archived ? `${r.archived.rows} records from ${r.archived.sources.length} store files into ${r.archived.file} (sha256 ${r.archived.sha256.slice(0, 16)}…)` : 'nothing old enough'}; ${r.archivesExpired.length} archive files expired\n`,
        );
        return 0;
      }),
    );
}
