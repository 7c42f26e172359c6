// systemd configuration files as systemd reads them (journald.conf(5), systemd.unit(5) "drop-in"): the main
// file, then `*.conf` drop-ins from /etc, /run, /usr/local/lib and /usr/lib, a file in /etc masking one of the
// same name further down, all of them applied in filename order whatever directory they are in; the last
// assignment of a key wins and an empty assignment resets it to the default. Values keep the file and line.
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { onHost, resolveUnderRoot } from './kata-config.js';

export interface IniSetting {
  value: string;
  file: string;
  line: number;
}

/** `Section.Key` → the last assignment. */
export type IniSettings = Map<string, IniSetting>;

export const SYSTEMD_CONF_DIRS = ['/etc/systemd', '/run/systemd', '/usr/local/lib/systemd', '/usr/lib/systemd'];
const UNIT_DIRS = [
  '/etc/systemd/system',
  '/run/systemd/system',
  '/usr/local/lib/systemd/system',
  '/usr/lib/systemd/system',
  '/lib/systemd/system',
];

/** Apply one file's assignments to `into` (comments `#`/`;`, `[Section]`, `Key=Value`, `\` continuations). */
export function applyIni(text: string, file: string, into: IniSettings): void {
  let section = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = (lines[i] as string).trim();
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + (lines[++i] as string).trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[') && line.endsWith(']')) {
      section = line.slice(1, -1).trim();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue; // systemd logs and ignores such a line
    const key = `${section}.${line.slice(0, eq).trim()}`;
    const value = line.slice(eq + 1).trim();
    if (value === '') into.delete(key);
    else into.set(key, { value, file, line: lineNo });
  }
}

function readText(root: string, nodePath: string): string | undefined {
  try {
    return readFileSync(onHost(root, nodePath), 'utf8');
  } catch {
    return undefined;
  }
}

/** `*.conf` in `<dir>/<name>.d/` for each dir, masked by filename (first dir wins), in filename order. */
function dropIns(root: string, dirs: readonly string[], name: string): string[] {
  const byName = new Map<string, string>();
  for (const dir of dirs) {
    const d = posix.join(dir, `${name}.d`);
    let entries: string[] = [];
    try {
      entries = readdirSync(onHost(root, d));
    } catch {
      continue;
    }
    for (const e of entries) if (e.endsWith('.conf') && !byName.has(e)) byName.set(e, posix.join(d, e));
  }
  return [...byName.keys()].sort().map((k) => byName.get(k) as string);
}

export interface LoadedIni {
  settings: IniSettings;
  /** Files read, in order (node paths). */
  files: string[];
  /** The main file, when one exists. */
  main?: string;
}

function load(root: string, dirs: readonly string[], name: string): LoadedIni {
  const settings: IniSettings = new Map();
  const files: string[] = [];
  const main = dirs.map((d) => posix.join(d, name)).find((p) => resolveUnderRoot(root, p));
  for (const f of [...(main ? [main] : []), ...dropIns(root, dirs, name)]) {
    const text = readText(root, f);
    if (text === undefined) continue;
    applyIni(text, f, settings);
    files.push(f);
  }
  return { settings, files, main };
}

/** journald's effective configuration (`journald.conf` and `journald.conf.d/*.conf`). */
export const loadJournaldConf = (root: string): LoadedIni => load(root, SYSTEMD_CONF_DIRS, 'journald.conf');

/** A unit's effective settings (`<unit>` and `<unit>.d/*.conf`). */
export const loadUnit = (root: string, unit: string): LoadedIni => load(root, UNIT_DIRS, unit);

const TIME_UNITS: [RegExp, number][] = [
  [/^(us|usec|µs)$/, 1e-6],
  [/^(ms|msec)$/, 1e-3],
  [/^(s|sec|secs|second|seconds|)$/, 1],
  [/^(m|min|mins|minute|minutes)$/, 60],
  [/^(h|hr|hrs|hour|hours)$/, 3600],
  [/^(d|day|days)$/, 86_400],
  [/^(w|week|weeks)$/, 604_800],
  [/^(M|month|months)$/, 2_629_800],
  [/^(y|year|years)$/, 31_557_600],
];

/** A systemd time span (`30s`, `1min 30s`, `2weeks`, bare seconds) in seconds; undefined when invalid. */
export function parseTimespan(s: string): number | undefined {
  const parts = s.trim().match(/(\d+(?:\.\d+)?)\s*([A-Za-zµ]*)/g);
  if (!parts || parts.join('').replace(/\s/g, '') !== s.replace(/\s/g, '')) return undefined;
  let total = 0;
  for (const p of parts) {
    const m = /^(\d+(?:\.\d+)?)\s*([A-Za-zµ]*)$/.exec(p.trim());
    if (!m) return undefined;
    const unit = TIME_UNITS.find(([re]) => re.test(m[2] as string));
    if (!unit) return undefined;
    total += Number(m[1]) * unit[1];
  }
  return total;
}

/** A size with an optional K/M/G/T/P/E suffix (base 1024), as journald reads SystemMaxUse=. */
export function parseSize(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGTPE]?)B?$/i.exec(s.trim());
  if (!m) return undefined;
  const exp = ' KMGTPE'.indexOf((m[2] || ' ').toUpperCase());
  return Math.round(Number(m[1]) * 1024 ** exp);
}
