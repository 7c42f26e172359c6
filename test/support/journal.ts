// Real journal files for tests: records in systemd's Journal Export Format, written by systemd's own
// systemd-journal-remote (package `systemd-journal-remote`), read back by the real journalctl.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export type JournalValue = string | number | bigint | Buffer;
export type JournalRecord = Record<string, JournalValue>;

/** Where Debian/Ubuntu and Fedora install systemd-journal-remote; undefined when it is not installed. */
export const JOURNAL_REMOTE: string | undefined = [
  '/lib/systemd/systemd-journal-remote',
  '/usr/lib/systemd/systemd-journal-remote',
].find((p) => existsSync(p));

/** Whether the real journalctl runs here (the journald source's tests need it). */
export const HAS_JOURNALCTL: boolean = (() => {
  try {
    execFileSync('journalctl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** A fixed boot id so records follow one boot (journalctl groups by it). */
export const TEST_BOOT_ID = '590edceeef5545a784ec8c6181a10400';

/**
 * Journal Export Format (systemd.io/JOURNAL_EXPORT_FORMATS): `KEY=value\n` per field, an empty line after each
 * entry; values with a newline or other control bytes (and Buffers) use the binary-safe form
 * `KEY\n<uint64 LE length><bytes>\n`.
 */
export function buildJournalExport(records: readonly JournalRecord[]): Buffer {
  const parts: Buffer[] = [];
  for (const rec of records) {
    for (const [key, value] of Object.entries(rec)) {
      const data = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
      const binary = Buffer.isBuffer(value) || /[\x00-\x08\x0a-\x1f]/.test(String(value));
      if (binary) {
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(data.length));
        parts.push(Buffer.from(`${key}\n`), len, data, Buffer.from('\n'));
      } else {
        parts.push(Buffer.from(`${key}=`), data, Buffer.from('\n'));
      }
    }
    parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Write (or append to) the journal file `path` (must end in `.journal`) with systemd-journal-remote. */
export async function writeJournal(path: string, records: readonly JournalRecord[]): Promise<void> {
  if (!JOURNAL_REMOTE) {
    throw new Error('systemd-journal-remote is not installed: apt-get install systemd-journal-remote');
  }
  const child = spawn(JOURNAL_REMOTE, [`--output=${path}`, '--compress=no', '-'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdin.end(buildJournalExport(records));
  const code = await done;
  if (code !== 0) throw new Error(`systemd-journal-remote -o ${path} failed (${code}): ${stderr}`);
}

/**
 * journald's trusted fields of the writers (set by journald from the sender's credentials; systemd-journal-remote
 * keeps them from the export stream): the shim (comm cut to 15 characters by the kernel), containerd, and a local
 * user's `logger -t kata` (docs/security.md).
 */
export const SHIM_WRITER = { _UID: 0, _GID: 0, _COMM: 'containerd-shim', _EXE: '/usr/bin/containerd-shim-kata-v2' };
export const CONTAINERD_WRITER = { _UID: 0, _GID: 0, _COMM: 'containerd', _EXE: '/usr/bin/containerd' };
export const LOGGER_WRITER = {
  _UID: 1000,
  _GID: 1000,
  _COMM: 'logger',
  _EXE: '/usr/bin/logger',
  _SYSTEMD_UNIT: 'session-3.scope',
  _TRANSPORT: 'syslog',
};

/** Kata records as the journal holds them, built from the real lines in test/fixtures/corpus. */
export function corpusJournalRecords(corpusDir: URL, startUs = 1_700_000_000_000_000n): JournalRecord[] {
  let t = startUs;
  const next = () => (t += 1000n);
  const base = () => ({
    __REALTIME_TIMESTAMP: next(),
    __MONOTONIC_TIMESTAMP: t - startUs + 1n,
    _BOOT_ID: TEST_BOOT_ID,
  });
  const out: JournalRecord[] = [];
  const syslogLine = /^\w{3} +\d+ [\d:]+ \S+ ([^[:\s]+)\[(\d+)\]: (.*)$/;
  // Go shim: logrus syslog hook, identifier `kata`, in containerd's cgroup.
  for (const line of lines(corpusDir, 'runtime-logfmt.log')) {
    const m = syslogLine.exec(line);
    if (!m) continue;
    out.push({
      ...base(),
      SYSLOG_IDENTIFIER: m[1] as string,
      _PID: m[2] as string,
      PRIORITY: /level=(error|fatal|panic)/.test(line) ? 3 : /level=warning/.test(line) ? 4 : 6,
      _TRANSPORT: 'syslog',
      _SYSTEMD_UNIT: 'containerd.service',
      ...SHIM_WRITER,
      MESSAGE: m[3] as string,
    });
  }
  // The same records relayed by containerd's stderr: identifier `containerd`, unit containerd.service.
  for (const line of lines(corpusDir, 'shim-via-containerd.log')) {
    const m = syslogLine.exec(line);
    if (!m) continue;
    out.push({
      ...base(),
      SYSLOG_IDENTIFIER: m[1] as string,
      _PID: m[2] as string,
      PRIORITY: 6,
      _TRANSPORT: 'stdout',
      _SYSTEMD_UNIT: 'containerd.service',
      ...CONTAINERD_WRITER,
      MESSAGE: m[3] as string,
    });
  }
  // runtime-rs >= 3.20: native journald records (slog-journald), upper-cased keys, SOURCE = sandbox id,
  // PRIORITY 5 for info and 6 for debug; the agent-log forwarder puts the agent's JSON line in MESSAGE.
  const sandbox = '38f55c4a058a0f7227e64edd75f2aed134bee7db4b211f071be84fb44d17b0bb';
  const rs = (msg: string, priority: number, subsystem: string, extra: JournalRecord = {}): JournalRecord => ({
    ...base(),
    SYSLOG_IDENTIFIER: 'kata',
    _TRANSPORT: 'journal',
    _SYSTEMD_UNIT: 'containerd.service',
    ...SHIM_WRITER,
    _PID: 4242,
    MESSAGE: msg,
    PRIORITY: priority,
    VERSION: '0.1.0',
    SUBSYSTEM: subsystem,
    PID: '4242',
    NAME: 'kata-runtime',
    SOURCE: sandbox,
    CODE_FILE: 'crates/runtimes/virt_container/src/sandbox.rs',
    CODE_LINE: 312,
    CODE_MODULE: 'virt_container::sandbox',
    ...extra,
  });
  for (const line of lines(corpusDir, 'runtime-rs.log')) {
    const j = JSON.parse(line) as { msg: string; level: string; subsystem: string };
    out.push(rs(j.msg, j.level === 'DEBG' ? 6 : 5, j.subsystem));
  }
  for (const line of lines(corpusDir, 'agent-json.log').slice(0, 5)) {
    out.push(rs(line, 5, 'agent', { COMPONENT: 'agent', CODE_FILE: 'crates/agent/src/log_forwarder.rs' }));
  }
  return out;
}

function lines(corpusDir: URL, file: string): string[] {
  return readFileSync(new URL(file, corpusDir), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
}
