// A source's checkpoint: one small JSON file `<checkpointDir>/<source name>.json`, replaced atomically (write a
// temporary file, fsync, rename) so a crash leaves either the old or the new checkpoint, never half of one.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** The checkpoint file of source `name` (characters outside [A-Za-z0-9._-] become '_'). */
export function checkpointPath(checkpointDir: string, name: string): string {
  return join(checkpointDir, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

export type CheckpointRead<T> = { ok: true; value: T | undefined } | { ok: false; error: string };

/** Read a checkpoint; `value` is undefined when there is none yet. A corrupt file is reported, not thrown. */
export async function readCheckpoint<T>(path: string): Promise<CheckpointRead<T>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, value: undefined };
    return { ok: false, error: `cannot read checkpoint ${path}: ${(err as Error).message}` };
  }
  try {
    return { ok: true, value: JSON.parse(text) as T };
  } catch (err) {
    return { ok: false, error: `checkpoint ${path} is not valid JSON (${(err as Error).message})` };
  }
}

/** Replace the checkpoint atomically and durably. */
export async function writeCheckpoint(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp`;
  // The directory is created on the first write only: a file source writes its checkpoint after every batch, and
  // each file system call is a thread-pool round trip.
  const fh = await open(tmp, 'w').catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    await mkdir(join(path, '..'), { recursive: true });
    return open(tmp, 'w');
  });
  try {
    await fh.writeFile(JSON.stringify(value) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export async function removeCheckpoint(path: string): Promise<void> {
  await rm(path, { force: true });
}
