#!/usr/bin/env node
// Thin launcher: the CLI is compiled from receiver/ into dist/ by `npm install` (the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    'kata-otel: dist/cli/main.js is missing; run `npm install` (or `npm run build`) in the kata-otel checkout first.\n',
  );
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
