#!/usr/bin/env node
// Thin launcher: the CLI is compiled from receiver/ into dist/ by `npm install` (the `prepare` script).
import { existsSync } from 'node:fs';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    'kata-otel: dist/cli/main.js is missing; run `npm install` (or `npm run build`) in the kata-otel checkout first.\n',
  );
  process.exit(2);
}
// A daemon (`run`/`tap` without --once) keeps V8's young generation at its initial size: start-up garbage
// (module loading, rule compilation) would otherwise grow it to 2 × 16 MiB, resident for good (issue 20: RSS at
// rest). The growth factor is read at each growth, so an explicit NODE_OPTIONS/--max-semi-space-size still wins
// for what it sets; `run --once` (a backlog import) keeps V8's default growth for throughput.
const [command] = process.argv.slice(2);
if ((command === 'run' || command === 'tap') && !process.argv.includes('--once')) {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
