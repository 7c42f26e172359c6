// slog JSON records (`{"msg":…,"level":"INFO","ts":…,"name":…,"source":…,"subsystem":…,"pid":"1",…}`, key order
// random): the kata-agent, kata-agent-ctl, and runtime-rs before 3.20 (`name` = kata-runtime, `source` = the
// sandbox id). Levels TRCE DEBG INFO WARN ERRO CRIT.
import type { KataLogRecord, ParseContext } from '../model/record.js';
import { severityFromLevel } from '../model/severity.js';
import {
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SOURCE,
  KATA_COMPONENT_VALUE_AGENT,
  KATA_COMPONENT_VALUE_RUNTIME,
  KATA_COMPONENT_VALUE_UNKNOWN,
  KATA_LOG_FORMAT_VALUE_SLOG_JSON,
} from '../semconv/generated.js';
import { addParseError, fileComponent, identComponent, newRecord, type Outer } from './build.js';
import { adopt } from './console.js';
import { applyField, isGoSourceLabel, jsonValueString, setHypervisorFromSubsystem } from './fields.js';
import { runtimeRsNested } from './runtimers.js';
import { parseTimestamp } from './time.js';

export function slogRecord(
  o: Record<string, unknown>,
  raw: string,
  outer: Outer,
  ctx: ParseContext,
  depth: number,
): KataLogRecord {
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

  if (runtimeRs && msg !== undefined && depth < 6) {
    const nested = runtimeRsNested(
      msg,
      typeof o.stream === 'string' ? o.stream : undefined,
      subsystem,
      outer,
      ctx,
      depth,
    );
    if (nested !== undefined) {
      adopt(nested, sandbox, timeNs, severity, level);
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
  return rec;
}
