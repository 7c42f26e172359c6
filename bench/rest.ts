// `kata-otel run` at rest (issue 20): the journald and file sources configured as on a node (bench/steady.ts's
// configuration), nothing to read; after `waitS` seconds, its resident memory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memory } from './procstat.js';
import { nodeConfig, startRun, stderrTail, stopRun } from './steady.js';

export interface RestResult {
  rssMB: number;
  /** Peak RSS so far (start-up included). */
  hwmMB: number;
  exitCode: number | null;
  problems: string[];
}

export async function measureRest(o: {
  cli: string;
  port: number;
  env: NodeJS.ProcessEnv;
  waitS?: number;
}): Promise<RestResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-otel-bench-rest-'));
  try {
    const { config } = nodeConfig(dir, o.port);
    const run = startRun(o.cli, config, dir, o.env);
    await new Promise((r) => setTimeout(r, (o.waitS ?? 10) * 1000));
    const mem = memory(run.pid!);
    const code = await stopRun(run);
    const problems: string[] = [];
    if (!mem) problems.push(`kata-otel run exited before it was measured (${code}): ${stderrTail(run)}`);
    else if (code !== 0) problems.push(`kata-otel run exited with ${code}: ${stderrTail(run)}`);
    return { rssMB: mem?.rssMB ?? 0, hwmMB: mem?.hwmMB ?? 0, exitCode: code, problems };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
