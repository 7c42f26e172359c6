// Files kata-otel writes as root, without following planted links (issue 11): the data directory and every
// directory in it must be ours and writable by nobody else (or anyone could plant a link there), temporary files
// are created with O_CREAT|O_EXCL|O_NOFOLLOW (an existing name, link or not, is never written through) and
// renamed over the target (rename replaces a link, never its target), modes are set with fchmod on a descriptor
// opened with O_NOFOLLOW (chmod follows links), and files are read with O_NOFOLLOW.
import { constants, type Stats } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, sep } from 'node:path';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } = constants;
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

/** A directory kata-otel refuses to use: the message names the path, what was found and the fix. */
export class UnsafePathError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

/**
 * The default data directory: `/var/lib/kata-otel` for root (absolute, whatever the working directory), else
 * `$XDG_STATE_HOME/kata-otel` or `~/.local/state/kata-otel` (where a user's programs keep state, per the XDG
 * base directory spec), so a non-root run works without write access to /var/lib.
 */
export function defaultDataDir(
  env: Record<string, string | undefined> = process.env,
  euid = process.geteuid?.(),
): string {
  if (euid === 0) return '/var/lib/kata-otel';
  const state = env.XDG_STATE_HOME;
  if (state && isAbsolute(state)) return join(state, 'kata-otel');
  return join(env.HOME || homedir(), '.local', 'state', 'kata-otel');
}

/** Refuse a directory not owned by the effective user, or writable by group or others. */
function checkOwnedPrivate(path: string, st: Stats, what: string): void {
  if (!st.isDirectory())
    throw new UnsafePathError(`${what} ${path} is not a directory; remove it or choose another data_dir`, path);
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new UnsafePathError(
      `${what} ${path} is owned by uid ${st.uid} (mode ${octal(st.mode)}), not by uid ${uid} that kata-otel runs as: ` +
        `its owner could plant links there that kata-otel would write through. Fix: chown ${uid} ${path} && chmod 0700 ${path}, ` +
        `or choose another data_dir (--data-dir)`,
      path,
    );
  }
  if (st.mode & 0o022) {
    throw new UnsafePathError(
      `${what} ${path} has mode ${octal(st.mode)} (writable by group or others): another user could plant links there ` +
        `that kata-otel would write through. Fix: chmod 0700 ${path}`,
      path,
    );
  }
}

/** Open directory `path` without following a link, check it, and set mode 0700 through the descriptor. */
async function securePrivateDir(path: string, what: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR')
      throw new UnsafePathError(
        `${what} ${path} is a symbolic link or not a directory: kata-otel does not follow links in its data directory. ` +
          `Fix: remove it (kata-otel creates the directory), or give data_dir the link's real target`,
        path,
      );
    throw err;
  }
  try {
    const st = await fh.stat();
    checkOwnedPrivate(path, st, what);
    if ((st.mode & 0o777) !== 0o700) await fh.chmod(0o700);
  } finally {
    await fh.close();
  }
}

/**
 * Make `base` (created with its missing parents) and each directory of `base/sub/…` private: owned by the
 * effective user, mode 0700, no link. Directories below `base` are created one level at a time, each checked
 * before the next is created in it, so no link planted on the way is followed. Throws UnsafePathError.
 */
export async function ensurePrivateDir(base: string, sub = '', what = 'data directory'): Promise<string> {
  await mkdir(base, { recursive: true, mode: 0o700 });
  await securePrivateDir(base, what);
  let dir = base;
  const rel = sub ? relative(base, join(base, sub)) : '';
  if (rel.startsWith('..')) throw new Error(`${sub} is not inside ${base}`);
  for (const part of rel ? rel.split(sep) : []) {
    dir = join(dir, part);
    await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await securePrivateDir(dir, 'directory');
  }
  return dir;
}

/** Create a new file exclusively (never an existing name, never through a link), mode 0600. */
export function createExclusive(path: string, mode = 0o600): Promise<FileHandle> {
  return open(path, CREATE_FLAGS, mode);
}

/** Open an existing file for reading without following a link in its last component. */
export function openNoFollow(path: string): Promise<FileHandle> {
  return open(path, O_RDONLY | O_NOFOLLOW);
}

/** Read a whole file as UTF-8 without following a link. */
export async function readFileNoFollow(path: string): Promise<string> {
  const fh = await openNoFollow(path);
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

export interface AtomicWriteOptions {
  /** fsync (`full`), fdatasync (`data`) or neither before the rename. Default `full`. */
  sync?: 'full' | 'data' | 'none';
  /** Called when the temporary file cannot be created because the directory is missing; then retried once. */
  onMissingDir?: () => Promise<unknown>;
  /** The temporary file; default `<path>.tmp`. Writers in several processes give each its own (e.g. with the pid). */
  tmp?: string;
}

/**
 * Replace `path` atomically: write `<path>.tmp` (created with O_EXCL|O_NOFOLLOW; a leftover of a crash, or a
 * planted link, is unlinked first, which removes the link itself), sync, rename over `path`. On failure the
 * temporary file is removed, so a full disk leaves nothing behind.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Buffer,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = opts.tmp ?? `${path}.tmp`;
  const create = async (): Promise<FileHandle> => {
    try {
      return await createExclusive(tmp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        await unlink(tmp);
        return createExclusive(tmp);
      }
      if (code === 'ENOENT' && opts.onMissingDir) {
        await opts.onMissingDir();
        return createExclusive(tmp);
      }
      throw err;
    }
  };
  const fh = await create();
  try {
    try {
      await fh.writeFile(data);
      if (opts.sync === 'data') await fh.datasync();
      else if (opts.sync !== 'none') await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
