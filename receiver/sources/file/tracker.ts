// The tracker: who each matched file is. It keeps one identity per fingerprint (fingerprint.ts), which of them are
// open, what the last listing said about the files not open (so an unchanged file is not reopened every poll), and
// decides, from device, inode, creation time and path, whether a file is one it knows (a rename: resume), another
// file that merely starts the same (a new file behind the same banner: read from the beginning), a copy of an open
// file (copy-truncate or cp: read once) or the writer's new file at a vacated path (rotation). It does no I/O: the
// reader (reader.ts) opens and reads, so these decisions can be tested on real files without a poll loop.
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { fingerprintId, fingerprintKey, isPrefixOf, keyLength, prefixMatch } from './fingerprint.js';
import type { EntryFramer } from './framer.js';

/** One file identity (a fingerprint) and, while it is open, its reader state. */
export interface Tracked {
  key: string;
  /** Fingerprint bytes; undefined for a checkpoint loaded from disk and not matched to a file yet. */
  fp: Buffer | undefined;
  fpLen: number;
  path: string;
  name: string;
  dev: number;
  ino: number;
  /** Creation time (ms), 0 when unknown: tells a new file from a deleted one whose inode number it reuses. */
  birthMs: number;
  /** Where reading resumes when (re)opened: the durable offset at close time. */
  offset: number;
  /** Offset persisted in the checkpoint: every entry before it was delivered. */
  committed: number;
  /** Last time (ms) the file was seen at a matched path. */
  seen: number;
  /** 64-bit id of the whole current fingerprint (uid prefix of entries past it). */
  fullId?: string;
  // Open state
  fh?: FileHandle;
  framer?: EntryFramer;
  pos: number;
  size: number;
  mtimeMs: number;
  lastGrowth: number;
  lastActive: number;
  /** Not at any matched path any more (renamed out of the patterns, or deleted). */
  orphanSince?: number;
  deleted: boolean;
  /** The path this open file was renamed (or deleted) away from: a file appearing there is new, not a copy. */
  vacated?: string;
}

/** A matched file not open, with its fingerprint. */
export interface Candidate {
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  /** Creation time (statx btime), 0 where the file system does not keep it. */
  birthMs?: number;
  fp: Buffer;
  /** Descriptor opened for fingerprinting (handed to the reader or closed). */
  fh?: FileHandle;
}

/** One identity as the checkpoint stores it (checkpointer.ts writes these, keyed by fingerprint key). */
export interface CheckpointEntry {
  path: string;
  offset: number;
  inode: number;
  dev: number;
  birth?: number;
  seen: number;
}
export type CheckpointFiles = Record<string, CheckpointEntry>;

/** What was last learned about a file that is not open, so an unchanged file is not reopened every poll. */
interface Memo {
  size: number;
  mtimeMs: number;
  fp: Buffer;
  tracked?: Tracked;
  /** A copy of this open file: look again once it is closed. */
  dupOf?: Tracked;
}

export const devIno = (dev: number, ino: number) => `${dev}:${ino}`;

/** A closed identity at `offset`, with no fingerprint yet (restore and track fill in the rest). */
function identity(path: string, dev: number, ino: number, birthMs: number, offset: number): Tracked {
  return {
    key: '',
    fp: undefined,
    fpLen: 0,
    path,
    name: basename(path),
    dev,
    ino,
    birthMs,
    offset,
    committed: offset,
    seen: 0,
    pos: offset,
    size: 0,
    mtimeMs: 0,
    lastGrowth: 0,
    lastActive: 0,
    deleted: false,
  };
}

/**
 * How a candidate was identified (the source logs each non-trivial decision). `resumed`: the same file
 * (device+inode, or inode+path) as a closed identity, read on from its durable offset (`renamedFrom`: at another
 * path than before; `shrunkFrom`: shorter than that offset, so read from 0). Otherwise new: read per startAt when it
 * was there at the first poll, else from 0 (`replaced`: it starts like a closed identity but is another file, and
 * takes that identity over).
 */
export interface Identification {
  t: Tracked;
  offset: number;
  resumed: boolean;
  renamedFrom?: string;
  shrunkFrom?: number;
  replaced?: { path: string; dev: number; inode: number; offset: number };
}

/**
 * A checkpointed identity is this file only when device and inode match (a rename keeps both), or, when the device
 * number changed (a reboot or remount can renumber it), the inode and the path both match; and, where the file
 * system records creation times, it was created at the same time.
 */
export function sameFile(t: Tracked, c: Candidate): boolean {
  const born = !t.birthMs || !c.birthMs || t.birthMs === c.birthMs; // inode numbers are reused after a deletion
  return t.ino === c.ino && (t.dev === c.dev || t.path === c.path) && born;
}

export interface TrackerOptions {
  /** Bytes at the start of a file that identify it. */
  fingerprintBytes: number;
  /** Where a file present at the first poll without a checkpoint starts. */
  startAt: 'beginning' | 'end';
}

export class FileTracker {
  /** Every identity: open, closed, or loaded from the checkpoint. */
  readonly all = new Set<Tracked>();
  /** Identities with a descriptor. */
  readonly open = new Set<Tracked>();
  /** Files opened by discovery during a long poll, adopted by the next poll (their descriptors count as open). */
  readonly discovered = new Map<string, Candidate>();
  private readonly byKey = new Map<string, Tracked>();
  /** Fingerprint lengths among keys, with counts (a shorter key matches a file that grew since). */
  private readonly keyLengths = new Map<number, number>();
  private readonly memo = new Map<string, Memo>();
  /** Files present at the first poll (they follow startAt). */
  private initial: Set<string> | undefined;
  /** Identities changed (path, fingerprint, added, forgotten) since the checkpointer last asked. */
  private changed = false;
  private readonly fpBytes: number;
  private readonly startAt: 'beginning' | 'end';

  constructor(opts: TrackerOptions) {
    this.fpBytes = opts.fingerprintBytes;
    this.startAt = opts.startAt;
  }

  /** Bytes of the tracked files not read yet (size last seen − read position). */
  bytesLeft(): number {
    let n = 0;
    for (const t of this.all) n += Math.max(0, t.size - t.pos);
    return n;
  }

  // ── checkpoint (the checkpointer's CheckpointSubject) ────────────────────────────────────────────────────

  /** True once after identities changed: the checkpoint needs rewriting even when no offset moved. */
  takeChanged(): boolean {
    const c = this.changed;
    this.changed = false;
    return c;
  }

  /** One entry per fingerprint (the first file with it), at its committed offset. */
  snapshot(): CheckpointFiles {
    const files: CheckpointFiles = {};
    for (const t of this.all) {
      if (!t.key || this.byKey.get(t.key) !== t) continue;
      files[t.key] = { path: t.path, offset: t.committed, inode: t.ino, dev: t.dev, birth: t.birthMs, seen: t.seen };
    }
    return files;
  }

  /** Identities from a checkpoint read at start; entries that are not fingerprint keys with an offset are skipped. */
  restore(files: Record<string, Partial<CheckpointEntry> | undefined>): void {
    for (const [key, v] of Object.entries(files)) {
      const len = keyLength(key);
      if (len === undefined || !v || typeof v.offset !== 'number' || !(v.offset >= 0)) continue;
      const t = identity(String(v.path), Number(v.dev) || 0, Number(v.inode) || 0, Number(v.birth) || 0, v.offset);
      t.seen = Number(v.seen) || Date.now();
      t.key = key;
      t.fpLen = len;
      this.all.add(t);
      this.byKey.set(key, t);
      this.keyLengths.set(len, (this.keyLengths.get(len) ?? 0) + 1);
    }
  }

  // ── what a listing says ──────────────────────────────────────────────────────────────────────────────────

  /** Remember the files of the first listing (non-empty ones, or all in once mode): they follow startAt. */
  noteFirstListing(files: Map<string, Stats>, skipEmpty: boolean): void {
    if (this.initial) return;
    this.initial = new Set();
    for (const st of files.values()) if (!skipEmpty || st.size > 0) this.initial.add(devIno(st.dev, st.ino));
  }

  /**
   * Match the open files against a listing (device+inode → path): one still at a matched path follows its new path
   * (a rename inside the patterns); one at none becomes an orphan (renamed out, or deleted), read to its end
   * through its descriptor. Either way the path it left is remembered: a file appearing there is the writer's new
   * file, not a copy.
   */
  observeOpen(atPath: Map<string, string>, now: number): Tracked[] {
    const opened = [...this.open];
    for (const t of opened) {
      const p = atPath.get(devIno(t.dev, t.ino));
      if (p !== undefined) {
        if (p !== t.path) t.vacated = t.path;
        this.setPath(t, p);
        t.seen = now;
        t.orphanSince = undefined;
      } else if (t.orphanSince === undefined) {
        t.vacated = t.path;
        t.orphanSince = now;
      }
    }
    return opened;
  }

  /**
   * The fingerprint of a file not open when it has not changed (same size and mtime) since it was last
   * fingerprinted, and is not a copy waiting for its original to close; undefined when it must be read again.
   * Marks the identity it continues as seen.
   */
  unchanged(st: Stats, now: number): Buffer | undefined {
    const m = this.memo.get(devIno(st.dev, st.ino));
    if (!m || m.size !== st.size || m.mtimeMs !== st.mtimeMs || (m.dupOf && !m.dupOf.fh)) return undefined;
    if (m.tracked) m.tracked.seen = now;
    return m.fp;
  }

  /** Discovery's cheaper test: same size and mtime as last fingerprinted (copies included). */
  seenUnchanged(st: Stats): boolean {
    const m = this.memo.get(devIno(st.dev, st.ino));
    return m !== undefined && m.size === st.size && m.mtimeMs === st.mtimeMs;
  }

  /** Drop what was learned about files no longer at any matched path. */
  forgetUnlisted(atPath: Map<string, string>): void {
    for (const di of this.memo.keys()) if (!atPath.has(di)) this.memo.delete(di);
  }

  /** The open file `c` is held by already (the same device and inode). */
  isOpen(c: { dev: number; ino: number }): boolean {
    for (const t of this.open) if (t.dev === c.dev && t.ino === c.ino) return true;
    return false;
  }

  // ── identity decisions ───────────────────────────────────────────────────────────────────────────────────

  /**
   * The open file `c` is a copy of (logrotate copytruncate before the truncate, or cp): one identity, read once.
   * A file at the path an open file was renamed away from is the writer's new file (rotation), whatever its first
   * bytes (a banner), so it is never a copy of that one. Remembered: `c` is looked at again once its original is
   * closed.
   */
  copyOf(c: Candidate): Tracked | undefined {
    const of = [...this.open].find((t) => t.fp && t.vacated !== c.path && isPrefixOf(c.fp, t.fp));
    if (of) this.memo.set(devIno(c.dev, c.ino), { size: c.size, mtimeMs: c.mtimeMs, fp: c.fp, dupOf: of });
    return of;
  }

  /**
   * Copy-truncate: `t` was truncated or rewritten in place; its old content goes on in another file that starts
   * with its fingerprint and is at least as long as what was read (the rotated copy), if the patterns match one.
   */
  rotatedCopy(t: Tracked, candidates: readonly Candidate[]): Candidate | undefined {
    const fp = t.fp as Buffer;
    return candidates.find((c) => (c.dev !== t.dev || c.ino !== t.ino) && c.size >= t.pos && prefixMatch(c.fp, fp));
  }

  /** `t` goes on in its rotated copy (the file `st` opened at `path`): read on from the same offset there. */
  moveTo(t: Tracked, st: Stats, path: string): void {
    t.dev = st.dev;
    t.ino = st.ino;
    t.birthMs = st.birthtimeMs;
    t.size = st.size;
    t.mtimeMs = st.mtimeMs;
    this.setPath(t, path);
    this.memo.delete(devIno(st.dev, st.ino));
  }

  /**
   * The first bytes `head` of open file `t` (read through its descriptor): false when they no longer start with
   * its fingerprint (rewritten in place); a fingerprint shorter than fingerprintBytes grows to them.
   */
  headMatches(t: Tracked, head: Buffer): boolean {
    const fp = t.fp as Buffer;
    if (head.length < fp.length || head.compare(fp, 0, fp.length, 0, fp.length) !== 0) return false;
    if (head.length > fp.length) this.setFingerprint(t, head);
    return true;
  }

  /** Whether the truncation check needs the head: an orphan with a full fingerprint is only read to its end. */
  needsHeadCheck(t: Tracked): boolean {
    return !(t.orphanSince !== undefined && t.fp && t.fp.length >= this.fpBytes);
  }

  /**
   * Who candidate `c` is (see Identification), and start tracking it as open at the offset decided: a closed
   * identity with its first bytes resumes when it is the same file; anything else is new.
   */
  identify(c: Candidate, now: number): Identification {
    let t = this.lookupClosed(c.fp);
    let replaced: Identification['replaced'];
    if (t && !sameFile(t, c)) {
      // Same first bytes (a banner, a header) but another file: resuming at the old file's offset would skip the
      // new file's lines. Read it as new; it takes over the identity (the checkpoint holds one entry per
      // fingerprint), so the old file, if it is still there and changes, is read again (duplicates, no loss).
      replaced = { path: t.path, dev: t.dev, inode: t.ino, offset: t.offset };
      this.forget(t);
      t = undefined;
    }
    let id: Identification;
    if (t) {
      id = { t, offset: t.offset, resumed: true };
      if (t.path !== c.path) id.renamedFrom = t.path;
      if (id.offset > c.size) {
        id.shrunkFrom = id.offset;
        id.offset = 0;
      }
      this.setFingerprint(t, c.fp);
    } else {
      const startEnd = this.startAt === 'end' && this.initial?.has(devIno(c.dev, c.ino));
      const offset = startEnd ? c.size : 0;
      id = { t: this.track(c, offset, now), offset, resumed: false };
      if (replaced) id.replaced = replaced;
    }
    t = id.t;
    this.initial?.delete(devIno(c.dev, c.ino));
    this.memo.delete(devIno(c.dev, c.ino));
    this.setPath(t, c.path);
    t.dev = c.dev;
    t.ino = c.ino;
    t.birthMs = c.birthMs ?? 0;
    t.pos = id.offset;
    t.size = c.size;
    t.mtimeMs = c.mtimeMs;
    t.seen = now;
    t.lastGrowth = now;
    t.lastActive = now;
    t.orphanSince = undefined;
    t.deleted = false;
    return id;
  }

  /** `t` got its descriptor and framer (reader.ts): it is open. */
  opened(t: Tracked, fh: FileHandle, framer: EntryFramer): void {
    t.fh = fh;
    t.framer = framer;
    this.open.add(t);
  }

  /** `t` gives up its descriptor (returned, for the caller to close); the identity stays known at its durable offset. */
  release(t: Tracked): FileHandle | undefined {
    if (t.framer) t.offset = t.framer.durableOffset();
    t.framer = undefined;
    const fh = t.fh;
    t.fh = undefined;
    this.open.delete(t);
    return fh;
  }

  /**
   * Which open file to close to make room under maxOpenFiles: the least recently active one not read in this poll,
   * one read to its end first; never an orphan (it could not be reopened).
   */
  evictionVictim(pollStart: number): Tracked | undefined {
    let victim: Tracked | undefined;
    for (const t of this.open) {
      if (t.orphanSince !== undefined || t.lastActive >= pollStart) continue;
      const better =
        !victim ||
        (t.pos >= t.size && victim.pos < victim.size) ||
        (t.pos >= t.size === victim.pos >= victim.size && t.lastActive < victim.lastActive);
      if (better) victim = t;
    }
    return victim;
  }

  /** A closed file read to its end: not reopened while its size and mtime stay the same. */
  rememberAtEnd(t: Tracked): void {
    if (t.fp) this.memo.set(devIno(t.dev, t.ino), { size: t.size, mtimeMs: t.mtimeMs, fp: t.fp, tracked: t });
  }

  // ── identity bookkeeping ─────────────────────────────────────────────────────────────────────────────────

  /** While the fingerprint is shorter than fingerprintBytes, it grows with the bytes read at `t.pos`. */
  extendFingerprint(t: Tracked, chunk: Buffer): void {
    const fp = t.fp as Buffer;
    if (fp.length >= this.fpBytes) return;
    const from = fp.length - t.pos;
    if (from < 0 || from >= chunk.length) return;
    const to = Math.min(chunk.length, this.fpBytes - t.pos);
    this.setFingerprint(t, Buffer.concat([fp, chunk.subarray(from, to)]));
  }

  /**
   * The first half of `log.record.uid` for an entry whose first line ends at `firstLineEnd`: the id covers the
   * bytes up to there (at most fingerprintBytes). Those exist whenever the entry is read, so a re-read after a
   * restart yields the same uid even if the file grew since.
   */
  uidPrefix(t: Tracked, firstLineEnd: number): string {
    const fp = t.fp as Buffer;
    if (firstLineEnd >= this.fpBytes || firstLineEnd >= fp.length) return (t.fullId ??= fingerprintId(fp));
    return fingerprintId(fp.subarray(0, firstLineEnd));
  }

  /** Stop tracking `t` (its file is gone, or another file took over its fingerprint). */
  forget(t: Tracked): void {
    this.unindex(t);
    this.all.delete(t);
    this.changed = true;
  }

  /** Forget closed identities not seen for forgetAfterMs, and the least recently seen beyond maxCheckpoints. */
  prune(now: number, forgetAfterMs: number, maxCheckpoints: number): void {
    const closed = [...this.all].filter((t) => !t.fh);
    for (const t of closed) if (now - t.seen > forgetAfterMs) this.forget(t);
    const excess = this.all.size - maxCheckpoints;
    if (excess > 0) {
      const oldest = [...this.all].filter((t) => !t.fh).sort((a, b) => a.seen - b.seen);
      for (const t of oldest.slice(0, excess)) this.forget(t);
    }
  }

  private track(c: Candidate, offset: number, now: number): Tracked {
    const t = identity(c.path, c.dev, c.ino, c.birthMs ?? 0, offset);
    t.seen = t.lastGrowth = t.lastActive = now;
    t.size = c.size;
    t.mtimeMs = c.mtimeMs;
    this.all.add(t);
    this.setFingerprint(t, c.fp);
    this.changed = true;
    return t;
  }

  /** A closed identity whose fingerprint is `fp` or a prefix of it (the file grew while closed). */
  private lookupClosed(fp: Buffer): Tracked | undefined {
    const lengths = [...this.keyLengths.keys()].filter((l) => l <= fp.length).sort((a, b) => b - a);
    for (const l of lengths) {
      const t = this.byKey.get(fingerprintKey(l === fp.length ? fp : fp.subarray(0, l)));
      if (t && !t.fh) return t;
    }
    return undefined;
  }

  private setPath(t: Tracked, path: string): void {
    if (t.path === path) return;
    t.path = path;
    t.name = basename(path);
    this.changed = true;
  }

  private setFingerprint(t: Tracked, fp: Buffer): void {
    if (t.fp && t.fp.length >= fp.length) return;
    const key = fingerprintKey(fp);
    this.unindex(t);
    t.fp = Buffer.from(fp);
    t.fpLen = fp.length;
    t.key = key;
    t.fullId = undefined;
    // Two distinct files with the same first bytes share one identity (the Collector's known limit); keep the first.
    if (!this.byKey.has(key)) {
      this.byKey.set(key, t);
      this.keyLengths.set(t.fpLen, (this.keyLengths.get(t.fpLen) ?? 0) + 1);
    }
    this.changed = true;
  }

  private unindex(t: Tracked): void {
    if (t.key && this.byKey.get(t.key) === t) {
      this.byKey.delete(t.key);
      const n = (this.keyLengths.get(t.fpLen) ?? 1) - 1;
      if (n > 0) this.keyLengths.set(t.fpLen, n);
      else this.keyLengths.delete(t.fpLen);
    }
  }
}
