// The file source's path problems (permission denied, directories, links, patterns without match, checkpoint
// writes): each is logged once per path until it changes, with the fix, and counted, so a poll every 200 ms does
// not repeat the same error five times a second while `stats().errors` and the sourceErrors metric still see it.
import type { Logger } from '../../telemetry/log.js';
import type { Metrics } from '../../telemetry/metrics.js';
import type { PatternProblem } from './glob.js';

export class Problems {
  private readonly reported = new Map<string, string>();
  /** Problems logged so far. */
  count = 0;

  constructor(
    private readonly source: string,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** Log a problem with a path once (until it changes), with the fix; count it. */
  report(path: string, code: string, msg: string, fix: string): void {
    if (this.reported.get(path) === code) return;
    this.reported.set(path, code);
    this.count++;
    this.metrics.sourceErrors.inc({ source: this.source });
    this.log.error(msg, { path, fix });
  }

  /** The path works again: a later problem with it is logged anew. */
  clear(path: string): void {
    this.reported.delete(path);
  }

  symlink(path: string, why: string): void {
    this.report(
      path,
      'symlink',
      `${path} not read: ${why}; links in watched directories are not followed (kata-otel reads as root)`,
      'list the directory the link points into in follow_symlinks, or include the target itself',
    );
  }

  /** What a glob listing found wrong; a pattern without match is only a problem in once mode. */
  patterns(problems: PatternProblem[], once: boolean): void {
    for (const p of problems) {
      if (p.problem === 'directory')
        this.report(p.path, 'EISDIR', `${p.path} is a directory`, `give the files in it, e.g. ${p.path}/*.log`);
      else if (p.problem === 'missing')
        this.report(p.path, 'ENOENT', `${p.path} does not exist`, 'check the path (it is read once it appears)');
      else if (p.problem === 'symlink') this.symlink(p.path, `it is a symbolic link (to ${p.error ?? '?'})`);
      else if (p.problem === 'unreadable')
        this.report(p.path, 'EACCES', `cannot list ${p.path}: ${p.error ?? ''}`, 'grant kata-otel read access to it');
      else if (once)
        this.report(p.pattern, 'no-match', `no file matches ${p.pattern}`, 'check the pattern and the directory');
    }
  }
}
