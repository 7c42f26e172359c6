// Kata field names → semantic-convention attributes, shared by every structured shape (logfmt, logrus JSON,
// slog JSON, journald). See docs/semconv.md.
import type { Attributes } from '../model/record.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_ERROR_MESSAGE,
  ATTR_KATA_EXEC_ID,
  ATTR_KATA_FIELD,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_HYPERVISOR_PID,
  ATTR_KATA_NAME,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SOURCE,
  ATTR_KATA_SUBSYSTEM,
  ATTR_PROCESS_PID,
  KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR,
  KATA_HYPERVISOR_NAME_VALUE_DRAGONBALL,
  KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER,
  KATA_HYPERVISOR_NAME_VALUE_QEMU,
  KATA_HYPERVISOR_NAME_VALUE_STRATOVIRT,
} from '../semconv/generated.js';

/** A decimal integer (pid written as a number or a string), or undefined. */
export function toInt(v: string): number | undefined {
  const n = v.length;
  if (n === 0 || n > 15) return undefined;
  let x = 0;
  for (let i = 0; i < n; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    x = x * 10 + d;
  }
  return x;
}

// `kata.field.<key>` for the fields without a convention of their own, built once per key rather than per record
// (the keys repeat on every line). Bounded: an input with endless distinct keys builds the name each time.
const fieldNames = new Map<string, string>();
const MAX_FIELD_NAMES = 2048;
function fieldAttribute(key: string): string {
  let name = fieldNames.get(key);
  if (name === undefined) {
    name = ATTR_KATA_FIELD(key);
    if (fieldNames.size < MAX_FIELD_NAMES) fieldNames.set(key, name);
  }
  return name;
}

/**
 * Map one field onto attributes. `time`/`ts`/`level`/`msg` are consumed by the callers; `source` only becomes
 * `kata.source` here (callers decide whether it is also the sandbox id).
 */
export function applyField(a: Attributes, key: string, value: string): void {
  switch (key) {
    case 'sandbox':
    case 'sandbox-id':
    case 'sandbox_id':
    case 'sandboxId':
      a[ATTR_KATA_SANDBOX_ID] = value;
      return;
    case 'container':
    case 'cid':
    case 'container-id':
    case 'container_id':
    case 'containerId':
    case 'CONTAINER_ID':
      a[ATTR_CONTAINER_ID] = value;
      return;
    case 'exec':
    case 'eid':
    case 'exec-id':
    case 'exec_id':
      a[ATTR_KATA_EXEC_ID] = value;
      return;
    case 'subsystem':
    case 'SUBSYSTEM':
      a[ATTR_KATA_SUBSYSTEM] = value;
      return;
    case 'source':
    case 'SOURCE':
      a[ATTR_KATA_SOURCE] = value;
      return;
    case 'name':
      a[ATTR_KATA_NAME] = value;
      return;
    case 'pid':
    case 'PID': {
      const p = toInt(value);
      if (p === undefined) a[fieldAttribute(key)] = value;
      else a[ATTR_PROCESS_PID] = p;
      return;
    }
    case 'qemuPid': {
      const p = toInt(value);
      if (p === undefined) a[fieldAttribute(key)] = value;
      else a[ATTR_KATA_HYPERVISOR_PID] = p;
      return;
    }
    case 'error':
      a[ATTR_ERROR_MESSAGE] = value;
      return;
    default:
      a[fieldAttribute(key)] = value;
  }
}

/** A JSON field value as the string it was written as (strings as-is, other values as JSON). */
export function jsonValueString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') {
    try {
      return JSON.stringify(v);
    } catch {
      return String(v);
    }
  }
  return String(v);
}

/** `subsystem` → the hypervisor it is about (Go: qemu, qmp, qemuAmd64…, cloudHypervisor; runtime-rs names). */
export function hypervisorFromSubsystem(subsystem: string): string | undefined {
  switch (subsystem) {
    case 'qemu':
    case 'qmp':
      return KATA_HYPERVISOR_NAME_VALUE_QEMU;
    case 'cloudHypervisor':
    case 'cloud-hypervisor':
    case 'clh':
      return KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR;
    case 'firecracker':
      return KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER;
    case 'stratovirt':
      return KATA_HYPERVISOR_NAME_VALUE_STRATOVIRT;
    case 'dragonball':
      return KATA_HYPERVISOR_NAME_VALUE_DRAGONBALL;
  }
  return subsystem.startsWith('qemu') ? KATA_HYPERVISOR_NAME_VALUE_QEMU : undefined;
}

export function setHypervisorFromSubsystem(a: Attributes, subsystem: string | undefined): void {
  if (subsystem === undefined) return;
  const h = hypervisorFromSubsystem(subsystem);
  if (h !== undefined) a[ATTR_KATA_HYPERVISOR_NAME] = h;
}

/**
 * Go `source` labels (src/runtime): never a sandbox id. runtime-rs puts the sandbox id in `source`, so a
 * runtime-rs `source` that is not one of these is taken as the sandbox id.
 */
const GO_SOURCES = new Set([
  'containerd-kata-shim-v2',
  'virtcontainers',
  'virtcontainers/hypervisor',
  'katautils',
  'virtcontainers/persist/fs',
  'virtcontainers/factory/template',
  'agent-client',
  'rootless',
  'cgroups',
  'virtcontainers/pkg/resourcecontrol',
  'pkg/device/config',
  'pkg/utils',
  'kata-monitor',
  'runtime',
  'agent',
  'kata-agent-ctl',
]);

export function isGoSourceLabel(source: string): boolean {
  return GO_SOURCES.has(source);
}
