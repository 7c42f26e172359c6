// The node's effective Kata configuration, found and merged the way Kata does it (checked in
// kata-containers 4.1, src/runtime/pkg/katautils/config.go and src/libs/kata-types/src/config/{mod,drop_in}.rs):
// - the main file is the first path of the runtime's default list that resolves (symlinks followed; the
//   shipped `configuration.toml` is a symlink to `configuration-<hypervisor>.toml`),
// - `config.d/` next to the *resolved* main file holds drop-ins, applied in byte-wise filename order, every
//   directory entry whatever its suffix (a left-over `50-x.toml.bak` is applied too),
// - a drop-in's tables merge key by key into what came before; scalars and arrays replace (so a drop-in that
//   sets `kernel_params` replaces the whole string).
// `root` prefixes every path (tests, or a node's filesystem mounted elsewhere); symlinks are resolved inside it.
import { lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { keyPath, readTomlFile, type TomlFile, type TomlTable } from './toml.js';
import { DoctorInputError, type Finding } from './types.js';

export type KataRuntime = 'go' | 'rs';

/** Go runtime: `/etc` first, then the stateless default of the build's PREFIX (`/usr` for distro packages,
 *  `/opt/kata` for kata-deploy); a given binary knows only one PREFIX, the doctor tries both. */
export const GO_CONFIG_PATHS = [
  '/etc/kata-containers/configuration.toml',
  '/usr/share/defaults/kata-containers/configuration.toml',
  '/opt/kata/share/defaults/kata-containers/configuration.toml',
] as const;

/** runtime-rs: `DEFAULT_RUNTIME_CONFIGURATIONS` (kata-types default.rs, since 3.3.0). */
export const RS_CONFIG_PATHS = [
  '/etc/kata-containers/runtime-rs/configuration.toml',
  '/usr/share/defaults/kata-containers/runtime-rs/configuration.toml',
  '/opt/kata/share/defaults/kata-containers/runtime-rs/configuration.toml',
] as const;

/** kata-deploy (≥ 3.29) copies each shim's file to `<base>/runtimes/<shim>/configuration-<shim>.toml` with its
 *  own `config.d/`, and containerd's `ConfigPath` points there, so these are checked as well. */
export const KATA_DEPLOY_RUNTIME_DIRS: readonly { dir: string; runtime: KataRuntime }[] = [
  { dir: '/opt/kata/share/defaults/kata-containers/runtimes', runtime: 'go' },
  { dir: '/opt/kata/share/defaults/kata-containers/runtime-rs/runtimes', runtime: 'rs' },
];

export interface Origin {
  file: string;
  line?: number;
}

export interface KataConfig {
  runtime: KataRuntime;
  /** The path that was looked up (often a symlink). */
  entry: string;
  /** The resolved main file (node path). */
  main: string;
  /** Drop-ins in the order they were applied (node paths). */
  dropIns: string[];
  /** The merged configuration. */
  value: TomlTable;
  /** Which file and line last set each key (dotted path). */
  origins: Map<string, Origin>;
  /** `[hypervisor.<name>]` tables present. */
  hypervisorTables: string[];
  /** The hypervisor in use: runtime-rs `[runtime] hypervisor_name`, else the one table (Go). */
  hypervisor?: string;
  /** The agent table: runtime-rs `[runtime] agent_name`, else `kata`. */
  agent: string;
  /** Problems met while loading that Kata itself would trip over (bad drop-in entries). */
  loadFindings: Finding[];
}

const isTable = (v: unknown): v is TomlTable => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Node path → path on this machine. */
export const onHost = (root: string, nodePath: string): string => (root === '/' ? nodePath : join(root, nodePath));

/**
 * Resolve symlinks in `nodePath` as the node would (absolute targets are taken inside `root`). Returns the
 * resolved node path, or undefined when a component does not exist.
 */
export function resolveUnderRoot(root: string, nodePath: string): string | undefined {
  const parts = posix.normalize(nodePath).split('/').filter(Boolean);
  let done = '/';
  let hops = 0;
  while (parts.length) {
    const part = parts.shift() as string;
    if (part === '..') {
      done = posix.dirname(done);
      continue;
    }
    const next = posix.join(done, part);
    let st;
    try {
      st = lstatSync(onHost(root, next));
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined; // ELOOP
      const target = readlinkSync(onHost(root, next));
      parts.unshift(...target.split('/').filter(Boolean));
      if (isAbsolute(target)) done = '/';
      continue;
    }
    done = next;
  }
  return done;
}

function setOrigins(value: unknown, path: string[], from: TomlFile, origins: Map<string, Origin>): void {
  origins.set(keyPath(path), { file: from.file, line: from.lines.get(keyPath(path)) });
  if (isTable(value)) for (const [k, v] of Object.entries(value)) setOrigins(v, [...path, k], from, origins);
}

/** Merge `over` into `base` as runtime-rs does (`toml_tree_ops::merge`); Go's reflection merge gives the same
 *  result for the keys the doctor reads. */
function merge(base: TomlTable, over: TomlTable, path: string[], from: TomlFile, origins: Map<string, Origin>): void {
  for (const [k, v] of Object.entries(over)) {
    const p = [...path, k];
    const cur = base[k];
    if (isTable(v) && isTable(cur)) {
      origins.set(keyPath(p), origins.get(keyPath(p)) ?? { file: from.file, line: from.lines.get(keyPath(p)) });
      merge(cur, v, p, from, origins);
    } else {
      base[k] = structuredClone(v);
      setOrigins(v, p, from, origins);
    }
  }
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Guess the runtime of a file given with --kata-config or found under kata-deploy's runtimes/. */
export function guessRuntime(nodePath: string, value: TomlTable): KataRuntime {
  if (nodePath.includes('/runtime-rs/')) return 'rs';
  const rt = value.runtime;
  if (isTable(rt) && (rt.name === 'virt_container' || typeof rt.hypervisor_name === 'string')) return 'rs';
  return 'go';
}

/** Load one Kata configuration the way its runtime does: the resolved main file plus its `config.d/`. */
export function loadKataConfig(root: string, entry: string, runtime?: KataRuntime): KataConfig {
  const main = resolveUnderRoot(root, entry);
  if (!main) throw new DoctorInputError(entry, 'does not exist (or a symlink on its path is broken)');
  const base = readTomlFile(onHost(root, main), main);
  const origins = new Map<string, Origin>();
  setOrigins(base.value, [], base, origins);
  origins.delete('');
  const value = base.value;
  const loadFindings: Finding[] = [];
  const rt = runtime ?? guessRuntime(main, value);
  const dir = posix.join(posix.dirname(main), 'config.d');
  let names: string[] = [];
  try {
    names = readdirSync(onHost(root, dir)).sort(byteOrder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new DoctorInputError(dir, `cannot list (${(err as NodeJS.ErrnoException).code})`);
  }
  const dropIns: string[] = [];
  for (const name of names) {
    const nodePath = posix.join(dir, name);
    const host = onHost(root, nodePath);
    let lst;
    try {
      lst = lstatSync(host);
    } catch {
      continue; // removed while we read the directory
    }
    if (lst.isSymbolicLink() && rt === 'rs') {
      // runtime-rs checks DirEntry::file_type(), which does not follow symlinks: only regular files load.
      loadFindings.push({
        id: 'kata-dropin-not-loadable',
        severity: 'error',
        file: nodePath,
        message:
          'a symlink in config.d: runtime-rs accepts only regular files there and fails to load the configuration',
        fix: `replace the symlink with a copy of its target (cp --remove-destination "$(readlink -f ${nodePath})" ${nodePath})`,
      });
      continue;
    }
    // Symlinks are followed inside root (an absolute target is a node path).
    const real = resolveUnderRoot(root, nodePath);
    let st;
    try {
      if (!real) throw new Error('broken');
      st = statSync(onHost(root, real));
    } catch {
      loadFindings.push({
        id: 'kata-dropin-not-loadable',
        severity: 'error',
        file: nodePath,
        message: 'a broken symlink in config.d: Kata fails to load the configuration',
        fix: `remove ${nodePath}`,
      });
      continue;
    }
    if (!st.isFile()) {
      loadFindings.push({
        id: 'kata-dropin-not-loadable',
        severity: 'error',
        file: nodePath,
        message: 'not a regular file: Kata reads every entry of config.d and fails to load the configuration',
        fix: `move ${nodePath} out of config.d`,
      });
      continue;
    }
    if (!/^\d\d-[^/]*\.toml$/.test(name)) {
      loadFindings.push({
        id: 'kata-dropin-name',
        severity: 'warning',
        file: nodePath,
        message: `"${name}" is applied like any drop-in (Kata reads every entry of config.d, whatever its name)`,
        fix: `name drop-ins NN-name.toml (50-89 for local files) and move backups and editor files out of ${dir}`,
      });
    }
    // A non-root owner matters on a node (the doctor runs as root there); a user checking a copy owns it.
    if ((st.mode & 0o022) !== 0 || (st.uid !== 0 && process.getuid?.() === 0)) {
      loadFindings.push({
        id: 'kata-dropin-writable',
        severity: (st.mode & 0o002) !== 0 ? 'error' : 'warning',
        file: nodePath,
        message: `writable by others than root (mode ${(st.mode & 0o777).toString(8)}, uid ${st.uid}): whoever can write it can turn on the debug console or turn off seccomp`,
        fix: `chown root:root ${nodePath} && chmod 0644 ${nodePath}`,
      });
    }
    const f = readTomlFile(onHost(root, real), nodePath);
    merge(value, f.value, [], f, origins);
    dropIns.push(nodePath);
  }
  const hv = value.hypervisor;
  const hypervisorTables = isTable(hv) ? Object.keys(hv).filter((k) => isTable(hv[k])) : [];
  const rtTable = isTable(value.runtime) ? value.runtime : {};
  const hypervisor =
    rt === 'rs' && typeof rtTable.hypervisor_name === 'string' && hypervisorTables.includes(rtTable.hypervisor_name)
      ? rtTable.hypervisor_name
      : hypervisorTables.length === 1
        ? hypervisorTables[0]
        : undefined;
  const agent = rt === 'rs' && typeof rtTable.agent_name === 'string' ? rtTable.agent_name : 'kata';
  return { runtime: rt, entry, main, dropIns, value, origins, hypervisorTables, hypervisor, agent, loadFindings };
}

export interface DiscoveredConfig {
  entry: string;
  runtime: KataRuntime;
}

/** The configurations a node's shims use: each runtime's default, and kata-deploy's per-shim files. */
export function discoverKataConfigs(root: string): DiscoveredConfig[] {
  const out: DiscoveredConfig[] = [];
  const seen = new Set<string>();
  const add = (entry: string, runtime: KataRuntime) => {
    const resolved = resolveUnderRoot(root, entry);
    if (!resolved || seen.has(resolved)) return;
    seen.add(resolved);
    out.push({ entry, runtime });
  };
  const first = GO_CONFIG_PATHS.find((p) => resolveUnderRoot(root, p));
  if (first) add(first, 'go');
  const firstRs = RS_CONFIG_PATHS.find((p) => resolveUnderRoot(root, p));
  if (firstRs) add(firstRs, 'rs');
  for (const { dir, runtime } of KATA_DEPLOY_RUNTIME_DIRS) {
    let shims: string[] = [];
    try {
      shims = readdirSync(onHost(root, dir)).sort(byteOrder);
    } catch {
      continue;
    }
    for (const shim of shims) add(posix.join(dir, shim, `configuration-${shim}.toml`), runtime);
  }
  return out;
}

/** A value of the merged configuration by path, with where it was set. */
export function lookup(c: KataConfig, path: string[]): { value: unknown; origin?: Origin } {
  let cur: unknown = c.value;
  for (const p of path) cur = isTable(cur) ? cur[p] : undefined;
  return { value: cur, origin: c.origins.get(keyPath(path)) };
}
