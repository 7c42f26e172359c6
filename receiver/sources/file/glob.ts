// Glob expansion for the file source: each include pattern is listed from its static base directory only (never
// from `/`), to the depth its glob part needs (`**` is capped at MAX_DEPTH, which also stops symlink loops).
//
// Symbolic links below a pattern's base are not followed (kata-otel reads as root, and anyone who can write in a
// watched directory could link a root-only file into it), unless their target lies under one of the directories
// listed in `followSymlinks`. Literal paths (a file named in the configuration or on the command line) are
// followed: the operator named them. `checkOpened` re-checks a file after it was opened, so a link swapped in
// between the listing and the open is caught too.
import { statSync, type Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';

const MAX_DEPTH = 16;

export interface CompiledPattern {
  /** The pattern as configured. */
  pattern: string;
  /** Absolute pattern. */
  absolute: string;
  /** Directory listed for it (the pattern itself when it has no glob characters). */
  base: string;
  literal: boolean;
  /** Directory levels below `base` a match can be at. */
  depth: number;
  matches: (path: string) => boolean;
}

export interface PatternProblem {
  pattern: string;
  path: string;
  problem: 'missing' | 'directory' | 'no-match' | 'unreadable' | 'symlink';
  error?: string;
}

export interface Expansion {
  /** Regular files matched (symlinks followed only into `followSymlinks`), by absolute path. */
  files: Map<string, Stats>;
  problems: PatternProblem[];
}

export function compilePattern(pattern: string): CompiledPattern {
  const absolute = isAbsolute(pattern) ? pattern : resolve(pattern);
  const scan = picomatch.scan(absolute);
  const matches = picomatch(absolute);
  if (!scan.isGlob) return { pattern, absolute, base: absolute, literal: true, depth: 0, matches };
  const depth = scan.glob.includes('**') ? MAX_DEPTH : scan.glob.split('/').length;
  return { pattern, absolute, base: scan.base || '/', literal: false, depth, matches };
}

export class GlobSet {
  readonly includes: CompiledPattern[];
  private readonly isExcluded: (p: string) => boolean;

  /** Real paths of the directories symlinks may point into. */
  private readonly follow: string[];

  constructor(include: readonly string[], exclude: readonly string[] = [], followSymlinks: readonly string[] = []) {
    this.includes = include.map(compilePattern);
    this.follow = followSymlinks.map((d) => resolve(d));
    const ex = exclude.map((p) => compilePattern(p).absolute);
    this.isExcluded = ex.length > 0 ? picomatch(ex) : () => false;
  }

  /** Some links may be followed (followSymlinks is not empty). */
  get followsLinks(): boolean {
    return this.follow.length > 0;
  }

  /** `path` is a literal include (named by the operator: a link there is followed). */
  isLiteral(path: string): boolean {
    return this.includes.some((c) => c.literal && c.absolute === path);
  }

  /** Literal include paths (no glob characters). */
  literalPaths(): string[] {
    return this.includes.filter((c) => c.literal).map((c) => c.absolute);
  }

  async expand(): Promise<Expansion> {
    const files = new Map<string, Stats>();
    const problems: PatternProblem[] = [];
    const symlinks: string[] = [];
    for (const c of this.includes) {
      if (c.literal) {
        try {
          const st = await stat(c.absolute);
          if (st.isDirectory()) problems.push({ pattern: c.pattern, path: c.absolute, problem: 'directory' });
          else if (st.isFile() && !this.isExcluded(c.absolute)) files.set(c.absolute, st);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          problems.push({
            pattern: c.pattern,
            path: c.absolute,
            problem: code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unreadable',
            error: (err as Error).message,
          });
        }
        continue;
      }
      const found = { n: 0 };
      const err = await this.walk(c, c.base, c.depth, files, found, symlinks);
      if (err) problems.push({ pattern: c.pattern, path: c.base, problem: 'unreadable', error: err });
      else if (found.n === 0) problems.push({ pattern: c.pattern, path: c.base, problem: 'no-match' });
    }
    for (const path of symlinks)
      problems.push({ pattern: '', path, problem: 'symlink', error: await realpath(path).catch(() => 'dangling') });
    return { files, problems };
  }

  /** A link's target (real path) lies under one of `followSymlinks`. */
  private async linkAllowed(path: string): Promise<boolean> {
    if (this.follow.length === 0) return false;
    const real = await realpath(path).catch(() => undefined);
    return real !== undefined && (await this.underFollowed(real));
  }

  private async underFollowed(real: string): Promise<boolean> {
    for (const d of this.follow) {
      const base = await realpath(d).catch(() => d);
      if (real === base || real.startsWith(base + sep)) return true;
    }
    return false;
  }

  /**
   * Check a file opened at `path` (a match of this set): undefined when it may be read, else why not. Its real
   * path must be where the listing put it (no link on the way below the pattern's base) or under one of
   * `followSymlinks`, and the descriptor must be that very file: a link swapped in after the listing, or flipped
   * between the open and this check, is refused.
   */
  async checkOpened(path: string, fh: FileHandle): Promise<string | undefined> {
    const c = this.includes.find((p) => p.matches(path));
    if (!c || c.literal) return undefined;
    const [real, base] = await Promise.all([
      realpath(path).catch(() => undefined),
      realpath(c.base).catch(() => c.base),
    ]);
    if (real === undefined) return 'it went away';
    const expected = join(base, relative(c.base, path));
    if (real !== expected && !(await this.underFollowed(real)))
      return `it is reached through a symbolic link (to ${real})`;
    const [a, b] = await Promise.all([fh.stat(), stat(real).catch(() => undefined)]);
    if (!b || a.dev !== b.dev || a.ino !== b.ino) return 'it was replaced while being opened';
    return undefined;
  }

  /** List `dir` down to `depth` levels; returns an error message when `dir` itself cannot be listed (not when it is absent). */
  private async walk(
    c: CompiledPattern,
    dir: string,
    depth: number,
    files: Map<string, Stats>,
    found: { n: number },
    symlinks: string[],
  ): Promise<string | undefined> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'ENOTDIR' ? undefined : (err as Error).message;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      let st: Stats | undefined;
      if (e.isSymbolicLink()) {
        if (!(await this.linkAllowed(full))) {
          if (c.matches(full) || depth > 1) symlinks.push(full);
          continue;
        }
        try {
          st = await stat(full);
        } catch {
          continue; // dangling link
        }
        isDir = st.isDirectory();
        isFile = st.isFile();
      }
      if (isDir) {
        if (depth > 1) await this.walk(c, full, depth - 1, files, found, symlinks);
      } else if (isFile && c.matches(full) && !this.isExcluded(full)) {
        found.n++;
        if (files.has(full)) continue; // also matched by an earlier pattern
        // Synchronous: a poll stats every matched file (100 sandboxes' logs, five times a second), and a stat of a
        // local file costs a few µs where the promise form pays a thread-pool round trip and a promise each
        // (bench/README.md "Steady state"). Undefined: removed between the listing and the stat (the next poll sees
        // what replaced it).
        let got = st;
        try {
          got ??= statSync(full, { throwIfNoEntry: false });
        } catch {
          // unreadable: as if absent, the open reports why
        }
        if (got) files.set(full, got);
      }
    }
    return undefined;
  }
}
