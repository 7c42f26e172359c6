// Level text → OTel SeverityNumber, per the OTel log data model (trace 1, debug 5, info 9, warn 13, error 17,
// fatal 21) and its syslog mapping for journald PRIORITY (Appendix B of the data model).

const LEVELS: Record<string, number> = {
  // logrus
  trace: 1,
  debug: 5,
  info: 9,
  warning: 13,
  warn: 13,
  error: 17,
  fatal: 21,
  panic: 21,
  // slog short names (kata-agent, runtime-rs)
  trce: 1,
  debg: 5,
  // (info, warn shared)
  erro: 17,
  crit: 21,
  critical: 21,
  // logrus terminal format prefixes (the level upper-cased and cut to four letters)
  trac: 1,
  debu: 5,
  dbug: 5,
  fata: 21,
  pani: 21,
  notice: 10,
  emerg: 21,
  alert: 21,
  err: 17,
};

/** Map a level word (any case) to a SeverityNumber; 0 when unknown. */
export function severityFromLevel(level: string): number {
  return LEVELS[level.toLowerCase()] ?? 0;
}

/** journald/syslog PRIORITY 0..7 → SeverityNumber, the data model's Appendix B syslog mapping:
 * emerg 21, alert 19, crit 18, err 17, warning 13, notice 10, info 9, debug 5. */
const PRIORITY = [21, 19, 18, 17, 13, 10, 9, 5];
export function severityFromPriority(priority: number | string): number {
  const p = typeof priority === 'number' ? priority : Number.parseInt(priority, 10);
  return Number.isInteger(p) && p >= 0 && p <= 7 ? (PRIORITY[p] ?? 0) : 0;
}
