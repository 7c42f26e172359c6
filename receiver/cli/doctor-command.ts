// `kata-otel doctor`: check the node's Kata, journald and kata-otel configuration against a logging profile.
// Exit codes: 0 nothing or only info, 1 worst finding a warning, 3 worst finding an error, 2 usage error or an
// input that could not be read or parsed (as `run` and `rules` use 2 for bad input).
import { posix, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { PROFILE_NAMES, type ProfileName } from '../doctor/types.js';

export function doctorCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('doctor')
    .description(
      "check the node's Kata configuration (default search paths and config.d drop-ins), journald and kata-otel's own configuration against a logging profile; exit 0 clean, 1 warnings, 3 errors, 2 unreadable input",
    )
    .addOption(new Option('--profile <name>', 'the profile to compare with').choices(PROFILE_NAMES).default('prod'))
    .option('--kata-config <file...>', "Kata configuration file(s) to check instead of Kata's default search")
    .option('--root <dir>', 'prefix of every node path (a node filesystem mounted elsewhere, tests)', '/')
    .option(
      '-c, --config <file>',
      "kata-otel's configuration on this node (its sources, queue, exporters are checked too)",
    )
    .option('--json', 'print the report as JSON')
    .option(
      '--connect-timeout-ms <n>',
      'timeout of the TCP connect to a tracing endpoint',
      (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n <= 0)
          throw new InvalidArgumentError(`must be a positive whole number, got "${v}"`);
        return n;
      },
      1000,
    )
    // Usage errors exit 2 here, like unreadable input: 1 and 3 mean findings.
    .exitOverride((err) => {
      throw err.exitCode === 1 ? new CommanderError(2, err.code, err.message) : err;
    })
    .action(
      async (o: {
        profile: ProfileName;
        kataConfig?: string[];
        root: string;
        config?: string;
        json?: boolean;
        connectTimeoutMs: number;
      }) => {
        const [{ ConfigError, loadConfig }, { runDoctor, exitCode }, { formatReport }] = await Promise.all([
          import('../config/index.js'),
          import('../doctor/doctor.js'),
          import('../doctor/format.js'),
        ]);
        let receiver;
        if (o.config) {
          try {
            receiver = loadConfig(o.config);
          } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
            process.stderr.write(`kata-otel doctor: ${err.message}\n`);
            setCode(2);
            return;
          }
        }
        const report = await runDoctor({
          profile: o.profile,
          root: o.root,
          // Relative to the working directory on this host; with --root, node paths are taken from the node's /.
          kataConfigs: o.kataConfig?.map((p) => (o.root === '/' ? resolve(p) : posix.resolve('/', p))),
          receiver,
          connectTimeoutMs: o.connectTimeoutMs,
        });
        const code = exitCode(report);
        process.stdout.write(
          o.json ? JSON.stringify({ ...report, exitCode: code }, null, 2) + '\n' : formatReport(report),
        );
        setCode(code);
      },
    );
}
