// Glob expansion for the file source: each include pattern is listed from its static base directory only (never
// from `/`), to the depth its glob part needs (`**` is capped at MAX_DEPTH, which also stops symlink loops).
import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
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
  problem: 'missing' | 'directory' | 'no-match' | 'unreadable';
  error?: string;
}

export interface Expansion {
  /** Regular files matched (symlinks followed), by absolute path. */
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

  constructor(include: readonly string[], exclude: readonly string[] = []) {
    this.includes = include.map(compilePattern);
    const ex = exclude.map((p) => compilePattern(p).absolute);
    this.isExcluded = ex.length > 0 ? picomatch(ex) : () => false;
  }

  /** Literal include paths (no glob characters). */
  literalPaths(): string[] {
    return this.includes.filter((c) => c.literal).map((c) => c.absolute);
  }

  async expand(): Promise<Expansion> {
    const files = new Map<string, Stats>();
    const problems: PatternProblem[] = [];
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
      const err = await this.walk(c, c.base, c.depth, files, found);
      if (err) problems.push({ pattern: c.pattern, path: c.base, problem: 'unreadable', error: err });
      else if (found.n === 0) problems.push({ pattern: c.pattern, path: c.base, problem: 'no-match' });
    }
    return { files, problems };
  }

  /** List `dir` down to `depth` levels; returns an error message when `dir` itself cannot be listed (not when it is absent). */
  private async walk(
    c: CompiledPattern,
    dir: string,
    depth: number,
    files: Map<string, Stats>,
    found: { n: number },
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
        try {
          st = await stat(full);
        } catch {
          continue; // dangling link
        }
        isDir = st.isDirectory();
        isFile = st.isFile();
      }
      if (isDir) {
        if (depth > 1) await this.walk(c, full, depth - 1, files, found);
      } else if (isFile && c.matches(full) && !this.isExcluded(full)) {
        found.n++;
        if (files.has(full)) continue; // also matched by an earlier pattern
        try {
          files.set(full, st ?? (await stat(full)));
        } catch {
          // removed between the listing and the stat: the next poll sees what replaced it
        }
      }
    }
    return undefined;
  }
}
