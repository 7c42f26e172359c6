// The file source's tracker (receiver/sources/file/tracker.ts) on real files, opened by the real reader, without a
// poll loop: who a file is after a rename, a rotation, a replacement behind the same banner, a copy, a
// copy-truncate, and a truncation while closed. FileSource tests see these decisions only through what is read;
// here each decision is asserted directly.
import { appendFileSync, copyFileSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GlobSet } from '../../receiver/sources/file/glob.js';
import { Problems } from '../../receiver/sources/file/problems.js';
import { FileReader } from '../../receiver/sources/file/reader.js';
import { FileTracker, sameFile, type Candidate, type Tracked } from '../../receiver/sources/file/tracker.js';
import { createLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { lines, scratch } from './file-helpers.js';

// Longer than the 1 KiB fingerprint: every file below starts with the same identity bytes.
const BANNER = `kata-monitor starting: version=3.2.0 config=${'x'.repeat(1100)}\n`;

interface Rig {
  dir: string;
  tracker: FileTracker;
  reader: FileReader;
  /** Fingerprint `path` (a real open) and identify it; the tracker holds it open at the decided offset. */
  open(path: string): Promise<{ t: Tracked; id: ReturnType<FileTracker['identify']> }>;
  /** Read `t` to its end (the entries are dropped: only the offsets matter here). */
  readAll(t: Tracked): Promise<void>;
  close(t: Tracked): Promise<void>;
  candidate(path: string): Promise<Candidate>;
  /** Write `content` to `name` in the rig's directory, open it and read it to its end. */
  tail(name: string, content: string): Promise<{ f: string; t: Tracked }>;
  /** A candidate whose descriptor is closed again (for decisions that do not read it). */
  peek(path: string): Promise<Candidate>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) for (const t of [...r.tracker.open]) await r.close(t);
});

function rig(startAt: 'beginning' | 'end' = 'beginning'): Rig {
  const dir = scratch();
  const logger = createLogger({ level: 'error', write: () => undefined });
  const problems = new Problems('file', logger, new Metrics());
  const tracker = new FileTracker({ fingerprintBytes: 1024, startAt });
  const reader = new FileReader({
    globs: new GlobSet([join(dir, '*')]),
    fingerprintBytes: 1024,
    maxLineBytes: 1 << 20,
    identity: tracker,
    problems,
    entries: async () => undefined,
    signal: new AbortController().signal,
  });
  const candidate = async (path: string) => {
    const c = await reader.fingerprint(path);
    if (!c) throw new Error(`cannot fingerprint ${path}`);
    return c;
  };
  const r: Rig = {
    dir,
    tracker,
    reader,
    candidate,
    async open(path) {
      const c = await candidate(path);
      const id = tracker.identify(c, Date.now());
      tracker.opened(id.t, c.fh!, reader.framerAt(id.offset));
      return { t: id.t, id };
    },
    async readAll(t) {
      while (await reader.read(t));
    },
    async close(t) {
      await tracker.release(t)?.close();
    },
    async tail(name, content) {
      const f = join(dir, name);
      writeFileSync(f, content);
      const { t } = await r.open(f);
      await r.readAll(t);
      return { f, t };
    },
    async peek(path) {
      const c = await candidate(path);
      await c.fh?.close();
      return c;
    },
  };
  rigs.push(r);
  return r;
}

describe('file tracker: identity decisions on real files', () => {
  it('a renamed file (same device and inode) resumes at the offset it was closed at', async () => {
    const r = rig();
    const { f, t } = await r.tail('app.log', BANNER + lines(0, 10));
    await r.close(t);
    expect(t.offset).toBe(statSync(f).size);

    renameSync(f, join(r.dir, 'app.log.1'));
    appendFileSync(join(r.dir, 'app.log.1'), lines(10, 12));
    const again = await r.open(join(r.dir, 'app.log.1'));
    expect(again.t).toBe(t); // the same identity, not a new one
    expect(again.id).toMatchObject({ resumed: true, renamedFrom: f, offset: (BANNER + lines(0, 10)).length });
    expect(r.tracker.all.size).toBe(1);
  });

  it('another file behind the same banner (logrotate create: renamed over the path) is new and read from 0', async () => {
    const r = rig();
    const { f, t } = await r.tail('app.log', BANNER + lines(0, 3));
    await r.close(t);

    writeFileSync(join(r.dir, 'new.tmp'), BANNER + lines(100, 140)); // created while the old file exists: new inode
    renameSync(join(r.dir, 'new.tmp'), f);
    const next = await r.open(f);
    expect(next.t).not.toBe(t);
    expect(next.id.resumed).toBe(false);
    expect(next.id.offset).toBe(0);
    expect(next.id.replaced).toEqual({ path: f, dev: t.dev, inode: t.ino, offset: t.offset });
    // It took the fingerprint over: the checkpoint keeps one entry, the new file's.
    expect(Object.values(r.tracker.snapshot())).toEqual([expect.objectContaining({ inode: next.t.ino, offset: 0 })]);
  });

  it('a checkpointed identity is not taken for a file with the same inode number but another creation time', async () => {
    const r = rig();
    const f = join(r.dir, 'app.log');
    writeFileSync(f, BANNER);
    const c = await r.peek(f);
    const t = { ino: c.ino, dev: c.dev, path: f, birthMs: 1000 } as Tracked;
    // Inode numbers are reused after a deletion: where the file system records creation times, they must agree.
    expect(sameFile(t, { ...c, birthMs: 2000 })).toBe(false);
    expect(sameFile(t, { ...c, birthMs: 1000 })).toBe(true);
    expect(sameFile(t, { ...c, birthMs: 0 })).toBe(true); // unknown: device+inode decide
    // A reboot or remount can renumber the device: the inode and the path must then both match.
    expect(sameFile({ ...t, birthMs: 0, dev: c.dev + 1 }, c)).toBe(true);
    expect(sameFile({ ...t, birthMs: 0, dev: c.dev + 1, path: join(r.dir, 'other.log') }, c)).toBe(false);
  });

  it('startAt end applies to files of the first listing only; later files are read from their beginning', async () => {
    const r = rig('end');
    const first = join(r.dir, 'a.log');
    writeFileSync(first, BANNER + lines(0, 5));
    r.tracker.noteFirstListing(new Map([[first, statSync(first)]]), true);
    const later = join(r.dir, 'b.log');
    writeFileSync(later, 'another program\n' + lines(0, 5));
    expect((await r.open(first)).id.offset).toBe(statSync(first).size);
    expect((await r.open(later)).id.offset).toBe(0);
  });

  it('a copy of an open file is that file (read once), but a file at the path it was renamed away from is new', async () => {
    const r = rig();
    const { f, t } = await r.tail('app.log', BANNER + lines(0, 5));

    copyFileSync(f, join(r.dir, 'app.log.copy'));
    const copy = await r.peek(join(r.dir, 'app.log.copy'));
    expect(r.tracker.copyOf(copy)).toBe(t);

    // Rotation: the open file is renamed, and the writer starts a new file with the same banner at the old path.
    renameSync(f, join(r.dir, 'app.log.1'));
    const st = statSync(join(r.dir, 'app.log.1'));
    r.tracker.observeOpen(new Map([[`${st.dev}:${st.ino}`, join(r.dir, 'app.log.1')]]), Date.now());
    expect(t.path).toBe(join(r.dir, 'app.log.1'));
    writeFileSync(f, BANNER + lines(5, 6));
    const fresh = await r.peek(f);
    expect(r.tracker.copyOf(fresh)).toBeUndefined();
  });

  it('an open file deleted or renamed out of the patterns becomes an orphan, remembering the path it left', async () => {
    const r = rig();
    const f = join(r.dir, 'app.log');
    writeFileSync(f, BANNER + lines(0, 5));
    const { t } = await r.open(f);
    const now = Date.now();
    unlinkSync(f);
    r.tracker.observeOpen(new Map(), now);
    expect(t.orphanSince).toBe(now);
    expect(t.vacated).toBe(f);
    expect(await r.reader.intact(t)).toBe(true);
    expect(t.deleted).toBe(true); // its descriptor still reads; the source forgets it once it is closed
  });

  it('copy-truncate: the open file is found truncated, and its rotated copy (same first bytes, long enough) continues it', async () => {
    const r = rig();
    const { f, t } = await r.tail('app.log', BANNER + lines(0, 20));

    copyFileSync(f, join(r.dir, 'app.log.1'));
    appendFileSync(join(r.dir, 'app.log.1'), lines(20, 22)); // what logrotate's copy caught after the last read
    truncateSync(f, 0);
    writeFileSync(f, 'new content after the truncation\n');
    expect(await r.reader.intact(t)).toBe(false);

    const copy = await r.candidate(join(r.dir, 'app.log.1'));
    const itself = await r.candidate(f);
    const short = { ...copy, size: t.pos - 1 }; // a copy shorter than what was read cannot hold the rest
    expect(r.tracker.rotatedCopy(t, [itself, short])).toBeUndefined();
    expect(r.tracker.rotatedCopy(t, [itself, copy])).toBe(copy);
    await copy.fh?.close();
    await itself.fh?.close();
  });

  it('a file rewritten in place past the read offset is not intact; one that only grew is, and its fingerprint grows', async () => {
    const r = rig();
    const { f, t } = await r.tail('short.log', 'one line\n');
    const key = t.key;
    appendFileSync(f, lines(0, 3));
    expect(await r.reader.intact(t)).toBe(true);
    expect(t.fp?.length).toBe(statSync(f).size); // a fingerprint shorter than 1 KiB grows with the file
    expect(t.key).not.toBe(key);

    writeFileSync(f, 'other line\n' + lines(0, 50)); // same inode, different first bytes, longer than the offset
    expect(await r.reader.intact(t)).toBe(false);
  });

  it('a file truncated while closed resumes at 0 (shorter than its offset), and the checkpoint round-trips', async () => {
    const r = rig();
    const { f, t } = await r.tail('app.log', BANNER + lines(0, 50));
    await r.close(t);
    t.committed = t.offset; // as the checkpointer does once the batch is durable

    // A restart: a new tracker from the checkpoint.
    const r2 = rig();
    r2.tracker.restore(JSON.parse(JSON.stringify(r.tracker.snapshot())) as Parameters<FileTracker['restore']>[0]);
    truncateSync(f, BANNER.length + 10);
    const back = await r2.open(f);
    expect(back.id).toMatchObject({ resumed: true, offset: 0, shrunkFrom: t.offset });
    expect(r2.tracker.all.size).toBe(1);
  });

  it('prune forgets closed identities not seen for forgetAfterMs, then the least recently seen beyond the cap', async () => {
    const r = rig();
    const ts: Tracked[] = [];
    for (const name of ['a', 'b', 'c', 'd']) {
      const f = join(r.dir, `${name}.log`);
      writeFileSync(f, `${name} ${BANNER}`);
      const { t } = await r.open(f);
      await r.close(t);
      ts.push(t);
    }
    const [a, b, c, d] = ts as [Tracked, Tracked, Tracked, Tracked];
    a.seen = 0;
    b.seen = 1000;
    c.seen = 2000;
    d.seen = 3000;
    r.tracker.prune(5000, 4500, 2); // a is older than forgetAfterMs; then one more (b) goes to keep two
    expect([...r.tracker.all]).toEqual([c, d]);
  });
});
