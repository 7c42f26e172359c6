// `kata-otel validate [--config FILE] [--json]`: what `run` would do with this configuration, checked without
// reading or sending any record: the configuration itself, every source resolved to the paths it would read
// (with whether this user may read them), the data directory, and every exporter reached with an empty export.
// Exit codes: 0 all checks pass (warnings allowed), 1 a source cannot be read or an exporter cannot deliver,
// 2 the configuration is invalid or missing.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { ConfigError, loadConfig, type ReceiverConfig } from '../config/index.js';
import { createOtlpExporter } from '../exporters/otlp-exporter.js';
import { GlobSet } from '../sources/file/glob.js';
import { redactUrls } from '../telemetry/redact.js';

export interface ValidateOptions {
  config?: string;
  json: boolean;
  /** Per-exporter deadline for the empty export. */
  timeoutMs: number;
  stdout: Writable;
  stderr: Writable;
  env?: Record<string, string | undefined>;
}

export type CheckStatus = 'ok' | 'warn' | 'fail';
export interface PathCheck {
  path: string;
  /** readable / writable / missing / denied: what this user may do there now. */
  access: 'readable' | 'writable' | 'missing' | 'denied';
  kind?: 'file' | 'directory' | 'socket' | 'fifo' | 'other';
}
export interface Check {
  kind: 'config' | 'source' | 'data_dir' | 'exporter';
  name: string;
  status: CheckStatus;
  detail: string;
  paths?: PathCheck[];
}

function kindOf(path: string): PathCheck['kind'] | undefined {
  try {
    const st = statSync(path);
    if (st.isFile()) return 'file';
    if (st.isDirectory()) return 'directory';
    if (st.isSocket()) return 'socket';
    if (st.isFIFO()) return 'fifo';
    return 'other';
  } catch {
    return undefined;
  }
}

function pathCheck(path: string, mode = constants.R_OK): PathCheck {
  const kind = kindOf(path);
  if (kind === undefined) return { path, access: 'missing' };
  try {
    // Directories need search (x) as well to be listed and walked.
    accessSync(path, kind === 'directory' ? mode | constants.X_OK : mode);
    return { path, kind, access: mode & constants.W_OK ? 'writable' : 'readable' };
  } catch {
    return { path, kind, access: 'denied' };
  }
}

const listPaths = (ps: PathCheck[]) => ps.map((p) => `${p.path} (${p.access})`).join(', ');

/** Directories a source scans (vsock sockets, FIFOs): missing is fine (no sandbox yet), denied is not. */
function rootsCheck(name: string, roots: string[], what: string): Check {
  const paths = roots.map((r) => pathCheck(r));
  const denied = paths.filter((p) => p.access === 'denied');
  if (denied.length)
    return { kind: 'source', name, status: 'fail', paths, detail: `cannot read ${listPaths(denied)}: run as root` };
  const present = paths.filter((p) => p.access === 'readable');
  return {
    kind: 'source',
    name,
    paths,
    status: present.length ? 'ok' : 'warn',
    detail: present.length
      ? `scans ${listPaths(paths)} for ${what}`
      : `none of ${roots.join(', ')} exists yet (no sandbox has started); scanned for ${what} when they appear`,
  };
}

async function sourceChecks(config: ReceiverConfig): Promise<Check[]> {
  const checks: Check[] = [];
  const j = config.sources.journald;
  if (j.enabled) {
    const v = spawnSync(j.journalctl, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    const dirs = j.files.length ? j.files : j.directory ? [j.directory] : ['/var/log/journal', '/run/log/journal'];
    const paths = dirs.map((d) => pathCheck(d));
    const readable = paths.filter((p) => p.access === 'readable');
    const filters = `identifiers ${j.identifiers.join(', ') || '-'}, units ${j.units.join(', ') || '-'}`;
    if (v.status !== 0)
      checks.push({
        kind: 'source',
        name: 'journald',
        status: 'fail',
        paths,
        detail: `cannot run ${j.journalctl} (${v.error?.message ?? v.stderr.trim()}); install systemd's journalctl or set sources.journald.journalctl`,
      });
    else
      checks.push({
        kind: 'source',
        name: 'journald',
        status: readable.length ? 'ok' : 'fail',
        paths,
        detail: readable.length
          ? `${v.stdout.split('\n')[0]}; reads ${listPaths(paths)}; ${filters}`
          : `no journal readable among ${listPaths(paths)}: run as root or in the systemd-journal group`,
      });
  }
  for (const [i, f] of config.sources.files.entries()) {
    const { files, problems } = await new GlobSet(f.include, f.exclude, f.followSymlinks).expand();
    const paths = [...files.keys()].sort().map((p) => pathCheck(p));
    const denied = paths.filter((p) => p.access === 'denied');
    const unreadable = problems.filter((p) => p.problem === 'unreadable');
    const waiting = problems.filter((p) => p.problem === 'no-match' || p.problem === 'missing');
    const status: CheckStatus = denied.length || unreadable.length ? 'fail' : paths.length ? 'ok' : 'warn';
    const parts = [
      paths.length ? `reads ${paths.length} file(s): ${listPaths(paths)}` : 'no file matches now',
      ...unreadable.map((p) => `cannot list ${p.path} for ${p.pattern}: ${p.error ?? 'denied'}`),
      ...waiting.map((p) => `${p.pattern} matches nothing yet (files that appear are picked up)`),
    ];
    checks.push({ kind: 'source', name: `file-${i}`, status, paths, detail: parts.join('; ') });
  }
  const v = config.sources.vsock;
  if (v.enabled) checks.push(rootsCheck('vsock', v.roots, `hybrid-vsock sockets (agent log port ${v.port})`));
  const fifo = config.sources.fifo;
  if (fifo.enabled) checks.push(rootsCheck('fifo', fifo.roots, 'Firecracker log FIFOs'));
  if (config.sources.stdin)
    checks.push({ kind: 'source', name: 'stdin', status: 'ok', detail: 'reads standard input' });
  if (checks.length === 0)
    checks.push({
      kind: 'source',
      name: '(none)',
      status: 'warn',
      detail: 'no source is enabled: `run` would only read files named on its command line',
    });
  return checks;
}

function dataDirCheck(dir: string): Check {
  const p = pathCheck(dir, constants.R_OK | constants.W_OK);
  if (p.access === 'missing') {
    const parent = pathCheck(dirname(dir), constants.W_OK);
    return parent.access === 'writable'
      ? { kind: 'data_dir', name: dir, status: 'ok', paths: [p], detail: `${dir} will be created` }
      : {
          kind: 'data_dir',
          name: dir,
          status: 'fail',
          paths: [p],
          detail: `cannot create ${dir}: ${parent.path} is ${parent.access}`,
        };
  }
  const st = statSync(dir);
  const euid = process.geteuid?.();
  if (p.access !== 'writable' || (euid !== undefined && st.uid !== euid) || (st.mode & 0o022) !== 0)
    return {
      kind: 'data_dir',
      name: dir,
      status: 'fail',
      paths: [p],
      detail: `${dir} must be a directory owned by uid ${euid ?? '?'}, writable, and not writable by group or others (uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`,
    };
  return { kind: 'data_dir', name: dir, status: 'ok', paths: [p], detail: `${dir} is private and writable` };
}

async function exporterChecks(
  config: ReceiverConfig,
  timeoutMs: number,
  env: ValidateOptions['env'],
): Promise<Check[]> {
  const checks: Check[] = [];
  for (const e of config.exporters) {
    if (e.type !== 'otlp') {
      const where =
        e.type === 'store'
          ? `writes OTLP/JSON files under ${e.directory ?? `${config.dataDir}/store`}`
          : 'writes to stdout';
      checks.push({ kind: 'exporter', name: e.name, status: 'ok', detail: `local: ${where}` });
      continue;
    }
    let built;
    try {
      built = createOtlpExporter(e, { name: e.name, env: env ?? process.env });
    } catch (err) {
      checks.push({
        kind: 'exporter',
        name: e.name,
        status: 'fail',
        detail: `misconfigured: ${(err as Error).message}`,
      });
      continue;
    }
    const { exporter, settings } = built;
    const target = `${settings.protocol} ${settings.endpoint}`;
    const started = Date.now();
    try {
      const r = await exporter.probe!(AbortSignal.timeout(timeoutMs));
      const ms = Date.now() - started;
      if (r.code === 'success')
        checks.push({
          kind: 'exporter',
          name: e.name,
          status: 'ok',
          detail: `reached ${target}: empty export accepted in ${ms} ms`,
        });
      else if (r.code === 'retryable')
        checks.push({ kind: 'exporter', name: e.name, status: 'fail', detail: `cannot reach ${target}: ${r.error}` });
      else
        checks.push({
          kind: 'exporter',
          name: e.name,
          status: 'fail',
          detail: `${target} rejects exports (wrong path, credentials or protocol?): ${r.error}`,
        });
    } finally {
      await exporter.shutdown();
    }
  }
  return checks;
}

export async function validateCommand(o: ValidateOptions): Promise<number> {
  let config: ReceiverConfig;
  const checks: Check[] = [];
  try {
    config = loadConfig(o.config, undefined, o.env ? { env: o.env } : {});
    checks.push({ kind: 'config', name: o.config ?? '(defaults)', status: 'ok', detail: 'valid' });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    checks.push({ kind: 'config', name: o.config ?? '(defaults)', status: 'fail', detail: err.message });
    report(o, checks);
    return 2;
  }
  checks.push(...(await sourceChecks(config)), dataDirCheck(config.dataDir));
  checks.push(...(await exporterChecks(config, o.timeoutMs, o.env)));
  report(o, checks);
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

function report(o: ValidateOptions, checks: Check[]): void {
  const ok = !checks.some((c) => c.status === 'fail');
  if (o.json) {
    o.stdout.write(`${redactUrls(JSON.stringify({ ok, checks }))}\n`);
    return;
  }
  for (const c of checks) o.stdout.write(redactUrls(`${c.status.padEnd(4)}  ${c.kind} ${c.name}: ${c.detail}\n`));
  o.stdout.write(ok ? 'kata-otel validate: all checks passed\n' : 'kata-otel validate: some checks failed\n');
}
