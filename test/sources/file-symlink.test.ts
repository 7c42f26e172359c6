// Symbolic links in watched directories are not followed (kata-otel reads as root: a link planted in a watched
// directory must not export a root-only file), unless follow_symlinks allows the directory they point into.
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSource } from '../../receiver/sources/file.js';
import { GlobSet } from '../../receiver/sources/file/glob.js';
import { scratch } from './file-helpers.js';
import { harness } from './source-harness.js';

const runOnce = async (opts: ConstructorParameters<typeof FileSource>[0]) => {
  const h = harness({ once: true });
  await new FileSource({ startAt: 'beginning', ...opts }).run(h.ctx);
  return h;
};

/** A watched dir with one real log, and a root-only file elsewhere. */
function layout() {
  const root = scratch();
  const watched = join(root, 'watched');
  const secret = join(root, 'private', 'shadow');
  mkdirSync(watched);
  mkdirSync(join(root, 'private'), { mode: 0o700 });
  writeFileSync(secret, 'root:$6$secret-hash:19000:0:99999:7:::\n', { mode: 0o600 });
  writeFileSync(join(watched, 'kata.log'), 'level=info msg="real line"\n');
  return { root, watched, secret };
}

describe('FileSource: symbolic links in watched directories', () => {
  it('does not export a root-only file linked into a watched directory (by default)', async () => {
    const { watched, secret } = layout();
    symlinkSync(secret, join(watched, 'evil.log'));
    const h = await runOnce({ include: [join(watched, '*.log')] });
    expect(h.texts()).toEqual(['level=info msg="real line"']);
    expect(JSON.stringify(h.logs)).not.toContain('secret-hash');
    const msg = h.logs.find((l) => String(l.msg).includes('evil.log'));
    expect(String(msg?.msg)).toMatch(/symbolic link.*not followed/);
    expect(msg?.fix).toMatch(/follow_symlinks/);
  });

  it('does not descend into a linked directory under `**`', async () => {
    const { root, watched } = layout();
    mkdirSync(join(root, 'elsewhere'));
    writeFileSync(join(root, 'elsewhere', 'other.log'), 'not ours\n');
    symlinkSync(join(root, 'elsewhere'), join(watched, 'sub'));
    const h = await runOnce({ include: [join(watched, '**/*.log')] });
    expect(h.texts()).toEqual(['level=info msg="real line"']);
  });

  it('follows links whose target is under a follow_symlinks directory, and only those', async () => {
    const { root, watched, secret } = layout();
    const allowed = join(root, 'containers');
    mkdirSync(allowed);
    writeFileSync(join(allowed, 'c1.log'), 'from the allowed base\n');
    symlinkSync(join(allowed, 'c1.log'), join(watched, 'c1.log'));
    symlinkSync(secret, join(watched, 'evil.log'));
    const h = await runOnce({ include: [join(watched, '*.log')], followSymlinks: [allowed] });
    expect(h.texts().sort()).toEqual(['from the allowed base', 'level=info msg="real line"']);
  });

  it('follows a literal include path (named by the operator)', async () => {
    const { root, watched } = layout();
    symlinkSync(join(watched, 'kata.log'), join(root, 'current.log'));
    const h = await runOnce({ include: [join(root, 'current.log')] });
    expect(h.texts()).toEqual(['level=info msg="real line"']);
  });

  it('refuses a file swapped for a link between the listing and the open', async () => {
    const { watched, secret } = layout();
    const path = join(watched, 'kata.log');
    const globs = new GlobSet([join(watched, '*.log')]);
    const fh = await open(path, 'r');
    expect(await globs.checkOpened(path, fh)).toBeUndefined();
    // The attacker moves the real file away and links the secret in its place after our open.
    renameSync(path, join(watched, 'moved'));
    symlinkSync(secret, path);
    expect(await globs.checkOpened(path, fh)).toMatch(/symbolic link/);
    await fh.close();
  });
});
