// Finding and reading a sandbox's or container's OCI bundle `config.json` on the node (kata-lifecycle.md §4.3):
//   containerd  <state>/io.containerd.runtime.v2.task/<namespace>/<id>/config.json   (CRI namespace `k8s.io`;
//               state /run/containerd, k3s /run/k3s/containerd), and with the `shim` sandboxer
//               <state>/io.containerd.sandbox.controller.v1.shim/<namespace>/<id>/config.json
//   CRI-O       <root>/<driver>-containers/<id>/userdata/config.json   (runroot /run/containers/storage, and the
//               persistent copy under /var/lib/containers/storage)
// The bundle exists before the shim logs anything and is removed when the task is deleted.
import { closeSync, fstatSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const CONTAINERD_PLUGIN_DIRS = ['io.containerd.runtime.v2.task', 'io.containerd.sandbox.controller.v1.shim'];
const CRI_NAMESPACE = 'k8s.io';
/** A config.json is a few KB to a few tens of KB (the seccomp profile is the bulk); anything far larger is not one. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export interface BundleRoots {
  /** containerd state directories. */
  containerd: readonly string[];
  /** containers/storage roots CRI-O uses (runroot, graphroot). */
  crio: readonly string[];
}

export type BundleResult =
  | { kind: 'missing' }
  | { kind: 'found'; path: string; annotations: Record<string, unknown> }
  | { kind: 'error'; path: string; message: string; code?: string };

/**
 * Ids come from log records, so they are checked before they become part of a path: container and sandbox ids
 * are 64 hex digits under CRI, and Kata accepts `[A-Za-z0-9][A-Za-z0-9_.-]*` (no `/`, no `..`).
 */
export function isBundleId(id: string): boolean {
  return id.length > 0 && id.length <= 256 && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id);
}

/** The entries of `dir`; [] when it does not exist (that runtime is not on the node); `guess` when it cannot be
 *  listed (e.g. not root), so that reading the likely file reports the access error. */
function listDir(dir: string, guess: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    const code = errorCode(e);
    return code === 'ENOENT' || code === 'ENOTDIR' ? [] : [guess];
  }
}

/**
 * The directory listings bundleCandidates reads (containerd namespaces, CRI-O driver directories), kept for a
 * second of the stage's clock: they change when a runtime starts, not per id, and a node without one of the
 * runtimes would otherwise pay six failing `readdir` calls for every new id (most of the k8s stage's cost on a
 * backlog of short-lived containers). A new id's own directory is never cached: its config.json is opened each time.
 */
export class DirListings {
  private readonly cache = new Map<string, { at: number; entries: string[] }>();
  constructor(
    private readonly now: () => number,
    private readonly ttlMs = 1000,
  ) {}

  list(dir: string, guess: string): string[] {
    const now = this.now();
    const c = this.cache.get(dir);
    if (c !== undefined && now - c.at < this.ttlMs && now >= c.at) return c.entries;
    const entries = listDir(dir, guess);
    this.cache.set(dir, { at: now, entries });
    return entries;
  }
}

/** Every path where `id`'s config.json may be, most likely first. */
export function bundleCandidates(id: string, roots: BundleRoots, dirs?: DirListings): string[] {
  const list = (dir: string, guess: string) => (dirs ? dirs.list(dir, guess) : listDir(dir, guess));
  const out: string[] = [];
  for (const root of roots.containerd) {
    for (const plugin of CONTAINERD_PLUGIN_DIRS) {
      const base = join(root, plugin);
      const namespaces = [...list(base, CRI_NAMESPACE)].sort((a, b) =>
        a === CRI_NAMESPACE ? -1 : b === CRI_NAMESPACE ? 1 : 0,
      );
      for (const ns of namespaces) out.push(join(base, ns, id, 'config.json'));
    }
  }
  for (const root of roots.crio) {
    const drivers = list(root, 'overlay-containers').filter((d) => d.endsWith('-containers'));
    for (const d of drivers) out.push(join(root, d, id, 'userdata', 'config.json'));
  }
  return out;
}

function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** Read one config.json's `annotations`. Never throws. */
export function readBundleAnnotations(path: string): BundleResult {
  let fd: number | undefined;
  let text: string;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    if (size > MAX_CONFIG_BYTES)
      return { kind: 'error', path, message: `${size} bytes is larger than an OCI config.json can be; skipped` };
    text = readFileSync(fd, 'utf8');
  } catch (e) {
    const code = errorCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'error', path, code, message: e instanceof Error ? e.message : String(e) };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (e) {
    return { kind: 'error', path, message: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    return { kind: 'error', path, message: 'not a JSON object (an OCI runtime spec is one)' };
  const ann = (spec as { annotations?: unknown }).annotations;
  if (ann === undefined) return { kind: 'found', path, annotations: {} };
  if (typeof ann !== 'object' || ann === null || Array.isArray(ann))
    return { kind: 'error', path, message: '`annotations` is not an object of strings' };
  return { kind: 'found', path, annotations: ann as Record<string, unknown> };
}

/** The first config.json found for `id` under `roots`, or the first error when none could be read. */
export function findBundle(id: string, roots: BundleRoots, dirs?: DirListings): BundleResult {
  if (!isBundleId(id)) return { kind: 'missing' };
  let firstError: BundleResult | undefined;
  for (const path of bundleCandidates(id, roots, dirs)) {
    const r = readBundleAnnotations(path);
    if (r.kind === 'found') return r;
    if (r.kind === 'error') firstError ??= r;
  }
  return firstError ?? { kind: 'missing' };
}
