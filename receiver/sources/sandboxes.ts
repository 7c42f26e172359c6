// Sandbox discovery for the live sources (vsock, FIFO): Kata keeps one directory per sandbox under its run
// directories (`/run/vc/vm/<id>`, `/run/vc/firecracker/<id>`, `/run/kata/<id>`). A poll of the roots is the
// source of truth (fs.watch misses events on some filesystems and cannot watch a root that does not exist yet);
// fs.watch on each root only triggers an early poll. A sandbox starts when `probe` finds what the source reads
// in its directory and stops when the directory disappears.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { sleep } from '../queue/backoff.js';

export interface SandboxDir {
  /** The run-directory root it was found under. */
  root: string;
  /** Sandbox id = the directory name (Kata's Go runtime truncates ids to 32 characters for Firecracker). */
  id: string;
  dir: string;
}

export interface WatchSandboxesOptions<T> {
  roots: readonly string[];
  pollMs: number;
  signal: AbortSignal;
  /** What the source reads in this sandbox directory, or undefined when it is not there (yet). */
  probe(s: SandboxDir): Promise<T | undefined>;
  /** Start reading a sandbox; `gone` aborts when its directory disappears or the source stops. */
  start(s: SandboxDir, found: T, gone: AbortSignal): Promise<void>;
}

/** Poll the roots until `signal` aborts; resolves after every started sandbox has finished. */
export async function watchSandboxes<T>(opts: WatchSandboxesOptions<T>): Promise<void> {
  const roots = opts.roots.map((r) => resolve(r));
  const active = new Map<string, { stop: AbortController; done: Promise<void> }>();
  const watchers = new Map<string, FSWatcher>();
  let wake: AbortController | undefined;
  const hint = () => wake?.abort();

  const scan = async () => {
    for (const root of roots) {
      if (watchers.has(root)) continue;
      try {
        const w = watch(root, { persistent: false }, hint);
        w.on('error', () => {
          w.close();
          watchers.delete(root);
        });
        watchers.set(root, w);
      } catch {
        // root does not exist yet: the poll finds it later
      }
    }
    const present = new Set<string>();
    for (const s of await listSandboxes(roots)) {
      present.add(s.dir);
      if (active.has(s.dir) || opts.signal.aborted) continue;
      const found = await opts.probe(s);
      if (found === undefined || opts.signal.aborted) continue;
      const stop = new AbortController();
      const done = opts
        .start(s, found, AbortSignal.any([stop.signal, opts.signal]))
        // start() reports its own errors; this only keeps a stray rejection from crashing the receiver.
        .catch(() => undefined)
        .finally(() => active.delete(s.dir));
      active.set(s.dir, { stop, done });
    }
    for (const [dir, a] of active) if (!present.has(dir)) a.stop.abort();
  };

  try {
    while (!opts.signal.aborted) {
      await scan();
      wake = new AbortController();
      await sleep(opts.pollMs, AbortSignal.any([wake.signal, opts.signal]));
      wake = undefined;
    }
  } finally {
    for (const w of watchers.values()) w.close();
    for (const a of active.values()) a.stop.abort();
    await Promise.allSettled([...active.values()].map((a) => a.done));
  }
}

/** The sandbox directories under `roots` right now (once mode). */
export async function listSandboxes(roots: readonly string[]): Promise<SandboxDir[]> {
  const abs = roots.map((r) => resolve(r));
  const out: SandboxDir[] = [];
  for (const root of abs) {
    let names: string[];
    try {
      names = await readdir(root);
    } catch {
      continue;
    }
    for (const id of names.sort()) {
      const dir = join(root, id);
      if (abs.includes(dir)) continue;
      try {
        if ((await stat(dir)).isDirectory()) out.push({ root, id, dir });
      } catch {
        // vanished
      }
    }
  }
  return out;
}
