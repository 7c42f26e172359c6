// Guest userspace lines on the console (not the kernel, not the agent's JSON): confidential-data-hub,
// attestation-agent and image-rs (Rust `env_logger`: `[2026-01-12T08:31:02Z INFO  attestation_agent::rpc] msg`,
// or `tracing`: `2026-01-12T08:31:02.123456Z  INFO confidential_data_hub::hub: msg`), and systemd's status lines
// (`[  OK  ] Started …`). Colours are stripped before (text.ts ANSI). The inner time, level and logger target are
// taken; the component stays `guest-kernel` ("other guest console output", docs/semconv.md).
import type { KataLogRecord } from '../model/record.js';
import { severityFromLevel } from '../model/severity.js';
import {
  ATTR_KATA_GUEST_TARGET,
  KATA_COMPONENT_VALUE_GUEST_KERNEL,
  KATA_LOG_FORMAT_VALUE_TEXT,
} from '../semconv/generated.js';
import { newRecord } from './build.js';
import type { Frame, Shape } from './frame.js';
import { isDigitCode } from './frame.js';
import { parseTimestamp } from './time.js';

const RUST_LEVELS = new Set(['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE']);

function skip(s: string, j: number): number {
  while (s.charCodeAt(j) === 32) j++;
  return j;
}

function guestRecord(f: Frame, body: string, timeNs: bigint, level: string, target: string | undefined): KataLogRecord {
  const rec = newRecord(f.ctx, body, KATA_LOG_FORMAT_VALUE_TEXT, KATA_COMPONENT_VALUE_GUEST_KERNEL);
  rec.timeUnixNano = timeNs;
  rec.severityText = level;
  rec.severityNumber = severityFromLevel(level) || 9;
  if (target !== undefined && target !== '') rec.attributes[ATTR_KATA_GUEST_TARGET] = target;
  return rec;
}

/** `<time> <LEVEL> <target>` at s[a..b): time, level, target; undefined when it is not that. */
function header(s: string, a: number, b: number): { t: bigint; level: string; target: string } | undefined {
  const sp = s.indexOf(' ', a);
  if (sp < 0 || sp >= b) return undefined;
  const t = parseTimestamp(s, a, sp);
  if (t === undefined) return undefined;
  const l = skip(s, sp);
  const le = s.indexOf(' ', l);
  const level = s.slice(l, le < 0 || le > b ? b : le);
  if (!RUST_LEVELS.has(level)) return undefined;
  const target = le < 0 || le > b ? '' : s.slice(skip(s, le), b).trim();
  return { t, level, target };
}

/** env_logger's default format: `[2026-01-12T08:31:02Z INFO  attestation_agent::rpc] message`. */
export const GUEST_BRACKET: Shape = {
  name: 'guest-env-logger',
  first: (c) => c === 91,
  parse(s, i, f) {
    const close = s.indexOf(']', i);
    if (close < 0 || close - i > 200) return undefined;
    const h = header(s, i + 1, close);
    if (h === undefined) return undefined;
    return guestRecord(f, s.slice(skip(s, close + 1)).trimEnd(), h.t, h.level, h.target);
  },
};

/** tracing-subscriber's format: `2026-01-12T08:31:02.123456Z  INFO confidential_data_hub::hub: message`. */
export const GUEST_TRACING: Shape = {
  name: 'guest-tracing',
  first: isDigitCode,
  parse(s, i, f) {
    const colon = s.indexOf(': ', i);
    if (colon < 0 || colon - i > 300) return undefined;
    const h = header(s, i, colon);
    if (h === undefined) return undefined;
    return guestRecord(f, s.slice(colon + 2).trimEnd(), h.t, h.level, h.target);
  },
};

const SYSTEMD_STATUS: Record<string, string> = {
  OK: 'info',
  FAILED: 'error',
  DEPEND: 'warning',
  TIME: 'warning',
  WARN: 'warning',
  INFO: 'info',
};

/** systemd's boot status lines: `[  OK  ] Started Journal Service.`, `[FAILED] Failed to start …`. */
export const SYSTEMD: Shape = {
  name: 'systemd-status',
  first: (c) => c === 91,
  parse(s, i, f) {
    if (s.charCodeAt(i + 7) !== 93) return undefined; // the status is always 6 columns wide
    const level = SYSTEMD_STATUS[s.slice(i + 1, i + 7).trim()];
    if (level === undefined) return undefined;
    return guestRecord(f, s.slice(skip(s, i + 8)).trimEnd(), 0n, level, 'systemd');
  },
};
