// Inputs named on a command line that are not there: every command exits 2 for them, naming each one, instead of
// reading nothing and reporting success.
import { accessSync, constants, statSync } from 'node:fs';

const GLOB = /[*?[\]{}]/;

/** One message per file argument that cannot be read ("-" is stdin and always fine). */
export function missingFiles(files: readonly string[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (f === '-') continue;
    try {
      if (statSync(f).isDirectory()) continue; // `run` reads the *.log files below a directory
      accessSync(f, constants.R_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      out.push(
        code === 'ENOENT' && GLOB.test(f)
          ? `${f} matches no file (the shell passed the pattern on unexpanded)`
          : code === 'ENOENT'
            ? `${f}: no such file`
            : `${f}: cannot be read (${code ?? (err as Error).message}); run as a user who can read it`,
      );
    }
  }
  return out;
}

/** `--journal-dir DIR`: a message when DIR is not a readable directory. */
export function missingJournalDir(dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  try {
    if (!statSync(dir).isDirectory()) return `--journal-dir ${dir} is not a directory`;
    accessSync(dir, constants.R_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? `--journal-dir ${dir}: no such directory (give the directory holding the *.journal files)`
      : `--journal-dir ${dir} cannot be read (${code}); run as root or in the systemd-journal group`;
  }
}
