// Replace a small file atomically and durably (temporary named after this process, fsync, rename): a crash or
// SIGKILL leaves the old file or the new one, never half of one, and two processes never share a temporary.
// Used for the index files, the archive manifest and the review's known message kinds (all 0600: they name
// sandboxes). Source checkpoints keep their own writer (sources/checkpoint.ts), tuned for one write per batch.
import { open, rename, unlink } from 'node:fs/promises';

export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(data);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
