// journald source: follows the journal through `journalctl --output=json` (the journal file format is systemd's
// own; journalctl is the supported reader and is on every systemd host). Each JSON line becomes a
// `{kind:'journal', fields}` entry; the `__CURSOR` of the last entry of each batch is committed to
// `<checkpointDir>/<name>.json` only after `ctx.emit` resolved, and a restart passes it to `--after-cursor`.
//
// journalctl facts this relies on (checked against systemd 252 and the systemd sources/issues):
// - `-t` and `-u` are ANDed with each other, so "(identifier kata) OR (unit containerd) OR (unit crio)" is written
//   as raw matches joined by `+` (disjunction), with the PRIORITY matches repeated inside every term.
// - Since systemd 250 `--follow` implies `--boot` (current boot only, systemd#21711); `--merge` turns that off
//   (systemd#27696) so a cursor from before a reboot still resumes. Versions that refuse `--merge --follow`
//   ("… with --merge is not supported", 251–253) are retried without it.
// - With `--follow`, `--after-cursor` still shows only the last 10 entries unless `--no-tail` is given.
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { backoffDelay, sleep } from '../queue/backoff.js';
import { nowUnixNano, type Attributes } from '../model/record.js';
import {
  ATTR_KATA_JOURNAL_PID,
  ATTR_KATA_LOG_ORIGIN,
  ATTR_KATA_LOG_TRUSTED,
  ATTR_PROCESS_COMMAND,
  ATTR_PROCESS_EXECUTABLE_PATH,
  ATTR_PROCESS_USER_ID,
  KATA_LOG_ORIGIN_VALUE_JOURNALD,
} from '../semconv/generated.js';
import type { Logger } from '../telemetry/log.js';
import { Batcher, pumpLines, textEntry } from './batcher.js';
import { checkpointPath, readCheckpoint, removeCheckpoint, writeCheckpoint } from './checkpoint.js';
import { parseJournalLine } from './journal-json.js';
import { LineSplitter, type Line } from './lines.js';
import type { RawEntry, Source, SourceContext } from './types.js';
import type { JournaldConfig } from '../config/types.js';

export const DEFAULT_JOURNALD_IDENTIFIERS: readonly string[] = ['kata'];
export const DEFAULT_JOURNALD_UNITS: readonly string[] = ['containerd.service', 'crio.service'];

export interface JournaldSourceOptions {
  /** Source name (metrics, logs, checkpoint file). Default `journald`. */
  name?: string;
  /** Read the journal files in this directory (`--directory`), e.g. a node's /var/log/journal mounted into a container. */
  directory?: string;
  /** Read these journal files (`--file`). */
  files?: string[];
  /** SYSLOG_IDENTIFIER values to read. Default ['kata']. */
  identifiers?: string[];
  /** Units whose output to read (`_SYSTEMD_UNIT=`). Default ['containerd.service', 'crio.service']. */
  units?: string[];
  /** Highest (least severe) PRIORITY to read: 0..7 or a syslog name (`notice`). Default: all. */
  priority?: number | string;
  /** Where to start when there is no checkpoint: `end` (follow from now) or `beginning`.
   *  Default `end` when following, `beginning` in once mode. */
  startAt?: 'beginning' | 'end';
  /** The journalctl binary. Default `journalctl` (looked up in PATH). */
  journalctl?: string;
  /** Entries per batch (default 500) and the longest wait for a batch to fill (default 200 ms; the configured
   *  `linger_ms`, 500 ms by default: file/linger.ts says why). */
  maxEntries?: number;
  flushMs?: number;
  /** Restart backoff after journalctl died (follow mode). Defaults 500 ms, 10 s. */
  restartInitialMs?: number;
  restartMaxMs?: number;
  /** Longest journalctl output line kept (default 16 MiB; longer lines are cut and flagged). */
  maxLineBytes?: number;
  /** Which writers are trusted (`kata.log.trusted`). Default DEFAULT_JOURNAL_TRUST. */
  trust?: JournalTrust;
}

/**
 * The writers whose journal entries are trusted: `_UID` in `uids` and `_COMM`, the file name of `_EXE`, or
 * `_SYSTEMD_UNIT` listed. journald sets these `_` fields itself from the sender's credentials and cgroup, so a
 * client cannot forge them (unlike SYSLOG_IDENTIFIER, which `logger -t kata` sets for any local user).
 */
export interface JournalTrust {
  uids: readonly number[];
  commands: readonly string[];
  executables: readonly string[];
  units: readonly string[];
}

export const DEFAULT_JOURNAL_TRUST: JournalTrust = {
  uids: [0],
  // The kernel keeps 15 characters of a command name: containerd-shim-kata-v2 is `containerd-shim`.
  commands: ['containerd-shim', 'containerd', 'crio', 'kata-runtime', 'kata-monitor', 'virtiofsd'],
  executables: ['containerd-shim-kata-v2', 'containerd', 'crio', 'kata-runtime', 'kata-monitor', 'virtiofsd'],
  units: ['containerd.service', 'crio.service'],
};

/** The provenance of one journal entry: who wrote it (journald's trusted fields) and whether that writer is trusted. */
export function journalProvenance(fields: Record<string, unknown>, trust: JournalTrust): Attributes {
  const a: Attributes = { [ATTR_KATA_LOG_ORIGIN]: KATA_LOG_ORIGIN_VALUE_JOURNALD };
  const uidText = stringField(fields, '_UID');
  const uid = uidText !== undefined && isDigits(uidText) ? Number(uidText) : undefined;
  const comm = stringField(fields, '_COMM');
  const exe = stringField(fields, '_EXE');
  const unit = stringField(fields, '_SYSTEMD_UNIT');
  const pid = stringField(fields, '_PID');
  if (uid !== undefined) a[ATTR_PROCESS_USER_ID] = uid;
  if (comm !== undefined) a[ATTR_PROCESS_COMMAND] = comm;
  if (exe !== undefined) a[ATTR_PROCESS_EXECUTABLE_PATH] = exe;
  if (pid !== undefined && isDigits(pid)) a[ATTR_KATA_JOURNAL_PID] = Number(pid);
  a[ATTR_KATA_LOG_TRUSTED] =
    uid !== undefined &&
    trust.uids.includes(uid) &&
    ((comm !== undefined && trust.commands.includes(comm)) ||
      (exe !== undefined && trust.executables.includes(exe.slice(exe.lastIndexOf('/') + 1))) ||
      (unit !== undefined && trust.units.includes(unit)));
  return a;
}

function stringField(fields: Record<string, unknown>, k: string): string | undefined {
  const v = fields[k];
  return typeof v === 'string' ? v : undefined;
}

/** /^\d+$/ without a regex call per entry (journalProvenance runs for every journal entry). */
function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

interface JournalCheckpoint {
  cursor?: string;
}

const PRIORITY_NAMES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

/** Parse a journald priority (0..7 or a syslog name); undefined when it is neither. */
export function parsePriority(p: number | string): number | undefined {
  if (typeof p === 'number') return Number.isInteger(p) && p >= 0 && p <= 7 ? p : undefined;
  const s = p.trim().toLowerCase();
  if (/^[0-7]$/.test(s)) return Number(s);
  const i = PRIORITY_NAMES.indexOf(s === 'error' ? 'err' : s === 'warn' ? 'warning' : s);
  return i >= 0 ? i : undefined;
}

/**
 * journalctl match arguments for (SYSLOG_IDENTIFIER ∈ identifiers) OR (_SYSTEMD_UNIT ∈ units), each term ANDed
 * with PRIORITY ≤ priority. Empty identifiers and units: no identifier/unit filter.
 */
export function journalMatchArgs(
  identifiers: readonly string[],
  units: readonly string[],
  priority?: number,
): string[] {
  // 7 (debug) means every priority: no match, so entries without a PRIORITY field are kept too.
  const prios =
    priority === undefined || priority >= 7 ? [] : Array.from({ length: priority + 1 }, (_, n) => `PRIORITY=${n}`);
  let terms: string[][] = [
    ...identifiers.map((id) => [`SYSLOG_IDENTIFIER=${id}`]),
    // `-u crio` means crio.service; raw matches need the full unit name.
    ...units.map((u) => [`_SYSTEMD_UNIT=${u.includes('.') ? u : `${u}.service`}`]),
  ];
  if (prios.length > 0) terms = terms.length > 0 ? terms.map((t) => [...t, ...prios]) : [prios];
  return terms.flatMap((t, i) => (i === 0 ? t : ['+', ...t]));
}

export interface JournalctlArgsInput {
  directory?: string;
  files?: readonly string[];
  follow: boolean;
  merge: boolean;
  cursor?: string;
  startAt: 'beginning' | 'end';
  /** Restart without a cursor in follow mode: read from this time (seconds since the epoch). */
  sinceSeconds?: number;
  matches: readonly string[];
}

/** The journalctl command line for one run. */
export function journalctlArgs(a: JournalctlArgsInput): string[] {
  const args = ['--output=json', '--all', '--no-pager'];
  if (a.directory) args.push(`--directory=${a.directory}`);
  for (const f of a.files ?? []) args.push(`--file=${f}`);
  if (a.follow) {
    args.push('--follow');
    if (a.merge) args.push('--merge');
  }
  if (a.cursor) {
    args.push(`--after-cursor=${a.cursor}`);
    if (a.follow) args.push('--no-tail');
  } else if (a.sinceSeconds !== undefined) {
    args.push(`--since=@${a.sinceSeconds}`);
    if (a.follow) args.push('--no-tail');
  } else if (a.startAt === 'end') {
    args.push('--lines=0');
  } else if (a.follow) {
    args.push('--no-tail');
  }
  args.push(...a.matches);
  return args;
}

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  spawnError?: NodeJS.ErrnoException;
  entries: number;
}

export class JournaldSource implements Source {
  readonly name: string;
  private readonly opts: JournaldSourceOptions;
  private readonly matches: string[];

  constructor(opts: JournaldSourceOptions = {}) {
    this.opts = opts;
    this.name = opts.name ?? 'journald';
    let priority: number | undefined;
    if (opts.priority !== undefined) {
      priority = parsePriority(opts.priority);
      if (priority === undefined) {
        throw new Error(
          `journald source '${this.name}': priority '${String(opts.priority)}' is not a journald priority; use 0..7 or one of ${PRIORITY_NAMES.join(', ')}`,
        );
      }
    }
    this.matches = journalMatchArgs(
      opts.identifiers ?? DEFAULT_JOURNALD_IDENTIFIERS,
      opts.units ?? DEFAULT_JOURNALD_UNITS,
      priority,
    );
  }

  async run(ctx: SourceContext): Promise<void> {
    const log = ctx.logger.child({ source: this.name });
    const counted = () => ctx.metrics.sourceErrors.inc({ source: this.name });
    const journalctl = this.opts.journalctl ?? 'journalctl';
    if (!(await this.inputsExist(log))) return counted();

    const cpPath = checkpointPath(ctx.checkpointDir, this.name);
    const saved = await readCheckpoint<JournalCheckpoint>(cpPath);
    let cursor: string | undefined;
    if (!saved.ok) log.warn(`${saved.error}; starting without it`, { checkpoint: cpPath });
    else if (typeof saved.value?.cursor === 'string') cursor = saved.value.cursor;

    const startAt = this.opts.startAt ?? (ctx.once ? 'beginning' : 'end');
    const firstStartSeconds = Math.floor(Date.now() / 1000);
    let merge = true;
    let started = false;
    let attempt = 0;

    const batcher = new Batcher(
      async (entries) => {
        await ctx.emit({ source: this.name, entries, observedTimeUnixNano: nowUnixNano() });
        const last = lastCursor(entries);
        if (!last) return;
        cursor = last;
        try {
          await writeCheckpoint(cpPath, { cursor } satisfies JournalCheckpoint);
        } catch (err) {
          // Keep reading: the next batch writes a newer cursor; a crash before then re-reads (duplicates, no loss).
          log.warn('cannot write the journal cursor checkpoint', { checkpoint: cpPath, error: err });
        }
      },
      { maxEntries: this.opts.maxEntries, flushMs: this.opts.flushMs },
    );

    while (!ctx.signal.aborted) {
      const args = journalctlArgs({
        directory: this.opts.directory,
        files: this.opts.files,
        follow: !ctx.once,
        merge,
        cursor,
        startAt,
        // After a restart in follow mode with nothing emitted yet, `--lines=0` would skip what was written
        // while journalctl was down: read from the first start instead.
        sinceSeconds: !cursor && started && startAt === 'end' ? firstStartSeconds : undefined,
        matches: this.matches,
      });
      started = true;
      log.debug('starting journalctl', { journalctl, args });
      let result: ChildResult;
      try {
        result = await this.runChild(journalctl, args, ctx, batcher);
        await batcher.flush();
      } catch (err) {
        // emit rejects only when the receiver shuts down.
        batcher.close();
        if (!ctx.signal.aborted) log.error('journald source stopped: hand-off failed', { error: err });
        if (!ctx.signal.aborted) counted();
        return;
      }
      if (result.spawnError) {
        const e = result.spawnError;
        counted();
        log.error(
          e.code === 'ENOENT'
            ? `journalctl not found at '${journalctl}': install systemd (Debian/Ubuntu: apt-get install systemd) or set the journald source's journalctl path`
            : `cannot run journalctl '${journalctl}': ${e.message}`,
          { journalctl },
        );
        return;
      }
      if (ctx.signal.aborted) return;
      const stderr = result.stderr.trim();
      if (cursor && result.entries === 0 && result.code !== 0 && /cursor/i.test(stderr)) {
        log.warn(`journalctl rejected the saved cursor; starting at the ${startAt} instead`, { cursor, stderr });
        cursor = undefined;
        started = false;
        await removeCheckpoint(cpPath);
        continue;
      }
      if (ctx.once) {
        if (result.code !== 0) log.error('journalctl failed', { journalctl, args, code: result.code, stderr });
        if (result.code !== 0) counted();
        return;
      }
      if (merge && result.code !== 0 && /--merge/.test(stderr) && /not supported/i.test(stderr)) {
        merge = false;
        log.warn('this journalctl cannot combine --merge with --follow; following the current boot only', { stderr });
        continue;
      }
      attempt = result.entries > 0 ? 1 : attempt + 1;
      const delayMs = backoffDelay(attempt, {
        initialMs: this.opts.restartInitialMs ?? 500,
        maxMs: this.opts.restartMaxMs ?? 10_000,
        multiplier: 2,
      });
      counted();
      log.warn('journalctl exited; restarting from the last committed cursor', {
        code: result.code,
        signal: result.signal,
        stderr,
        delayMs: Math.round(delayMs),
        cursor,
      });
      await sleep(delayMs, ctx.signal);
    }
  }

  /** Check --directory / --file inputs before spawning, so the error names the path and the fix. */
  private async inputsExist(log: Logger): Promise<boolean> {
    const checks: Array<[string, 'directory' | 'file']> = [];
    if (this.opts.directory) checks.push([this.opts.directory, 'directory']);
    for (const f of this.opts.files ?? []) checks.push([f, 'file']);
    for (const [path, kind] of checks) {
      try {
        const st = await stat(path);
        if (kind === 'directory' ? !st.isDirectory() : !st.isFile()) {
          log.error(`journal ${kind} '${path}' is not a ${kind}; check --journal-dir / the journald source's ${kind}`);
          return false;
        }
      } catch (err) {
        log.error(
          `journal ${kind} '${path}' cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ` +
            `check --journal-dir / the journald source's ${kind} (mount the node's /var/log/journal into the container)`,
        );
        return false;
      }
    }
    return true;
  }

  private async runChild(
    journalctl: string,
    args: string[],
    ctx: SourceContext,
    batcher: Batcher,
  ): Promise<ChildResult> {
    const child = spawn(journalctl, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' },
    });
    let spawnError: NodeJS.ErrnoException | undefined;
    let stderr = '';
    child.on('error', (err) => (spawnError = err));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 8192) stderr += d;
    });
    const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (code, signal) => resolve([code, signal])),
    );
    const onAbort = () => child.kill('SIGTERM');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    let entries = 0;
    try {
      // pumpLines pulls the next chunk only after the previous one was batched and a full batch handed off:
      // while the queue is full, journalctl blocks on a full pipe.
      entries = await pumpLines(
        child.stdout as AsyncIterable<Buffer>,
        new LineSplitter(this.opts.maxLineBytes ?? 16 * 1024 * 1024),
        batcher,
        (line) => toEntry(line, this.opts.trust ?? DEFAULT_JOURNAL_TRUST),
      );
    } catch (err) {
      child.kill('SIGTERM');
      throw err;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    const [code, signal] = await closed;
    return { code, signal, stderr, spawnError, entries };
  }
}

/** One journalctl JSON line → entry. MESSAGE may be an array of bytes (binary data): kept as is for the parser. */
function toEntry(line: Line, trust: JournalTrust): RawEntry {
  // journal-json.ts: JSON.parse's mapping with the fields in a fixed order (JSON.parse's per-entry maps cost ~5×).
  const f = parseJournalLine(line.text);
  if (f !== undefined) return { kind: 'journal', fields: f, attributes: journalProvenance(f, trust) };
  // Not a JSON object: keep the raw line so nothing is lost; the parser flags it.
  // Not a journal entry as journalctl writes them: nothing shows who wrote it.
  const entry = textEntry(line);
  entry.attributes = {
    ...entry.attributes,
    [ATTR_KATA_LOG_ORIGIN]: KATA_LOG_ORIGIN_VALUE_JOURNALD,
    [ATTR_KATA_LOG_TRUSTED]: false,
  };
  return entry;
}

function lastCursor(entries: RawEntry[]): string | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e?.kind === 'journal' && typeof e.fields['__CURSOR'] === 'string') return e.fields['__CURSOR'];
  }
  return undefined;
}

/** The registry's factory (journald-config.ts): the source for the resolved `sources.journald` settings. */
export function createJournaldSource(j: JournaldConfig): JournaldSource {
  return new JournaldSource({
    directory: j.directory ?? undefined,
    files: j.files.length ? j.files : undefined,
    identifiers: j.identifiers,
    units: j.units,
    priority: j.priority,
    startAt: j.startAt,
    journalctl: j.journalctl,
    trust: j.trust,
    flushMs: j.lingerMs,
  });
}
