// Raw QEMU stderr: `qemu-system-x86_64: <message>`, `qemu-system-s390x: warning: …`. The Go shim logs QEMU's
// stderr lines at error, except `<argv0>: warning: ` lines at warning (virtcontainers/qemu.go LogAndWait); the
// same rule is applied to raw and runtime-rs (`qemu stderr: "…"`) lines, which carry no level of their own.
import type { KataLogRecord, ParseContext } from '../model/record.js';
import {
  ATTR_KATA_HYPERVISOR_NAME,
  KATA_COMPONENT_VALUE_HYPERVISOR,
  KATA_HYPERVISOR_NAME_VALUE_QEMU,
  KATA_LOG_FORMAT_VALUE_QEMU,
} from '../semconv/generated.js';
import { newRecord } from './build.js';
import type { Shape } from './frame.js';

/** Length of `<argv0>: ` when s[i..] starts with a QEMU program name followed by `: `, else -1. */
export function qemuPrefixEnd(s: string, i = 0): number {
  const c = s.charCodeAt(i);
  if (c !== 113 && c !== 47) return -1; // q or /
  const colon = s.indexOf(': ', i);
  if (colon < 0 || colon - i > 200) return -1;
  const slash = s.lastIndexOf('/', colon);
  const base = slash >= i ? slash + 1 : i;
  if (!s.startsWith('qemu', base)) return -1;
  for (let j = i; j < colon; j++) if (s.charCodeAt(j) === 32) return -1;
  return colon + 2;
}

/** A QEMU stderr record from s[i..]: the whole line is the body. */
export function qemuRecord(s: string, i: number, ctx: ParseContext): KataLogRecord {
  const text = s.slice(i).trimEnd();
  const rec = newRecord(ctx, text, KATA_LOG_FORMAT_VALUE_QEMU, KATA_COMPONENT_VALUE_HYPERVISOR);
  rec.attributes[ATTR_KATA_HYPERVISOR_NAME] = KATA_HYPERVISOR_NAME_VALUE_QEMU;
  const p = qemuPrefixEnd(text);
  if (p > 0 && text.startsWith('warning: ', p)) {
    rec.severityNumber = 13;
    rec.severityText = 'warning';
  } else {
    rec.severityNumber = 17;
  }
  return rec;
}

export const QEMU: Shape = {
  weak: true,
  name: 'qemu',
  first: (c) => c === 113 || c === 47,
  parse: (s, i, f) => (qemuPrefixEnd(s, i) > 0 ? qemuRecord(s, i, f.ctx) : undefined),
};
