// Firecracker's logger: `2023-10-13T14:15:55.422429270 [anonymous-instance:fc_api] msg`, optionally
// `[id:thread:LEVEL:file:line]`. The timestamp is local time without a zone, so it is read in the receiver's
// local timezone (run kata-otel in the node's timezone). The instance id is the sandbox id (the jailer passes
// `--id <sandbox id>`) unless it is `anonymous-instance`. Without `show_level` lines carry no level: they are
// given info, Firecracker's default log level.
import type { KataLogRecord, ParseContext } from '../model/record.js';
import {
  ATTR_CODE_FILE_PATH,
  ATTR_CODE_LINE_NUMBER,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_SANDBOX_ID,
  ATTR_THREAD_NAME,
  KATA_COMPONENT_VALUE_HYPERVISOR,
  KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER,
  KATA_LOG_FORMAT_VALUE_FIRECRACKER,
} from '../semconv/generated.js';
import { severityFromLevel } from '../model/severity.js';
import { newRecord } from './build.js';
import { toInt } from './fields.js';
import { isDigitCode, type Shape } from './frame.js';
import { parseTimestamp } from './time.js';

/** Does s[i..] start like a Firecracker line (`YYYY-MM-DDTHH:MM:SS… [`)? */
export function isFirecrackerLine(s: string, i = 0): boolean {
  const sp = s.indexOf(' ', i);
  return sp > i + 18 && s.charCodeAt(i + 4) === 45 && s.charCodeAt(i + 10) === 84 && s.charCodeAt(sp + 1) === 91;
}

const LEVELS = new Set([
  'ERROR',
  'WARN',
  'WARNING',
  'INFO',
  'DEBUG',
  'TRACE',
  'Error',
  'Warn',
  'Info',
  'Debug',
  'Trace',
]);

/** A Firecracker record from s[i..]; undefined when it is not one. */
export function firecrackerRecord(s: string, i: number, ctx: ParseContext): KataLogRecord | undefined {
  const sp = s.indexOf(' ', i);
  if (sp < 0 || s.charCodeAt(sp + 1) !== 91) return undefined;
  const t = parseTimestamp(s, i, sp);
  const close = s.indexOf(']', sp);
  if (t === undefined || close < 0) return undefined;
  let b = close + 1;
  if (s.charCodeAt(b) === 32) b++;
  const rec = newRecord(ctx, s.slice(b).trimEnd(), KATA_LOG_FORMAT_VALUE_FIRECRACKER, KATA_COMPONENT_VALUE_HYPERVISOR);
  const a = rec.attributes;
  a[ATTR_KATA_HYPERVISOR_NAME] = KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER;
  rec.timeUnixNano = t;
  const parts = s.slice(sp + 2, close).split(':');
  const id = parts[0] ?? '';
  if (id !== '' && id !== 'anonymous-instance') a[ATTR_KATA_SANDBOX_ID] = id;
  if (parts[1] !== undefined && parts[1] !== '') a[ATTR_THREAD_NAME] = parts[1];
  let k = 2;
  if (parts[k] !== undefined && LEVELS.has(parts[k] as string)) {
    rec.severityText = parts[k] as string;
    rec.severityNumber = severityFromLevel(rec.severityText);
    k++;
  } else {
    rec.severityNumber = 9;
  }
  if (parts[k] !== undefined && parts[k] !== '') {
    a[ATTR_CODE_FILE_PATH] = parts[k] as string;
    const ln = parts[k + 1] !== undefined ? toInt(parts[k + 1] as string) : undefined;
    if (ln !== undefined) a[ATTR_CODE_LINE_NUMBER] = ln;
  }
  return rec;
}

export const FIRECRACKER: Shape = {
  weak: true,
  name: 'firecracker',
  first: isDigitCode,
  parse: (s, i, f) => (isFirecrackerLine(s, i) ? firecrackerRecord(s, i, f.ctx) : undefined),
};
