// The daemon's archive option (`archive.enabled`): every `interval_ms`, run `kata-otel archive` as a child
// process (DuckDB stays out of the receiver's memory), one at a time, and log its outcome.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../telemetry/log.js';

export interface ArchiverSettings {
  dataDir: string;
  afterMs: number;
  intervalMs: number;
  maxAgeMs: number;
  logger: Logger;
}

export function startArchiver(s: ArchiverSettings): { stop: () => void; runNow: () => Promise<number | null> } {
  const entry = fileURLToPath(new URL(`./child${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
  let running: Promise<number | null> | undefined;
  const runNow = () =>
    (running ??= new Promise<number | null>((resolve) => {
      const args = ['archive', '--data-dir', s.dataDir, '--older-than', `${s.afterMs}ms`];
      if (s.maxAgeMs > 0) args.push('--max-age', `${s.maxAgeMs}ms`);
      // From source (tests, `tsx`), the child needs the TypeScript loader too.
      const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
      const child = spawn(process.execPath, [...loader, entry, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.on('close', (code) => {
        running = undefined;
        if (code === 0) s.logger.info('archive run finished', { output: out.trim() });
        else s.logger.error('archive run failed', { code, output: out.trim() });
        resolve(code);
      });
    }));
  const timer = setInterval(() => void runNow(), s.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), runNow };
}
