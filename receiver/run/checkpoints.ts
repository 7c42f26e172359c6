// What the sources' checkpoints say at start, for a rerun that reads nothing ("already read up to …; use
// --from-start to re-read"), and `--from-start`, which removes them so this run reads every source again.
import type { FileCheckpoint } from '../sources/file.js';
import { checkpointPath, readCheckpoint, removeCheckpoint } from '../sources/checkpoint.js';

/** One line per source that has a checkpoint: what it has read up to. */
export async function describeCheckpoints(dir: string, sources: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const name of sources) {
    const cp = await readCheckpoint<Partial<FileCheckpoint> & { cursor?: string }>(checkpointPath(dir, name));
    if (!cp.ok || cp.value === undefined) continue;
    const v = cp.value;
    if (v.cursor !== undefined) out.push(`${name}: the journal up to cursor ${v.cursor}`);
    else if (v.files) {
      const files = Object.values(v.files).map((f) => `${f.path} up to byte ${f.offset}`);
      if (files.length) out.push(`${name}: ${files.join(', ')}`);
    }
  }
  return out;
}

/** `--from-start`: forget where these sources stopped. */
export async function resetCheckpoints(dir: string, sources: readonly string[]): Promise<void> {
  await Promise.all(sources.map((name) => removeCheckpoint(checkpointPath(dir, name))));
}

/** The note for a run that read nothing although checkpoints say earlier runs read these sources. */
export function rerunNote(readUpTo: readonly string[], dir: string): string {
  return `nothing new to read: earlier runs already read these sources (checkpoints in ${dir}): ${readUpTo.join('; ')}; use --from-start to re-read them`;
}
