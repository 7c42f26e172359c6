// Guest kernel console lines: `[    0.395399] brd: module loaded` (dmesg with uptime). They reach the host inside
// the Go shim's `vmconsole=`, runtime-rs `vm console: "…"`, Dragonball `subsystem=dmesg`, or Kata 1.x kata-proxy.
import type { KataLogRecord, ParseContext } from '../model/record.js';
import {
  ATTR_KATA_FIELD,
  KATA_COMPONENT_VALUE_GUEST_KERNEL,
  KATA_LOG_FORMAT_VALUE_KERNEL,
} from '../semconv/generated.js';
import { newRecord, type Outer } from './build.js';
import type { Shape } from './frame.js';

const ATTR_UPTIME = ATTR_KATA_FIELD('uptime');

/** Index just past `]` when s[i..] starts with `[ <seconds>.<fraction>]`, else -1. */
export function kernelPrefixEnd(s: string, i = 0): number {
  if (s.charCodeAt(i) !== 91) return -1; // [
  let j = i + 1;
  const n = Math.min(s.length, i + 32);
  while (j < n && s.charCodeAt(j) === 32) j++;
  let digitsSeen = 0;
  let dot = false;
  for (; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c >= 48 && c <= 57) digitsSeen++;
    else if (c === 46 && !dot && digitsSeen > 0) dot = true;
    else if (c === 93) return dot && digitsSeen > 1 ? j + 1 : -1;
    else return -1;
  }
  return -1;
}

/** A guest-kernel record (severity info unless the carrier's PRI says otherwise; time comes from the carrier). */
export function kernelRecord(s: string, i: number, end: number, outer: Outer, ctx: ParseContext): KataLogRecord {
  const rec = newRecord(ctx, s.slice(end).trim(), KATA_LOG_FORMAT_VALUE_KERNEL, KATA_COMPONENT_VALUE_GUEST_KERNEL);
  rec.attributes[ATTR_UPTIME] = s.slice(i + 1, end - 1).trim();
  if (outer.severity === undefined) rec.severityNumber = 9;
  return rec;
}

export const KERNEL: Shape = {
  weak: true,
  name: 'kernel',
  first: (c) => c === 91,
  parse(s, i, f) {
    const k = kernelPrefixEnd(s, i);
    return k > 0 ? kernelRecord(s, i, k, f.outer, f.ctx) : undefined;
  },
};
