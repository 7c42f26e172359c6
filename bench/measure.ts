// Runs one command as a child process and measures it on its own: wall time, CPU (user + system) and peak RSS.
// With GNU time (/usr/bin/time) the kernel's rusage of the child is used; without it, the child (always node
// here) is started with a preloaded hook that writes process.resourceUsage() at exit, and the parent polls
// /proc/<pid>/status VmHWM as a cross-check.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface Measured {
  code: number | null;
  wallS: number;
  userS: number;
  sysS: number;
  /** Peak resident set size, MiB. */
  rssMB: number;
  stdout: string;
  stderr: string;
  /** How CPU and RSS were measured. */
  method: 'gnu-time' | 'resource-usage';
}

const GNU_TIME = '/usr/bin/time';
const HOOK = `process.on('exit', () => {
  const u = process.resourceUsage();
  require('node:fs').writeFileSync(process.env.KATA_BENCH_USAGE_FILE, JSON.stringify(u));
});`;

function pollHwm(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** `argv[0]` must be the node binary (the fallback preloads a hook into it). */
export async function measure(
  argv: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-otel-bench-measure-'));
  const gnu = existsSync(GNU_TIME);
  const usageFile = join(dir, 'usage');
  let cmd: string[];
  const env = { ...process.env, ...opts.env };
  if (gnu) cmd = [GNU_TIME, '-o', usageFile, '-f', '%e %U %S %M', ...argv];
  else {
    const hook = join(dir, 'hook.cjs');
    writeFileSync(hook, HOOK);
    env.KATA_BENCH_USAGE_FILE = usageFile;
    cmd = [argv[0] as string, '--require', hook, ...argv.slice(1)];
  }
  const t0 = performance.now();
  const child = spawn(cmd[0] as string, cmd.slice(1), { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
  let hwm = 0;
  const poll = gnu ? undefined : setInterval(() => (hwm = Math.max(hwm, pollHwm(child.pid ?? 0))), 50);
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
  const code = await new Promise<number | null>((resolve) => {
    child.on('close', (c) => resolve(c));
    child.on('error', (err) => {
      stderr += `\n${err.message}`;
      resolve(null);
    });
  });
  const wall = (performance.now() - t0) / 1000;
  clearTimeout(timer);
  if (poll) clearInterval(poll);
  let m: Measured;
  try {
    if (gnu) {
      // GNU time prints "Command exited with non-zero status N" first when the child failed.
      const last = readFileSync(usageFile, 'utf8').trim().split('\n').pop() ?? '';
      const [, u, s, k] = last.split(' ').map(Number);
      // Wall time from our own clock: GNU time rounds it to 10 ms.
      m = {
        code,
        wallS: wall,
        userS: u ?? 0,
        sysS: s ?? 0,
        rssMB: (k ?? 0) / 1024,
        stdout,
        stderr,
        method: 'gnu-time',
      };
    } else {
      const u = JSON.parse(readFileSync(usageFile, 'utf8')) as NodeJS.ResourceUsage;
      m = {
        code,
        wallS: wall,
        userS: u.userCPUTime / 1e6,
        sysS: u.systemCPUTime / 1e6,
        rssMB: Math.max(u.maxRSS, hwm) / 1024,
        stdout,
        stderr,
        method: 'resource-usage',
      };
    }
  } catch {
    m = {
      code,
      wallS: wall,
      userS: 0,
      sysS: 0,
      rssMB: hwm / 1024,
      stdout,
      stderr,
      method: gnu ? 'gnu-time' : 'resource-usage',
    };
  }
  rmSync(dir, { recursive: true, force: true });
  return m;
}

/**
 * Records a counting receiver may see beyond what `run` reports as exported: the integrity checkpoint records
 * (one per 10,000 records by default, docs/audit.md, plus the closing ones), which the summary leaves out.
 */
export function checkpointAllowance(sent: number): number {
  return Math.ceil(sent / 10_000) + 2;
}
