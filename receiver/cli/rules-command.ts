// `kata-otel rules list | test | export`: thin commander wiring around receiver/rules/cli.ts.
import { Command, InvalidArgumentError } from 'commander';
import type * as RulesApi from '../rules/index.js';

export function rulesCommands(program: Command, setCode: (code: number) => void): void {
  const rules = program.command('rules').description('list, replay and export the Kata security alert rules');
  // The rules library (Sigma/Loki export, replay) is loaded only when a `rules` command runs.
  const guard = async (fn: (r: typeof RulesApi) => Promise<void>) => {
    const r = await import('../rules/index.js');
    try {
      await fn(r);
    } catch (err) {
      if (err instanceof r.RuleLoadError) {
        process.stderr.write(`kata-otel rules: ${err.message}\n`);
        setCode(2);
        return;
      }
      throw err;
    }
  };
  rules
    .command('list')
    .description('list the rules (id, severity, kind, tags)')
    .option('--rules <file|dir|builtin...>', 'rules to load', ['builtin'])
    .action((o: { rules: string[] }) =>
      guard(async ({ rulesList }) => void process.stdout.write(rulesList({ rules: o.rules }))),
    );
  rules
    .command('test')
    .description(
      'replay log files through the rules; each alert is printed as one OTLP/JSON ExportLogsServiceRequest line, a summary on stderr',
    )
    .argument('<logfiles...>', 'Kata log files ("-" = stdin)')
    .option('--rules <file|dir|builtin...>', 'rules to load', ['builtin'])
    .option('--explain', 'print on stderr, per record, which rules matched and by which parts of their condition')
    .option(
      '--why-not <rule-id>',
      'with --explain: also print why this rule did not match each record (repeatable)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .action(async (files: string[], o: { rules: string[]; explain?: boolean; whyNot: string[] }) => {
      const { missingFiles } = await import('./inputs.js');
      const missing = missingFiles(files);
      for (const m of missing) process.stderr.write(`kata-otel rules test: ${m}\n`);
      if (missing.length) return setCode(2);
      await guard(
        async ({ rulesTest }) =>
          void (await rulesTest({ rules: o.rules, files, explain: o.whyNot.length ? o.whyNot : o.explain })),
      );
    });
  rules
    .command('export')
    .description('write the rules as Sigma rules or as a Loki ruler rule group into DIR')
    .requiredOption('--format <sigma|loki>', 'output format', (v: string) => {
      if (v !== 'sigma' && v !== 'loki') throw new InvalidArgumentError(`--format must be sigma or loki, got "${v}"`);
      return v;
    })
    .option('--rules <file|dir|builtin...>', 'rules to load', ['builtin'])
    .argument('<dir>', 'output directory')
    .action((dir: string, o: { format: 'sigma' | 'loki'; rules: string[] }) =>
      guard(async ({ rulesExport }) => {
        const written = await rulesExport({ format: o.format, dir, rules: o.rules });
        process.stderr.write(`kata-otel rules: wrote ${written.length} files to ${dir}\n`);
      }),
    );
}
