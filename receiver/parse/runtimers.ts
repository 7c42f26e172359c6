// runtime-rs re-logs other components' lines inside its own records (pre-3.20 slog JSON `msg`, or ≥ 3.20 journald
// `MESSAGE`): `qemu stderr: "<line>"`, `vm console: "<line>"`, `fc stderr: "<line>"` (Rust `{:?}`-quoted), Cloud
// Hypervisor stdout/stderr lines (field `stream`, `{:?}`-quoted), Dragonball console lines (`subsystem=dmesg`),
// and agent JSON lines from the agent-log forwarder (the whole JSON line is the message).
import type { KataLogRecord } from '../model/record.js';
import { ATTR_KATA_LOG_GUEST_CONTROLLED, KATA_LOG_CARRIER_VALUE_RUNTIME_RS } from '../semconv/generated.js';
import { child, type Frame, type Shape } from './frame.js';
import { qemuRecord } from './qemu.js';
import { unquoteRust } from './quote.js';

/**
 * The record a runtime-rs message carries, or undefined when the message is runtime-rs's own. `sandbox` is the
 * runtime-rs record's (its `source`); the caller adopts the result (time and level as fallbacks). Cloud Hypervisor
 * levels are re-derived from the CH text: runtime-rs only recognises `INFO:`/`WARN:` and logs other lines at info.
 */
export function runtimeRsNested(
  msg: string,
  stream: string | undefined,
  subsystem: string | undefined,
  f: Frame,
  sandbox: string | undefined,
): KataLogRecord | undefined {
  const identity = { sandbox };
  if (stream !== undefined)
    return f.next(
      unquoteRust(msg).trimEnd(),
      0,
      child(f, 'cloud-hypervisor', KATA_LOG_CARRIER_VALUE_RUNTIME_RS, identity),
    );
  if (subsystem === 'dmesg')
    return guestText(f.next(msg.trimEnd(), 0, child(f, 'console', KATA_LOG_CARRIER_VALUE_RUNTIME_RS, identity)));
  const nested = f.next.match(msg, 0, child(f, 'runtime-rs', KATA_LOG_CARRIER_VALUE_RUNTIME_RS, identity));
  // A record inside an `agent` subsystem message came through the agent-log forwarder (below): the guest wrote it.
  return nested !== undefined && subsystem === 'agent' ? guestText(nested) : nested;
}

/**
 * Whether a runtime-rs record of its own (no nested record found) may be a line the guest sent to the agent-log
 * port. runtime-rs's forwarder (crates/agent/src/log_forwarder.rs) re-logs each line whole as the message through the
 * `agent` subsystem's logger, at the JSON `level` of the line and at info for anything else, so under `agent` a JSON
 * message or an info-level one may be the guest's; runtime-rs's own agent-client messages at other levels are the
 * host's. Ambiguous info text is counted as the guest's: a host-trust rule must not fire on what a guest can write.
 */
export function mayBeForwardedAgentLine(msg: string, subsystem: string | undefined, severity: number): boolean {
  if (subsystem !== 'agent') return false;
  const c = msg.charCodeAt(0);
  return c === 0x7b /* { */ || c === 0x5b /* [ */ || severity === SEVERITY_INFO || severity === 0;
}
const SEVERITY_INFO = 9;

/** Marks a runtime-rs record guest-controlled when `mayBeForwardedAgentLine` says so. */
export function markForwarded(
  r: KataLogRecord,
  msg: string,
  subsystem: string | undefined,
  severity: number,
): KataLogRecord {
  return mayBeForwardedAgentLine(msg, subsystem, severity) ? guestText(r) : r;
}

/** A runtime-rs message `<prefix>"<line>"`: the Rust-quoted line after the prefix, handed to `then`. */
function relog(name: string, prefix: string, then: (line: string, f: Frame) => KataLogRecord): Shape {
  const c0 = prefix.charCodeAt(0);
  return {
    name,
    first: (c) => c === c0,
    parse: (s, i, f) =>
      s.startsWith(prefix, i) ? then(unquoteRust(s.slice(i + prefix.length)).trimEnd(), f) : undefined,
  };
}

export const RTRS_QEMU_STDERR = relog('runtime-rs qemu stderr', 'qemu stderr: ', (l, f) => qemuRecord(l, 0, f.ctx));
export const RTRS_VM_CONSOLE = relog('runtime-rs vm console', 'vm console: ', (l, f) =>
  guestText(f.next(l, 0, child(f, 'console'))),
);

/**
 * Console text is the guest's whatever shape it has: a console line shaped like QEMU's stderr or a runtime logfmt
 * record must not pass for the host's (the carrier, runtime-rs, also carries host text, so provenance cannot tell).
 */
function guestText(r: KataLogRecord): KataLogRecord {
  r.attributes[ATTR_KATA_LOG_GUEST_CONTROLLED] = true;
  return r;
}
export const RTRS_FC_STDERR = relog('runtime-rs fc stderr', 'fc stderr: ', (l, f) =>
  f.next(l, 0, child(f, 'firecracker')),
);
