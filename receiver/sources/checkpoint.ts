// A source's checkpoint: one small JSON file `<checkpointDir>/<source name>.json`, replaced atomically (write a
// temporary file, fsync, rename) so a crash leaves either the old or the new checkpoint, never half of one.
// Created with O_EXCL|O_NOFOLLOW and read with O_NOFOLLOW (safefs): kata-otel runs as root.
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readFileNoFollow, writeFileAtomic } from '../safefs/index.js';

/** The checkpoint file of source `name` (characters outside [A-Za-z0-9._-] become '_'). */
export function checkpointPath(checkpointDir: string, name: string): string {
  return join(checkpointDir, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

export type CheckpointRead<T> = { ok: true; value: T | undefined } | { ok: false; error: string };

/** Read a checkpoint; `value` is undefined when there is none yet. A corrupt file is reported, not thrown. */
export async function readCheckpoint<T>(path: string): Promise<CheckpointRead<T>> {
  let text: string;
  try {
    text = await readFileNoFollow(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: true, value: undefined };
    if (code === 'ELOOP') return { ok: false, error: `checkpoint ${path} is a symbolic link: not followed; remove it` };
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
  // The directory is created on the first write only (the receiver creates and checks it at start; this is for
  // a source run on its own): a file source writes its checkpoint after every batch, and each file system call
  // is a thread-pool round trip.
  await writeFileAtomic(path, JSON.stringify(value) + '\n', {
    onMissingDir: () => mkdir(dirname(path), { recursive: true, mode: 0o700 }),
  });
}

export async function removeCheckpoint(path: string): Promise<void> {
  await rm(path, { force: true });
}
