// Generated files checked into the repository (docs/configuration.md, docs/rules.md, the semconv constants and
// reference): one way to format them and one `--check` mode, which fails when the file on disk differs from what
// the generator makes now. Used by the generators and by the tests that keep them in sync.
import { readFileSync, writeFileSync } from 'node:fs';

/** Markdown formatted with the repository's Prettier settings, so `prettier --check` agrees with the generator.
 *  Prettier is a development dependency: loaded only when a document is generated or checked. */
export async function formatMarkdown(path: string, markdown: string): Promise<string> {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(path)) ?? {};
  return prettier.format(markdown, { ...options, filepath: path, parser: 'markdown' });
}

/**
 * Write `text` to `path`, or with `check` compare instead: returns 1 (after saying which file and how to
 * regenerate it) when the file is missing or differs, else 0.
 */
export function writeOrCheck(path: string, text: string, check: boolean, regenerate: string): number {
  if (!check) {
    writeFileSync(path, text);
    return 0;
  }
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // missing counts as out of date
  }
  if (current === text) return 0;
  process.stderr.write(`${path} is out of date; run \`${regenerate}\`\n`);
  return 1;
}
