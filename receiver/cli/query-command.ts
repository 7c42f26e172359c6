// `kata-otel query | timeline | review | archive`: commander wiring around receiver/query, receiver/review and
// receiver/archive. Each command imports its module in its action (DuckDB only for --sql and archive).
import type { Writable } from 'node:stream';
import { Command, InvalidArgumentError, Option } from 'commander';
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

function filterOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', `the kata-otel data dir (store/, index/, archive/)`, DEFAULT_DATA_DIR)
    .option('--sandbox <id>', 'kata.sandbox.id')
    .option('--container <id>', 'container.id')
    .option('--pod <ns/name>', 'k8s.namespace.name/k8s.pod.name (or only the pod name)')
    .option('--trace-id <hex>', 'trace id (32 hex digits)')
    .option('--span-id <hex>', 'span id (16 hex digits)')
    .option('--component <c>', 'kata.component: runtime, agent, hypervisor, guest-kernel, virtiofsd, ...')
    .option('--subsystem <s>', 'kata.subsystem')
    .option('--severity <range>', "'>=warn', '<info', 'error' (= '>=error'), '=warn'")
    .option('--since <time>', 'from: a duration back from now (2h, 7d) or an ISO-8601 time')
    .option('--until <time>', 'to (exclusive): a duration back from now or an ISO-8601 time')
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
        const { parseFilter } = await import('../query/filter.js');
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
          if (files.length) throw new InvalidArgumentError('--follow reads the store; do not name files');
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
}
