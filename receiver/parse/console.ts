// One guest console line, as carried by the Go shim (`vmconsole=`), Kata 1.x kata-proxy (`msg=`), runtime-rs
// (`vm console: "…"`) or Dragonball (`subsystem=dmesg`). The console is shared by the agent (slog JSON), the
// guest kernel (`[    0.395399] …`), other guest processes, and, for Cloud Hypervisor / Firecracker, the VMM's own
// stdout/stderr (same pty), so the line is dispatched on its own shape.
import type { KataLogRecord, ParseContext } from '../model/record.js';
import {
  ATTR_KATA_SANDBOX_ID,
  KATA_COMPONENT_VALUE_GUEST_KERNEL,
  KATA_LOG_FORMAT_VALUE_LOGFMT,
  KATA_LOG_FORMAT_VALUE_TEXT,
} from '../semconv/generated.js';
import { newRecord, setCarrier, type Outer } from './build.js';
import { clhRecord, isClhLine } from './clh.js';
import { firecrackerRecord, isFirecrackerLine } from './firecracker.js';
import { goRecord } from './goshim.js';
import { jsonRecord } from './json.js';
import { kernelPrefixEnd, kernelRecord } from './kernel.js';
import { looksLikeLogfmt, tokenizeLogfmt } from './logfmt.js';
import { qemuPrefixEnd, qemuRecord } from './qemu.js';

/**
 * A nested record inherits what its carrier knew: the sandbox, and the carrier's time when the inner record
 * has none of its own; `severity` (when given) is a fallback for inner records without a level.
 */
export function adopt(
  rec: KataLogRecord,
  sandbox: string | undefined,
  timeNs: bigint,
  severity?: number,
  severityText?: string,
): void {
  if (sandbox !== undefined && rec.attributes[ATTR_KATA_SANDBOX_ID] === undefined)
    rec.attributes[ATTR_KATA_SANDBOX_ID] = sandbox;
  if (rec.timeUnixNano === 0n) rec.timeUnixNano = timeNs;
  if (severity !== undefined && rec.severityNumber === 0 && rec.severityText === '') {
    rec.severityNumber = severity;
    rec.severityText = severityText ?? '';
  }
}

/** The record for one console line; the caller adopts it (sandbox, time). */
export function consoleRecord(
  text: string,
  carrier: string,
  outer: Outer,
  ctx: ParseContext,
  depth: number,
): KataLogRecord {
  const line = text.trimEnd();
  let rec: KataLogRecord | undefined;
  const c = line.charCodeAt(0);
  if (c === 123) {
    rec = jsonRecord(line, outer, ctx, depth + 1, carrier);
  } else if (c === 91) {
    const k = kernelPrefixEnd(line, 0);
    if (k > 0) rec = kernelRecord(line, 0, k, outer, ctx);
  } else if (isClhLine(line, 0)) {
    rec = clhRecord(line, 0, ctx);
  } else if (c >= 48 && c <= 57 && isFirecrackerLine(line, 0)) {
    rec = firecrackerRecord(line, 0, ctx);
  } else if (qemuPrefixEnd(line, 0) > 0) {
    rec = qemuRecord(line, 0, ctx);
  } else if (looksLikeLogfmt(line, 0)) {
    const t = tokenizeLogfmt(line, 0);
    rec = goRecord(t.kv, line, outer, ctx, KATA_LOG_FORMAT_VALUE_LOGFMT, depth + 1, t.error);
  }
  if (rec === undefined) {
    // Other guest console output (systemd, guest components): guest text without a level of its own.
    rec = newRecord(ctx, line, KATA_LOG_FORMAT_VALUE_TEXT, KATA_COMPONENT_VALUE_GUEST_KERNEL);
    if (outer.severity === undefined) rec.severityNumber = 9;
  }
  setCarrier(rec, carrier);
  return rec;
}
