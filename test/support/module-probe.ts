// Which modules a real kata-otel process loaded: a hook preloaded with `--require` records ES modules as they load
// (a load hook registered on Node's loader thread appends each URL to `<file>.esm`) and, on SIGUSR2, writes the
// CommonJS modules (require.cache) to `<file>`. Used by the lazy-loading tests and bench/rest.ts. The loader thread
// costs RSS of its own: measure memory without the probe.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const HOOK = `
const { register } = require('node:module');
const { writeFileSync } = require('node:fs');
const out = process.env.KATA_MODULE_PROBE;
register('data:text/javascript,' + encodeURIComponent(
  "import { appendFileSync } from 'node:fs';" +
  "export async function load(url, ctx, next) { appendFileSync(" + JSON.stringify(out + '.esm') + ", url + '\\\\n'); return next(url, ctx); }"));
process.on('SIGUSR2', () => writeFileSync(out, Object.keys(require.cache).join('\\n')));
`;

export interface ModuleProbe {
  /** Node options that load the probe. */
  nodeOptions: string;
  /** Environment the probed process needs (merge into its env). */
  env: Record<string, string>;
  /** The file the process writes on SIGUSR2 (exists once it answered). */
  file: string;
}

/** Writes the hook into `dir`. */
export function moduleProbe(dir: string): ModuleProbe {
  const hook = join(dir, 'module-probe.cjs');
  writeFileSync(hook, HOOK);
  const file = join(dir, 'modules.txt');
  return { nodeOptions: `--require ${hook}`, env: { KATA_MODULE_PROBE: file }, file };
}

export interface Loaded {
  /** Every module path or URL loaded (CommonJS and ES). */
  paths: string[];
  /** Their packages under node_modules (`ajv`, `@grpc/grpc-js`), sorted. */
  packages: string[];
}

/** What the probed process reported (call after its SIGUSR2 answer: `existsSync(probe.file)`). */
export function readLoaded(probe: ModuleProbe): Loaded {
  const esm = existsSync(probe.file + '.esm') ? readFileSync(probe.file + '.esm', 'utf8').split('\n') : [];
  const paths = [...readFileSync(probe.file, 'utf8').split('\n'), ...esm].filter(Boolean);
  const names = paths.map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(p)?.[1]).filter((n) => n !== undefined);
  return { paths, packages: [...new Set(names)].sort() };
}
