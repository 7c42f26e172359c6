// runtime-rs re-logs other components' lines inside its own records (pre-3.20 slog JSON `msg`, or ≥ 3.20 journald
// `MESSAGE`): `qemu stderr: "<line>"`, `vm console: "<line>"`, `fc stderr: "<line>"` (Rust `{:?}`-quoted), Cloud
// Hypervisor stdout/stderr lines (field `stream`, `{:?}`-quoted), Dragonball console lines (`subsystem=dmesg`),
// and agent JSON lines from the agent-log forwarder (the whole JSON line is the message).
import type { KataLogRecord, ParseContext } from '../model/record.js';
import {
  ATTR_KATA_HYPERVISOR_NAME,
  KATA_COMPONENT_VALUE_HYPERVISOR,
  KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR,
  KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER,
  KATA_LOG_FORMAT_VALUE_TEXT,
} from '../semconv/generated.js';
import { newRecord, setCarrier, type Outer } from './build.js';
import { clhRecord, isClhLine } from './clh.js';
import { consoleRecord } from './console.js';
import { firecrackerRecord } from './firecracker.js';
import { jsonRecord } from './json.js';
import { qemuRecord } from './qemu.js';
import { unquoteRust } from './quote.js';

export const CARRIER_RUNTIME_RS = 'runtime-rs';

function hypervisorText(line: string, hypervisor: string, ctx: ParseContext): KataLogRecord {
  const rec = newRecord(ctx, line, KATA_LOG_FORMAT_VALUE_TEXT, KATA_COMPONENT_VALUE_HYPERVISOR);
  rec.attributes[ATTR_KATA_HYPERVISOR_NAME] = hypervisor;
  return rec;
}

/**
 * The record a runtime-rs message carries, or undefined when the message is runtime-rs's own. The caller adopts
 * the result (sandbox from `source`/`SOURCE`, its time and level as fallbacks). Cloud Hypervisor levels are
 * re-derived from the CH text: runtime-rs only recognises `INFO:`/`WARN:` and logs ERROR/DEBUG/TRACE lines at info.
 */
export function runtimeRsNested(
  msg: string,
  stream: string | undefined,
  subsystem: string | undefined,
  outer: Outer,
  ctx: ParseContext,
  depth: number,
): KataLogRecord | undefined {
  let rec: KataLogRecord;
  const c = msg.charCodeAt(0);
  if (c === 113 && msg.startsWith('qemu stderr: ')) {
    rec = qemuRecord(unquoteRust(msg.slice(13)), 0, ctx);
  } else if (c === 118 && msg.startsWith('vm console: ')) {
    rec = consoleRecord(unquoteRust(msg.slice(12)), CARRIER_RUNTIME_RS, outer, ctx, depth + 1);
  } else if (c === 102 && msg.startsWith('fc stderr: ')) {
    const line = unquoteRust(msg.slice(11)).trimEnd();
    rec = firecrackerRecord(line, 0, ctx) ?? hypervisorText(line, KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER, ctx);
  } else if (stream !== undefined) {
    const line = unquoteRust(msg).trimEnd();
    rec = isClhLine(line, 0)
      ? clhRecord(line, 0, ctx)
      : hypervisorText(line, KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR, ctx);
  } else if (subsystem === 'dmesg') {
    rec = consoleRecord(msg, CARRIER_RUNTIME_RS, outer, ctx, depth + 1);
  } else if (c === 123) {
    rec = jsonRecord(msg, outer, ctx, depth + 1, CARRIER_RUNTIME_RS);
  } else {
    return undefined;
  }
  setCarrier(rec, CARRIER_RUNTIME_RS);
  return rec;
}
