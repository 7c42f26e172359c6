// The queue directory's lock file: `<pid>\n<boot id> <start time>\n`, created with O_EXCL|O_NOFOLLOW.
//
// A pid alone cannot tell a live holder from a stale lock whose pid now belongs to another process (pids are
// reused, and a container restarted after a crash often gets the same small pid back): the lock also records the
// kernel's boot id (/proc/sys/kernel/random/boot_id) and the holder's start time (field 22 of /proc/<pid>/stat, in
// clock ticks since boot). The lock is held only while a process with that pid, started at that time in this boot,
// exists. Not flock(2): Node has no flock, and the maintained packages for it are native add-ons built at install.
// Without /proc (not Linux), or for a lock written by an older kata-otel (pid only), a live pid is trusted.
import { readFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createExclusive, readFileNoFollow } from '../safefs/index.js';

const LOCK_FILE = 'lock';

// Directories locked by this process: a pid check alone cannot tell our own stale lock (a restarted container
// gets the same pid) from a second queue opened on the same directory.
const heldDirs = new Set<string>();

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This boot's id, or undefined without /proc. */
export function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22), or undefined. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may itself contain spaces and ')': count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22; fields[0] is field 3
  } catch {
    return undefined;
  }
}

/** The lock file's content for process `pid`. */
export function lockText(pid = process.pid): string {
  return `${pid}\n${bootId() ?? '-'} ${processStartTime(pid) ?? '-'}\n`;
}

/** The process holding a lock with this content, or undefined when the lock is stale. */
export function lockHolder(text: string): number | undefined {
  const [first = '', second = ''] = text.split('\n');
  const pid = Number.parseInt(first, 10);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !pidAlive(pid)) return undefined;
  const [boot, start] = second.trim().split(' ');
  if (boot && boot !== '-') {
    const now = bootId();
    if (now && now !== boot) return undefined; // written before a reboot
  }
  if (start && start !== '-') {
    const actual = processStartTime(pid);
    if (actual && actual !== start) return undefined; // the pid now names another process
  }
  return pid;
}

export async function acquireLock(dir: string): Promise<void> {
  if (heldDirs.has(dir))
    throw new Error(`queue directory ${dir} is already open in this process: give every exporter a distinct name`);
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await createExclusive(path);
      try {
        await fh.writeFile(lockText());
      } finally {
        await fh.close();
      }
      heldDirs.add(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = lockHolder(await readFileNoFollow(path).catch(() => ''));
    if (holder !== undefined)
      throw new Error(
        `queue directory ${dir} is in use by process ${holder}: run one kata-otel per data directory, or stop ${holder}`,
      );
    await unlink(path).catch(() => {}); // stale: its process is gone, or the pid names another process now
  }
  throw new Error(`could not take the lock ${path}: another process keeps recreating it`);
}

export async function releaseLock(dir: string): Promise<void> {
  heldDirs.delete(dir);
  await unlink(join(dir, LOCK_FILE)).catch(() => {});
}
