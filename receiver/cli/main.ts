// The kata-otel command line (commander): `parse`, `run`, `tap`, `validate`, `rules`, `doctor`, `verify`, `query`,
// `timeline`, `review`, `archive`.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { doctorCommand } from './doctor-command.js';
import { reviewCommands } from './query-command.js';
import { rulesCommands } from './rules-command.js';
import { redactUrls } from '../telemetry/redact.js';
import { verifyCommands } from './verify-command.js';
// Each command's module is imported in its action: `parse` never loads the config schema, ajv, grpc-js or
// prom-client, and `run` never loads the rule exporters (start-up RSS).

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

type ParseFlags = {
  dedupe: boolean;
  original?: boolean;
  batchSize: number;
  maxLineBytes?: number;
  stats?: boolean;
  examples: number;
};

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError(`${name} must be a positive whole number, got "${v}"`);
  return n;
};

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  // `run`/`tap`: V8's heap sized for a node agent before the command's modules load (receiver/run/heap.ts).
  if (argv[0] === 'run' || argv[0] === 'tap')
    (await import('../run/heap.js')).limitHeap({ once: argv.includes('--once') });
  const program = new Command('kata-otel')
    .description('OpenTelemetry-native receiver for Kata Containers logs')
    .version(pkg.version)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('parse')
    .description(
      'parse raw Kata log text (files, or stdin when none or "-") into OTLP/JSON on stdout, one ExportLogsServiceRequest per line',
    )
    .argument('[files...]', 'log files; "-" or none reads stdin')
    .option('--no-dedupe', 'keep both copies of Go-shim records (syslog and containerd)')
    .option('--original', 'add log.record.original with the raw text')
    .option('--batch-size <n>', 'records per ExportLogsServiceRequest line', positiveInt('--batch-size'), 1000)
    .option('--max-line-bytes <n>', 'cut longer lines, as run does (max_line_bytes)', positiveInt('--max-line-bytes'))
    .option('--stats', 'print how many lines were understood, per shape and component, instead of OTLP/JSON')
    .option('--examples <n>', 'with --stats: examples shown per kind of raw line', positiveInt('--examples'), 3)
    .action(async (files: string[], o: ParseFlags) => {
      const { parseCommand } = await import('./parse-command.js');
      code = await parseCommand({
        files,
        dedupe: o.dedupe,
        original: o.original ?? false,
        batchSize: o.batchSize,
        maxLineBytes: o.maxLineBytes,
        ...(o.stats ? { stats: { examples: o.examples } } : {}),
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
      });
    });

  // `tap` is `run --stdout`: the same options, one definition.
  const receiverCommand = (name: string, description: string, tap: boolean) =>
    program
      .command(name)
      .description(description)
      .argument('[files...]', 'log files to read from their beginning ("-" = stdin)')
      .option('-c, --config <file>', 'YAML configuration (every setting has a default)')
      .option('--once', 'read every source to its current end, export everything, flush and exit')
      .option(
        '--data-dir <dir>',
        'where kata-otel keeps its store, checkpoints and queues (default /var/lib/kata-otel as root, else ~/.local/state/kata-otel)',
      )
      .option(
        '--journal-dir <dir>',
        'read the journal files in DIR (as journalctl --directory) with the default filters',
      )
      .option('--journald', 'read the system journal with the default filters')
      .option('--once-timeout <duration>', 'with --once: give up after this long, e.g. 90s or 10m (default 5m)')
      .option(
        '--stdout',
        'also print every record on stdout beside the configured exporters (text on a terminal, else OTLP/JSON)',
      )
      .option('--log-level <level>', "kata-otel's own log level: debug, info, warn or error (overrides log.level)")
      .option('--from-start', "re-read every source from its beginning (forget this run's sources' checkpoints)")
      .action(
        async (
          files: string[],
          o: {
            config?: string;
            once?: boolean;
            dataDir?: string;
            journalDir?: string;
            journald?: boolean;
            onceTimeout?: string;
            fromStart?: boolean;
            logLevel?: string;
            stdout?: boolean;
          },
        ) => {
          const { runCommand } = await import('./run-command.js');
          code = await runCommand({ files, ...o, once: o.once ?? false, stdout: tap || o.stdout });
        },
      );
  receiverCommand(
    'run',
    'run the receiver: read Kata logs from files, stdin, the journal, vsock and FIFOs and export them',
    false,
  );
  receiverCommand(
    'tap',
    'run with every record also printed on stdout (run --stdout): human lines on a terminal, OTLP/JSON otherwise',
    true,
  );

  program
    .command('validate')
    .description(
      'check a configuration without sending data: sources resolved to what they would read, exporters reached with an empty export; exit 0 ok, 1 a check failed, 2 invalid config',
    )
    .option('-c, --config <file>', 'YAML configuration (every setting has a default)')
    .option('--json', 'print the checks as one JSON document')
    .option('--timeout <ms>', 'deadline per exporter', positiveInt('--timeout'), 10_000)
    .action(async (o: { config?: string; json?: boolean; timeout: number }) => {
      const { validateCommand } = await import('./validate-command.js');
      code = await validateCommand({
        config: o.config,
        json: o.json ?? false,
        timeoutMs: o.timeout,
        stdout: process.stdout,
        stderr: process.stderr,
      });
    });

  rulesCommands(program, (c) => {
    code = c;
  });
  doctorCommand(program, (c) => {
    code = c;
  });
  verifyCommands(program, (c) => {
    code = c;
  });
  reviewCommands(program, (c) => {
    code = c;
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`kata-otel: ${redactUrls(err instanceof Error ? err.message : String(err))}\n`);
    return 1;
  }
  return code;
}
