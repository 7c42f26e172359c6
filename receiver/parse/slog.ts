// slog JSON records (`{"msg":…,"level":"INFO","ts":…,"name":…,"source":…,"subsystem":…,"pid":"1",…}`, key order
// random): the kata-agent, kata-agent-ctl, and runtime-rs before 3.20 (`name` = kata-runtime, `source` = the
// sandbox id). Levels TRCE DEBG INFO WARN ERRO CRIT.
import type { KataLogRecord } from '../model/record.js';
import { severityFromLevel } from '../model/severity.js';
import {
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SOURCE,
  KATA_COMPONENT_VALUE_AGENT,
  KATA_COMPONENT_VALUE_RUNTIME,
  KATA_COMPONENT_VALUE_UNKNOWN,
  KATA_LOG_FORMAT_VALUE_SLOG_JSON,
} from '../semconv/generated.js';
import { addParseError, adopt, fileComponent, identComponent, newRecord } from './build.js';
import { applyField, isGoSourceLabel, jsonValueString, setHypervisorFromSubsystem } from './fields.js';
import type { Frame, ObjectShape } from './frame.js';
import { markForwarded, runtimeRsNested } from './runtimers.js';
import { parseTimestamp } from './time.js';

export function slogRecord(o: Record<string, unknown>, raw: string, f: Frame): KataLogRecord {
  const { outer, ctx } = f;
  const msg = o.msg === undefined ? undefined : jsonValueString(o.msg);
  const name = typeof o.name === 'string' ? o.name : undefined;
  const source = typeof o.source === 'string' ? o.source : undefined;
  const subsystem = typeof o.subsystem === 'string' ? o.subsystem : undefined;
  const runtimeRs = name === 'kata-runtime';
  const level = o.level === undefined ? undefined : jsonValueString(o.level);
  const severity = level === undefined ? 0 : severityFromLevel(level);
  let timeNs = 0n;
  let timeError: string | undefined;
  if (o.ts !== undefined) {
    const ts = jsonValueString(o.ts);
    const t = parseTimestamp(ts);
    if (t === undefined) timeError = `invalid ts "${ts}"`;
    else timeNs = t;
  }
  // runtime-rs sets `source` to the sandbox id.
  const sandbox = runtimeRs && source !== undefined && !isGoSourceLabel(source) ? source : undefined;

  if (runtimeRs && msg !== undefined) {
    const stream = typeof o.stream === 'string' ? o.stream : undefined;
    const nested = runtimeRsNested(msg, stream, subsystem, f, sandbox);
    if (nested !== undefined) {
      adopt(nested, timeNs, severity, level);
      return nested;
    }
  }

  let component: string;
  if (name === 'kata-agent' || name === 'kata-agent-ctl' || source === 'agent') component = KATA_COMPONENT_VALUE_AGENT;
  else if (runtimeRs || name === 'containerd-shim-v2') component = KATA_COMPONENT_VALUE_RUNTIME;
  else component = identComponent(outer.ident) ?? fileComponent(ctx) ?? KATA_COMPONENT_VALUE_UNKNOWN;

  const rec = newRecord(ctx, msg ?? raw, KATA_LOG_FORMAT_VALUE_SLOG_JSON, component);
  rec.timeUnixNano = timeNs;
  rec.severityNumber = severity;
  rec.severityText = level ?? '';
  const a = rec.attributes;
  for (const k in o) {
    if (k === 'msg' || k === 'level' || k === 'ts') continue;
    const v = jsonValueString(o[k]);
    if (k === 'source') a[ATTR_KATA_SOURCE] = v;
    else applyField(a, k, v);
  }
  if (sandbox !== undefined) a[ATTR_KATA_SANDBOX_ID] = sandbox;
  if (runtimeRs) setHypervisorFromSubsystem(a, subsystem);
  if (timeError !== undefined) addParseError(rec, timeError);
  return runtimeRs && msg !== undefined ? markForwarded(rec, msg, subsystem, severity) : rec;
}

/** slog JSON: a string `ts`, or `level` and `msg` with slog's `name`/`source`/`subsystem` and no logrus `time`. */
export const SLOG: ObjectShape = {
  name: 'slog-json',
  parse(o, raw, f) {
    const slog =
      typeof o.ts === 'string' ||
      (o.level !== undefined &&
        o.msg !== undefined &&
        o.time === undefined &&
        (o.name !== undefined || o.source !== undefined || o.subsystem !== undefined));
    return slog ? slogRecord(o, raw, f) : undefined;
  },
};
