// Replace a small file atomically and durably: a crash or SIGKILL leaves the old file or the new one, never half of
// one. Used for the index files, the archive manifest and the review's known message kinds (all 0600: they name
// sandboxes). safefs does the writing (O_EXCL|O_NOFOLLOW temporary, fdatasync, rename); the temporary is named after
// this process, because the daemon's indexer and a `kata-otel query` may update the same index at once.
import { writeFileAtomic as safeWriteFileAtomic } from '../safefs/index.js';

export function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  return safeWriteFileAtomic(path, data, { sync: 'data', tmp: `${path}.tmp-${process.pid}` });
}
