// Writes docs/configuration.md from the configuration schema. `--check` regenerates in memory and fails when the
// checked-in file differs (run by the test suite and CI), like semconv/generate.ts. The text goes through
// prettier with the repository's settings so `npm run format` leaves the generated file as it is.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { renderConfigReference } from './reference.js';

export const CONFIG_DOC = fileURLToPath(new URL('../../docs/configuration.md', import.meta.url));

/** The reference exactly as docs/configuration.md must hold it. */
export async function renderConfigDoc(): Promise<string> {
  const options = (await resolveConfig(CONFIG_DOC)) ?? {};
  return format(renderConfigReference(), { ...options, filepath: CONFIG_DOC });
}

async function main(argv: string[]): Promise<number> {
  const text = await renderConfigDoc();
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(CONFIG_DOC, 'utf8');
    } catch {
      // missing counts as out of date
    }
    if (current !== text) {
      process.stderr.write(
        `config: ${CONFIG_DOC} is out of date with receiver/config/schema.ts; run \`npm run config:doc\`\n`,
      );
      return 1;
    }
    return 0;
  }
  writeFileSync(CONFIG_DOC, text);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`config: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
