// `kata-otel run` at rest (issue 20): journald and a files glob configured, nothing to read; after `idleMs`, its
// resident set from /proc/<pid>/status. A stand-in with the interface of the `memory` helper's bench/rest.ts (its
// `measureRest(opts)`, which also reports the modules loaded): at a merge, that file replaces this one.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memory } from './procstat.js';
import { startRun, stderrTail, stopRun } from './steady.js';

/** The issue 20 target for `run` at rest, MB (MiB of RSS). */
export const REST_TARGET_MB = 70;

export interface RestOptions {
  /** The checkout whose `bin/kata-otel.js` (and built dist/) is measured; default this repository. */
  root?: string;
  /** How long the receiver idles before its RSS is read; default 10 s. */
  idleMs?: number;
}

export interface RestResult {
  /** VmRSS after idling, MiB. */
  rssMB: number;
  /** VmHWM (peak RSS since start), MiB. */
  hwmMB: number;
  pass: boolean;
}

const REPO = fileURLToPath(new URL('../', import.meta.url));

export async function measureRest(opts: RestOptions = {}): Promise<RestResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-otel-rest-'));
  try {
    mkdirSync(join(dir, 'journal'));
    mkdirSync(join(dir, 'logs'));
    const cfg = join(dir, 'config.yaml');
    writeFileSync(
      cfg,
      `data_dir: ${join(dir, 'data')}\ntelemetry: { listen: null }\n` +
        `sources:\n  journald: { enabled: true, directory: ${join(dir, 'journal')} }\n` +
        `  files: [{ include: ['${join(dir, 'logs')}/*.log'] }]\n`,
    );
    const run = startRun(join(resolve(opts.root ?? REPO), 'bin', 'kata-otel.js'), cfg, dir, {
      ...process.env,
      NODE_OPTIONS: '',
    });
    await new Promise((r) => setTimeout(r, opts.idleMs ?? 10_000));
    const mem = memory(run.pid!);
    const code = await stopRun(run);
    if (!mem) throw new Error(`kata-otel run exited early (${code}): ${stderrTail(run)}`);
    return { rssMB: mem.rssMB, hwmMB: mem.hwmMB, pass: mem.rssMB <= REST_TARGET_MB };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
