// What `kata-otel doctor` reports: findings about a node's Kata, journald and kata-otel configuration, each with
// its severity, where it was set (file and line), and the fix.

export const SEVERITIES = ['info', 'warning', 'error'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

export const PROFILE_NAMES = ['dev', 'prod', 'secure'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface Finding {
  /** Stable id of the check (`kata-debug-console`); the findings table in docs/doctor.md lists them all. */
  id: string;
  severity: Severity;
  /** What is wrong, in one sentence. */
  message: string;
  /** The file that set the value (as on the node, without `--root`), or the file that lacks it. */
  file?: string;
  line?: number;
  /** The setting, e.g. `agent.kata.debug_console_enabled` or `Journal.RateLimitBurst`. */
  key?: string;
  /** What to change. */
  fix: string;
}

/** A file the doctor could not read or parse: the judgement of that part is incomplete (exit code 2). */
export class DoctorInputError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(`${file}${line !== undefined ? `:${line}${column !== undefined ? `:${column}` : ''}` : ''}: ${message}`);
    this.name = 'DoctorInputError';
  }
}
