// Starts test/sources/fixtures/hvsock-agent.mjs (a hostile guest behind a hybrid-vsock socket) as a child process and
// resolves once its socket listens. The caller kills what it started (SIGKILL in afterEach).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const AGENT = fileURLToPath(new URL('../sources/fixtures/hvsock-agent.mjs', import.meta.url));

export async function startAgent(cfg: Record<string, unknown>, children: ChildProcess[]): Promise<void> {
  const child = spawn(process.execPath, [AGENT, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`agent peer exited (${code})`)));
  });
}
