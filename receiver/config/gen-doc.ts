// Writes docs/configuration.md from the configuration schema. `--check` regenerates in memory and fails when the
// checked-in file differs (run by the test suite and CI), like semconv/generate.ts. The text goes through
// prettier with the repository's settings so `npm run format` leaves the generated file as it is.
import { fileURLToPath } from 'node:url';
import { formatMarkdown, writeOrCheck } from '../tooling/generated-file.js';
import { renderConfigReference } from './reference.js';

export const CONFIG_DOC = fileURLToPath(new URL('../../docs/configuration.md', import.meta.url));

/** The reference exactly as docs/configuration.md must hold it. */
export function renderConfigDoc(): Promise<string> {
  return formatMarkdown(CONFIG_DOC, renderConfigReference());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  renderConfigDoc().then(
    (text) =>
      (process.exitCode = writeOrCheck(CONFIG_DOC, text, process.argv.includes('--check'), 'npm run config:doc')),
    (err: unknown) => {
      process.stderr.write(`config: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
