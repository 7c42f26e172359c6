// JournaldSource against real journal files: written by systemd-journal-remote from corpus records, read through
// the real journalctl --directory.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointPath } from '../../receiver/sources/checkpoint.js';
import { JournaldSource, journalMatchArgs, parsePriority } from '../../receiver/sources/journald.js';
import type { RawEntry } from '../../receiver/sources/types.js';
import {
  HAS_JOURNALCTL,
  JOURNAL_REMOTE,
  TEST_BOOT_ID,
  corpusJournalRecords,
  writeJournal,
  type JournalRecord,
} from '../support/journal.js';
import { harness, tempDir } from './source-harness.js';

const corpus = new URL('../fixtures/corpus/', import.meta.url);
const hasJournalctl = HAS_JOURNALCTL;

type Fields = Record<string, unknown>;
const fieldsOf = (entries: RawEntry[]): Fields[] => entries.flatMap((e) => (e.kind === 'journal' ? [e.fields] : []));
const messages = (entries: RawEntry[]) => fieldsOf(entries).map((f) => f['MESSAGE']);

let clock = 1_710_000_000_000_000n;
function rec(message: string, fields: JournalRecord = {}): JournalRecord {
  clock += 1000n;
  return {
    __REALTIME_TIMESTAMP: clock,
    __MONOTONIC_TIMESTAMP: clock - 1_700_000_000_000_000n,
    _BOOT_ID: TEST_BOOT_ID,
    SYSLOG_IDENTIFIER: 'kata',
    PRIORITY: 6,
    MESSAGE: message,
    ...fields,
  };
}

describe('journalMatchArgs', () => {
  it('ORs identifier and unit terms with + and repeats the priority matches in each term', () => {
    expect(journalMatchArgs(['kata'], ['containerd.service', 'crio'], 1)).toEqual([
      'SYSLOG_IDENTIFIER=kata',
      'PRIORITY=0',
      'PRIORITY=1',
      '+',
      '_SYSTEMD_UNIT=containerd.service',
      'PRIORITY=0',
      'PRIORITY=1',
      '+',
      '_SYSTEMD_UNIT=crio.service',
      'PRIORITY=0',
      'PRIORITY=1',
    ]);
    expect(journalMatchArgs([], [], 0)).toEqual(['PRIORITY=0']);
    expect(journalMatchArgs([], [])).toEqual([]);
  });

  it('parses priorities by number and syslog name, rejects others', () => {
    expect(parsePriority('notice')).toBe(5);
    expect(parsePriority('warn')).toBe(4);
    expect(parsePriority(7)).toBe(7);
    expect(parsePriority('8')).toBeUndefined();
    expect(() => new JournaldSource({ priority: 'loud' })).toThrow(/priority 'loud'.*0\.\.7/);
  });
});

describe.skipIf(!JOURNAL_REMOTE || !hasJournalctl)('JournaldSource (real journal files)', () => {
  function journalDir(): string {
    const dir = join(tempDir('kata-otel-journal-'), 'journal');
    mkdirSync(dir);
    return dir;
  }

  it('reads the corpus records with the default filters: identifier kata OR unit containerd/crio', async () => {
    const dir = journalDir();
    const corpusRecords = corpusJournalRecords(corpus);
    await writeJournal(join(dir, 'a.journal'), [
      ...corpusRecords,
      rec('kata shim outside containerd', { _SYSTEMD_UNIT: 'kata-test.scope' }),
      rec('crio says hi', { SYSLOG_IDENTIFIER: 'crio', _SYSTEMD_UNIT: 'crio.service', PRIORITY: 4 }),
      rec('sshd noise', { SYSLOG_IDENTIFIER: 'sshd', _SYSTEMD_UNIT: 'ssh.service' }),
      rec('kata-runtime CLI elsewhere', { SYSLOG_IDENTIFIER: 'kata-runtime', _SYSTEMD_UNIT: 'user@0.service' }),
    ]);
    const h = harness({ once: true });
    await new JournaldSource({ directory: dir }).run(h.ctx);
    const msgs = messages(h.entries());
    expect(msgs).toHaveLength(corpusRecords.length + 2);
    expect(msgs).toContain('kata shim outside containerd');
    expect(msgs).toContain('crio says hi');
    expect(msgs).not.toContain('sshd noise');
    expect(msgs).not.toContain('kata-runtime CLI elsewhere');
    // Real runtime-rs native fields come through untouched, upper-case keys and all.
    const rs = fieldsOf(h.entries()).find((f) => f['NAME'] === 'kata-runtime' && f['SUBSYSTEM'] === 'agent');
    expect(rs?.['SOURCE']).toBe('38f55c4a058a0f7227e64edd75f2aed134bee7db4b211f071be84fb44d17b0bb');
    expect(String(rs?.['MESSAGE'])).toMatch(/^\{"msg":/);
    expect(rs?.['CODE_FILE']).toBe('crates/agent/src/log_forwarder.rs');
    expect(h.batches.every((b) => b.source === 'journald')).toBe(true);
  });

  it('filters by identifier only, and by priority while keeping the OR of the terms', async () => {
    const dir = journalDir();
    await writeJournal(join(dir, 'a.journal'), [
      rec('kata notice', { PRIORITY: 5 }),
      rec('kata info', { PRIORITY: 6 }),
      rec('containerd error', { SYSLOG_IDENTIFIER: 'containerd', _SYSTEMD_UNIT: 'containerd.service', PRIORITY: 3 }),
      rec('containerd info', { SYSLOG_IDENTIFIER: 'containerd', _SYSTEMD_UNIT: 'containerd.service', PRIORITY: 6 }),
      rec('sshd error', { SYSLOG_IDENTIFIER: 'sshd', _SYSTEMD_UNIT: 'ssh.service', PRIORITY: 3 }),
    ]);
    const onlyKata = harness({ once: true });
    await new JournaldSource({ directory: dir, identifiers: ['kata'], units: [] }).run(onlyKata.ctx);
    expect(messages(onlyKata.entries())).toEqual(['kata notice', 'kata info']);

    const notice = harness({ once: true });
    await new JournaldSource({ directory: dir, priority: 'notice' }).run(notice.ctx);
    expect(messages(notice.entries())).toEqual(['kata notice', 'containerd error']);
  });

  it('keeps multi-line and binary MESSAGE values as journalctl gives them', async () => {
    const dir = journalDir();
    const agentLine = readFileSync(new URL('agent-json.log', corpus), 'utf8').split('\n')[0] as string;
    await writeJournal(join(dir, 'a.journal'), [
      rec(`${agentLine}\nsecond line`),
      rec('placeholder', { MESSAGE: Buffer.from([0x66, 0xff, 0x00, 0x41]) }),
    ]);
    const h = harness({ once: true });
    await new JournaldSource({ directory: dir }).run(h.ctx);
    expect(messages(h.entries())).toEqual([`${agentLine}\nsecond line`, [0x66, 0xff, 0x00, 0x41]]);
  });

  it('commits the cursor after each emitted batch and resumes right after it: no loss, no duplicate', async () => {
    const dir = journalDir();
    const first = Array.from({ length: 23 }, (_, i) => rec(`first-${i}`));
    await writeJournal(join(dir, 'a.journal'), first);
    const cpDir = join(tempDir(), 'checkpoints');

    // Run 1: the receiver shuts down while the third batch is being handed off.
    let calls = 0;
    const run1 = harness({
      once: true,
      checkpointDir: cpDir,
      emit: async () => {
        if (++calls === 3) throw new Error('receiver shutting down');
      },
    });
    await new JournaldSource({ directory: dir, maxEntries: 5 }).run(run1.ctx);
    expect(messages(run1.entries())).toEqual(first.slice(0, 10).map((r) => r['MESSAGE']));
    const saved = JSON.parse(readFileSync(checkpointPath(cpDir, 'journald'), 'utf8')) as { cursor: string };
    expect(saved.cursor).toBe(fieldsOf(run1.entries())[9]?.['__CURSOR']);

    // Records appended between runs, in a second journal file and appended to the first.
    const second = [rec('second-0'), rec('second-1')];
    await writeJournal(join(dir, 'b.journal'), second);
    const third = [rec('third-0')];
    await writeJournal(join(dir, 'a.journal'), third);

    const run2 = harness({ once: true, checkpointDir: cpDir });
    await new JournaldSource({ directory: dir, maxEntries: 5 }).run(run2.ctx);
    const all = [...messages(run1.entries()), ...messages(run2.entries())];
    expect(all).toEqual([...first, ...second, ...third].map((r) => r['MESSAGE']));

    // Nothing new: a third run reads nothing.
    const run3 = harness({ once: true, checkpointDir: cpDir });
    await new JournaldSource({ directory: dir }).run(run3.ctx);
    expect(run3.entries()).toEqual([]);
  });

  it('drops a cursor journalctl rejects and starts over, saying so', async () => {
    const dir = journalDir();
    await writeJournal(join(dir, 'a.journal'), [rec('only')]);
    const cpDir = join(tempDir(), 'checkpoints');
    mkdirSync(cpDir, { recursive: true });
    writeFileSync(checkpointPath(cpDir, 'journald'), JSON.stringify({ cursor: 'not-a-cursor' }));
    const h = harness({ once: true, checkpointDir: cpDir });
    await new JournaldSource({ directory: dir }).run(h.ctx);
    expect(messages(h.entries())).toEqual(['only']);
    expect(h.logs.some((l) => String(l['msg']).includes('rejected the saved cursor'))).toBe(true);
  });

  it('follows: picks up records written into the directory after start (new file and append)', async () => {
    const dir = journalDir();
    await writeJournal(join(dir, 'a.journal'), [rec('before-0'), rec('before-1')]);
    const h = harness();
    const run = new JournaldSource({ directory: dir, startAt: 'beginning', flushMs: 20 }).run(h.ctx);
    await h.waitFor(() => h.entries().length === 2, 'the existing records');
    await writeJournal(join(dir, 'b.journal'), [rec('new-file-0'), rec('new-file-1')]);
    await h.waitFor(() => h.entries().length === 4, 'records of a new journal file');
    await writeJournal(join(dir, 'a.journal'), [rec('appended-0')]);
    await h.waitFor(() => h.entries().length === 5, 'records appended to a journal file');
    h.controller.abort();
    await run;
    expect(messages(h.entries())).toEqual(['before-0', 'before-1', 'new-file-0', 'new-file-1', 'appended-0']);
  });

  it('follows from the end when there is no checkpoint: older records are not read', async () => {
    const dir = journalDir();
    await writeJournal(join(dir, 'a.journal'), [rec('old-0'), rec('old-1')]);
    const h = harness();
    const run = new JournaldSource({ directory: dir, flushMs: 20 }).run(h.ctx);
    // journalctl seeks to the end some time after spawning: write until a record arrives.
    let n = 0;
    while (h.entries().length === 0) {
      await writeJournal(join(dir, 'b.journal'), [rec(`live-${n++}`)]);
      await new Promise((r) => setTimeout(r, 150));
      if (n > 100) throw new Error('no live record arrived');
    }
    h.controller.abort();
    await run;
    const got = messages(h.entries()) as string[];
    expect(got.every((m) => m.startsWith('live-'))).toBe(true);
    // The records that did arrive are the latest ones, in order, without gaps.
    const idx = got.map((m) => Number(m.slice(5)));
    expect(idx).toEqual(Array.from({ length: idx.length }, (_, i) => (idx[0] as number) + i));
  });

  it('restarts journalctl after it dies and resumes from the committed cursor', async () => {
    const dir = journalDir();
    await writeJournal(join(dir, 'a.journal'), [rec('pre-0'), rec('pre-1'), rec('pre-2')]);
    const tmp = tempDir();
    const pidFile = join(tmp, 'pids');
    const wrapper = join(tmp, 'journalctl-wrapper.sh');
    writeFileSync(wrapper, `#!/bin/sh\necho $$ >> '${pidFile}'\nexec journalctl "$@"\n`);
    chmodSync(wrapper, 0o755);
    const h = harness();
    const source = new JournaldSource({
      directory: dir,
      startAt: 'beginning',
      journalctl: wrapper,
      flushMs: 20,
      restartInitialMs: 50,
      restartMaxMs: 200,
    });
    const run = source.run(h.ctx);
    await h.waitFor(() => h.entries().length === 3, 'the first records');
    const pid = Number(readFileSync(pidFile, 'utf8').trim().split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    await writeJournal(join(dir, 'b.journal'), [rec('post-0'), rec('post-1')]);
    await h.waitFor(() => h.entries().length >= 5, 'records written while journalctl was restarting');
    await new Promise((r) => setTimeout(r, 300));
    h.controller.abort();
    await run;
    expect(messages(h.entries())).toEqual(['pre-0', 'pre-1', 'pre-2', 'post-0', 'post-1']);
    expect(readFileSync(pidFile, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(2);
    const restart = h.logs.find((l) => l['msg'] === 'journalctl exited; restarting from the last committed cursor');
    expect(restart?.['signal']).toBe('SIGKILL');
  });

  it('stops reading journalctl while a hand-off is pending (backpressure), then reads on', async () => {
    const dir = journalDir();
    const records = Array.from({ length: 3000 }, (_, i) => rec(`bp-${i} ${'x'.repeat(200)}`));
    await writeJournal(join(dir, 'a.journal'), records);
    const tmp = tempDir();
    const pidFile = join(tmp, 'pids');
    const wrapper = join(tmp, 'journalctl-wrapper.sh');
    writeFileSync(wrapper, `#!/bin/sh\necho $$ >> '${pidFile}'\nexec journalctl "$@"\n`);
    chmodSync(wrapper, 0o755);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const h = harness({
      once: true,
      emit: async () => {
        calls++;
        await gate;
      },
    });
    const run = new JournaldSource({ directory: dir, journalctl: wrapper, maxEntries: 100 }).run(h.ctx);
    await h.waitFor(() => calls === 1, 'the first hand-off');
    await new Promise((r) => setTimeout(r, 500));
    // journalctl (once mode: it exits when done) is still alive, blocked on a full pipe, and only one hand-off ran.
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(() => process.kill(pid, 0)).not.toThrow();
    expect(calls).toBe(1);
    release();
    await run;
    expect(messages(h.entries())).toEqual(records.map((r) => r['MESSAGE']));
  });

  it('names the missing journalctl binary or journal directory and the fix', async () => {
    const noBinary = harness({ once: true });
    await new JournaldSource({ journalctl: '/nonexistent/bin/journalctl' }).run(noBinary.ctx);
    const e1 = noBinary.logs.find((l) => l['level'] === 'error');
    expect(String(e1?.['msg'])).toMatch(/\/nonexistent\/bin\/journalctl.*install systemd/);

    const noDir = harness({ once: true });
    await new JournaldSource({ directory: '/nonexistent/journal' }).run(noDir.ctx);
    const e2 = noDir.logs.find((l) => l['level'] === 'error');
    expect(String(e2?.['msg'])).toMatch(/'\/nonexistent\/journal'.*ENOENT.*--journal-dir/);
    expect(noDir.entries()).toEqual([]);
  });
});
