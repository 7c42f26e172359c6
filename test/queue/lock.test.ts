// The queue lock is not blocked by a stale lock whose pid now names another live process (pid reuse), and
// still refuses a directory held by a live kata-otel.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskQueue } from '../../receiver/queue/index.js';
import { bootId, lockText, processStartTime } from '../../receiver/queue/lock.js';
import { ensurePrivateDir } from '../../receiver/safefs/index.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { ScriptedExporter, tempDir } from './helpers.js';

const hasProc = existsSync('/proc/self/stat') && bootId() !== undefined;
let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

/** A live process that is not kata-otel: a child `sleep`, killed after the test. */
function liveOtherProcess(): ChildProcess {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  cleanups.push(() => void child.kill('SIGKILL'));
  return child;
}

async function queueDir(): Promise<{ data: string; qdir: string }> {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  return { data: t.dir, qdir: await ensurePrivateDir(t.dir, join('queue', 'otlp')) };
}

const openQueue = (data: string) =>
  DiskQueue.open({}, new ScriptedExporter('otlp'), { dataDir: data, logger: silentLogger, metrics: new Metrics() });

describe.skipIf(!hasProc)('queue lock (boot id + process start time)', () => {
  it('takes over a lock whose pid was reused by another live process (different start time)', async () => {
    const { data, qdir } = await queueDir();
    const sleeper = liveOtherProcess();
    const pid = sleeper.pid as number;
    const start = processStartTime(pid) as string;
    expect(start).toMatch(/^\d+$/);
    // The lock a kata-otel that crashed long ago left: same pid number, started at another time.
    await writeFile(join(qdir, 'lock'), `${pid}\n${bootId()} ${Number(start) - 12345}\n`, { mode: 0o600 });
    const q = await openQueue(data);
    expect(await readFile(join(qdir, 'lock'), 'utf8')).toBe(lockText(process.pid));
    await q.close();
  });

  it('takes over a lock written before a reboot (another boot id)', async () => {
    const { data, qdir } = await queueDir();
    const pid = liveOtherProcess().pid as number;
    await writeFile(join(qdir, 'lock'), `${pid}\n00000000-0000-0000-0000-000000000000 ${processStartTime(pid)}\n`);
    await (await openQueue(data)).close();
  });

  it('refuses a directory whose lock names a live process with its start time in this boot', async () => {
    const { data, qdir } = await queueDir();
    const pid = liveOtherProcess().pid as number;
    await writeFile(join(qdir, 'lock'), lockText(pid));
    await expect(openQueue(data)).rejects.toThrow(new RegExp(`in use by process ${pid}`));
  });
});
