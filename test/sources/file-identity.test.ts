// File identity (issue 11): a new file whose first 1 KiB equals an old one's (the same banner) is not taken for
// the old file: a checkpoint is reused only when device and inode match (a rename), otherwise the file is read
// from its beginning, and the decision is logged.
import { appendFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSource } from '../../receiver/sources/file.js';
import { follow, line, lines, scratch } from './file-helpers.js';
import { harness, tempDir } from './source-harness.js';

// A banner longer than the 1 KiB fingerprint, as a program that prints its version and config at start writes.
const BANNER = `kata-monitor starting: version=3.2.0 commit=abcdef config=${'x'.repeat(1100)}\n`;

const runOnce = async (include: string, checkpointDir: string) => {
  const h = harness({ once: true, checkpointDir });
  await new FileSource({ include: [include], startAt: 'beginning' }).run(h.ctx);
  return h;
};

describe('FileSource: file identity', () => {
  it('a new file (deleted and recreated) with the same banner is read from its beginning after a restart', async () => {
    const dir = scratch();
    const cp = join(tempDir(), 'cp');
    const f = join(dir, 'app.log');
    writeFileSync(f, BANNER + lines(0, 3));
    expect((await runOnce(join(dir, '*.log'), cp)).texts()).toHaveLength(4);
    unlinkSync(f);
    writeFileSync(f, BANNER + lines(100, 140)); // longer than the old offset: resuming there would skip lines
    const h = await runOnce(join(dir, '*.log'), cp);
    expect(h.texts()).toEqual([BANNER.trimEnd(), ...lines(100, 140).trimEnd().split('\n')]);
    expect(h.logs.some((l) => String(l.msg).includes('is another file'))).toBe(true);
  });

  it('a new file renamed into place (logrotate create) with the same banner is read from its beginning', async () => {
    const dir = scratch();
    const cp = join(tempDir(), 'cp');
    const f = join(dir, 'app.log');
    writeFileSync(f, BANNER + lines(0, 3));
    await runOnce(f, cp);
    writeFileSync(join(dir, 'new.tmp'), BANNER + lines(200, 240));
    renameSync(join(dir, 'new.tmp'), f);
    const h = await runOnce(f, cp);
    expect(h.texts()).toHaveLength(41);
    expect(h.texts()[1]).toBe(line(200));
  });

  it('a renamed file (same device and inode) resumes at its checkpoint: no line twice', async () => {
    const dir = scratch();
    const cp = join(tempDir(), 'cp');
    writeFileSync(join(dir, 'app.log'), BANNER + lines(0, 3));
    await runOnce(join(dir, 'app.log*'), cp);
    renameSync(join(dir, 'app.log'), join(dir, 'app.log.1'));
    appendFileSync(join(dir, 'app.log.1'), lines(3, 6));
    const h = await runOnce(join(dir, 'app.log*'), cp);
    expect(h.texts()).toEqual(lines(3, 6).trimEnd().split('\n'));
    expect(h.logs.some((l) => String(l.msg).includes('renamed since its checkpoint'))).toBe(true);
  });

  it('following: a rotated file still open does not hide the new file with the same banner', async () => {
    const dir = scratch();
    const f = join(dir, 'app.log');
    writeFileSync(f, BANNER + lines(0, 5));
    const r = follow({ include: [join(dir, 'app.log*')], startAt: 'beginning' });
    await r.h.waitFor(() => r.h.texts().length === 6, 'the first file');
    renameSync(f, join(dir, 'app.log.1')); // still matched: stays open
    writeFileSync(f, BANNER + lines(5, 10));
    await r.h.waitFor(() => r.h.texts().length === 12, 'the new file, banner included', 5000);
    await r.stop();
    expect(r.h.texts().slice(6)).toEqual([BANNER.trimEnd(), ...lines(5, 10).trimEnd().split('\n')]);
  });
});
